import type { Readable } from 'node:stream';
import type { Principal } from '../auth/scopes.ts';
import { SluiceError } from '../errors.ts';
import type { Sluice } from '../sluice.ts';
import { MAX_REPORTED_ERRORS, type WriteRequest, type WriteResult } from '../write/write-command.ts';
import { csvInput, type CsvOptions } from './decoders/csv-input.ts';
import { CsvQuoting } from './decoders/csv-quoting.ts';
import type { IngestCommand, JsonIngestOptions } from './ingest.ts';
import { JsonBatch, jsonDecodeOptions } from './json-batch.ts';
import { JsonValueSplitter } from './sources/json-values.ts';
import { openSpool, type SpoolWriter } from './sources/spool-writer.ts';
import { recordsInput, undecodableInput, type StagedInput } from './staged-input.ts';

export interface ChunkPolicy {
  /** A chunk is committed once it holds about this many bytes of input … */
  bytes: number;
  /** … or once its first record has waited this long, so that a slow stream is committed as it trickles in. */
  maxDelayMs: number;
  /**
   * Called before each chunk is written: may wait (the target takes no input for now) or throw (it
   * takes no more), which ends the ingest as a failed write would.
   */
  admit?: () => Promise<void>;
}

type ChunkedCommand = IngestCommand & { chunks: ChunkPolicy; json: JsonIngestOptions; csv: CsvOptions };

/**
 * Ingests a CSV or JSON stream as it arrives: its records are committed in chunks, one write after
 * the other, so that rows are durable and visible before the body ends. A chunk never splits a
 * record, nor a group of JSON values that must apply together (the elements of a top-level array).
 * The result adds the chunks' results up; its sequence is the last chunk's, so whoever waits for it
 * waits for every chunk. When the source or a write fails, the ingest stops with that error and the
 * chunks committed before it stay committed.
 */
export async function ingestInChunks(core: Sluice, principal: Principal, command: ChunkedCommand): Promise<WriteResult> {
  if (command.kind !== 'append' && command.kind !== 'changes') throw new SluiceError('INTERNAL', `A ${command.kind} write cannot be committed in chunks`);
  if (command.idempotency || command.json.lineDelimited || command.json.reportUnknownKeys) {
    throw new SluiceError('INTERNAL', 'Chunked ingests take no idempotency key, no line-delimited JSON and report no unknown keys');
  }
  const { format: _format, source: _source, limits: _limits, csv: _csv, json: _json, caseInsensitive: _ci, onProgress: _progress, signal, idempotency: _idempotency, chunks, ...request } = command;
  const stream = await core.openSource(command.source, command.limits, { onProgress: command.onProgress, signal });
  const writer = new ChunkWriter(core, principal, request, chunks.admit);
  const chunker: Chunker =
    command.format === 'csv' ? new CsvChunker(core, command, writer)
    : command.format === 'json' ? new JsonChunker(core, command, writer)
    : unsupported(command.format);
  try {
    await pump(stream, chunker, chunks);
    return await writer.finish();
  } catch (error) {
    await writer.settle();
    throw error;
  } finally {
    stream.destroy();
    await chunker.dispose();
  }
}

function unsupported(format: string): never {
  throw new SluiceError('INTERNAL', `${format} input cannot be committed in chunks`);
}

/** Gathers a format's records into chunks and hands each complete chunk to the writer. */
interface Chunker {
  /** Takes the next bytes of the body, committing the chunk whenever it is full. */
  write(bytes: Buffer): Promise<void>;
  /** Commits the records gathered so far, if they can be cut from what follows; false when they cannot yet. */
  flush(): Promise<boolean>;
  /** When the oldest uncommitted record arrived, if one waits. */
  readonly waitingSince: number | undefined;
  /** The body ended: commits the rest (an empty write when nothing was committed at all, so that there is a result). */
  end(): Promise<void>;
  /** Removes what uncommitted chunks left behind. */
  dispose(): Promise<void>;
}

const DEADLINE = Symbol('deadline');

/** Feeds the body to the chunker, committing a waiting chunk when its time is up even if no more bytes come. */
async function pump(stream: Readable, chunker: Chunker, policy: ChunkPolicy): Promise<void> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const read = () => {
    const next = iterator.next();
    // Read ahead while a chunk is processed; a failure is seen where the read is awaited.
    next.catch(() => undefined);
    return next;
  };
  let next = read();
  // Due, but not cuttable yet (a JSON array still open): wait for bytes rather than for the clock.
  let overdue = false;
  for (;;) {
    const since = chunker.waitingSince;
    const step = await nextOrDeadline(next, overdue || since === undefined ? undefined : since + policy.maxDelayMs);
    if (step === DEADLINE) {
      overdue = !(await chunker.flush());
      continue;
    }
    if (step.done) break;
    next = read();
    await chunker.write(typeof step.value === 'string' ? Buffer.from(step.value) : step.value);
    if (overdue) overdue = !(await chunker.flush());
  }
  await chunker.end();
}

