import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { JsonBatch } from '../../../src/core/ingest/json-batch.ts';
import { splitLines } from '../../helpers/split-lines.ts';

/** The numbered spool file (see `jsonLinesFile`) that `fill` makes in a folder of its own, read back whole. */
async function spooled(fill: (dir: string, cleanups: Array<() => Promise<void>>) => Promise<void>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-lines-'));
  const cleanups: Array<() => Promise<void>> = [];
  try {
    await fill(dir, cleanups);
    const [file, ...others] = (await readdir(dir)).filter((name) => name.endsWith('.jsonl'));
    assert.ok(file && others.length === 0, 'the values were spooled to one file');
    return await readFile(join(dir, file));
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

test('NDJSON lines numbered as bytes are the records the text path gives, numbered the same', async () => {
  const filler = Array.from({ length: 90_000 }, (_, index) => `{"id":${index},"text":"${'x'.repeat(90)}"}`).join('\n');
  const tricky = [
    '', '   ', ' \t ', '\u00a0', '\u00a0{"nbsp":1}', '{"crlf":1}\r', '{"cr":"a\rb"}', '{"multi":"é✓😀"}', '\r', 'not json',
    '{"control":"\u0001"}', '\ufeff{"bom-not-first":1}', ` {"lead":1}`, '{"last":1}',
  ].join('\n');
  const body = Buffer.concat([Buffer.from('\ufeff'), Buffer.from(`${filler}\n${tricky}\n`), Buffer.from([0x7b, 0xff, 0x7d, 0x0a]), Buffer.from('{"no newline":1}')]);
  for (const size of [65_536, 7_777]) {
    const fast = await spooled(async (dir, cleanups) => {
      await JsonBatch.numberLines(chunked(body, size), dir, cleanups);
    });
    const reference = await spooled(async (dir, cleanups) => {
      const batch = new JsonBatch(dir, cleanups);
      let line = 0;
      for await (const lines of splitLines(chunked(body, size))) {
        for (const text of lines) {
          line += 1;
          // Bytes that are not UTF-8 decode to U+FFFD (the body holds none of its own): such a line is refused.
          if (text.includes('\ufffd')) await batch.add({ text, index: line, error: 'invalid UTF-8' });
          else if (text.trim() !== '') await batch.add({ text, index: line });
        }
      }
      await batch.input([], { format: 'raw', caseInsensitive: false, positional: false });
    });
    assert.ok(fast.equals(reference), `chunks of ${size} bytes: the spool files differ`);
  }
});
