import { quoteIdentifier, quoteLiteral } from '../../../storage/duckdb/sql.ts';
import type { FieldType } from '../../types/data-type.ts';
import { toDuckDBType } from '../../types/duckdb-types.ts';
import { everyElement, hasWildcard, parseJsonPath, toDuckDBJsonPath } from '../json-path.ts';
import { nullStringsOption } from '../decoders/csv-input.ts';
import type { CsvDialect } from './infer-csv.ts';
import { ndjsonRecords } from './inference-input.ts';

const NESTED_KINDS = new Set(['list', 'map', 'struct', 'json']);

/** A column as an analysis proposes it: its name, type and, for JSON and Parquet, where it comes from. */
export interface PreviewColumn {
  name: string;
  field: FieldType;
  path?: string;
}

export interface PreviewOptions {
  /** A CSV file's dialect, as inferred. */
  dialect?: CsvDialect;
  /** A CSV text read as NULL besides the empty field (`\N`), as the inference was told. */
  nullText?: string;
  limit?: number;
}

/**
 * SQL giving the first rows of an analyzed file as the proposed columns would hold them (values
 * that do not convert show as NULL). The SQL is built by the server from a spooled file and
 * analysis results, quoting every name and literal.
 */
export function previewSql(format: 'csv' | 'ndjson' | 'parquet', path: string, columns: PreviewColumn[], options: PreviewOptions = {}): string {
  const limit = options.limit ?? 10;
  const file = quoteLiteral(path);
  const as = (column: PreviewColumn, expression: string) => `TRY_CAST(${expression} AS ${toDuckDBType(column.field.type)}) AS ${quoteIdentifier(column.name)}`;
  if (format === 'csv') {
    const dialect = options.dialect;
    const fields = columns.map((_, index) => `${quoteLiteral(`f${index}`)}: 'VARCHAR'`).join(', ');
    const nullStrings = nullStringsOption(options.nullText, [dialect?.quote ?? '"', dialect?.escape]);
    const reader = `read_csv(${file}, auto_detect = false, header = ${dialect?.hasHeader ?? false}, columns = {${fields}},
      delim = ${quoteLiteral(dialect?.delimiter ?? ',')}, quote = ${quoteLiteral(dialect?.quote ?? '"')}${dialect?.escape ? `, escape = ${quoteLiteral(dialect.escape)}` : ''},
      ${nullStrings ? `${nullStrings}, ` : ''}ignore_errors = true, null_padding = true, parallel = false)`;
    return `SELECT ${columns.map((column, index) => as(column, quoteIdentifier(`f${index}`))).join(', ')} FROM ${reader} LIMIT ${limit}`;
  }
  if (format === 'parquet') {
    // Parquet analysis paths are `$.column` (or `$.column[:]` for lists): the first key names the file's column.
    const source = (column: PreviewColumn) => {
      const first = column.path ? parseJsonPath(column.path).steps[0] : undefined;
      return quoteIdentifier(first && 'key' in first ? first.key : column.name);
    };
    return `SELECT ${columns.map((column) => as(column, source(column))).join(', ')} FROM read_parquet(${file}) LIMIT ${limit}`;
  }
  // Each record is parsed once for all plain paths (`json_extract_string(json, [paths])` gives one
  // list per record); one call per column would parse a record once per column, which for a record
  // of thousands of keys takes minutes. DuckDB takes no wildcard in a list of paths, so `[:]` paths
  // are extracted one by one.
  const plain: string[] = [];
  const nested: string[] = [];
  const extract = (column: PreviewColumn) => {
    const jsonPath = parseJsonPath(column.path ?? '$');
    const duckdbPath = quoteLiteral(toDuckDBJsonPath(jsonPath));
    // An element of scalar type is read as its text (a string without its quotes), nested ones as JSON.
    const type = column.field.type;
    const isNested = NESTED_KINDS.has((hasWildcard(jsonPath) && type.kind === 'list' ? type.element : type).kind);
    if (hasWildcard(jsonPath)) return everyElement('json', jsonPath, isNested ? 'json_extract' : 'json_extract_string');
    const paths = isNested ? nested : plain;
    paths.push(duckdbPath);
    return `${isNested ? '_nested' : '_plain'}[${paths.length}]`;
  };
  const expressions = columns.map((column) => as(column, extract(column)));
  const lists = [
    ...(plain.length > 0 ? [`json_extract_string(json, [${plain.join(', ')}]) AS _plain`] : []),
    ...(nested.length > 0 ? [`json_extract(json, [${nested.join(', ')}]) AS _nested`] : []),
  ];
  return `SELECT ${expressions.join(', ')}
          FROM (SELECT ${['json', ...lists].join(', ')} FROM ${ndjsonRecords(path)} LIMIT ${limit})`;
}
