import type { Column } from '../catalog/model.ts';
import type { DataType, DataTypeKind, FieldType } from '../types/data-type.ts';
import { toDuckDBType } from '../types/duckdb-types.ts';
import { quoteLiteral } from '../../storage/duckdb/sql.ts';

/**
 * Coercion from text to a column's type, as SQL that DuckDB runs over a whole batch at once.
 * For each kind of type: the expression giving the typed value, or NULL when the text does not
 * convert. A value that was given but converts to NULL is invalid; the message says the column,
 * the value and the expected type.
 */
type CastBuilder = (text: string, type: DataType) => string;

const tryCast = (text: string, type: DataType): string => `TRY_CAST(${text} AS ${toDuckDBType(type)})`;
const tryCastTrimmed = (text: string, type: DataType): string => tryCast(`trim(${text})`, type);
/** Nested values arrive as JSON text; DuckDB's own list syntax (`[a, b]`) is accepted too. */
const tryCastNested = (text: string, type: DataType): string =>
  `COALESCE(TRY_CAST(TRY_CAST(${text} AS JSON) AS ${toDuckDBType(type)}), ${tryCast(text, type)})`;

/** Epoch seconds (or milliseconds, when too large to be seconds) as a UTC timestamp. */
const epochToTimestamp = (text: string): string =>
  `CASE WHEN abs(TRY_CAST(${text} AS DOUBLE)) >= 1e11 THEN epoch_ms(CAST(TRY_CAST(${text} AS DOUBLE) AS BIGINT))` +
  ` ELSE make_timestamp(CAST(TRY_CAST(${text} AS DOUBLE) * 1000000 AS BIGINT)) END`;

/** ISO-8601 / RFC 3339 (offsets converted to UTC), `YYYY-MM-DD HH:MM:SS[.f]`, or epoch seconds/milliseconds. */
function castTimestamp(text: string, type: DataType): string {
  const trimmed = `trim(${text})`;
  const parsed =
    `CASE WHEN regexp_full_match(${trimmed}, '-?[0-9]+(\\.[0-9]+)?') THEN ${epochToTimestamp(trimmed)}` +
    ` ELSE COALESCE(TRY_CAST(${trimmed} AS TIMESTAMP_NS), TRY_CAST(TRY_CAST(${trimmed} AS TIMESTAMPTZ) AS TIMESTAMP)) END`;
  return `TRY_CAST(${parsed} AS ${toDuckDBType(type)})`;
}

function castDate(text: string, type: DataType): string {
  return `COALESCE(${tryCastTrimmed(text, type)}, TRY_CAST(${castTimestamp(text, { kind: 'timestamp', unit: 'us' })} AS DATE))`;
}

const CASTS: Record<DataTypeKind, CastBuilder> = {
  boolean: tryCastTrimmed,
  int: tryCastTrimmed,
  float: tryCastTrimmed,
  decimal: tryCastTrimmed,
  string: (text) => text,
  // DuckDB's BLOB text (`\xHH` escapes) when it reads as one, else the UTF-8 bytes of the text.
  binary: (text) => `COALESCE(TRY_CAST(${text} AS BLOB), encode(${text}))`,
  uuid: tryCastTrimmed,
  date: castDate,
  time: tryCastTrimmed,
  timestamp: castTimestamp,
  list: tryCastNested,
  map: tryCastNested,
  struct: tryCastNested,
  json: (text) => `CASE WHEN json_valid(${text}) THEN CAST(${text} AS JSON) END`,
  null: () => 'NULL',
};

export interface CoercedColumn {
  /** SQL for the typed value (NULL when missing or invalid). */
  value: string;
  /** SQL for the error message of this column, NULL when the value is fine. */
  error: string;
}

export type TypeDescriber = (field: FieldType) => string;

/** `text` is SQL for the column's input text (NULL when the row has no value for it). */
export function coerceColumn(column: Column, text: string, describeType: TypeDescriber): CoercedColumn {
  const cast = CASTS[column.type.kind](text, column.type);
  const fallback = column.defaultExpression !== undefined ? `TRY_CAST((${column.defaultExpression}) AS ${toDuckDBType(column.type)})` : null;
  const value = fallback ? `COALESCE(${cast}, CASE WHEN ${text} IS NULL THEN ${fallback} END)` : cast;
  const name = quoteLiteral(column.name);
  const typeName = quoteLiteral(describeType({ type: column.type, nullable: column.nullable }));
  const invalid = `'column ' || ${name} || ': value "' || left(${text}, 200) || '" is not a valid ' || ${typeName}`;
  const branches = [`WHEN ${text} IS NOT NULL AND ${cast} IS NULL THEN ${invalid}`];
  if (!column.nullable && fallback === null) {
    branches.push(`WHEN ${text} IS NULL THEN 'column ' || ${name} || ': value is missing and the column is not nullable'`);
  }
  return { value, error: `CASE ${branches.join(' ')} END` };
}
