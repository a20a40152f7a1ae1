import type { FastifyInstance } from 'fastify';
import type { Column, Table } from '../../../core/catalog/model.ts';
import { SluiceError } from '../../../core/errors.ts';
import type { CoercionOptions } from '../../../core/ingest/coercion.ts';
import { ingest, type IngestFormat } from '../../../core/ingest/ingest.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { printArrowType } from '../../../core/types/index.ts';
import type { WriteKind, WriteResult } from '../../../core/write/write-command.ts';
import { nonEmptyBodySource } from '../../../server/body.ts';
import { findDatasetTable } from '../resources.ts';
import { invalid, queryParams } from '../request.ts';

const MODES = { append: 'append', upsert: 'upsert', overwrite: 'overwrite', delete: 'delete' } as const satisfies Record<string, WriteKind>;
type Mode = keyof typeof MODES;
const KEYED_MODES: ReadonlySet<Mode> = new Set(['upsert', 'delete']);

const CONTENT_TYPES: Record<string, IngestFormat> = {
  'application/json': 'json',
  'text/csv': 'csv',
  'application/csv': 'csv',
  'application/parquet': 'parquet',
  'application/vnd.apache.parquet': 'parquet',
  'application/vnd.apache.arrow.stream': 'arrow',
};

/**
 * What values mean, whether or not validation is skipped: a struct's members match its fields
 * regardless of case, as columns do, and a member that is no field and holds a value refuses the
 * value rather than being dropped with its data. (Constants: the write queue merges writes whose coercion is the
 * same object.)
 */
const CATALYZED_MEANING: CoercionOptions = { structMembers: { fieldNames: 'caseInsensitive', unknownMembers: 'refuse' } };
/** Catalyzed's coercion table: fractions of integers are truncated; `null` and the empty text are NULL outside text columns. */
const CATALYZED_COERCION: CoercionOptions = { ...CATALYZED_MEANING, integerFractions: 'truncate', nullTexts: ['null', ''] };
/**
 * JSON has no bytes: a binary value is written as base64, the form query results give it in, so
 * that a row read can be written back unchanged. Kept whether or not validation is skipped, as it
 * is what the value means, not a check.
 */
export const JSON_VALUE_COERCION: CoercionOptions = { ...CATALYZED_MEANING, binary: 'base64' };
const CATALYZED_JSON_COERCION: CoercionOptions = { ...CATALYZED_COERCION, binary: 'base64' };

function coercionOf(format: IngestFormat, skipValidation: boolean): CoercionOptions {
  if (format === 'json') return skipValidation ? JSON_VALUE_COERCION : CATALYZED_JSON_COERCION;
  return skipValidation ? CATALYZED_MEANING : CATALYZED_COERCION;
}

/**
 * Sluice reads and writes a local DuckDB file, not an object store: none of these counters
 * applies to an operation, so each is 0 rather than an invented number.
 */
const USAGE = {
  getOptsCold: 0, getOptsWarm: 0, getRangeCold: 0, getRangeWarm: 0, getRangesCold: 0, getRangesWarm: 0,
  headCold: 0, headWarm: 0, listCold: 0, listWarm: 0, putOperations: 0, deleteOperations: 0,
  cacheHitRatePercent: 0, readBytesCold: 0, readBytesWarm: 0, writeBytes: 0,
} as const;

/**
 * The table as Catalyzed rows address it: by column name. A Tinybird data source's columns may carry
 * JSONPaths (`$.payload.n`), which say where Tinybird's events hold their values; Catalyzed's JSON
 * rows and Parquet files name the columns themselves (regardless of case), so the paths are left
 * out. (Kept per column list, so that the JSON reader's plan for the list is reused.)
 */
const byName = new WeakMap<Column[], Column[]>();
function addressedByName(table: Table): Table {
  if (!table.columns.some((column) => column.jsonPath !== undefined)) return table;
  let columns = byName.get(table.columns);
  if (!columns) byName.set(table.columns, (columns = table.columns.map(({ jsonPath: _path, ...column }) => column)));
  return { ...table, columns };
}

interface RowWriteParams {
  mode: Mode;
  idempotencyKey: string | undefined;
  skipValidation: boolean;
}

