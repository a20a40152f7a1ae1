import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { splitJsonValues } from '../../../../src/core/ingest/sources/json-values.ts';

const TOTAL_BYTES = 200 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

/** NDJSON made of one block of whole lines sent again and again, so that the input itself takes no memory. */
function generatedNdjson(): { stream: Readable; lines: number } {
  const block: string[] = [];
  for (let size = 0; size < CHUNK_BYTES; ) {
    const line = `{"id":${block.length},"name":"user ${block.length} ✓","tags":["a","b]"],"nested":{"x":${block.length * 1.5},"ok":true}}\n`;
    block.push(line);
    size += Buffer.byteLength(line);
  }
  const chunk = Buffer.from(block.join(''));
  const chunks = Math.ceil(TOTAL_BYTES / chunk.length);
  let sent = 0;
  const stream = new Readable({
    read() {
      sent += 1;
      this.push(sent > chunks ? null : chunk);
    },
  });
  return { stream, lines: chunks * block.length };
}

test('splitting 200 MB of NDJSON keeps memory bounded (RSS grows by less than 150 MB)', async () => {
  const { stream, lines } = generatedNdjson();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  let values = 0;
  let errors = 0;
  for await (const batch of splitJsonValues(stream, { unwrapArrays: false })) {
    values += batch.length;
    for (const entry of batch) if (entry.error !== undefined) errors += 1;
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  assert.equal(errors, 0);
  assert.equal(values, lines);
  const growthMb = (peak - baseline) / (1024 * 1024);
  assert.ok(growthMb < 150, `RSS grew by ${growthMb.toFixed(0)} MB`);
});
