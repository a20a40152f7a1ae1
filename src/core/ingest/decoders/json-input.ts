import type { Transaction } from '../../../storage/duckdb/duckdb-storage.ts';
import { quoteLiteral } from '../../../storage/duckdb/sql.ts';
import type { Column } from '../../catalog/model.ts';
import type { DataTypeKind } from '../../types/data-type.ts';
import { hasWildcard, keyPath, parseJsonPath, toDuckDBJsonPath, type JsonPath } from '../json-path.ts';
import { queryInput, type StagedInput } from '../staged-input.ts';

/** How each JSON value of a request turns into weighted rows. */
export type UpdateFormat = 'raw' | 'insert_delete' | 'weighted' | 'debezium';

export interface JsonDecodeOptions {
  format: UpdateFormat;
  /** Keys match column names regardless of case (exact matches win). */
  caseInsensitive: boolean;
  /** A row may be a JSON array of values in column order. */
  positional: boolean;
}

/** One JSON value of a request as text, with its record number; `error` when it could not even be split out. */
export interface JsonText {
  text: string;
  index: number;
  error?: string;
}

/** SQL reading the JSON texts of a request: `_row BIGINT, _error VARCHAR, j VARCHAR`. */
export type JsonTextSource = (tx: Transaction) => Promise<string>;

let textTableCounter = 0;

/** JSON texts decoded in JS (small bodies), appended to a temporary table of the write's transaction. */
export function jsonTextsInMemory(values: JsonText[]): JsonTextSource {
  return async (tx) => {
    const table = `sluice_json_${(textTableCounter += 1)}`;
    await tx.run(`CREATE TEMP TABLE ${table} (_row BIGINT, _error VARCHAR, j VARCHAR)`);
    const appender = await tx.appender(table, 'main', 'temp');
    for (const value of values) {
      appender.appendBigInt(BigInt(value.index));
      if (value.error === undefined) appender.appendNull();
      else appender.appendVarchar(value.error);
      appender.appendVarchar(value.text);
      appender.endRow();
    }
    appender.flushSync();
    return `SELECT * FROM temp.${table}`;
  };
}

/**
 * A spooled file of JSON values, one per line as `record number \x01 error \x01 value text`, read
 * by DuckDB's CSV reader. \x01 cannot occur in a value the splitter passed as well-formed (control
 * characters must be escaped in JSON), and error texts are written with it replaced, so it serves as
 * a delimiter that never splits a record.
 */
export function jsonLinesFile(path: string): JsonTextSource {
  return async () =>
    `SELECT i AS _row, nullif(e, '') AS _error, j
     FROM read_csv(${quoteLiteral(path)}, columns = {'i': 'BIGINT', 'e': 'VARCHAR', 'j': 'VARCHAR'}, delim = '\x01', quote = '',
                   escape = '', header = false, auto_detect = false, max_line_size = 134217728, allow_quoted_nulls = false)`;
}

/** One line of a `jsonLinesFile`. */
export function jsonLine(value: JsonText): string {
  // A JSON value spans lines only where JSON allows whitespace, so joining its lines keeps its meaning.
  const text = value.error === undefined ? value.text.replace(/[\r\n]+/g, ' ') : displayable(value.text);
  return `${value.index}\x01${value.error === undefined ? '' : displayable(value.error)}\x01${text}\n`;
}

/** Text of a record that failed, made safe for one line of the spool file (it is only shown). */
function displayable(text: string): string {
  return text.replace(/[\x00-\x1f]/g, (char) => (char === '\t' ? char : ' '));
}

/**
 * Rows from JSON values, extracted in SQL: each update format yields `(weight, row)` pairs, then
 * each target column's text is read from the row by its JSONPath (or its name).
 */
export function jsonInput(texts: JsonTextSource, columns: Column[], options: JsonDecodeOptions): StagedInput {
  const paths = columns.map((column) => (column.jsonPath ? parseJsonPath(column.jsonPath) : keyPath(column.name)));
  return queryInput(
    columns.map((column) => column.name),
    async (tx) => {
      const values = columns.map((column, index) => `${extractColumn(column, paths[index]!, index, options)} AS v${index}`);
      const rowCheck = options.positional ? `json_type(row) IN ('OBJECT', 'ARRAY')` : `json_type(row) = 'OBJECT'`;
      return `SELECT _row, _weight,
                CASE WHEN _error IS NOT NULL THEN _error
                     WHEN NOT (${rowCheck}) THEN 'expected a JSON ${options.positional ? 'object or array' : 'object'}, got ' || coalesce(lower(json_type(row)), 'nothing') END AS _error,
                CASE WHEN _error IS NOT NULL OR NOT (${rowCheck}) THEN j END AS _source,
                ${values.join(', ')}
              FROM (${UPDATE_FORMATS[options.format](`(SELECT _row, CASE WHEN _error IS NULL AND NOT json_valid(j) THEN 'invalid JSON' ELSE _error END AS _error, j FROM (${await texts(tx)}))`)})`;
    },
  );
}

