// The straightforward line splitter, kept as the reference the byte-level NDJSON path is checked against.
import type { Readable } from 'node:stream';
import { SluiceError } from '../../src/core/errors.ts';

export interface SplitLinesOptions {
  /** Approximate size of each batch; default 1 MiB. */
  batchBytes?: number;
  /** A longer line fails the stream with PAYLOAD_TOO_LARGE rather than being held in memory. */
  maxLineBytes?: number;
}

const DEFAULT_BATCH_BYTES = 1024 * 1024;
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * The lines of a UTF-8 stream, in batches bounded in bytes, as they arrive. Lines end at \n or \r\n;
 * the last one needs no line break. Empty lines are kept, so that positions match line numbers.
 */
export async function* splitLines(stream: Readable, options: SplitLinesOptions = {}): AsyncIterable<string[]> {
  const batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
  const maxLineBytes = options.maxLineBytes ?? Number.POSITIVE_INFINITY;
  // Bytes of a line that continues in the next chunk; lines are cut at \n only, which never falls
  // inside a multi-byte character, so joining the bytes before decoding keeps characters whole.
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let batch: string[] = [];
  let batchSize = 0;
  let lineCount = 0;

  const checkLength = (bytes: number) => {
    if (bytes > maxLineBytes) {
      throw new SluiceError('PAYLOAD_TOO_LARGE', `Line ${lineCount + 1} is longer than the limit of ${maxLineBytes} bytes`, { maxBytes: maxLineBytes });
    }
  };
  const takeCarry = (tail: Buffer) => {
    const text = Buffer.concat([...carry, tail]).toString('utf8');
    carry = [];
    carryBytes = 0;
    return text.endsWith('\r') ? text.slice(0, -1) : text;
  };

  for await (const data of stream) {
    const chunk = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
    let start = 0;
    let newline: number;
    while ((newline = chunk.indexOf(LINE_FEED, start)) !== -1) {
      checkLength(carryBytes + newline - start);
      let line: string;
      if (carry.length > 0) {
        line = takeCarry(chunk.subarray(start, newline));
      } else {
        const end = newline > start && chunk[newline - 1] === CARRIAGE_RETURN ? newline - 1 : newline;
        line = chunk.toString('utf8', start, end);
      }
      lineCount += 1;
      batch.push(lineCount === 1 ? withoutByteOrderMark(line) : line);
      batchSize += line.length + 1;
      start = newline + 1;
      if (batchSize >= batchBytes) {
        yield batch;
        batch = [];
        batchSize = 0;
      }
    }
    if (start < chunk.length) {
      carry.push(chunk.subarray(start));
      carryBytes += chunk.length - start;
      checkLength(carryBytes);
    }
  }
  if (carryBytes > 0) {
    lineCount += 1;
    const line = takeCarry(Buffer.alloc(0));
    batch.push(lineCount === 1 ? withoutByteOrderMark(line) : line);
  }
  if (batch.length > 0) yield batch;
}

function withoutByteOrderMark(line: string): string {
  return line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
}
