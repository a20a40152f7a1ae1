import { BLOB, blobValue, VARCHAR, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { Transaction } from '../../../storage/duckdb/duckdb-storage.ts';
import { quoteIdentifier, quoteLiteral } from '../../../storage/duckdb/sql.ts';
import { DUCKDB_LINE_LIMITS, MAX_LINE_BYTES } from './line-limits.ts';
import type { Column } from '../../catalog/model.ts';
import { holdsType, type DataType, type DataTypeKind } from '../../types/data-type.ts';
import { everyElement, hasWildcard, keyPath, parseJsonPath, toDuckDBJsonPath, type JsonPath } from '../json-path.ts';
import type { DirectSource, QuerySource, StagedInput } from '../staged-input.ts';

/** How each JSON value of a request turns into weighted rows. */
export type UpdateFormat = 'raw' | 'insert_delete' | 'weighted' | 'debezium';

export interface JsonDecodeOptions {
  format: UpdateFormat;
  /** Keys match column names regardless of case (exact matches win). */
  caseInsensitive: boolean;
  /** A row may be a JSON array of values in column order. */
  positional: boolean;
  /** A row may be a bare value (a string, number, boolean or null): the value of this column (a one-column key, say). */
  scalarColumn?: string;
  /**
   * The values of one top-level array are applied together or not at all (one failing value
   * refuses the others); otherwise each value stands alone.
   */
  atomicArrays?: boolean;
  /**
   * Each column's value must be of the JSON kind its type is written in (see TYPED_JSON_KINDS: a
   * string for text and times, true or false for a boolean, an array for an array …): another is that
   * column's failure (see `_mismatches` in STAGE_CONTROL_COLUMNS). Otherwise a value is read from its
   * text whatever its kind (`"5"` for a number).
   */
  typedValues?: boolean;
  /**
   * A TIMESTAMP is given as a JSON number of milliseconds since the epoch (Feldera's `pandas` JSON
   * flavor, as pandas' `to_json` writes times), and with `typedValues` only so.
   */
  timestampsInMillis?: boolean;
  /**
   * Integer columns of 64 bits or more read a number with a fraction or an exponent as it was
   * written, not as the double DuckDB's JSON functions make of it (`9007199254740993.5` would be
   * 9007199254740994.0): for values converted by rules that take such a number for an integer,
   * truncating or rounding it. Decimal columns always do.
   */
  exactIntegers?: boolean;
}

/** One JSON value of a request as text, with its record number; `error` when it could not even be split out. */
export interface JsonText {
  text: string;
  index: number;
  /** Values of one top-level array share it (see `JsonDecodeOptions.atomicArrays`); without it, the value's own index. */
  topLevelIndex?: number;
  error?: string;
}

/**
 * The JSON texts of a request: `read` gives SQL yielding `_req INTEGER, _row BIGINT, _group BIGINT,
 * _error VARCHAR, j VARCHAR`, every row tagged with `request`.
 */
export interface JsonTextSource {
  read(tx: Transaction, request: number): Promise<QuerySource>;
  /** The texts, when they are held in memory: such sources of one run load together (see `StagedInput.merge`). */
  inMemory?: JsonText[];
  /** The same texts as the NDJSON body they came from, when its lines are exactly its records (see `NdjsonBody`). */
  ndjsonBody?: NdjsonBody;
  /** The same texts as an NDJSON file, one per line: DuckDB's JSON reader may read it directly (see `readNdjsonFile`). */
  ndjsonFile?: string;
}

/**
 * An NDJSON body held in memory whose every line is one JSON object: valid UTF-8, each line opening
 * with `{` (so no blank line and no byte order mark), no \r and no \x01. Its records are its lines,
 * numbered from 1, so DuckDB can split the bytes itself and no line becomes a JS string on the way.
 */
export interface NdjsonBody {
  /** The body without its final line feed, if it had one: the records joined by \n. */
  bytes: Buffer;
  records: number;
}

let textTableCounter = 0;

/** JSON texts decoded in JS (small bodies), appended to a temporary table of the write's transaction. */
export function jsonTextsInMemory(values: JsonText[]): JsonTextSource {
  return { read: (tx, request) => appendTexts(tx, [{ values, request }]), inMemory: values };
}

/** A plain NDJSON body (see `NdjsonBody`): `texts` splits it into values only if a reader needs them. */
export function ndjsonBodyInMemory(body: NdjsonBody, texts: () => JsonText[]): JsonTextSource {
  let values: JsonText[] | undefined;
  return {
    read: (tx, request) => appendTexts(tx, [{ values: (values ??= texts()), request }]),
    get inMemory() {
      return (values ??= texts());
    },
    ndjsonBody: body,
  };
}

/** The texts of several requests in one temporary table, through one appender. */
async function appendTexts(tx: Transaction, parts: Array<{ values: JsonText[]; request: number }>): Promise<QuerySource> {
  const table = `sluice_json_${(textTableCounter += 1)}`;
  await tx.run(`CREATE TEMP TABLE ${table} (_req INTEGER, _row BIGINT, _group BIGINT, _error VARCHAR, j VARCHAR)`);
  const appender = await tx.appender(table, 'main', 'temp');
  for (const { values, request } of parts) {
    for (const value of values) {
      appender.appendInteger(request);
      appender.appendBigInt(BigInt(value.index));
      appender.appendBigInt(BigInt(groupOf(value)));
      if (value.error === undefined) appender.appendNull();
      else appender.appendVarchar(value.error);
      appender.appendVarchar(value.text);
      appender.endRow();
    }
  }
  appender.flushSync();
  return { sql: `SELECT * FROM temp.${table}`, release: (release) => release.run(`DROP TABLE temp.${table}`).then(() => undefined) };
}

/**
 * The same rows as `appendTexts`, as a query over four text parameters (the requests, record
 * numbers and groups as comma-separated numbers, the texts separated by \x01): its text is the
 * same for every batch, so that it is prepared once, and a few long strings cost far less to
 * pass than lists of values. \x01 cannot occur in a well-formed JSON text (control characters
 * must be escaped), so a text holding one, or a value that could not be split out, takes
 * `appendTexts` instead.
 */
const TEXT_PARAMETERS_SQL = `SELECT CAST(r AS INTEGER) AS _req, CAST(w AS BIGINT) AS _row, CAST(g AS BIGINT) AS _group, NULL::VARCHAR AS _error, j
  FROM (SELECT unnest(string_split($1::VARCHAR, ',')) AS r, unnest(string_split($2::VARCHAR, ',')) AS w,
               unnest(string_split($3::VARCHAR, ',')) AS g, unnest(string_split($4::VARCHAR, chr(1))) AS j)`;
const TEXT_PARAMETER_TYPES = [VARCHAR, VARCHAR, VARCHAR, VARCHAR];

/**
 * The same rows from plain NDJSON bodies (see `NdjsonBody`): their bytes, joined by \n, as one
 * BLOB that DuckDB decodes (refusing invalid UTF-8, which a plain body never holds) and splits.
 */
const BODY_PARAMETERS_SQL = TEXT_PARAMETERS_SQL.replace('string_split($4::VARCHAR, chr(1))', 'string_split(decode($4::BLOB), chr(10))');
const BODY_PARAMETER_TYPES = [VARCHAR, VARCHAR, VARCHAR, BLOB];

/** The texts of `parts` as parameters: their bodies when all are plain NDJSON bodies, else their values. */
function textParameters(parts: Array<{ source: JsonTextSource; request: number }>): TextParameters | undefined {
  const bodies = parts.map(({ source }) => source.ndjsonBody);
  if (bodies.every((body) => body !== undefined)) return bodyParameters(parts.map(({ request }, index) => ({ body: bodies[index]!, request })));
  return valueParameters(parts.map(({ source, request }) => ({ values: source.inMemory!, request })));
}

function bodyParameters(parts: Array<{ body: NdjsonBody; request: number }>): TextParameters {
  const requests: string[] = [];
  const rows: string[] = [];
  for (const { body, request } of parts) {
    for (let record = 1; record <= body.records; record += 1) rows.push(String(record));
    requests.push(`${request},`.repeat(body.records - 1) + String(request));
  }
  const numbers = rows.join(',');
  const bytes = Buffer.concat(parts.flatMap(({ body }, index) => (index === 0 ? [body.bytes] : [NEWLINE, body.bytes])));
  return { values: [requests.join(','), numbers, numbers, blobValue(bytes)], types: BODY_PARAMETER_TYPES, objectsOnly: true, sql: BODY_PARAMETERS_SQL };
}

const NEWLINE = Buffer.from('\n');

function valueParameters(parts: Array<{ values: JsonText[]; request: number }>): TextParameters | undefined {
  const requests: number[] = [];
  const rows: number[] = [];
  const groups: number[] = [];
  const texts: string[] = [];
  let objectsOnly = true;
  for (const { values, request } of parts) {
    for (const value of values) {
      if (value.error !== undefined || value.text.includes('\x01')) return undefined;
      requests.push(request);
      rows.push(value.index);
      groups.push(groupOf(value));
      texts.push(value.text);
      objectsOnly &&= opensObject(value.text);
    }
  }
  if (texts.length === 0) return undefined;
  return { values: [requests.join(','), rows.join(','), groups.join(','), texts.join('\x01')], types: TEXT_PARAMETER_TYPES, objectsOnly, sql: TEXT_PARAMETERS_SQL };
}

interface TextParameters {
  values: DuckDBValue[];
  types: DuckDBType[];
  /** The query over the parameters giving the rows of `appendTexts`' table. */
  sql: string;
  /** Whether every text opens with `{` (after JSON whitespace): it is an object, or no JSON at all. */
  objectsOnly: boolean;
}

/** Whether a JSON text's first character after whitespace is `{`. */
function opensObject(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const char = text.charCodeAt(index);
    if (char !== 0x20 && char !== 0x09 && char !== 0x0a && char !== 0x0d) return char === 0x7b;
  }
  return false;
}

