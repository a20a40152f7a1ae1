import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SluiceError } from '../../../../src/core/errors.ts';
import { ByteLimit } from '../../../../src/core/ingest/sources/byte-limit.ts';

async function drain(limit: ByteLimit, chunks: Buffer[]): Promise<Buffer> {
  const received: Buffer[] = [];
  await pipeline(Readable.from(chunks), limit, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) received.push(chunk);
  });
  return Buffer.concat(received);
}

test('ByteLimit passes bytes up to the limit through unchanged and reports running totals', async () => {
  const totals: number[] = [];
  const limit = new ByteLimit(10, { onBytes: (bytes) => totals.push(bytes) });
  const out = await drain(limit, [Buffer.from('abcd'), Buffer.from('efghij')]);
  assert.equal(out.toString(), 'abcdefghij');
  assert.deepEqual(totals, [4, 10]);
  assert.equal(limit.bytesRead, 10);
});

test('ByteLimit fails with PAYLOAD_TOO_LARGE naming the limit once it is exceeded', async () => {
  const limit = new ByteLimit(10, { subject: 'Decompressed payload' });
  await assert.rejects(drain(limit, [Buffer.from('abcdef'), Buffer.from('ghijk')]), (error: unknown) => {
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(error.status, 413);
    assert.equal(error.message, 'Decompressed payload is larger than the limit of 10 bytes');
    assert.deepEqual(error.details, { maxBytes: 10 });
    return true;
  });
});
