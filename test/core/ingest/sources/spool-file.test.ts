import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { SluiceError } from '../../../../src/core/errors.ts';
import { spoolToFile } from '../../../../src/core/ingest/sources/spool-file.ts';

/** Chunks of `bytes`, then (optionally) a failure. */
function streamOf(bytes: Buffer, chunkSize: number, failure?: Error): Readable {
  return Readable.from(
    (async function* () {
      for (let offset = 0; offset < bytes.length; offset += chunkSize) yield bytes.subarray(offset, offset + chunkSize);
      if (failure) throw failure;
    })(),
  );
}

describe('spoolToFile', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'sluice-spool-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('writes exactly the bytes of the stream and reports how many', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const file = await spoolToFile(streamOf(bytes, 65_536), root, { extension: 'parquet' });
    assert.equal(file.bytes, bytes.length);
    assert.equal(dirname(file.path), root);
    assert.match(basename(file.path), /^[0-9a-f-]{36}\.parquet$/);
    assert.deepEqual(await readFile(file.path), bytes);
    await file.remove();
  });

  test('gives each file a unique name and accepts an extension with its dot', async () => {
    const first = await spoolToFile(streamOf(Buffer.from('a'), 1), root, { extension: '.csv' });
    const second = await spoolToFile(streamOf(Buffer.from('b'), 1), root, { extension: '.csv' });
    assert.notEqual(first.path, second.path);
    assert.ok(first.path.endsWith('.csv') && !first.path.endsWith('..csv'));
    await Promise.all([first.remove(), second.remove()]);
  });

  test('remove deletes the file and may be called twice', async () => {
    const file = await spoolToFile(streamOf(Buffer.from('x'), 1), root, { extension: 'csv' });
    await file.remove();
    await file.remove();
    await assert.rejects(stat(file.path), { code: 'ENOENT' });
  });

  test('creates the spool folder when it does not exist', async () => {
    const folder = join(root, 'nested', 'spool');
    const file = await spoolToFile(streamOf(Buffer.from('hello'), 2), folder, { extension: 'ndjson' });
    assert.equal(await readFile(file.path, 'utf8'), 'hello');
    await file.remove();
  });

  test('removes the partial file when the stream fails midway', async () => {
    const folder = join(root, 'failing');
    const failure = new Error('client went away');
    await assert.rejects(spoolToFile(streamOf(randomBytes(200_000), 10_000, failure), folder, { extension: 'csv' }), failure);
    assert.deepEqual(await readdir(folder), []);
  });

  test('fails with PAYLOAD_TOO_LARGE past maxBytes and leaves no file behind', async () => {
    const folder = join(root, 'limited');
    await assert.rejects(spoolToFile(streamOf(randomBytes(10_000), 1000), folder, { extension: 'csv', maxBytes: 5000 }), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, 'PAYLOAD_TOO_LARGE');
      return true;
    });
    assert.deepEqual(await readdir(folder), []);
  });

  test('refuses an extension that could leave the spool folder', async () => {
    await assert.rejects(spoolToFile(streamOf(Buffer.from('x'), 1), root, { extension: '/../../etc' }), TypeError);
  });
});