/**
 * A spooled file of JSON values, one per line as `record number \x01 group \x01 error \x01 value text`, read
 * by DuckDB's CSV reader. \x01 cannot occur in a value the splitter passed as well-formed (control
 * characters must be escaped in JSON), and error texts are written with it replaced, so it serves as
 * a delimiter that never splits a record.
 */
export function jsonLinesFile(path: string): JsonTextSource {
  return {
    read: async (_tx, request) => ({
      sql: `SELECT ${request}::INTEGER AS _req, i AS _row, g AS _group, nullif(e, '') AS _error, j
     FROM read_csv(${quoteLiteral(path)}, columns = {'i': 'BIGINT', 'g': 'BIGINT', 'e': 'VARCHAR', 'j': 'VARCHAR'}, delim = '\x01', quote = '',
                   escape = '', header = false, auto_detect = false, ${DUCKDB_LINE_LIMITS}, allow_quoted_nulls = false)`,
    }),
  };
}

/** One line of a `jsonLinesFile`. */
export function jsonLine(value: JsonText): string {
  // A JSON value spans lines only where JSON allows whitespace, so joining its lines keeps its meaning.
  const text = value.error === undefined ? value.text.replace(/[\r\n]+/g, ' ') : displayable(value.text);
  return `${value.index}\x01${groupOf(value)}\x01${value.error === undefined ? '' : displayable(value.error)}\x01${text}\n`;
}

function groupOf(value: JsonText): number {
  return value.topLevelIndex ?? value.index;
}

/** Text of a record that failed, made safe for one line of the spool file (it is only shown). */
function displayable(text: string): string {
  return text.replace(/[\x00-\x1f]/g, (char) => (char === '\t' ? char : ' '));
}

