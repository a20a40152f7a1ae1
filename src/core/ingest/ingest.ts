import { createHash, type Hash } from 'node:crypto';
import { pipeline, Readable, Transform } from 'node:stream';
import type { Principal } from '../auth/scopes.ts';
import type { Sluice } from '../sluice.ts';
import type { WriteRequest, WriteResult } from '../write/write-command.ts';
import { csvInput, type CsvOptions } from './decoders/csv-input.ts';
import { checkSomeFieldMatches } from './decoders/malformed.ts';
import type { UpdateFormat } from './decoders/json-input.ts';
import { ingestInChunks, type ChunkPolicy } from './chunked-ingest.ts';
import { JsonBatch, jsonDecodeOptions } from './json-batch.ts';
import { parquetInput } from './decoders/parquet-input.ts';
import type { IngestSource, ProgressListener, SourceLimits } from './sources/source.ts';
import { wholeContent } from './sources/open-source.ts';
import { spoolToFile } from './sources/spool-file.ts';
import { openSpool } from './sources/spool-writer.ts';
import { JsonKeyCollector, splitJsonValues } from './sources/json-values.ts';
import { parseJsonPath } from './json-path.ts';
import type { Column } from '../catalog/model.ts';
import { SluiceError } from '../errors.ts';
import type { StagedInput } from './staged-input.ts';

export type IngestFormat = 'csv' | 'json' | 'parquet' | 'arrow';

export interface JsonIngestOptions {
  updateFormat: UpdateFormat;
  /** Each line is one record (NDJSON: blank lines are skipped); otherwise any sequence of JSON values. */
  lineDelimited?: boolean;
  /** Each top-level value is an array of records. */
  arrays: boolean;
  caseInsensitive: boolean;
  positional: boolean;
  /** A record may be a bare value (not an object): the value of this column (deletes by a one-column key). */
  scalarColumn?: string;
  /** The records of one top-level array are applied together or not at all. */
  atomicArrays?: boolean;
  /** Each value must be of the JSON kind its column's type is written in (see `JsonDecodeOptions.typedValues`). */
  typedValues?: boolean;
  /** A TIMESTAMP is a JSON number of milliseconds since the epoch (see `JsonDecodeOptions.timestampsInMillis`). */
  timestampsInMillis?: boolean;
  /**
   * Keys of records (objects of the raw format) that match no column are named in the result's
   * `ignoredFields`, each once and at most MAX_IGNORED_KEYS of them. They are collected as the
   * values are split out of the stream, so line-delimited input, read line by line, cannot ask for it.
   * Records that have keys, none of which matches a column, are refused as a CSV header of no
   * column's name is (see `checkSomeFieldMatches`): a mistake, not rows of nulls. Empty objects
   * name no key and do not count.
   */
  reportUnknownKeys?: boolean;
}

/** Unknown keys of JSON records named in a write's result at most (see `JsonIngestOptions.reportUnknownKeys`). */
export const MAX_IGNORED_KEYS = 100;

/**
 * An idempotency key for an ingest. The write's request hash is computed here, as the bytes flow:
 * SHA-256 over `request` (what else defines the request: the caller's mode, options, format …)
 * and the whole content of the source.
 */
export interface IngestIdempotency {
  key: string;
  request: string;
}

/** One request's rows, from bytes to a committed write. */
export interface IngestCommand extends Omit<WriteRequest, 'input' | 'idempotency'> {
  format: IngestFormat;
  source: IngestSource;
  limits: SourceLimits;
  csv?: CsvOptions;
  json?: JsonIngestOptions;
  /** Parquet and Arrow: match field names to columns regardless of case. */
  caseInsensitive?: boolean;
  onProgress?: ProgressListener;
  /** Cancels the ingest (a job's cancellation): the source is closed and nothing is written. */
  signal?: AbortSignal;
  idempotency?: IngestIdempotency;
  /**
   * CSV and JSON of append and change writes: commit the input in chunks as it arrives (see
   * `ingestInChunks`) rather than in one write at the end.
   */
  chunks?: ChunkPolicy;
}

const DEFAULT_JSON: JsonIngestOptions = { updateFormat: 'raw', arrays: false, caseInsensitive: false, positional: false };
const DEFAULT_CSV: CsvOptions = { header: 'detect', caseInsensitive: false, lenient: false };

