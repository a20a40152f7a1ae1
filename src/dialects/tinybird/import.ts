import { randomUUID } from 'node:crypto';
import type { Principal } from '../../core/auth/scopes.ts';
import { allows } from '../../core/auth/scopes.ts';
import type { Column, Namespace, Table } from '../../core/catalog/model.ts';
import { SluiceError } from '../../core/errors.ts';
import { inferCsv } from '../../core/ingest/inference/index.ts';
import { ingest, type IngestFormat } from '../../core/ingest/ingest.ts';
import type { IngestSource } from '../../core/ingest/sources/source.ts';
import { spoolToFile } from '../../core/ingest/sources/spool-file.ts';
import type { Sluice } from '../../core/sluice.ts';
import { printClickHouseType } from '../../core/types/index.ts';
import type { WriteKind, WriteResult } from '../../core/write/write-command.ts';
import { createOrJoin, findDatasource, renderDatasource, type TinybirdTableProperties } from './datasource.ts';
import type { Params } from './params.ts';
import { Pipes } from './pipes.ts';
import { parseSchema, TINYBIRD_COERCION } from './schema.ts';
import { WORKSPACE } from './scopes.ts';
import { rewriteClickHouseSql } from './sql/clickhouse-sql.ts';

export const MODES = ['create', 'append', 'replace'] as const;
export type Mode = (typeof MODES)[number];

/** Tinybird's format names and the core format each reads. */
export const FORMATS = { csv: 'csv', ndjson: 'json', parquet: 'parquet' } as const satisfies Record<string, IngestFormat>;
export type TinybirdFormat = keyof typeof FORMATS;

/** How ClickHouse's CSV writes NULL, and reads it: an unquoted `\N`. */
export const CLICKHOUSE_CSV_NULL = '\\N';

export interface ImportRequest {
  mode: Mode;
  format: TinybirdFormat;
  name: string | undefined;
  params: Params;
  /** The data, when the request carries or names some. */
  source?: IngestSource;
  maxBytes: number;
  importId: string;
  onProgress?: (progress: { bytesRead: number; totalBytes?: number }) => void;
  signal?: AbortSignal;
  /** The idempotency key of the import's write (a job's, see `JobContext.writeKey`). */
  writeKey?: string;
}

export function parseMode(params: Params): Mode {
  const mode = params.get('mode') ?? 'create';
  if (!(MODES as readonly string[]).includes(mode)) throw new SluiceError('INVALID_ARGUMENT', `Invalid mode "${mode}", valid modes are ${MODES.join(', ')}`);
  return mode as Mode;
}

/**
 * The import's format: the `format` parameter; without one, what the file's or URL's name ends in
 * (`.ndjson`, `.jsonl`, `.parquet`, gzipped or not: Tinybird's SDK sends such files without a
 * format), else the format of the data source written to, else CSV.
 */
export function parseFormat(params: Params, hints: { fileName?: string | undefined; existing?: Table | undefined } = {}): TinybirdFormat {
  const format = params.get('format') ?? formatOfName(hints.fileName) ?? existingFormat(hints.existing) ?? 'csv';
  if (!(format in FORMATS)) throw new SluiceError('INVALID_ARGUMENT', `Invalid format "${format}", valid formats are ${Object.keys(FORMATS).join(', ')}`);
  return format as TinybirdFormat;
}

function formatOfName(name: string | undefined): TinybirdFormat | undefined {
  const base = (name ?? '').toLowerCase().split(/[?#]/)[0]!.replace(/\.gz$/, '');
  if (base.endsWith('.ndjson') || base.endsWith('.jsonl')) return 'ndjson';
  if (base.endsWith('.parquet')) return 'parquet';
  return base.endsWith('.csv') ? 'csv' : undefined;
}

function existingFormat(table: Table | undefined): TinybirdFormat | undefined {
  const format = table && (table.properties as TinybirdTableProperties).format;
  return format !== undefined && format in FORMATS ? (format as TinybirdFormat) : undefined;
}

/** A data source name from a file name or URL (`trips_2018.csv.gz` → `trips_2018`). */
/** Tinybird's rule for Data Source names: a letter or `_`, then letters, digits and `_`, so that SQL names them unquoted. */
export function checkDatasourceName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new SluiceError('INVALID_NAME', `Invalid Data Source name "${name}": use letters, digits and _, not starting with a digit`, { name });
  }
  return name;
}