/**
 * Rows from JSON values, extracted in SQL: each update format yields `(weight, row)` pairs, then
 * each target column's text is read from the row by its JSONPath (or its name). The rows of one
 * value (and with `atomicArrays`, of one top-level array) are applied whole or not at all; an
 * `{"update": row}` is a partial row that sets the columns it has.
 */
export function jsonInput(source: JsonTextSource, columns: Column[], options: JsonDecodeOptions): StagedInput {
  const plan = readPlanOf(columns, options);
  const load = async (tx: Transaction, rawTable: string, texts: QuerySource) => {
    await tx.run(`INSERT INTO ${rawTable} SELECT * FROM (${plan.rowsOf(texts.sql)})`);
    await texts.release?.(tx);
  };
  const textsOf = (input: StagedInput) => (input as JsonStagedInput).jsonTexts.inMemory!;
  // Texts held in memory go to DuckDB as parameters, or through a temporary table when they cannot.
  const directInMemory = async (tx: Transaction, parts: Array<{ source: JsonTextSource; request: number }>): Promise<DirectSource> => {
    const params = textParameters(parts);
    if (params) return plan.parameterDirect(params);
    const { sql, release } = await appendTexts(tx, parts.map(({ source: texts, request }) => ({ values: texts.inMemory!, request })));
    return { sql: plan.directOf(sql), numbered: true, ...(release && { release }) };
  };
  const heldInMemory = source.ndjsonBody !== undefined || source.inMemory !== undefined;
  const input: JsonStagedInput = {
    columns: plan.columnNames,
    controls: true,
    jsonTexts: source,
    load: async (tx, rawTable, request) => load(tx, rawTable, await source.read(tx, request)),
    async direct(tx) {
      const fromFile = source.ndjsonFile && readNdjsonFile(source.ndjsonFile, columns, plan.paths, options);
      if (fromFile) return { sql: fromFile };
      if (heldInMemory) return directInMemory(tx, [{ source, request: 0 }]);
      const { sql, release } = await source.read(tx, 0);
      return { sql: plan.directOf(sql), numbered: true, ...(release && { release }) };
    },
    ...(heldInMemory && {
      merge: {
        key: plan.mergeKey,
        // Every format but debezium gives one row per JSON value.
        ...(options.format !== 'debezium' && { rowCount: source.ndjsonBody?.records ?? source.inMemory!.length }),
        load: async (tx, rawTable, parts) => load(tx, rawTable, await appendTexts(tx, parts.map(({ input, request }) => ({ values: textsOf(input), request })))),
        direct: (tx, parts) => directInMemory(tx, parts.map(({ input, request }) => ({ source: (input as JsonStagedInput).jsonTexts, request }))),
      },
    }),
  };
  return input;
}

/** The SQL that reads a table's columns out of JSON texts under one set of options (see `readPlanOf`). */
interface JsonReadPlan {
  columnNames: string[];
  paths: JsonPath[];
  /** The raw stage's columns (`_req, _row, _weight, _error, _source, v0…vn, _group, _sets, _mismatches`) from SQL over texts. */
  rowsOf(textSql: string): string;
  /** The columns a direct write reads (`_req, _row, _error, v0…vn, _sets`) from SQL over texts. */
  directOf(textSql: string): string;
  /** The direct source of texts passed as parameters. */
  parameterDirect(params: TextParameters): DirectSource;
  /** Inputs with the same plan load together (see `StagedInput.merge`). */
  mergeKey: string;
}

/**
 * Plans by the columns they read (a table's column list, replaced whenever the table's schema
 * changes) and the options: built once, as every request of a stream of events needs the same.
 */
const readPlans = new WeakMap<Column[], Map<string, JsonReadPlan>>();
let readPlanCounter = 0;

function readPlanOf(columns: Column[], options: JsonDecodeOptions): JsonReadPlan {
  let plans = readPlans.get(columns);
  if (!plans) readPlans.set(columns, (plans = new Map()));
  const key = JSON.stringify(options);
  let plan = plans.get(key);
  if (!plan) plans.set(key, (plan = buildReadPlan(columns, options)));
  return plan;
}

/** SQL: the JSON name of a kind as DuckDB's json_type gives it (naming numbers by the type it would read them as). */
const jsonKindName = (kind: string) => `CASE ${kind} WHEN 'VARCHAR' THEN 'a string' WHEN 'BIGINT' THEN 'a number' WHEN 'UBIGINT' THEN 'a number'
  WHEN 'DOUBLE' THEN 'a number' WHEN 'BOOLEAN' THEN 'a boolean' WHEN 'NULL' THEN 'null' WHEN 'ARRAY' THEN 'an array' WHEN 'OBJECT' THEN 'an object' ELSE 'nothing' END`;

/** The JSON name of `row`'s kind. */
const JSON_KIND_NAME = jsonKindName('json_type(row)');

/**
 * The JSON kinds (as json_type names them) a value of each column type is written in, with their
 * name for messages, where `JsonDecodeOptions.typedValues` asks for them: as Feldera reads JSON.
 * Numbers are not checked: one given as a string has the same digits (and a number that is not a
 * value of its column, a fraction for an integer, fails as such). A JSON column (a VARIANT) takes
 * any; null is every column's missing value.
 */
const TYPED_JSON_KINDS: Partial<Record<DataTypeKind, { kinds: string[]; name: string }>> = {
  boolean: { kinds: ['BOOLEAN'], name: 'true or false' },
  string: { kinds: ['VARCHAR'], name: 'a string' },
  uuid: { kinds: ['VARCHAR'], name: 'a string' },
  date: { kinds: ['VARCHAR'], name: 'a string' },
  time: { kinds: ['VARCHAR'], name: 'a string' },
  timestamp: { kinds: ['VARCHAR'], name: 'a string' },
  binary: { kinds: ['ARRAY'], name: 'an array of bytes' },
  list: { kinds: ['ARRAY'], name: 'an array' },
  map: { kinds: ['OBJECT'], name: 'an object' },
  struct: { kinds: ['OBJECT'], name: 'an object' },
};

