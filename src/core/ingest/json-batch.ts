import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Column } from '../catalog/model.ts';
import type { CoercionOptions } from './coercion.ts';
import { jsonInput, jsonLine, jsonLinesFile, jsonTextsInMemory, ndjsonBodyInMemory, type JsonDecodeOptions, type JsonText, type JsonTextSource, type NdjsonBody } from './decoders/json-input.ts';
import { MAX_LINE_BYTES } from './decoders/line-limits.ts';
import { openSpool, type SpoolWriter } from './sources/spool-writer.ts';
import type { JsonIngestOptions } from './ingest.ts';
import type { StagedInput } from './staged-input.ts';

/** JSON values up to this size are held in memory; a larger batch is spooled to a file. */
const IN_MEMORY_JSON_BYTES = 8 * 1024 * 1024;

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const OPEN_BRACE = 0x7b;
/** \x01, which separates a record's fields in spool lines and texts passed as one parameter. */
const CONTROL_A = 0x01;
const NEWLINE = Buffer.from('\n');

/**
 * Whether bytes [start, end) are blank as `String.prototype.trim` sees them: true when only ASCII
 * whitespace, false at the first other ASCII byte, undefined when a non-ASCII character (possibly
 * Unicode whitespace) comes first.
 */
function isBlank(bytes: Buffer, start: number, end: number): boolean | undefined {
  for (let index = start; index < end; index += 1) {
    const byte = bytes[index]!;
    if (byte === 0x20 || (byte >= 0x09 && byte <= 0x0d)) continue;
    return byte < 0x80 ? false : undefined;
  }
  return true;
}

/** The JSON values of one write, gathered as they are split out of a stream, in bounded memory. */
export class JsonBatch {
  private readonly values: JsonText[] = [];
  private spool: SpoolWriter | undefined;
  /** An NDJSON body too large to hold, spooled as it came (see `addLines`), and whether no line is past the line limit. */
  private ndjson: { path: string; withinLineLimit: boolean } | undefined;
  /** An NDJSON body held whole whose lines are exactly its records, kept as bytes (see `NdjsonBody`). */
  private body: NdjsonBody | undefined;
  /** Characters of value text gathered, and values, by `add` (an NDJSON body spooled as it came is not split into values). */
  bytes = 0;
  count = 0;

  constructor(
    private readonly spoolDir: string,
    /** Receives the removal of the spool file, once there is one. */
    private readonly cleanups: Array<() => Promise<void>>,
  ) {}

  async add(value: JsonText): Promise<void> {
    this.count += 1;
    this.bytes += value.text.length;
    if (this.spool) return this.spool.write(jsonLine(withinLineLimit(value)));
    this.values.push(value);
    if (this.bytes > IN_MEMORY_JSON_BYTES) {
      this.spool = await openSpool(this.spoolDir, 'jsonl', this.cleanups);
      for (const held of this.values.splice(0)) await this.spool.write(jsonLine(withinLineLimit(held)));
    }
  }

  /**
   * The records of an NDJSON stream: one per non-blank line, numbered by line (blank lines
   * count). A body of up to IN_MEMORY_JSON_BYTES is split into values held in memory; a larger
   * one is spooled as it came (see `ndjsonFileSource`).
   */
  async addLines(stream: Readable): Promise<void> {
    const held: Buffer[] = [];
    let heldBytes = 0;
    let file: SpoolWriter | undefined;
    const lines = new LongestLine();
    for await (const data of stream) {
      const chunk = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
      if (!file) {
        held.push(chunk);
        heldBytes += chunk.length;
        if (heldBytes <= IN_MEMORY_JSON_BYTES) continue;
        file = await openSpool(this.spoolDir, 'ndjson', this.cleanups);
        for (const bytes of held.splice(0)) {
          lines.add(bytes);
          await file.write(bytes);
        }
        continue;
      }
      lines.add(chunk);
      await file.write(chunk);
    }
    if (!file) return this.addWholeLines(held.length === 1 ? held[0]! : Buffer.concat(held));
    await file.close();
    this.ndjson = { path: file.path, withinLineLimit: lines.longest <= MAX_LINE_BYTES };
  }