/**
 * Streams a request's bytes into a table: the source is opened (downloaded, decompressed, limited),
 * decoded by the format's reader and handed to the write path as one write. Formats DuckDB reads
 * natively are spooled to a file and loaded by DuckDB; nothing is held whole in memory but a small
 * request body that the server read whole as it arrived (see `wholeContent`).
 */
export async function ingest(core: Sluice, principal: Principal, command: IngestCommand): Promise<WriteResult> {
  core.authorizeWrite(principal, command.kind, command.table);
  command.signal?.throwIfAborted();
  if (command.chunks) return ingestInChunks(core, principal, { ...command, chunks: command.chunks, json: command.json ?? DEFAULT_JSON, csv: command.csv ?? DEFAULT_CSV });
  const { format: _format, source: _source, limits: _limits, csv: _csv, json: _json, caseInsensitive: _ci, onProgress: _progress, signal: _signal, idempotency, ...request } = command;
  const hash = idempotency && createHash('sha256').update(`${idempotency.request}\u0000`);
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const input = await decode(core, command, hash, cleanups);
    command.signal?.throwIfAborted();
    if (!hash || !idempotency) return await core.write(principal, { ...request, input });
    return await core.write(principal, { ...request, input, idempotency: { key: idempotency.key, requestHash: hash.digest('hex') } });
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}

/**
 * The source decoded by its format's reader, every byte of it added to `hash`. A small body read
 * whole goes to the reader as it is; any other source is opened as a stream (downloaded,
 * decompressed, limited) that is closed once the reader is done.
 */
async function decode(core: Sluice, command: IngestCommand, hash: Hash | undefined, cleanups: Array<() => Promise<void>>): Promise<StagedInput> {
  const whole = wholeContent(command.source, command.limits);
  if (whole) {
    hash?.update(whole);
    return DECODERS[command.format](core, whole, command, cleanups);
  }
  const opened = await core.openSource(command.source, command.limits, { onProgress: command.onProgress, signal: command.signal });
  const stream = hash ? hashed(opened, hash) : opened;
  try {
    const input = await DECODERS[command.format](core, stream, command, cleanups);
    command.signal?.throwIfAborted();
    // A decoder may stop at the end of its format (an Arrow end-of-stream mark); the hash covers every byte.
    if (hash) for await (const _chunk of stream) command.signal?.throwIfAborted();
    return input;
  } finally {
    stream.destroy();
    opened.destroy();
  }
}

/** A source's content: a stream, or the whole of a small body (see `wholeContent`). */
type Content = Readable | Buffer;

function streamOf(content: Content): Readable {
  return Buffer.isBuffer(content) ? Readable.from([content], { objectMode: false }) : content;
}

/**
 * The source as a file in the spool folder: the file itself when it already is one, else a copy of
 * its content, each chunk of which `inspect` sees on the way (and `inspected` is then true).
 */
async function spooled(
  core: Sluice, content: Content, command: IngestCommand, extension: string, cleanups: Array<() => Promise<void>>, inspect?: (chunk: Buffer) => void,
): Promise<{ path: string; inspected: boolean }> {
  if (command.source.kind === 'file') return { path: command.source.path, inspected: false };
  const file = await spoolToFile(streamOf(content), core.storage.spoolDir, { extension, ...(inspect && { inspect }) });
  cleanups.push(() => file.remove());
  return { path: file.path, inspected: true };
}

const CARRIAGE_RETURN = 0x0d;

type Decoder = (core: Sluice, content: Content, command: IngestCommand, cleanups: Array<() => Promise<void>>) => Promise<StagedInput>;