function buildReadPlan(columns: Column[], options: JsonDecodeOptions): JsonReadPlan {
  // Columns that may receive a decimal (or with `exactIntegers` an integer a double cannot hold)
  // read a record with long numbers from a text of it that keeps their digits (`_exact`, see
  // `exactNumbers`); the other columns, and other records, read it as sent.
  const exactColumns = columns.map((column) => holdsType(column.type, (type) => needsExactNumbers(type, options.exactIntegers ?? false)));
  const exact = exactColumns.some(Boolean) ? exactNumbers : () => 'NULL::VARCHAR';
  const paths = columns.map((column) => (column.jsonPath ? parseJsonPath(column.jsonPath) : keyPath(column.name)));
  const sets = `CASE WHEN _partial THEN list_filter([${columns.map((column, index) => `CASE WHEN ${columnPresent(column, paths[index]!, index, options)} THEN ${quoteLiteral(column.name)} END`).join(', ')}]::VARCHAR[], name -> name IS NOT NULL) END`;
  // Plain paths are read together, one parse of the row for all scalars and one for all nested values;
  // each column then takes its element of those lists.
  const shared = sharedExtraction(columns, paths, 'row', () => true);
  const sharedExact = sharedExtraction(columns, paths, '_exact', (index) => exactColumns[index]!);
  // Keys matched regardless of case are looked up in the row's keys, listed once.
  const keys = options.caseInsensitive ? "CASE WHEN json_type(row) = 'OBJECT' THEN json_keys(row) END AS _keys" : '';
  const lists = [shared.lists, sharedExact.lists, keys].filter(Boolean).join(', ');
  const orExact = (index: number, asSent: string, exactly: string) => (exactColumns[index] ? `CASE WHEN _exact IS NULL THEN ${asSent} ELSE ${fromExact(columns[index]!, exactly)} END` : asSent);
  const values = columns.map((column, index) => {
    const read = (row: string, element: string | undefined) => extractColumn(column, paths[index]!, index, options, row, element);
    return `${orExact(index, read('row', shared.element[index]), read('_exact', sharedExact.element[index]))} AS v${index}`;
  });
  // With typed values, each column's value as JSON (found as its text is) is checked for its kind,
  // and for a bare NaN or Infinity, which DuckDB's parser takes for a number and JSON has none of.
  const mismatches = !options.typedValues ? [] : columns.map((column, index) => {
    const typed = column.type.kind === 'timestamp' && options.timestampsInMillis ? MILLIS_KINDS : TYPED_JSON_KINDS[column.type.kind];
    const json = extractColumn({ ...column, type: { kind: 'json' } }, paths[index]!, index, options, 'row');
    const kind = `json_type(${json})`;
    const value = `${quoteLiteral(`column "${column.name}": value `)} || left(${json}, 200)`;
    const wrongKind = typed && `WHEN ${kind} NOT IN (${[...typed.kinds, 'NULL'].map((name) => `'${name}'`).join(', ')})
      THEN ${value} || ' is ' || ${jsonKindName(kind)} || ${quoteLiteral(`, not ${typed.name}`)}`;
    return `{'c': ${quoteLiteral(column.name)}, 'e': CASE WHEN ${kind} = 'DOUBLE' AND regexp_matches(${json}, '[A-DF-Za-df-z]') THEN ${value} || ' is not JSON (NaN and Infinity are no JSON numbers)'
      ${wrongKind ?? ''} END}`;
  });
  const failures = [
    ...(mismatches.length === 0 ? [] : [`list_filter([${mismatches.join(', ')}], m -> m['e'] IS NOT NULL)`]),
    ...(options.caseInsensitive ? [repeatedKeys(columns)] : []),
  ].filter((list) => list !== undefined);
  const mismatchList = failures.length === 0 ? 'NULL::STRUCT(c VARCHAR, e VARCHAR)[]' : `nullif(${failures.reduce((all, list) => `list_concat(${all}, ${list})`)}, []::STRUCT(c VARCHAR, e VARCHAR)[])`;
  const shapes = ['OBJECT', ...(options.positional ? ['ARRAY'] : [])];
  const rowCheck = `json_type(row) IN (${shapes.map((shape) => `'${shape}'`).join(', ')})${options.scalarColumn === undefined ? '' : ` OR ${IS_SCALAR}`}`;
  const expected = ['object', ...(options.positional ? ['array'] : []), ...(options.scalarColumn === undefined ? [] : ['bare value'])].join(' or ');
  // A row given as an array (positional) has one value per column, as Feldera's decoder reads it.
  const wrongLength = `coalesce(json_type(row) = 'ARRAY' AND json_array_length(row) <> ${columns.length}, false)`;
  const rowsOf = (textSql: string) => `SELECT _req, _row, _weight,
              CASE WHEN _error IS NOT NULL THEN _error
                   WHEN NOT (${rowCheck}) THEN 'expected a JSON ${expected}, got ' || ${JSON_KIND_NAME}
                   ${options.positional ? `WHEN ${wrongLength} THEN 'expected an array of ${columns.length} value${columns.length === 1 ? '' : 's'}, one per column, got ' || json_array_length(row)` : ''} END AS _error,
              CASE WHEN _error IS NOT NULL OR NOT (${rowCheck})${options.positional ? ` OR ${wrongLength}` : ''} THEN j END AS _source,
              ${values.join(', ')}, ${options.atomicArrays ? '_group' : '_row'} AS _group, ${sets} AS _sets, ${mismatchList} AS _mismatches
            FROM (SELECT *, ${lists} FROM (${UPDATE_FORMATS[options.format](`(SELECT _req, _row, _group, CASE WHEN _error IS NULL AND NOT json_valid(j) THEN 'invalid JSON' ELSE _error END AS _error, j FROM (${textSql}))`, exact)}))`;
  // A direct write only needs to fail on a value of the wrong kind: the stage then says which.
  const directOf = (textSql: string) => `SELECT _req, _row, coalesce(_error, CASE WHEN _mismatches IS NOT NULL THEN 'a value the JSON input refused' END) AS _error,
      ${[...columns.map((_, index) => `v${index}`), '_sets'].join(', ')} FROM (${rowsOf(textSql)})`;
  // Texts passed as parameters, all of them opening an object, of whole rows whose columns all have
  // plain paths: each text is parsed once, by the extraction. The checks `rowsOf` makes need parses
  // of their own and change nothing here: extraction fails on a text that is not valid JSON (and
  // the stage takes over), and one that opens with `{` and is valid is an object.
  const lean = options.format === 'raw' && !options.caseInsensitive && !options.positional && options.scalarColumn === undefined && !options.typedValues &&
    shared.element.every((element) => element !== undefined);
  const leanOf = (textSql: string) => `SELECT _req, _row, NULL::VARCHAR AS _error, ${shared.element.map((element, index) => `${orExact(index, element!, sharedExact.element[index]!)} AS v${index}`).join(', ')}, NULL::VARCHAR[] AS _sets
       FROM (SELECT _req, _row, _exact, ${lists} FROM (SELECT _req, _row, j AS row, ${exact('j', false)} AS _exact FROM (${textSql})))`;
  // Parameters come as one of two fixed queries: the SQL over each is built once.
  const parameterSql = new Map<string, string>();
  return {
    columnNames: columns.map((column) => column.name),
    paths,
    rowsOf,
    directOf,
    parameterDirect(params) {
      const key = `${lean && params.objectsOnly}\u0000${params.sql}`;
      let sql = parameterSql.get(key);
      if (sql === undefined) parameterSql.set(key, (sql = lean && params.objectsOnly ? leanOf(params.sql) : directOf(params.sql)));
      return { sql, numbered: true, params: { values: params.values, types: params.types } };
    },
    mergeKey: `json\u0000${(readPlanCounter += 1)}`,
  };
}

