import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { JsonBatch } from '../../../src/core/ingest/json-batch.ts';
import { splitLines } from '../../helpers/split-lines.ts';

/** The batch's spool file after `fill`, read back whole. */
async function spooled(fill: (batch: JsonBatch) => Promise<void>): Promise<{ count: number; content: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-lines-'));
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const batch = new JsonBatch(dir, cleanups);
    await fill(batch);
    await batch.input([], { format: 'raw', caseInsensitive: false, positional: false });
    const [file] = await readdir(dir);
    assert.ok(file, 'the batch was spooled');
    return { count: batch.count, content: await readFile(join(dir, file)) };
  } finally {
    for (const cleanup of cleanups) await cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Chunks of odd sizes, so that lines and characters are cut across chunks. */
function chunked(body: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let start = 0; start < body.length; start += size) chunks.push(body.subarray(start, start + size));
  return Readable.from(chunks);
}

test('NDJSON lines spooled as bytes are the records the text path gives, numbered the same', async () => {
  const filler = Array.from({ length: 90_000 }, (_, index) => `{"id":${index},"text":"${'x'.repeat(90)}"}`).join('\n');
  const tricky = [
    '', '   ', ' \t ', '\u00a0', '\u00a0{"nbsp":1}', '{"crlf":1}\r', '{"cr":"a\rb"}', '{"multi":"é✓😀"}', '\r', 'not json',
    '{"control":"\u0001"}', '\ufeff{"bom-not-first":1}', ` {"lead":1}`, '{"last":1}',
  ].join('\n');
  const body = Buffer.concat([Buffer.from('\ufeff'), Buffer.from(`${filler}\n${tricky}\n`), Buffer.from([0x7b, 0xff, 0x7d, 0x0a]), Buffer.from('{"no newline":1}')]);
  for (const size of [65_536, 7_777]) {
    const fast = await spooled((batch) => batch.addLines(chunked(body, size)));
    const reference = await spooled(async (batch) => {
      let line = 0;
      for await (const lines of splitLines(chunked(body, size))) {
        for (const text of lines) {
          line += 1;
          if (text.trim() !== '') await batch.add({ text, index: line });
        }
      }
    });
    assert.equal(fast.count, reference.count);
    assert.ok(fast.content.equals(reference.content), `chunks of ${size} bytes: the spool files differ`);
  }
});