const DECODERS: Record<IngestFormat, Decoder> = {
  csv: async (core, content, command, cleanups) => {
    // A file seen to hold no carriage return on its way to the spool needs no search for stray ones.
    let carriageReturn = false;
    const { path, inspected } = await spooled(core, content, command, 'csv', cleanups, (chunk) => (carriageReturn ||= chunk.includes(CARRIAGE_RETURN)));
    return csvInput(path, command.table.columns, { ...(command.csv ?? DEFAULT_CSV), noStrayReturns: inspected && !carriageReturn });
  },
  parquet: async (core, content, command, cleanups) =>
    parquetInput(core.storage, (await spooled(core, content, command, 'parquet', cleanups)).path, command.table.columns, { caseInsensitive: command.caseInsensitive ?? false }),
  json: async (core, content, command, cleanups) => {
    const options = command.json ?? DEFAULT_JSON;
    const batch = new JsonBatch(core.storage.spoolDir, cleanups);
    if (options.reportUnknownKeys && (options.lineDelimited || options.updateFormat !== 'raw')) {
      throw new SluiceError('INTERNAL', 'Unknown keys are reported only for raw JSON records split from a stream');
    }
    const keys = options.reportUnknownKeys ? new JsonKeyCollector(isUnknownKey(command.table.columns, options.caseInsensitive), MAX_IGNORED_KEYS) : undefined;
    if (options.lineDelimited) await (Buffer.isBuffer(content) ? batch.addWholeLines(content) : batch.addLines(content));
    else for await (const chunk of splitJsonValues(streamOf(content), { unwrapArrays: options.arrays, ...(keys && { keys }) })) for (const value of chunk) await batch.add(value);
    if (keys && !keys.someUnwanted) checkSomeFieldMatches('the JSON body', keys.keys, command.table.columns, 0);
    const input = await batch.input(command.table.columns, jsonDecodeOptions(options, command.coercion));
    if (!keys || keys.keys.length === 0) return input;
    return { ...input, ignoredFields: keys.keys, ...(keys.more && { moreIgnoredFields: true }) };
  },
  arrow: async (core, content, command, cleanups) => {
    // Apache Arrow's library is loaded on first use: it is large, and most servers never need it.
    const { decodeArrowIpc } = await import('./decoders/arrow-ipc.ts');
    // Arrow batches are decoded as they arrive and spooled as CSV (strings quoted, NULL unquoted
    // and empty), so that a stream of any length loads in bounded memory through DuckDB's reader.
    const spool = await openSpool(core.storage.spoolDir, 'csv', cleanups);
    let columns = command.table.columns.map((column) => column.name);
    const ignoredFields = new Set<string>();
    for await (const batch of decodeArrowIpc(streamOf(content), command.table.columns, { caseInsensitive: command.caseInsensitive ?? false })) {
      columns = batch.columns;
      for (const field of batch.ignoredFields ?? []) ignoredFields.add(field);
      for (const row of batch.rows) await spool.write(`${row.map(csvField).join(',')}\n`);
    }
    await spool.close();
    const mapped = columns.map((name) => command.table.columns.find((column) => column.name === name)!);
    // Every text is quoted (see csvField): no carriage return stands outside quotes.
    const input = await csvInput(spool.path, mapped, { header: false, caseInsensitive: false, lenient: false, delimiter: ',', quote: '"', escape: '"', quotedEmptyIsNull: false, noStrayReturns: true });
    return ignoredFields.size > 0 ? { ...input, ignoredFields: [...ignoredFields] } : input;
  },
};

/**
 * Whether a record's key matches no column: no column is named by it (regardless of case, with
 * `caseInsensitive`) nor reads its value by a JSONPath starting at it. A column whose path is the
 * whole record (`$`) takes every key.
 */
function isUnknownKey(columns: Column[], caseInsensitive: boolean): (key: string) => boolean {
  const fold = (name: string) => (caseInsensitive ? name.toLowerCase() : name);
  const exact = new Set<string>();
  const folded = new Set<string>();
  for (const column of columns) {
    if (column.jsonPath === undefined) {
      folded.add(fold(column.name));
      continue;
    }
    const [first] = parseJsonPath(column.jsonPath).steps;
    // A path of the whole record, or of every element at its top, takes every key.
    if (first === undefined || 'every' in first) return () => false;
    exact.add(first.key);
  }
  return (key) => !exact.has(key) && !folded.has(fold(key));
}

/** The stream, its bytes added to `hash` as they pass; failures of the stream pass through. */
function hashed(stream: Readable, hash: Hash): Readable {
  const passing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return pipeline(stream, passing, () => {});
}

function csvField(value: string | null): string {
  return value === null ? '' : `"${value.replaceAll('"', '""')}"`;
}