interface JsonStagedInput extends StagedInput {
  jsonTexts: JsonTextSource;
}

/**
 * Each update format as SQL over `(_req, _row, _group, _error, j)` giving `(_req, _row, _group, _weight, _error,
 * j, row, _exact, _partial)`; `row` is the JSON of the row the change is about, NULL when the value
 * has the wrong shape, `_exact` the same row read from `exact(j)` (NULL where that is), and
 * `_partial` marks a row that sets only the columns it has; `j` stays the record's text as sent.
 */
const UPDATE_FORMATS: Record<UpdateFormat, (source: string, exact: (text: string) => string) => string> = {
  raw: (source, exact) => `SELECT _req, _row, _group, 1 AS _weight, _error, j, CASE WHEN _error IS NULL THEN j::JSON END AS row,
    CASE WHEN _error IS NULL THEN (${exact('j')})::JSON END AS _exact, false AS _partial FROM ${source}`,
  // A record may hold a delete, an insert and an update (a partial row), each present and not null;
  // they apply in that order (the write path orders a record's changes by weight, then whole rows
  // before partial ones). A record of none of them (`{}`, `{"insert": null}`) changes nothing, as in
  // Feldera; any other key is an error.
  insert_delete: (source, exact) => `
    WITH records AS (SELECT _req, _row, _group, _text AS j, _exact,
        CASE WHEN _error IS NOT NULL THEN _error
             WHEN json_type(j) <> 'OBJECT' OR len(list_filter(json_keys(j), k -> k NOT IN ('insert', 'delete', 'update', 'table'))) > 0
             THEN 'expected {"insert": row} or {"delete": row} (or {"update": row} on a keyed table)' END AS _error,
        CASE WHEN _error IS NULL THEN j END AS valid
      FROM (SELECT _req, _row, _group, _error, CASE WHEN _error IS NULL THEN j END AS j, j AS _text, CASE WHEN _error IS NULL THEN ${exact('j')} END AS _exact FROM ${source}))
    ${INSERT_DELETE_PARTS.map(({ key, weight, partial }) => `SELECT _req, _row, _group, ${weight} AS _weight, NULL::VARCHAR AS _error, j,
        json_extract(valid, '$.${key}') AS row, json_extract(_exact, '$.${key}') AS _exact, ${partial} AS _partial
      FROM records WHERE _error IS NULL AND coalesce(json_type(valid, '$.${key}'), 'NULL') <> 'NULL'`).join('\n    UNION ALL\n    ')}
    UNION ALL
    SELECT _req, _row, _group, 0, _error, j, NULL, NULL, false FROM records WHERE _error IS NOT NULL`,
  weighted: (source, exact) => `
    SELECT _req, _row, _group, CASE WHEN ${INTEGER_WEIGHT} THEN TRY_CAST(json_extract_string(j, '$.weight') AS BIGINT) ELSE 0 END AS _weight,
      CASE WHEN _error IS NOT NULL THEN _error
           WHEN NOT ${INTEGER_WEIGHT} OR TRY_CAST(json_extract_string(j, '$.weight') AS BIGINT) IS NULL THEN 'expected an integer "weight"'
           WHEN TRY_CAST(json_extract_string(j, '$.weight') AS BIGINT) NOT BETWEEN -${MAX_WEIGHT} AND ${MAX_WEIGHT} THEN 'expected a "weight" between -${MAX_WEIGHT} and ${MAX_WEIGHT} (each copy is stored as a row)'
           WHEN NOT json_exists(j, '$.data') THEN 'expected {"weight": n, "data": row}' END AS _error,
      _text AS j, json_extract(j, '$.data') AS row, json_extract(_exact, '$.data') AS _exact, false AS _partial
    FROM (SELECT _req, _row, _group, _error, CASE WHEN _error IS NULL THEN j END AS j, j AS _text, CASE WHEN _error IS NULL THEN ${exact('j')} END AS _exact FROM ${source})`,
  // An update is a delete of `before` and an insert of `after`: two changes of one record,
  // ordered delete first (the write path orders a record's changes by weight).
  debezium: (source, exact) => `
    WITH records AS (SELECT *, json_extract_string(j, '$.payload.op') AS op
      FROM (SELECT _req, _row, _group, _error, CASE WHEN _error IS NULL THEN j END AS j, j AS _text, CASE WHEN _error IS NULL THEN ${exact('j')} END AS _exact FROM ${source}))
    SELECT _req, _row, _group, -1 AS _weight, _error, _text AS j, json_extract(j, '$.payload.before') AS row, json_extract(_exact, '$.payload.before') AS _exact, false AS _partial
      FROM records WHERE _error IS NULL AND op IN ('u', 'd')
    UNION ALL
    SELECT _req, _row, _group, 1 AS _weight, _error, _text, json_extract(j, '$.payload.after') AS row, json_extract(_exact, '$.payload.after') AS _exact, false
      FROM records WHERE _error IS NULL AND op IN ('c', 'r', 'u')
    UNION ALL
    SELECT _req, _row, _group, 0, coalesce(_error, 'expected {"payload": {"op": "c|u|d|r", "before": row, "after": row}}'), _text, NULL, NULL, false
    FROM records WHERE _error IS NOT NULL OR op IS NULL OR op NOT IN ('c', 'r', 'u', 'd')`,
};