function rowWriteParams(params: URLSearchParams): RowWriteParams {
  const mode = params.get('mode');
  if (!mode) throw invalid('The mode parameter is required: append, upsert, overwrite or delete', { parameter: 'mode' });
  if (!Object.hasOwn(MODES, mode)) throw invalid(`Invalid mode "${mode}": use append, upsert, overwrite or delete`, { parameter: 'mode', value: mode });
  const skip = params.get('skip_validation')?.toLowerCase();
  if (skip !== undefined && !['true', 'false', '1', '0', ''].includes(skip)) throw invalid('skip_validation must be true or false', { parameter: 'skip_validation' });
  const idempotencyKey = params.get('idempotency_key') ?? undefined;
  if (idempotencyKey !== undefined && (idempotencyKey === '' || idempotencyKey.length > 255)) throw invalid('idempotency_key must be 1 to 255 characters', { parameter: 'idempotency_key' });
  return { mode: mode as Mode, idempotencyKey, skipValidation: skip === 'true' || skip === '1' };
}

function formatOf(contentType: string | undefined): IngestFormat {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const format = Object.hasOwn(CONTENT_TYPES, mediaType) ? CONTENT_TYPES[mediaType] : undefined;
  if (!format) {
    throw new SluiceError('UNSUPPORTED_FORMAT', `Unsupported Content-Type "${mediaType}": use ${Object.keys(CONTENT_TYPES).join(', ')}`, { contentType: mediaType });
  }
  return format;
}

/** The response of a row write; a replay renders the same response from the stored result of the first. */
export function renderWriteResult(result: WriteResult) {
  return {
    rows_affected: result.rowsInserted + result.rowsUpdated + result.rowsDeleted,
    rows_inserted: result.rowsInserted,
    rows_updated: result.rowsUpdated,
    rows_deleted: result.rowsDeleted,
    dataset_version: result.version,
    duration_ms: result.durationMs,
    warnings: [
      ...(result.ignoredFields ?? []).map((field) => `Field "${field}" matches no column of the table; its values were not written`),
      ...(result.moreIgnoredFields ? [`More fields match no column of the table than the ${result.ignoredFields?.length ?? 0} named; their values were not written either`] : []),
    ],
    usage: USAGE,
  };
}

export function rowRoutes(app: FastifyInstance, core: Sluice): void {
  app.post<{ Params: { tableId: string } }>('/dataset-tables/:tableId/rows', async (request, reply) => {
    const principal = await request.principal();
    const table = findDatasetTable(core, principal, request.params.tableId);
    // A token that may write the table in no mode is refused before its parameters are read.
    if (!core.mayAct(principal, 'append', table) && !core.mayAct(principal, 'drop', table)) core.authorizeWrite(principal, 'append', table);
    const { mode, idempotencyKey, skipValidation } = rowWriteParams(queryParams(request));
    // A token that may not write the table learns nothing more of it (its key, its columns).
    core.authorizeWrite(principal, MODES[mode], table);
    const format = formatOf(request.headers['content-type']);
    if (KEYED_MODES.has(mode) && table.primaryKey.length === 0) {
      throw new SluiceError('PRIMARY_KEY_REQUIRED', `mode=${mode} needs a primary key, and table "${table.name}" has none`, { mode, tableId: table.id });
    }
    const [onlyKey, ...otherKeys] = table.primaryKey;
    const coercion = coercionOf(format, skipValidation);
    const result = await ingest(core, principal, {
      table: addressedByName(table),
      kind: MODES[mode],
      format,
      // No body is no rows, but never by accident: `[]` (or a CSV header alone) says so.
      source: nonEmptyBodySource(request, `The request body is empty: send ${format === 'csv' ? 'a header row and the rows' : format === 'json' ? 'a JSON array of rows ([] for none)' : 'the rows'}`),
      // An Arrow stream is decoded batch by batch as it arrives; only the server's own cap bounds it.
      limits: { maxBytes: format === 'arrow' ? core.config.maxRequestBodyBytes : core.config.maxRowWriteBytes },
      onInvalid: 'reject',
      duplicateKeys: 'reject',
      describeType: ({ type }) => printArrowType(type),
      caseInsensitive: true,
      // A quoted empty field is the empty string, as "" is in JSON; an unquoted one is missing.
      csv: { header: true, caseInsensitive: true, lenient: false, quotedEmptyIsNull: false },
      json: {
        updateFormat: 'raw', arrays: true, caseInsensitive: true, positional: false, reportUnknownKeys: true,
        // Deletes by a one-column key may list bare key values.
        ...(mode === 'delete' && onlyKey !== undefined && otherKeys.length === 0 && { scalarColumn: onlyKey }),
      },
      // Skipping validation leaves the casts to the engine (DuckDB rounds fractions); invalid values are still refused.
      coercion,
      ...(idempotencyKey !== undefined && { idempotency: { key: idempotencyKey, request: JSON.stringify({ mode, format, skipValidation }) } }),
    });
    if (result.replayed) reply.header('x-idempotent-replay', 'true');
    return renderWriteResult(result);
  });
}