  /**
   * Splits NDJSON bytes into the batch's values: lines are cut at \n, a \r before it dropped and
   * a byte order mark opening the first line too. Once the batch is spooled, lines of valid UTF-8
   * go to the spool file as bytes, never decoded into strings; what they become there is what
   * `add` would write.
   */
  private async splitLines(chunks: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<void> {
    let line = 0;
    // Bytes of a line that continues in the next chunk (\n never falls inside a multi-byte character).
    let carry: Buffer[] = [];
    for await (const chunk of chunks) {
      const end = chunk.lastIndexOf(LINE_FEED);
      if (end < 0) {
        carry.push(chunk);
        continue;
      }
      const region = carry.length > 0 ? Buffer.concat([...carry, chunk.subarray(0, end + 1)]) : chunk.subarray(0, end + 1);
      carry = end + 1 < chunk.length ? [chunk.subarray(end + 1)] : [];
      line = this.spool && isUtf8(region) ? await this.spoolLines(region, line) : await this.addTextLines(region, line);
    }
    const rest = Buffer.concat(carry);
    if (rest.length > 0) await this.addTextLines(Buffer.concat([rest, NEWLINE]), line);
  }

  /** The records of a whole NDJSON body held in memory (a small request's), as `addLines` reads them. */
  async addWholeLines(bytes: Buffer): Promise<void> {
    const records = this.count === 0 ? plainRecords(bytes) : undefined;
    if (records === undefined) return this.splitLines([bytes]);
    this.body = { bytes: bytes[bytes.length - 1] === LINE_FEED ? bytes.subarray(0, -1) : bytes, records };
    this.count = records;
    this.bytes = bytes.length;
  }

  /** Lines (each ending with \n) decoded one by one; returns the number of the last. */
  private async addTextLines(region: Buffer, line: number): Promise<number> {
    let start = 0;
    for (let newline = region.indexOf(LINE_FEED); newline >= 0; newline = region.indexOf(LINE_FEED, start)) {
      const end = newline > start && region[newline - 1] === CARRIAGE_RETURN ? newline - 1 : newline;
      line += 1;
      let text = region.toString('utf8', start, end);
      if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      // Decoding would put U+FFFD in place of invalid bytes without a word: the record is refused.
      if (!isUtf8(region.subarray(start, end))) await this.add({ text, index: line, error: 'invalid UTF-8' });
      else if (text.trim() !== '') await this.add({ text, index: line });
      start = newline + 1;
    }
    return line;
  }

  /** Lines of valid UTF-8 (each ending with \n) written to the spool as `jsonLine` would write them; returns the number of the last. */
  private async spoolLines(region: Buffer, line: number): Promise<number> {
    const hasCarriageReturn = region.includes(CARRIAGE_RETURN);
    let out = Buffer.allocUnsafe(region.length + 64 * 1024);
    let position = 0;
    let start = 0;
    for (let newline = region.indexOf(LINE_FEED); newline >= 0; newline = region.indexOf(LINE_FEED, start)) {
      const lineStart = start;
      const end = newline > start && region[newline - 1] === CARRIAGE_RETURN ? newline - 1 : newline;
      start = newline + 1;
      line += 1;
      const blank = isBlank(region, lineStart, end);
      if (blank === true) continue;
      // A \r inside the line, a byte order mark, a line past the line limit, or a line blank only by Unicode's reckoning: the text path decides.
      if (blank === undefined || line === 1 || end - lineStart + LINE_HEADER_BYTES > MAX_LINE_BYTES || (hasCarriageReturn && region.subarray(lineStart, end).includes(CARRIAGE_RETURN))) {
        const text = region.toString('utf8', lineStart, end);
        const cleaned = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
        if (cleaned.trim() === '') continue;
        if (position > 0) await this.spool!.write(out.subarray(0, position));
        out = Buffer.allocUnsafe(out.length);
        position = 0;
        await this.add({ text: cleaned, index: line });
        continue;
      }
      const header = `${line}\x01${line}\x01\x01`;
      const needed = header.length + (end - lineStart) + 1;
      if (position + needed > out.length) {
        if (position > 0) await this.spool!.write(out.subarray(0, position));
        out = Buffer.allocUnsafe(Math.max(out.length, needed));
        position = 0;
      }
      position += out.write(header, position, 'latin1');
      position += region.copy(out, position, lineStart, end);
      out[position++] = LINE_FEED;
      this.count += 1;
      this.bytes += end - lineStart;
    }
    if (position > 0) await this.spool!.write(out.subarray(0, position));
    return line;
  }

  /** The batch as a write's input; no value may be added after. */
  async input(columns: Column[], options: JsonDecodeOptions): Promise<StagedInput> {
    return jsonInput(await this.texts(), columns, options);
  }

  private async texts(): Promise<JsonTextSource> {
    if (this.ndjson) return ndjsonFileSource(this.ndjson, this.spoolDir, this.cleanups);
    if (this.body) return ndjsonBodyInMemory(this.body, () => plainLines(this.body!.bytes));
    if (!this.spool) return jsonTextsInMemory(this.values);
    await this.spool.close();
    return jsonLinesFile(this.spool.path);
  }

  /** The values of NDJSON bytes, spooled one per line with their line numbers (see `jsonLinesFile`). */
  static async numberLines(chunks: AsyncIterable<Buffer>, spoolDir: string, cleanups: Array<() => Promise<void>>): Promise<JsonTextSource> {
    const batch = new JsonBatch(spoolDir, cleanups);
    batch.spool = await openSpool(spoolDir, 'jsonl', cleanups);
    await batch.splitLines(chunks);
    return batch.texts();
  }
}

/**
 * A spooled NDJSON body. The write path's stage reads it numbered line by line; a write that goes
 * straight to its table may have DuckDB's JSON reader read the file as it is (see
 * `JsonTextSource.ndjsonFile`), unless a line is past the line limit, which only the stage reports.
 */
function ndjsonFileSource(ndjson: { path: string; withinLineLimit: boolean }, spoolDir: string, cleanups: Array<() => Promise<void>>): JsonTextSource {
  return {
    read: async (tx, request) => {
      const numbered = await JsonBatch.numberLines(createReadStream(ndjson.path, { highWaterMark: 1024 * 1024 }), spoolDir, cleanups);
      return numbered.read(tx, request);
    },
    ...(ndjson.withinLineLimit && { ndjsonFile: ndjson.path }),
  };
}

/**
 * The number of records of NDJSON bytes that make a plain body (see `NdjsonBody`): every line
 * opens with `{`, and there is no \r, no \x01 and no invalid UTF-8. Undefined for any other body,
 * whose lines `splitLines` decodes one by one.
 */
function plainRecords(bytes: Buffer): number | undefined {
  if (bytes[0] !== OPEN_BRACE || bytes.includes(CARRIAGE_RETURN) || bytes.includes(CONTROL_A) || !isUtf8(bytes)) return undefined;
  let records = 1;
  for (let newline = bytes.indexOf(LINE_FEED); newline >= 0 && newline + 1 < bytes.length; newline = bytes.indexOf(LINE_FEED, newline + 1)) {
    if (bytes[newline + 1] !== OPEN_BRACE) return undefined;
    records += 1;
  }
  return records;
}

/** The values of a plain body's records (see `NdjsonBody`), as `splitLines` would give them: one per line, numbered from 1. */
function plainLines(body: Buffer): JsonText[] {
  return body.toString('utf8').split('\n').map((text, index) => ({ text, index: index + 1 }));
}

/** Room in a spooled line for the record's number, group and separators. */
const LINE_HEADER_BYTES = 64;

/**
 * The value itself, or when its line would be past the spool's line limit, a record that could
 * not be decoded, with the reason and the start of its text.
 */
function withinLineLimit(value: JsonText): JsonText {
  if (value.error !== undefined || value.text.length * 3 + LINE_HEADER_BYTES <= MAX_LINE_BYTES) return value;
  const bytes = Buffer.byteLength(value.text);
  if (bytes + LINE_HEADER_BYTES <= MAX_LINE_BYTES) return value;
  return { ...value, text: value.text.slice(0, 10_000), error: `the record is ${bytes} bytes long, past the line limit of ${MAX_LINE_BYTES - LINE_HEADER_BYTES} bytes` };
}

/** The length of the longest line of bytes passing by chunk, measured with a few searches per chunk. */
class LongestLine {
  longest = 0;
  /** Bytes of the line the last chunk ended in. */
  private current = 0;