/** The changes a record of the insert_delete format may hold, in the order they apply. */
const INSERT_DELETE_PARTS = [
  { key: 'delete', weight: -1, partial: false },
  { key: 'insert', weight: 1, partial: false },
  { key: 'update', weight: 1, partial: true },
];

/** The JSON kinds of a timestamp given in milliseconds since the epoch (see `JsonDecodeOptions.timestampsInMillis`). */
const MILLIS_KINDS = { kinds: ['BIGINT', 'UBIGINT'], name: 'a number of milliseconds since the epoch' };

/** Kinds whose column keeps a value's text as it is read (a number's spelling included). */
const KEPT_TEXT_KINDS = new Set<DataTypeKind>(['string', 'binary']);

/**
 * A number with an exponent as DuckDB prints a double (`1e-07`, `1e+16`, `1.5e+300`): the JSON
 * reader prints a number read as text so, where JSON extraction prints `1e-7`,
 * `10000000000000000.0`, `1.5e300`. Where DuckDB's print has no exponent, the two agree.
 */
const READER_EXPONENT_PRINT = `'-?[0-9]+(\\.[0-9]+)?e[+-][0-9]+'`;

/**
 * SQL reading the direct source's columns (`_error, v0…vn, _sets`) from an NDJSON file with
 * DuckDB's JSON reader, when that gives exactly the texts the extraction below gives: whole rows
 * (raw format) whose columns are top-level keys, matched by exact name. Values of nested kinds are
 * read as JSON, the others as text; both print a value the way JSON extraction does, as both come
 * from the same parser, but for a number that DuckDB prints with an exponent (see
 * READER_EXPONENT_PRINT), which a text column would keep. The reader fails, and the stage takes
 * over, on a record it reads differently: a line that is not one whole object (an array, a scalar,
 * two objects, an object over two lines), an object with a key twice, a byte order mark, a line
 * longer than the spool's line limit, such a number in a text column (or a text spelled like one).
 * It reads a `null` line as a row of NULLs, like `{}`; such rows are left to the stage.
 */
function readNdjsonFile(path: string, columns: Column[], paths: JsonPath[], options: JsonDecodeOptions): string | undefined {
  if (options.format !== 'raw' || options.caseInsensitive || options.positional || options.scalarColumn !== undefined || options.timestampsInMillis) return undefined;
  // The reader reads a number with a fraction as a double, which a decimal column would store
  // rounded; a JSON column's value with such a number is left to the stage (below).
  if (columns.some((column) => holdsType(column.type, (type) => type.kind !== 'json' && needsExactNumbers(type, options.exactIntegers ?? false)))) return undefined;
  const keys = paths.map((path) => (path.steps.length === 1 && 'key' in path.steps[0]! ? path.steps[0].key : undefined));
  if (keys.some((key) => key === undefined)) return undefined;
  const types = new Map<string, string>();
  columns.forEach((column, index) => {
    const type = NESTED_KINDS.has(column.type.kind) ? 'JSON' : 'VARCHAR';
    types.set(keys[index]!, types.get(keys[index]!) === 'JSON' || type === 'JSON' ? 'JSON' : 'VARCHAR');
  });
  const values = columns.map((column, index) => {
    const key = quoteIdentifier(keys[index]!);
    return `${types.get(keys[index]!) === 'JSON' && !NESTED_KINDS.has(column.type.kind) ? `json_extract_string(${key}, '$')` : `${key}::VARCHAR`} AS v${index}`;
  });
  const readerColumns = [...types].map(([key, type]) => `${quoteLiteral(key)}: '${type}'`).join(', ');
  const allMissing = columns.map((_, index) => `v${index} IS NULL`).join(' AND ');
  // A text column keeps the text it reads, which for a number must be the extraction's print of it.
  const printedOtherwise = columns.flatMap((column, index) => (KEPT_TEXT_KINDS.has(column.type.kind) && types.get(keys[index]!) === 'VARCHAR' ? [`regexp_full_match(v${index}, ${READER_EXPONENT_PRINT})`] : []));
  // A JSON value the reader printed with a long number in it may have lost digits: the stage reads it exactly (see `exactNumbers`).
  printedOtherwise.push(...columns.flatMap((column, index) => (holdsType(column.type, (type) => type.kind === 'json') ? [`regexp_matches(v${index}, '${LONG_INEXACT_NUMBER}')`] : [])));
  return `SELECT CASE WHEN ${allMissing} THEN 'a record without values, perhaps null'
      ${printedOtherwise.length > 0 ? `WHEN ${printedOtherwise.join(' OR ')} THEN 'a number the JSON reader prints otherwise'` : ''} END AS _error, *
    FROM (SELECT ${values.join(', ')}, NULL::VARCHAR[] AS _sets
    FROM read_json(${quoteLiteral(path)}, format = 'newline_delimited', records = true, columns = {${readerColumns}}, maximum_object_size = ${MAX_LINE_BYTES}))`;
}