export function nameFromFile(fileName: string | undefined): string | undefined {
  if (!fileName) return undefined;
  // A URL names its file in its path: not in its query string (a presigned URL's signature) or fragment.
  const path = URL.canParse(fileName) ? new URL(fileName).pathname : fileName;
  const last = path.split(/[/\\]/).pop() ?? '';
  const base = decodedOrAsIs(last).replace(/(\.(csv|ndjson|json|parquet|gz))+$/i, '');
  const name = base.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return name === '' ? undefined : /^[0-9]/.test(name) ? `_${name}` : name;
}

/** A percent-encoded name decoded; one that does not decode (`100%.csv`) as it is. */
function decodedOrAsIs(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `dialect_*` parameters: one character each. */
function csvDialect(params: Params): { delimiter?: string; escape?: string } {
  const single = (name: string): string | undefined => {
    const value = params.get(name);
    if (value !== undefined && [...value].length !== 1) throw new SluiceError('INVALID_ARGUMENT', `${name} must be a single character, got "${value}"`);
    return value;
  };
  const delimiter = single('dialect_delimiter');
  const escape = single('dialect_escapechar');
  const newline = params.get('dialect_new_line');
  if (newline !== undefined && !['\n', '\r\n', '\\n', '\\r\\n'].includes(newline)) throw new SluiceError('INVALID_ARGUMENT', `dialect_new_line must be \\n or \\r\\n, got "${newline}"`);
  return { ...(delimiter !== undefined && { delimiter }), ...(escape !== undefined && { escape }) };
}

/** The table engines of ClickHouse's MergeTree family (and Null) that Tinybird data sources name. */
const ENGINES = ['MergeTree', 'ReplacingMergeTree', 'SummingMergeTree', 'AggregatingMergeTree', 'CollapsingMergeTree', 'VersionedCollapsingMergeTree', 'Null'];

/** Engine settings kept as table metadata; `ReplacingMergeTree` keys the table by its sorting key; an unknown engine is a 400. */
function engineOf(params: Params): { properties: TinybirdTableProperties; sortingKey: KeyPart[]; partitionKey: KeyPart[]; replacing: boolean; version?: string } {
  const engine: Record<string, string> = {};
  for (const key of ['engine', 'engine_sorting_key', 'engine_partition_key', 'engine_ttl', 'engine_ver', 'engine_settings', 'engine_primary_key']) {
    const value = params.get(key);
    if (value !== undefined) engine[key] = value;
  }
  if (engine['engine'] !== undefined && !ENGINES.includes(engine['engine'])) {
    throw new SluiceError('INVALID_ARGUMENT', `Unknown engine "${engine['engine']}": use one of ${ENGINES.join(', ')}`, { engine: engine['engine'] });
  }
  return {
    properties: Object.keys(engine).length > 0 ? { engine } : {},
    sortingKey: keyParts(engine['engine_sorting_key']),
    partitionKey: keyParts(engine['engine_partition_key']),
    replacing: engine['engine'] === 'ReplacingMergeTree',
    ...(engine['engine_ver'] !== undefined && { version: engine['engine_ver'].trim().replace(/^`(.*)`$/, '$1') }),
  };
}

/** One part of an engine key: a column (plain or in backticks), or an expression such as `toDate(ts)`. */
type KeyPart = { column: string } | { expression: string };

/** The parts of an engine key: `a, b`, `(a, b)`, `tuple(a, b)`, split at the commas outside brackets and quotes. */
function keyParts(text: string | undefined): KeyPart[] {
  const list = (text ?? '').trim().replace(/^tuple\s*(?=\()/i, '');
  const inner = list.startsWith('(') && list.endsWith(')') ? list.slice(1, -1) : list;
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let index = 0; index < inner.length; index += 1) {
    const char = inner[index]!;
    if (quote) {
      if (char === quote) quote = '';
    } else if (char === "'" || char === '"' || char === '`') quote = char;
    else if (char === '(') depth += 1;
    else if (char === ')') depth -= 1;
    else if (char === ',' && depth === 0) {
      parts.push(inner.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(inner.slice(start));
  return parts.map((part) => part.trim()).filter((part) => part !== '').map((part) => {
    const quoted = /^`([^`]+)`$/.exec(part);
    if (quoted) return { column: quoted[1]! };
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(part) ? { column: part } : { expression: part };
  });
}

/**
 * Tinybird's columns on the core: a non-nullable array without DEFAULT defaults to `[]`, as
 * ClickHouse fills missing arrays.
 */
export function tinybirdColumns(columns: Column[]): Column[] {
  return columns.map((column) => (column.type.kind === 'list' && !column.nullable && column.defaultExpression === undefined ? { ...column, defaultExpression: '[]' } : column));
}

/** `withData`: the table is created for the rows that follow, provisional until they commit (see `TableSpec.provisional`). */
async function createTable(core: Sluice, principal: Principal, namespace: Namespace, name: string, columns: Column[], format: TinybirdFormat, params: Params, withData: boolean): Promise<Table> {
  const engine = engineOf(params);
  const columnsOf = (parts: KeyPart[]) => parts.flatMap((part) => ('column' in part ? [part.column] : []));
  const [sortingKey, partitionKey] = [columnsOf(engine.sortingKey), columnsOf(engine.partitionKey)];
  const unknown = [...sortingKey, ...partitionKey].find((key) => !columns.some((column) => column.name === key));
  if (unknown) throw new SluiceError('INVALID_SCHEMA', `Engine key column "${unknown}" is not a column of the schema`);
  // `[:]` takes every element of an array: its values fill an Array column, never a single value.
  const spread = columns.find((column) => column.jsonPath?.includes('[:]') && column.type.kind !== 'list');
  if (spread) throw new SluiceError('INVALID_SCHEMA', `Column "${spread.name}": the JSONPath ${spread.jsonPath} takes every element of an array, so the column must be an Array`, { column: spread.name });
  if (engine.replacing) {
    // The sorting key of a ReplacingMergeTree is the key rows are upserted by: only columns can be compared as they are.
    const expression = engine.sortingKey.find((part) => 'expression' in part);
    if (expression && 'expression' in expression) {
      throw new SluiceError('INVALID_SCHEMA', `A ReplacingMergeTree's engine_sorting_key must list columns: "${expression.expression}" is an expression, which Sluice cannot upsert by`);
    }
    const nullable = columns.find((column) => sortingKey.includes(column.name) && column.nullable);
    if (nullable) throw new SluiceError('INVALID_SCHEMA', `Sorting key column "${nullable.name}" of a ReplacingMergeTree cannot be Nullable`, { column: nullable.name });
  }
  return core.createTable(principal, namespace, {
    name: checkDatasourceName(name),
    columns: tinybirdColumns(columns),
    sortingKey,
    partitionKey,
    ...(engine.replacing && sortingKey.length > 0 && { primaryKey: sortingKey }),
    // ReplacingMergeTree(ver): of the rows of one key, the one with the greatest version stays.
    ...(engine.replacing && sortingKey.length > 0 && engine.version !== undefined && { versionColumn: engine.version }),
    properties: { ...engine.properties, format },
    ...(withData && { provisional: true }),
  });
}

/**
 * A data source as Tinybird's responses give it, with its statistics. Its row count is of the rows
 * the principal may read (a token with a row filter does not learn how many it may not); a
 * materialized view's target is counted only when asked for by itself (`listing` false): counting
 * runs its pipe's query.
 */
export async function datasourceOf(core: Sluice, principal: Principal, table: Table, options: { withSchema?: boolean; listing?: boolean } = {}) {
  const current = core.catalog.getTableById(table.id);
  const quarantine = core.catalog.quarantineOf(current);
  // A token that may not read the quarantine (one reading through a row filter) is not told how many rows it holds.
  const quarantineRows = quarantine && core.mayAct(principal, 'read', quarantine) ? quarantine.rowCount : 0;
  const rowCount = options.listing && current.kind === 'view' ? null : await core.readableRowCount(principal, current);
  const facts = { bytes: await core.tableBytes(current), rowCount, quarantineRows, usedBy: new Pipes(core).usersOf(current).map((pipe) => ({ id: `t_${pipe.id}`, name: pipe.name })) };
  return renderDatasource(current, facts, options);
}

/**
 * The mistakes a request's parameters make on their own, whatever its data: a 400 before any data
 * is read, and before a URL's import job starts (the job checks again when it runs).
 */
export function checkImportRequest(request: ImportRequest, existing: Table | undefined): void {
  const { mode, format, params, name } = request;
  if (params.get('schema') !== undefined && mode !== 'create') throw new SluiceError('INVALID_ARGUMENT', `The schema parameter is only valid with mode=create`);
  if (mode === 'create' && existing) throw new SluiceError('TABLE_EXISTS', `Data Source "${name}" already exists, use mode=append`, { table: name });
  if (mode === 'replace' && !existing) throw new SluiceError('INVALID_ARGUMENT', `Data Source "${name}" does not exist`);
  // Only a CSV file names and types its own table.
  if (!existing && params.get('schema') === undefined && format !== 'csv') {
    if (mode === 'create') throw new SluiceError('INVALID_ARGUMENT', "mode=create with format=ndjson or format=parquet requires to set parameter 'schema'.");
    throw new SluiceError('INVALID_ARGUMENT', `Data Source "${name}" does not exist`);
  }
}

/**
 * create / append / replace of a data source, from a request's data or a URL's (this runs inside
 * the import job for URLs). Returns Tinybird's response body.
 */
export async function runImport(core: Sluice, principal: Principal, request: ImportRequest): Promise<Record<string, unknown>> {
  const { mode, format, params } = request;
  const namespace = await core.catalog.ensureNamespace(WORKSPACE);
  const name = request.name;
  if (!name) throw new SluiceError('INVALID_ARGUMENT', 'The name parameter is required');
  const existing = findDatasource(core, principal, namespace.id, name);
  checkImportRequest(request, existing);
  const schemaText = params.get('schema');

  let table = existing;
  /** The spooled CSV a new table was inferred from, loaded as it is (by position, with its header or not). */
  let inferred: { path: string; hasHeader: boolean; delimiter: string; quote: string; escape: string } | undefined;
  /** The spooled file of an append that found the table made meanwhile by another (see `createOrJoin`). */
  let joined: IngestSource | undefined;
  /** Whether this import made the table (so that a failure undoes it). */
  let created = false;
  const cleanups: Array<() => Promise<void>> = [];
  try {
    if (!table && schemaText !== undefined) {
      const columns = parseSchema(schemaText);
      if (format === 'csv' && columns.some((column) => column.jsonPath)) throw new SluiceError('INVALID_SCHEMA', 'JSONPaths are only supported with format=ndjson or format=parquet');
      table = await createTable(core, principal, namespace, name, columns, format, params, request.source !== undefined);
      created = true;
    }
    // Only a create may come without data (a data source from its schema alone); an append or replace of nothing is a mistake.
    if (!request.source && mode !== 'create') {
      throw new SluiceError('INVALID_ARGUMENT', `mode=${mode} needs data: send a file (multipart, curl -F csv=@file.csv), a url, or a body whose `
        + 'Content-Type is not application/x-www-form-urlencoded (which curl -d and --data-binary send unless told otherwise: add -H "Content-Type: text/csv")');
    }
    if (!table) {
      if (!request.source) throw new SluiceError('INVALID_ARGUMENT', 'To create a data source send a schema, a file or a url');
      if (!allows(principal, 'create', { namespace: WORKSPACE })) throw new SluiceError('FORBIDDEN', 'token needs scope DATASOURCES:CREATE');
      // A CSV file names and types its own table: spool it, infer, create, then load the same file.
      const stream = await core.openSource(request.source, { maxBytes: request.maxBytes }, { onProgress: request.onProgress, signal: request.signal });
      const file = await spoolToFile(stream, core.storage.spoolDir, { extension: 'csv' });
      cleanups.push(() => file.remove());
      const inference = await inferCsv(core.storage, file.path, {
        ...csvDialect(params), typeGuessing: params.flag('type_guessing', true), nullText: CLICKHOUSE_CSV_NULL,
      });
      const columns = inference.columns.map(({ name: column, field }) => ({ name: column, ...field }));
      const create = () => createTable(core, principal, namespace, name, columns, format, params, true);
      // An append racing another first append to the same new data source loads its file into the winner's.
      const made = mode === 'append' ? await createOrJoin(core.catalog, namespace.id, name, create) : { table: await create(), created: true };
      table = made.table;
      created = made.created;
      const { hasHeader, delimiter, quote, escape } = inference.dialect;
      // A table made from this file loads it as it was read; the winner's takes it as any append.
      if (made.created) inferred = { path: file.path, hasHeader, delimiter, quote, escape: escape ?? quote };
      else joined = { kind: 'file', path: file.path };
    }
    if (!request.source) return { datasource: await datasourceOf(core, principal, table) };
    const source: IngestSource = inferred ? { kind: 'file', path: inferred.path } : joined ?? request.source;
    const result = await ingest(core, principal, {
      table, format: FORMATS[format], source, limits: { maxBytes: request.maxBytes },
      kind: writeKind(mode, table, params), onInvalid: 'quarantine', importId: request.importId,
      describeType: printClickHouseType, duplicateKeys: 'last_wins', coercion: TINYBIRD_COERCION,
      emptyInput: mode === 'replace' && !params.flag('replace_truncate_when_empty', false) ? 'keep' : 'apply',
      ...(mode === 'replace' && params.get('replace_condition') !== undefined && { predicate: rewriteClickHouseSql(params.get('replace_condition')!, { conditionOn: table.columns.map((column) => column.name) }) }),
      csv: {
        header: inferred ? inferred.hasHeader : 'detect',
        // A non-Nullable String column takes an empty field or `\N` as '', or as its DEFAULT when it has one (input_format_csv_empty_as_default).
        byPosition: inferred !== undefined, caseInsensitive: false, lenient: false, emptyTextIsEmptyString: 'withoutDefault',
        // As ClickHouse reads CSV (and writes it with FORMAT CSV): `\N` is NULL, a quoted "" the empty string.
        // Outside String columns "" stays a missing value, as an empty field is (writers that quote every field write one so).
        nullText: CLICKHOUSE_CSV_NULL, quotedEmptyIsNull: 'outsideText',
        // The file a table was inferred from loads in the dialect found for it (which the request's dialect_* options fixed).
        ...(inferred ? { delimiter: inferred.delimiter, quote: inferred.quote, escape: inferred.escape } : csvDialect(params)),
      },
      json: { updateFormat: 'raw', lineDelimited: true, arrays: false, caseInsensitive: false, positional: false },
      ...(request.onProgress && { onProgress: request.onProgress }),
      ...(request.signal && { signal: request.signal }),
      ...(request.writeKey && { idempotency: { key: request.writeKey, request: request.writeKey } }),
    });
    return importResponse(request.importId, await datasourceOf(core, principal, table), result);
  } catch (error) {
    // A data source this import created goes with it, so that the request can simply be sent again.
    if (table && created) await core.undoCreate(table).catch(() => undefined);
    // One it joined may have gone the same way, before this import's rows were written to it.
    if (table && joined && !core.catalog.findTableById(table.id)) {
      throw new SluiceError('TABLE_NOT_FOUND', `Data Source "${name}" was removed when the import that created it failed: send the file again`, { table: name }, { cause: error });
    }
    throw error;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}

function writeKind(mode: Mode, table: Table, params: Params): WriteKind {
  if (mode === 'replace') return params.get('replace_condition') !== undefined ? 'replace_where' : 'overwrite';
  return table.primaryKey.length > 0 ? 'upsert' : 'append';
}

export function importResponse(importId: string, datasource: unknown, result: WriteResult): Record<string, unknown> {
  const invalidLines = result.linesInvalid;
  const quarantineRows = result.rowsQuarantined - invalidLines;
  const failed = quarantineRows > 0 || invalidLines > 0;
  return {
    import_id: importId,
    datasource,
    quarantine_rows: quarantineRows,
    invalid_lines: invalidLines,
    error: failed ? `There was an error with file contents: ${quarantineRows} rows in quarantine and ${invalidLines} invalid lines.` : false,
    successful_rows: successfulRows(result),
    quarantined_rows: result.rowsQuarantined,
    blocks: [],
  };
}

/**
 * The rows a write took, as ClickHouse counts the rows an insert wrote: into a ReplacingMergeTree
 * every valid row counts, those that a later or newer row of their key replaced included.
 */
export function successfulRows(result: WriteResult): number {
  return result.rowsInserted + result.rowsUpdated + (result.rowsSuperseded ?? 0);
}

export function newImportId(): string {
  return randomUUID();
}
