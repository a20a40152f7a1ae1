import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { openSource } from '../../../../src/core/ingest/sources/open-source.ts';
import type { SourceHints } from '../../../../src/core/ingest/sources/source.ts';
import { isSluiceError, readAll } from './stream-helpers.ts';

const CSV = Buffer.from('id,name\n1,alpha\n2,beta\n'.repeat(100));
const LIMITS = { maxBytes: 1024 * 1024 };

function streamSource(chunks: Buffer[], hints?: SourceHints) {
  return { kind: 'stream' as const, stream: Readable.from(chunks), hints };
}

function cut(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.subarray(offset, offset + size));
  return chunks;
}

describe('openSource: stream bodies', () => {
  test('passes a plain body through unchanged', async () => {
    const stream = await openSource(streamSource(cut(CSV, 100)), LIMITS);
    assert.deepEqual(await readAll(stream), CSV);
  });

  test('passes bodies shorter than the gzip magic through, empty ones included', async () => {
    assert.deepEqual(await readAll(await openSource(streamSource([Buffer.from('7')]), LIMITS)), Buffer.from('7'));
    assert.deepEqual(await readAll(await openSource(streamSource([]), LIMITS)), Buffer.alloc(0));
  });

  test('gunzips a body recognised only by its magic bytes, even when they arrive one at a time', async () => {
    const gzipped = gzipSync(CSV);
    assert.deepEqual(await readAll(await openSource(streamSource([gzipped]), LIMITS)), CSV);
    assert.deepEqual(await readAll(await openSource(streamSource(cut(gzipped, 1)), LIMITS)), CSV);
  });

  // A body declared gzip that is not is rejected: proof that the declaration alone chose gunzip.
  const declarations: Array<[string, SourceHints]> = [
    ['Content-Encoding', { contentEncoding: 'gzip' }],
    ['Content-Type', { contentType: 'application/x-gzip' }],
    ['a .gz file name', { fileName: 'events.NDJSON.GZ' }],
  ];
  for (const [what, hints] of declarations) {
    test(`gunzips a body declared gzip by ${what}`, async () => {
      assert.deepEqual(await readAll(await openSource(streamSource([gzipSync(CSV)], hints), LIMITS)), CSV);
      const notGzip = await openSource(streamSource([CSV], hints), LIMITS);
      await assert.rejects(readAll(notGzip), isSluiceError('MALFORMED_BODY', /not valid gzip/));
    });
  }

  test('a truncated gzip body fails the stream with MALFORMED_BODY instead of hanging', async () => {
    const gzipped = gzipSync(CSV);
    const stream = await openSource(streamSource([gzipped.subarray(0, gzipped.length - 12)]), LIMITS);
    await assert.rejects(readAll(stream), isSluiceError('MALFORMED_BODY', /unexpected end of file/));
  });

  test('a corrupt gzip body fails the stream with MALFORMED_BODY', async () => {
    const gzipped = Buffer.from(gzipSync(CSV));
    gzipped.fill(0xff, 20, 40);
    const stream = await openSource(streamSource(cut(gzipped, 50)), LIMITS);
    await assert.rejects(readAll(stream), isSluiceError('MALFORMED_BODY'));
  });

  test('a gzip bomb is stopped at the limit on decompressed bytes', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    assert.ok(bomb.length < LIMITS.maxBytes);
    const stream = await openSource(streamSource([bomb]), LIMITS);
    await assert.rejects(readAll(stream), isSluiceError('PAYLOAD_TOO_LARGE', /Decompressed payload is larger than the limit of 1048576 bytes/));
  });

  test('a plain body over the limit fails with PAYLOAD_TOO_LARGE; one exactly at the limit passes', async () => {
    const limits = { maxBytes: CSV.length - 1 };
    await assert.rejects(readAll(await openSource(streamSource(cut(CSV, 100)), limits)), isSluiceError('PAYLOAD_TOO_LARGE'));
    assert.equal((await readAll(await openSource(streamSource(cut(CSV, 100)), { maxBytes: CSV.length }))).length, CSV.length);
  });

  test('a declared Content-Length over the limit is refused before reading', async () => {
    const source = streamSource([CSV], { contentLength: CSV.length });
    await assert.rejects(openSource(source, { maxBytes: 10 }), isSluiceError('PAYLOAD_TOO_LARGE'));
    assert.ok(source.stream.destroyed);
  });

  test('reports growing progress over the received bytes, with the declared total', async () => {
    const gzipped = gzipSync(randomBytes(20_000).toString('hex'));
    const progress: Array<{ bytesRead: number; totalBytes?: number }> = [];
    const stream = await openSource(streamSource(cut(gzipped, 64), { contentLength: gzipped.length }), LIMITS, { onProgress: (update) => progress.push(update) });
    await readAll(stream);
    assert.ok(progress.length > 100);
    for (let index = 1; index < progress.length; index += 1) assert.ok(progress[index]!.bytesRead > progress[index - 1]!.bytesRead);
    assert.deepEqual(progress.at(-1), { bytesRead: gzipped.length, totalBytes: gzipped.length });
  });

  test('an error of the source stream surfaces on the returned stream', async () => {
    const failure = new Error('client aborted');
    const source = new Readable({ read() {} });
    source.push(Buffer.from('abc'));
    const stream = await openSource({ kind: 'stream', stream: source }, LIMITS);
    source.destroy(failure);
    await assert.rejects(readAll(stream), failure);
  });

  test('a source that fails before its first bytes rejects the open', async () => {
    const failure = new Error('connection reset');
    const source = new Readable({ read() {} });
    setImmediate(() => source.destroy(failure));
    await assert.rejects(openSource({ kind: 'stream', stream: source }, LIMITS), failure);
    await assert.rejects(openSource({ kind: 'stream', stream: source }, LIMITS), failure);
  });

  test('destroying the returned stream destroys the source', async () => {
    const source = new Readable({ read() {} });
    source.push(Buffer.from('abc'));
    const stream = await openSource({ kind: 'stream', stream: source }, LIMITS);
    const closed = new Promise((resolve) => source.once('close', resolve));
    source.on('error', () => {});
    stream.destroy();
    await closed;
    assert.ok(source.destroyed);
  });
});