/**
 * SQL: a record's JSON text with its numbers that have a fraction or an exponent as strings marked
 * with a leading U+0001 (`"\u0001…"`, which no JSON text holds unescaped), when it holds such a
 * number with many digits; NULL for the others (nearly every record) and for a text that is not
 * JSON (unless told not to `validate` it: the text of one that is not is then no JSON either). DuckDB's JSON functions read such a number as a double, which keeps 15 to 17 significant
 * digits: 0.1234567890123456789 would reach a Decimal(38, 19) column as 0.12345678901234568, and
 * 9007199254740993.0 an int64 column as 9007199254740992. As a string the number keeps its digits;
 * `fromExact` gives each column its value read from this text. Only the columns that may hold a
 * decimal, a long integer or JSON read it. The text is cut into string literals and what lies
 * between them, and only numbers between strings are quoted.
 */
function exactNumbers(text: string, validate = true): string {
  const pieces = `regexp_extract_all(${text}, '"(?:[^"\\\\]|\\\\.)*"|[^"]+')`;
  const quoted = `array_to_string(list_transform(${pieces}, piece -> CASE WHEN starts_with(piece, '"') THEN piece
    ELSE regexp_replace(piece, '(-?[0-9]+(?:\\.[0-9]+)?[eE][+-]?[0-9]+|-?[0-9]+\\.[0-9]+)', '"\\\\u0001\\1"', 'g') END), '')`;
  return `CASE WHEN regexp_matches(${text}, '${LONG_INEXACT_NUMBER}')${validate ? ` AND json_valid(${text})` : ''} THEN ${quoted} END`;
}

/**
 * SQL: a column's value read from `exactNumbers`' text (`text`, as `extractColumn` reads it) with
 * its marked numbers as the column takes them: a JSON column's as the numbers they were, with all
 * their digits; a nested value's (a list of decimals) as strings, which its elements convert as they
 * convert numbers; a scalar's as its digits.
 */
function fromExact(column: Column, text: string): string {
  if (column.type.kind === 'json') return `regexp_replace(${text}, '"\\\\u0001([^"]*)"', '\\1', 'g')`;
  if (NESTED_KINDS.has(column.type.kind)) return `replace(${text}, '"\\u0001', '"')`;
  return `ltrim(${text}, chr(1))`;
}

/**
 * A regular expression finding, in a JSON text, what may be a number of 16 or more digits with a
 * fraction or an exponent: sixteen characters of digits and a point that hold the point, or that
 * an exponent follows. A double prints a number of 15 significant digits or fewer as it was
 * written, so a text without such a run needs no exact reading; long integers without either are
 * kept as written by DuckDB's JSON functions.
 */
const LONG_INEXACT_NUMBER = ['[0-9.]{16}[eE]', ...Array.from({ length: 16 }, (_, digits) => `[0-9]{${digits}}\\.[0-9.]{${15 - digits}}`)].join('|');

/**
 * Whether a number written with a fraction or an exponent (`9007199254740993.0`) could lose digits
 * that a value of this type keeps, if read as a double: a decimal's, a JSON value's (its numbers
 * are kept as written), and with `integers` a long integer's (where a shorter one keeps all its digits in a double).
 */
function needsExactNumbers(type: DataType, integers: boolean): boolean {
  return type.kind === 'decimal' || type.kind === 'json' || (integers && type.kind === 'int' && type.bits >= 64);
}

/**
 * SQL: for keys matched to columns regardless of case, the columns of a row (its keys `_keys`) that
 * two or more keys name in different cases and none exactly (`{"Id": 1, "ID": 2}` for a column
 * `id`), or that its exact key names twice (`{"v": 1, "v": 2}`), each with why: neither value is
 * taken over the other without a word, as a CSV header or an Arrow schema naming a column twice is
 * refused. Checked only in a row whose keys collide so.
 */
function repeatedKeys(columns: Column[]): string | undefined {
  const named = columns.filter((column) => column.jsonPath === undefined);
  if (named.length === 0) return undefined;
  const entries = named.map((column) => {
    const variants = keysNaming(column);
    const exact = `len(list_filter(_keys, k -> k = ${quoteLiteral(column.name)}))`;
    // The exact key twice is the column given twice too: JSON parsers differ on which one counts.
    return `{'c': ${quoteLiteral(column.name)}, 'e': CASE WHEN ${exact} > 1
      THEN ${quoteLiteral(`column "${column.name}": key "${column.name}" is given `)} || ${exact} || ' times; send it once'
      WHEN ${exact} = 0 AND len(${variants}) > 1
      THEN ${quoteLiteral(`column "${column.name}": keys `)} || array_to_string(list_transform(${variants}, k -> '"' || k || '"'), ' and ')
        || ' all name it, in different cases; send it once' END}`;
  });
  return `CASE WHEN len(_keys) > len(list_distinct(list_transform(_keys, k -> lower(k))))
    THEN list_filter([${entries.join(', ')}], m -> m['e'] IS NOT NULL) ELSE []::STRUCT(c VARCHAR, e VARCHAR)[] END`;
}

/** SQL: the keys of a row (`_keys`) that name the column regardless of case. */
function keysNaming(column: Column): string {
  return `list_filter(_keys, k -> lower(k) = ${quoteLiteral(column.name.toLowerCase())})`;
}

/** The largest number of copies one weighted record may insert or delete. */
export const MAX_WEIGHT = 1_000_000;

