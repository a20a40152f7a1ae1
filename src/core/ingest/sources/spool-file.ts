import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ByteLimit } from './byte-limit.ts';

/**
 * Bytes a spool file's writer takes before it asks its source to wait: with Node's 16 KB, every
 * chunk of an upload waits for its own disk write before the next is read; with 1 MB, reading the
 * upload and writing the file overlap.
 */
export const SPOOL_WRITE_BUFFER_BYTES = 1024 * 1024;

/** A stream's bytes on disk, for readers that need a file (Parquet seeks; DuckDB's CSV/JSON readers load files fastest). */
export interface SpooledFile {
  path: string;
  bytes: number;
  /** Deletes the file; safe to call more than once. */
  remove(): Promise<void>;
}

export interface SpoolOptions {
  /** File name extension, with or without the dot: DuckDB picks readers and compression by it. */
  extension: string;
  /** Fails with PAYLOAD_TOO_LARGE (and removes the file) past this many bytes. */
  maxBytes?: number;
  /** Sees each chunk on its way to the file: what a reader wants to know of the file, learned without reading it again. */
  inspect?: (chunk: Buffer) => void;
}

/** Writes a stream to a new, uniquely named file in `spoolDir`; on any failure no partial file is left behind. */
export async function spoolToFile(stream: Readable, spoolDir: string, options: SpoolOptions): Promise<SpooledFile> {
  const extension = options.extension.replace(/^\./, '');
  if (!/^[A-Za-z0-9.]*$/.test(extension)) throw new TypeError(`Invalid spool file extension: ${options.extension}`);
  await mkdir(spoolDir, { recursive: true });
  const path = join(spoolDir, extension === '' ? randomUUID() : `${randomUUID()}.${extension}`);
  const remove = () => rm(path, { force: true });
  // 'wx': a name clash must fail rather than overwrite another request's file.
  const file = createWriteStream(path, { flags: 'wx', highWaterMark: SPOOL_WRITE_BUFFER_BYTES });
  try {
    const { maxBytes, inspect } = options;
    const stages = [
      ...(maxBytes === undefined ? [] : [new ByteLimit(maxBytes)]),
      ...(inspect ? [new Transform({ transform: (chunk: Buffer, _encoding, done) => done(null, (inspect(chunk), chunk)) })] : []),
    ];
    await pipeline([stream, ...stages, file]);
  } catch (error) {
    // The file is opened asynchronously: one that fails early (a limit passed in the first chunks)
    // may be created after a removal that did not wait for its stream to close.
    if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
    await remove();
    throw error;
  }
  return { path, bytes: file.bytesWritten, remove };
}