async function nextOrDeadline<T>(next: Promise<T>, deadline: number | undefined): Promise<T | typeof DEADLINE> {
  if (deadline === undefined) return next;
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<typeof DEADLINE>((resolve) => {
    timer = setTimeout(() => resolve(DEADLINE), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([next, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

/** Commits chunks one at a time, in order: the next chunk is read while the previous one commits. */
class ChunkWriter {
  private inFlight: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;
  private readonly results: WriteResult[] = [];
  private readonly startedAt = performance.now();
  submitted = 0;

  constructor(
    private readonly core: Sluice,
    private readonly principal: Principal,
    private readonly request: Omit<WriteRequest, 'input'>,
    private readonly admit: (() => Promise<void>) | undefined,
  ) {}

  /** Writes a chunk once the previous one is committed; `release` removes the chunk's files after its write. */
  async submit(build: () => Promise<StagedInput>, release: () => Promise<void>): Promise<void> {
    await this.inFlight;
    let input: StagedInput;
    try {
      if (this.failure) throw this.failure.error;
      await this.admit?.();
      input = await build();
    } catch (error) {
      await release();
      throw error;
    }
    this.submitted += 1;
    this.inFlight = this.core.write(this.principal, { ...this.request, input }).then(
      (result) => { this.results.push(result); },
      (error: unknown) => { this.failure = { error }; },
    ).finally(() => release().catch(() => undefined));
  }

  /** Waits for the last chunk and adds the chunks' results up. */
  async finish(): Promise<WriteResult> {
    await this.inFlight;
    if (this.failure) throw this.failure.error;
    const last = this.results.at(-1);
    if (!last) throw new SluiceError('INTERNAL', 'A chunked ingest made no write');
    const sum = (key: 'rowsInserted' | 'rowsUpdated' | 'rowsDeleted' | 'rowsSuperseded' | 'rowsAccepted' | 'rowsQuarantined' | 'rowsInvalid' | 'linesInvalid') =>
      this.results.reduce((total, result) => total + (result[key] ?? 0), 0);
    const { rowsSuperseded: _lastSuperseded, ...lastWrite } = last;
    return {
      ...lastWrite,
      rowsInserted: sum('rowsInserted'), rowsUpdated: sum('rowsUpdated'), rowsDeleted: sum('rowsDeleted'), rowsAccepted: sum('rowsAccepted'),
      ...(sum('rowsSuperseded') > 0 && { rowsSuperseded: sum('rowsSuperseded') }),
      rowsQuarantined: sum('rowsQuarantined'), rowsInvalid: sum('rowsInvalid'), linesInvalid: sum('linesInvalid'),
      errors: this.results.flatMap((result) => result.errors).slice(0, MAX_REPORTED_ERRORS),
      ...withIgnoredFields(this.results),
      durationMs: Math.round(performance.now() - this.startedAt),
    };
  }

  /** After a failure: lets the write in flight end before its files are removed. */
  async settle(): Promise<void> {
    await this.inFlight;
  }
}

/** The fields any chunk ignored, once each. */
function withIgnoredFields(results: WriteResult[]): Pick<WriteResult, 'ignoredFields'> {
  const fields = new Set(results.flatMap((result) => result.ignoredFields ?? []));
  return fields.size > 0 ? { ignoredFields: [...fields] } : {};
}

async function runAll(cleanups: Array<() => Promise<void>>): Promise<void> {
  for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
}

/** JSON values, split as they arrive; a chunk ends between groups, never inside a top-level array. */
class JsonChunker implements Chunker {
  private readonly splitter: JsonValueSplitter;
  private batch: JsonBatch;
  private cleanups: Array<() => Promise<void>> = [];
  private lastGroup: number | undefined;
  waitingSince: number | undefined;

  constructor(
    private readonly core: Sluice,
    private readonly command: ChunkedCommand,
    private readonly writer: ChunkWriter,
  ) {
    this.splitter = new JsonValueSplitter({ unwrapArrays: command.json.arrays });
    this.batch = new JsonBatch(core.storage.spoolDir, this.cleanups);
  }

  async write(bytes: Buffer): Promise<void> {
    this.splitter.write(bytes);
    await this.take();
  }

  private async take(): Promise<void> {
    for (const value of this.splitter.takeValues()) {
      if (this.batch.bytes >= this.command.chunks.bytes && value.topLevelIndex !== this.lastGroup) await this.cut();
      this.waitingSince ??= Date.now();
      await this.batch.add(value);
      this.lastGroup = value.topLevelIndex;
    }
    if (this.batch.bytes >= this.command.chunks.bytes) await this.flush();
  }

  async flush(): Promise<boolean> {
    if (this.batch.count === 0) return true;
    if (this.lastGroup === this.splitter.openTopLevelIndex) return false;
    await this.cut();
    return true;
  }

  async end(): Promise<void> {
    this.splitter.end();
    await this.take();
    if (this.batch.count > 0 || this.writer.submitted === 0) await this.cut();
  }

  private async cut(): Promise<void> {
    const [batch, cleanups] = [this.batch, this.cleanups];
    this.cleanups = [];
    this.batch = new JsonBatch(this.core.storage.spoolDir, this.cleanups);
    this.waitingSince = undefined;
    await this.writer.submit(() => batch.input(this.command.table.columns, jsonDecodeOptions(this.command.json, this.command.coercion)), () => runAll(cleanups));
  }

  async dispose(): Promise<void> {
    await runAll(this.cleanups);
  }
}

const LINE_FEED = 0x0a;

/**
 * CSV records, gathered into spool files that end at record boundaries: a line feed outside
 * quotes. The partial record at the end of what arrived waits in memory for the rest.
 */
class CsvChunker implements Chunker {
  private spool: SpoolWriter | undefined;
  private cleanups: Array<() => Promise<void>> = [];
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private bytes = 0;
  private records = 0;
  /** Records committed in earlier chunks, so that record numbers run on across chunks. */
  private offset = 0;
  private readonly quoting: CsvQuoting;
  waitingSince: number | undefined;

  constructor(
    private readonly core: Sluice,
    private readonly command: ChunkedCommand,
    private readonly writer: ChunkWriter,
  ) {
    const { header, delimiter, quote = '"', escape = quote } = command.csv;
    if (header !== false || delimiter === undefined) throw new SluiceError('INTERNAL', 'Chunked CSV has no header and a given delimiter');
    this.quoting = new CsvQuoting(quote.charCodeAt(0), escape.charCodeAt(0), delimiter.charCodeAt(0));
  }

  async write(bytes: Buffer): Promise<void> {
    // `from`: the first byte not yet in the chunk; `end`: just past the last record ending after it.
    let from = 0;
    let end = -1;
    let records = 0;
    for (let index = 0; index < bytes.length; index += 1) {
      const byte = bytes[index]!;
      if (this.quoting.outside(byte) && byte === LINE_FEED) {
        end = index + 1;
        records += 1;
        if (this.bytes + this.tailBytes + end - from >= this.command.chunks.bytes) {
          await this.append(bytes.subarray(from, end), records);
          [from, records] = [end, 0];
          await this.cut();
        }
      }
    }
    if (records > 0) {
      await this.append(bytes.subarray(from, end), records);
      from = end;
    }
    if (from < bytes.length) {
      this.tail.push(bytes.subarray(from));
      this.tailBytes += bytes.length - from;
    }
  }

  /** Adds the partial record waiting from earlier pieces, then `part`, which completes it and holds `records` records. */
  private async append(part: Buffer, records: number): Promise<void> {
    this.spool ??= await openSpool(this.core.storage.spoolDir, 'csv', this.cleanups);
    for (const piece of [...this.tail.splice(0), part]) {
      await this.spool.write(piece);
      this.bytes += piece.length;
    }
    this.tailBytes = 0;
    this.records += records;
    this.waitingSince ??= Date.now();
  }

  async flush(): Promise<boolean> {
    if (this.records > 0) await this.cut();
    return true;
  }

  async end(): Promise<void> {
    const rest = Buffer.concat(this.tail).toString('utf8');
    if (this.quoting.inQuotes) {
      // A quote opened and never closed: the rest of the body is not one long field but a bad record.
      if (this.records > 0) await this.cut();
      const line = this.offset + 1;
      this.offset += 1;
      const error = `line ${line}: a quoted field is not closed before the end of the body`;
      const source = rest.length > 1024 ? `${rest.slice(0, 1024)}…` : rest;
      await this.writer.submit(async () => undecodableInput(this.command.table.columns.map((column) => column.name), [{ line, error, source }]), async () => {});
      return;
    }
    // The last record needs no line break. A record of spaces is a record, as it is before a line break
    // (only a byte order mark alone, the whole body, is none).
    if (rest.replace(/^\uFEFF/, '') !== '') await this.append(Buffer.from('\n'), 1);
    if (this.records > 0 || this.writer.submitted === 0) await this.cut();
  }

  private async cut(): Promise<void> {
    const [spool, cleanups, offset] = [this.spool, this.cleanups, this.offset];
    this.offset += this.records;
    this.spool = undefined;
    this.cleanups = [];
    this.bytes = 0;
    this.records = 0;
    this.waitingSince = undefined;
    await this.writer.submit(async () => {
      if (!spool) return recordsInput({ columns: [], rows: [] });
      await spool.close();
      return csvInput(spool.path, this.command.table.columns, { ...this.command.csv, recordOffset: offset });
    }, () => runAll(cleanups));
  }

  async dispose(): Promise<void> {
    await runAll(this.cleanups);
  }
}
