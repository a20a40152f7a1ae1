import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Principal } from '../auth/scopes.ts';
import { SluiceError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Sluice } from '../sluice.ts';
import type { WriteRequest, WriteResult } from '../write/write-command.ts';
import { decodeArrowIpc } from './decoders/arrow-ipc.ts';
import { csvInput, type CsvOptions } from './decoders/csv-input.ts';
import { jsonInput, jsonLine, jsonLinesFile, jsonTextsInMemory, type JsonText, type UpdateFormat } from './decoders/json-input.ts';
import { parquetInput } from './decoders/parquet-input.ts';
import { openSource } from './sources/open-source.ts';
import type { IngestSource, ProgressListener, SourceLimits } from './sources/source.ts';
import { spoolToFile } from './sources/spool-file.ts';
import { splitJsonValues } from './sources/json-values.ts';
import { splitLines } from './sources/lines.ts';
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
}

/** One request's rows, from bytes to a committed write. */
export interface IngestCommand extends Omit<WriteRequest, 'input'> {
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
}

/** JSON bodies up to this size are decoded in memory; larger ones are spooled to a file first. */
const IN_MEMORY_JSON_BYTES = 8 * 1024 * 1024;

const DEFAULT_JSON: JsonIngestOptions = { updateFormat: 'raw', arrays: false, caseInsensitive: false, positional: false };
const DEFAULT_CSV: CsvOptions = { header: 'detect', caseInsensitive: false, lenient: false };

/**
 * Streams a request's bytes into a table: the source is opened (downloaded, decompressed, limited),
 * decoded by the format's reader and handed to the write path as one write. Formats DuckDB reads
 * natively are spooled to a file and loaded by DuckDB; nothing is held whole in memory.
 */
export async function ingest(core: Sluice, principal: Principal, command: IngestCommand): Promise<WriteResult> {
  core.authorizeWrite(principal, command.kind, command.table);
  command.signal?.throwIfAborted();
  const stream = await openSource(command.source, command.limits, command.onProgress);
  const cancel = () => stream.destroy(new SluiceError('UNAVAILABLE', 'The import was cancelled'));
  command.signal?.addEventListener('abort', cancel);
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const input = await DECODERS[command.format](core, stream, command, cleanups);
    command.signal?.throwIfAborted();
    const { format: _format, source: _source, limits: _limits, csv: _csv, json: _json, caseInsensitive: _ci, onProgress: _progress, signal: _signal, ...request } = command;
    return await core.write(principal, { ...request, input });
  } finally {
    command.signal?.removeEventListener('abort', cancel);
    stream.destroy();
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}

/** The source as a file in the spool folder: the file itself when it already is one, else a copy of the stream. */
async function spooled(core: Sluice, stream: Readable, command: IngestCommand, extension: string, cleanups: Array<() => Promise<void>>): Promise<string> {
  if (command.source.kind === 'file') return command.source.path;
  const file = await spoolToFile(stream, core.storage.spoolDir, { extension });
  cleanups.push(() => file.remove());
  return file.path;
}

type Decoder = (core: Sluice, stream: Readable, command: IngestCommand, cleanups: Array<() => Promise<void>>) => Promise<StagedInput>;

const DECODERS: Record<IngestFormat, Decoder> = {
  csv: async (core, stream, command, cleanups) =>
    csvInput(await spooled(core, stream, command, 'csv', cleanups), command.table.columns, command.csv ?? DEFAULT_CSV),
  parquet: async (core, stream, command, cleanups) =>
    parquetInput(core.storage, await spooled(core, stream, command, 'parquet', cleanups), command.table.columns, { caseInsensitive: command.caseInsensitive ?? false }),
  json: async (core, stream, command, cleanups) => {
    const options = command.json ?? DEFAULT_JSON;
    const decodeOptions = { format: options.updateFormat, caseInsensitive: options.caseInsensitive, positional: options.positional };
    const values: JsonText[] = [];
    let bytes = 0;
    let spool: SpoolWriter | undefined;
    for await (const chunk of options.lineDelimited ? numberedLines(stream) : splitJsonValues(stream, { unwrapArrays: options.arrays })) {
      for (const value of chunk) {
        if (spool) {
          await spool.write(jsonLine(value));
          continue;
        }
        values.push(value);
        bytes += value.text.length;
        if (bytes > IN_MEMORY_JSON_BYTES) {
          spool = await openSpool(core.storage.spoolDir, 'jsonl', cleanups);
          for (const held of values.splice(0)) await spool.write(jsonLine(held));
        }
      }
    }
    if (!spool) return jsonInput(jsonTextsInMemory(values), command.table.columns, decodeOptions);
    await spool.close();
    return jsonInput(jsonLinesFile(spool.path), command.table.columns, decodeOptions);
  },
  arrow: async (core, stream, command, cleanups) => {
    // Arrow batches are decoded as they arrive and spooled as CSV (strings quoted, NULL unquoted
    // and empty), so that a stream of any length loads in bounded memory through DuckDB's reader.
    const spool = await openSpool(core.storage.spoolDir, 'csv', cleanups);
    let columns = command.table.columns.map((column) => column.name);
    for await (const batch of decodeArrowIpc(stream, command.table.columns, { caseInsensitive: command.caseInsensitive ?? false })) {
      columns = batch.columns;
      for (const row of batch.rows) await spool.write(`${row.map(csvField).join(',')}\n`);
    }
    await spool.close();
    const mapped = columns.map((name) => command.table.columns.find((column) => column.name === name)!);
    return csvInput(spool.path, mapped, { header: false, caseInsensitive: false, lenient: false, delimiter: ',', quote: '"', escape: '"', quotedEmptyIsNull: false });
  },
};

/** NDJSON records: one per non-blank line, numbered by line. */
async function* numberedLines(stream: Readable): AsyncIterable<JsonText[]> {
  let line = 0;
  for await (const lines of splitLines(stream)) {
    const values: JsonText[] = [];
    for (const text of lines) {
      line += 1;
      if (text.trim() !== '') values.push({ text, index: line });
    }
    yield values;
  }
}

function csvField(value: string | null): string {
  return value === null ? '' : `"${value.replaceAll('"', '""')}"`;
}

interface SpoolWriter {
  path: string;
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

/** A spool file written piece by piece with backpressure, removed by the ingest's cleanup. */
async function openSpool(spoolDir: string, extension: string, cleanups: Array<() => Promise<void>>): Promise<SpoolWriter> {
  const path = join(spoolDir, `${newId()}.${extension}`);
  const out = createWriteStream(path);
  cleanups.push(async () => {
    out.destroy();
    await rm(path, { force: true });
  });
  return {
    path,
    async write(text) {
      if (!out.write(text)) await once(out, 'drain');
    },
    async close() {
      out.end();
      await once(out, 'finish');
    },
  };
}
