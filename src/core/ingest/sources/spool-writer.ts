import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { newId } from '../../ids.ts';
import { SPOOL_WRITE_BUFFER_BYTES } from './spool-file.ts';

export interface SpoolWriter {
  path: string;
  write(text: string | Buffer): Promise<void>;
  close(): Promise<void>;
}

/**
 * A spool file written piece by piece with backpressure; `cleanups` gets its removal. A write that
 * fails (a full disk), or one still in flight when the cleanup destroys the file, fails the next
 * write or the close: the stream's error is never left without a listener, which would end the
 * process.
 */
export async function openSpool(spoolDir: string, extension: string, cleanups: Array<() => Promise<void>>): Promise<SpoolWriter> {
  const path = join(spoolDir, `${newId()}.${extension}`);
  const out = createWriteStream(path, { highWaterMark: SPOOL_WRITE_BUFFER_BYTES });
  let failure: Error | undefined;
  out.on('error', (error) => {
    failure ??= error;
  });
  cleanups.push(async () => {
    out.destroy();
    await rm(path, { force: true });
  });
  return {
    path,
    async write(text) {
      if (failure) throw failure;
      if (!out.write(text)) await once(out, 'drain');
    },
    async close() {
      if (failure) throw failure;
      out.end();
      await once(out, 'finish');
    },
  };
}