  add(chunk: Buffer): void {
    const first = chunk.indexOf(LINE_FEED);
    if (first < 0) {
      this.current += chunk.length;
      this.longest = Math.max(this.longest, this.current);
      return;
    }
    this.longest = Math.max(this.longest, this.current + first);
    const last = chunk.lastIndexOf(LINE_FEED);
    // Lines wholly inside a chunk are shorter than it: only a long chunk needs them measured.
    if (chunk.length > MAX_LINE_BYTES) {
      for (let start = first + 1, end = chunk.indexOf(LINE_FEED, start); end >= 0 && start <= last; start = end + 1, end = chunk.indexOf(LINE_FEED, start)) {
        this.longest = Math.max(this.longest, end - start);
      }
    }
    this.current = chunk.length - last - 1;
    this.longest = Math.max(this.longest, this.current);
  }
}

/**
 * How the values of an ingest with these options are decoded, for values converted by `coercion`:
 * where it takes a number with a fraction for an integer (rounding or truncating it), a long integer
 * is read from the number as written.
 */
export function jsonDecodeOptions(options: JsonIngestOptions, coercion: CoercionOptions = {}): JsonDecodeOptions {
  return {
    format: options.updateFormat, caseInsensitive: options.caseInsensitive, positional: options.positional,
    ...(options.scalarColumn !== undefined && { scalarColumn: options.scalarColumn }),
    ...(options.atomicArrays && { atomicArrays: true }),
    ...(options.typedValues && { typedValues: true }),
    ...(options.timestampsInMillis && { timestampsInMillis: true }),
    ...(coercion.integerFractions !== 'refuse' && { exactIntegers: true }),
  };
}
