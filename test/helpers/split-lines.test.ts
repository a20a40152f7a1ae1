import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { SluiceError } from '../../src/core/errors.ts';
import { splitLines, type SplitLinesOptions } from './split-lines.ts';

async function batchesOf(chunks: Array<string | Buffer>, options?: SplitLinesOptions): Promise<string[][]> {
  const batches: string[][] = [];
  const buffers = chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
  for await (const batch of splitLines(Readable.from(buffers), options)) batches.push(batch);
  return batches;
}

async function linesOf(chunks: Array<string | Buffer>): Promise<string[]> {
  return (await batchesOf(chunks)).flat();
}

describe('splitLines', () => {
  test('splits on \\n and \\r\\n and keeps a last line that has no line break', async () => {
    assert.deepEqual(await linesOf(['a\nb\r\nc']), ['a', 'b', 'c']);
  });

  test('a final line break does not add an empty line, but empty lines inside are kept', async () => {
    assert.deepEqual(await linesOf(['a\n\n\r\nb\n']), ['a', '', '', 'b']);
  });

  test('an empty stream has no lines', async () => {
    assert.deepEqual(await batchesOf([]), []);
    assert.deepEqual(await batchesOf(['']), []);
  });

  test('joins lines and multi-byte characters split across chunks, one byte at a time included', async () => {
    const text = '{"e":"😀"}\r\nnaïve ✓\n\nlast é';
    const oneByteAtATime = [...Buffer.from(text)].map((byte) => Buffer.from([byte]));
    assert.deepEqual(await linesOf(oneByteAtATime), ['{"e":"😀"}', 'naïve ✓', '', 'last é']);
  });

  test('strips a \\r whose \\n arrives in the next chunk', async () => {
    assert.deepEqual(await linesOf(['a\r', '\nb']), ['a', 'b']);
  });

  test('skips a UTF-8 byte order mark at the start', async () => {
    assert.deepEqual(await linesOf(['\ufeffa\nb']), ['a', 'b']);
    assert.deepEqual(await linesOf([...Buffer.from('\ufeffa')].map((byte) => Buffer.from([byte]))), ['a']);
  });

  test('batches are bounded by batchBytes and keep the order', async () => {
    const lines = Array.from({ length: 1000 }, (_, index) => `line ${index}`);
    const batches = await batchesOf([lines.join('\n')], { batchBytes: 100 });
    assert.ok(batches.length > 50);
    for (const batch of batches) assert.ok(batch.join('\n').length < 100 + 20);
    assert.deepEqual(batches.flat(), lines);
  });

  test('a line longer than maxLineBytes fails with PAYLOAD_TOO_LARGE', async () => {
    await assert.rejects(batchesOf(['short\n', 'x'.repeat(50), 'x'.repeat(60), '\n'], { maxLineBytes: 100 }), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, 'PAYLOAD_TOO_LARGE');
      assert.match(error.message, /Line 2 is longer than the limit of 100 bytes/);
      return true;
    });
  });
});