/**
 * Each update format as SQL over `(_row, _error, j)` giving `(_row, _weight, _error, j, row)`;
 * `row` is the JSON of the row the change is about, NULL when the value has the wrong shape.
 */
const UPDATE_FORMATS: Record<UpdateFormat, (source: string) => string> = {
  raw: (source) => `SELECT _row, 1 AS _weight, _error, j, CASE WHEN _error IS NULL THEN j::JSON END AS row FROM ${source}`,
  insert_delete: (source) => `
    SELECT _row,
      CASE WHEN json_exists(j, '$.insert') THEN 1 WHEN json_exists(j, '$.delete') THEN -1 ELSE 0 END AS _weight,
      CASE WHEN _error IS NOT NULL THEN _error
           WHEN json_exists(j, '$.update') THEN 'updates of part of a row are not supported yet'
           WHEN NOT (json_exists(j, '$.insert') OR json_exists(j, '$.delete')) THEN 'expected {"insert": row} or {"delete": row}' END AS _error,
      j, coalesce(json_extract(j, '$.insert'), json_extract(j, '$.delete')) AS row
    FROM (SELECT _row, _error, CASE WHEN _error IS NULL THEN j END AS j FROM ${source})`,
  weighted: (source) => `
    SELECT _row, coalesce(TRY_CAST(json_extract_string(j, '$.weight') AS BIGINT), 0) AS _weight,
      CASE WHEN _error IS NOT NULL THEN _error
           WHEN TRY_CAST(json_extract_string(j, '$.weight') AS BIGINT) IS NULL THEN 'expected an integer "weight"'
           WHEN NOT json_exists(j, '$.data') THEN 'expected {"weight": n, "data": row}' END AS _error,
      j, json_extract(j, '$.data') AS row
    FROM (SELECT _row, _error, CASE WHEN _error IS NULL THEN j END AS j FROM ${source})`,
  // An update is a delete of `before` and an insert of `after`: two changes of one record,
  // ordered delete first (the write path orders a record's changes by weight).
  debezium: (source) => `
    WITH records AS (SELECT _row, _error, j, json_extract_string(j, '$.payload.op') AS op FROM (SELECT _row, _error, CASE WHEN _error IS NULL THEN j END AS j FROM ${source}))
    SELECT _row, -1 AS _weight, _error, j, json_extract(j, '$.payload.before') AS row FROM records WHERE _error IS NULL AND op IN ('u', 'd')
    UNION ALL
    SELECT _row, 1 AS _weight, _error, j, json_extract(j, '$.payload.after') AS row FROM records WHERE _error IS NULL AND op IN ('c', 'r', 'u')
    UNION ALL
    SELECT _row, 0, coalesce(_error, 'expected {"payload": {"op": "c|u|d|r", "before": row, "after": row}}'), j, NULL
    FROM records WHERE _error IS NOT NULL OR op IS NULL OR op NOT IN ('c', 'r', 'u', 'd')`,
};

/** Kinds whose values are kept as JSON text rather than as the scalar's own text. */
const NESTED_KINDS = new Set<DataTypeKind>(['list', 'map', 'struct', 'json']);

function extractColumn(column: Column, path: JsonPath, position: number, options: JsonDecodeOptions): string {
  const nested = NESTED_KINDS.has(column.type.kind);
  const read = (duckdbPath: string) => {
    const literal = quoteLiteral(duckdbPath);
    if (hasWildcard(path)) {
      // A wildcard over a missing array gives []: only an array that is there is a value.
      const container = toDuckDBJsonPath({ text: path.text, steps: path.steps.slice(0, path.steps.findIndex((step) => 'every' in step)) });
      return `CASE WHEN json_type(row, ${quoteLiteral(container)}) = 'ARRAY' THEN to_json(json_extract(row, ${literal}))::VARCHAR END`;
    }
    return nested ? `nullif(json_extract(row, ${literal})::VARCHAR, 'null')` : `json_extract_string(row, ${literal})`;
  };
  let byName = path.steps.length === 0 ? (nested ? `row::VARCHAR` : `json_extract_string(row, '$')`) : read(toDuckDBJsonPath(path));
  if (options.caseInsensitive && !column.jsonPath) {
    // Exact key first; otherwise the first key equal regardless of case.
    const key = `list_filter(json_keys(row), k -> lower(k) = ${quoteLiteral(column.name.toLowerCase())})[1]`;
    const loose = nested ? `nullif(json_extract(row, '$."' || replace(${key}, '"', '\\"') || '"')::VARCHAR, 'null')` : `json_extract_string(row, '$."' || replace(${key}, '"', '\\"') || '"')`;
    byName = `coalesce(${byName}, CASE WHEN json_type(row) = 'OBJECT' THEN ${loose} END)`;
  }
  if (!options.positional) return byName;
  const atPosition = nested ? `nullif(json_extract(row, '$[${position}]')::VARCHAR, 'null')` : `json_extract_string(row, '$[${position}]')`;
  return `CASE WHEN json_type(row) = 'ARRAY' THEN ${atPosition} ELSE ${byName} END`;
}