/** A weight given as a JSON integer (a fraction such as 1.5 would otherwise be rounded by the cast). */
const INTEGER_WEIGHT = `coalesce(json_type(j, '$.weight') IN ('BIGINT', 'UBIGINT'), false)`;

/** The row is a bare JSON value: neither an object nor an array. */
const IS_SCALAR = `json_type(row) NOT IN ('OBJECT', 'ARRAY')`;

/** Kinds whose values are kept as JSON text rather than as the scalar's own text. */
const NESTED_KINDS = new Set<DataTypeKind>(['list', 'map', 'struct', 'json']);

/**
 * The lists of values of the columns with plain paths (no `[:]`), read with one parse of the row per
 * list, and for each column the SQL of its element (undefined for the others).
 */
function sharedExtraction(columns: Column[], paths: JsonPath[], row: string, included: (index: number) => boolean): { lists: string; element: Array<string | undefined> } {
  const scalars: string[] = [];
  const nested: string[] = [];
  const element = columns.map((column, index) => {
    const path = paths[index]!;
    if (!included(index) || path.steps.length === 0 || hasWildcard(path)) return undefined;
    const literal = quoteLiteral(toDuckDBJsonPath(path));
    if (NESTED_KINDS.has(column.type.kind)) {
      nested.push(literal);
      return `nullif(${row}_nested[${nested.length}]::VARCHAR, 'null')`;
    }
    scalars.push(literal);
    return `${row}_scalars[${scalars.length}]`;
  });
  const lists = [
    scalars.length > 0 && `json_extract_string(${row}, [${scalars.join(', ')}]) AS ${row}_scalars`,
    nested.length > 0 && `json_extract(${row}, [${nested.join(', ')}]) AS ${row}_nested`,
  ].filter(Boolean).join(', ');
  return { lists, element };
}

/** SQL: the text of the column's value in the JSON `row`, or `sharedElement` where that reads it (see `sharedExtraction`). */
function extractColumn(column: Column, path: JsonPath, position: number, options: JsonDecodeOptions, row: string, sharedElement?: string): string {
  const nested = NESTED_KINDS.has(column.type.kind);
  const read = (duckdbPath: string) => {
    const literal = quoteLiteral(duckdbPath);
    if (hasWildcard(path)) {
      // A wildcard over a missing array gives []: only an array that is there is a value. Over a
      // value that is no array (`"tags": "a"`), the value itself is given, which no array type takes.
      const container = quoteLiteral(toDuckDBJsonPath({ text: path.text, steps: path.steps.slice(0, path.steps.findIndex((step) => 'every' in step)) }));
      const elements = everyElement(row, path, 'json_extract');
      return `CASE json_type(${row}, ${container}) WHEN 'ARRAY' THEN to_json(${elements})::VARCHAR WHEN 'NULL' THEN NULL
        ELSE json_extract(${row}, ${container})::VARCHAR END`;
    }
    return nested ? `nullif(json_extract(${row}, ${literal})::VARCHAR, 'null')` : `json_extract_string(${row}, ${literal})`;
  };
  let byName = sharedElement ?? (path.steps.length === 0 ? (nested ? `${row}::VARCHAR` : `json_extract_string(${row}, '$')`) : read(toDuckDBJsonPath(path)));
  if (options.caseInsensitive && !column.jsonPath) {
    // The exact key where the row has it (holding null too); otherwise the first key equal regardless of case.
    const key = `${keysNaming(column)}[1]`;
    const loose = nested ? `nullif(json_extract(${row}, '$."' || replace(${key}, '"', '\\"') || '"')::VARCHAR, 'null')` : `json_extract_string(${row}, '$."' || replace(${key}, '"', '\\"') || '"')`;
    byName = `CASE WHEN list_contains(_keys, ${quoteLiteral(column.name)}) THEN ${byName} ELSE ${loose} END`;
  }
  if (options.scalarColumn === column.name) byName = `CASE WHEN ${IS_SCALAR} THEN json_extract_string(${row}, '$') ELSE ${byName} END`;
  const text = !options.positional ? byName : `CASE WHEN json_type(${row}) = 'ARRAY' THEN ${nested ? `nullif(json_extract(${row}, '$[${position}]')::VARCHAR, 'null')` : `json_extract_string(${row}, '$[${position}]')`} ELSE ${byName} END`;
  // Milliseconds since the epoch, as the time they stand for (the text a timestamp column reads).
  if (column.type.kind === 'timestamp' && options.timestampsInMillis) {
    return `CASE WHEN regexp_full_match(${text}, '-?[0-9]{1,15}') THEN strftime(epoch_ms(CAST(${text} AS BIGINT)), '%Y-%m-%d %H:%M:%S.%g') ELSE ${text} END`;
  }
  return text;
}

/** SQL: whether the row gives a value (possibly null) for the column, found the way `extractColumn` finds it. */
function columnPresent(column: Column, path: JsonPath, position: number, options: JsonDecodeOptions): string {
  let byName: string;
  if (path.steps.length === 0) byName = 'true';
  else if (hasWildcard(path)) {
    const container = toDuckDBJsonPath({ text: path.text, steps: path.steps.slice(0, path.steps.findIndex((step) => 'every' in step)) });
    byName = `coalesce(json_type(row, ${quoteLiteral(container)}) = 'ARRAY', false)`;
  } else byName = `json_extract(row, ${quoteLiteral(toDuckDBJsonPath(path))}) IS NOT NULL`;
  if (options.caseInsensitive && !column.jsonPath) {
    byName = `(${byName} OR coalesce(len(${keysNaming(column)}) > 0, false))`;
  }
  if (options.scalarColumn === column.name) byName = `(${IS_SCALAR} OR ${byName})`;
  if (!options.positional) return byName;
  return `CASE WHEN json_type(row) = 'ARRAY' THEN json_array_length(row) > ${position} ELSE ${byName} END`;
}
