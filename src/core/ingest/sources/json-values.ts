import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';

/** One top-level JSON value (or array element) of a stream, as text; DuckDB parses and validates it later. */
export interface JsonValueText {
  /** The value's text as sent; for an error, the offending text, shortened to about a kilobyte. */
  text: string;
  /** 1-based record number: values and errors counted in stream order. */
  index: number;
  /** 1-based number of the top-level value the entry belongs to; the elements of an unwrapped array share it. */
  topLevelIndex: number;
  /** Why this text could not be split out as a value. */
  error?: string;
}

/** A batch of values, bounded in bytes so that a stream of any length is processed in bounded memory. */
export type JsonValueChunk = JsonValueText[];

export interface SplitJsonOptions {
  /**
   * Each top-level value is an array of records: its elements are yielded as separate values, and a
   * top-level value that is not an array is a bad record.
   */
  unwrapArrays: boolean;
  /** A longer value is reported as an error instead of being held in memory; default 64 MiB. */
  maxValueBytes?: number;
  /** Approximate size of each batch; default 1 MiB. */
  batchBytes?: number;
  /**
   * Receives the keys of each value that is an object (not those of objects inside it), as they are
   * scanned; with `unwrapArrays`, of each element of a top-level array (a top-level object is a bad
   * record, not a value).
   */
  keys?: JsonKeyCollector;
}

/** Keys of a value past this many are not compared with the previous value's (see `JsonKeyCollector.note`). */
const MAX_COMPARED_KEYS = 256;
/** Keys the collector remembers as not wanted; past this many, each new one is asked about again. */
const MAX_REMEMBERED_KEYS = 10_000;

/**
 * Keys of the values of a stream for which `wanted` holds (keys matching no column, say), each
 * once, the first `max` of them; `more` tells that there were others, and `someUnwanted` that some
 * key was not wanted (a key that does match a column). Values of one stream mostly have the same
 * keys in the same order, so a key is first compared, as bytes, with the key at the same place in
 * the previous value: only a key that differs becomes a string.
 */
export class JsonKeyCollector {
  readonly keys: string[] = [];
  more = false;
  someUnwanted = false;
  /** Keys already decided, wanted or not. */
  private readonly seen = new Set<string>();
  /** The raw bytes of the previous value's keys, by position. */
  private readonly previous: Buffer[] = [];

  constructor(
    private readonly wanted: (key: string) => boolean,
    private readonly max: number,
  ) {}

  /** The key whose raw text (between its quotes, escapes undone here) is bytes [start, end) of `chunk`, at `position` in its value. */
  note(chunk: Buffer, start: number, end: number, position: number): void {
    const previous = this.previous[position];
    if (previous !== undefined && previous.length === end - start && sameBytes(chunk, start, previous)) return;
    if (position < MAX_COMPARED_KEYS) this.previous[position] = Buffer.from(chunk.subarray(start, end));
    const key = decodeKey(chunk, start, end);
    if (key === undefined || this.seen.has(key)) return;
    if (!this.wanted(key)) {
      this.someUnwanted = true;
      if (this.seen.size < MAX_REMEMBERED_KEYS) this.seen.add(key);
    } else if (this.keys.length < this.max) {
      this.keys.push(key);
      this.seen.add(key);
    } else this.more = true;
  }
}

/** Whether `chunk` holds the bytes of `expected` at `start`; compared in a loop, as keys are short and Buffer#compare costs more to call. */
function sameBytes(chunk: Buffer, start: number, expected: Buffer): boolean {
  for (let index = 0; index < expected.length; index += 1) if (chunk[start + index] !== expected[index]) return false;
  return true;
}

/** A key's text, its escapes undone; undefined for one that is not valid JSON (its record is refused later). */
function decodeKey(chunk: Buffer, start: number, end: number): string | undefined {
  const text = chunk.toString('utf8', start, end);
  if (!text.includes('\\')) return text;
  try {
    return JSON.parse(`"${text}"`) as string;
  } catch {
    return undefined;
  }
}

const DEFAULT_MAX_VALUE_BYTES = 64 * 1024 * 1024;
const DEFAULT_BATCH_BYTES = 1024 * 1024;
/** Enough of a bad value to recognise it in an error report. */
const ERROR_TEXT_BYTES = 1024;

/**
 * Splits a stream of JSON text into its values as bytes arrive: NDJSON, concatenated or
 * pretty-printed values, and with `unwrapArrays` the elements of top-level arrays. Malformed input
 * becomes an entry with `error`, after which splitting resumes at the next line, or inside an
 * unwrapped array at the element after the bad one.
 */
export async function* splitJsonValues(stream: Readable, options: SplitJsonOptions): AsyncIterable<JsonValueChunk> {
  const splitter = new JsonValueSplitter(options);
  for await (const chunk of stream) {
    splitter.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    yield* splitter.takeBatches();
  }
  splitter.end();
  yield* splitter.takeBatches();
}

const TAB = 0x09;
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Bytes that end a bare literal (number, true, false, null). */
const ENDS_LITERAL = new Uint8Array(256);
for (const byte of [TAB, LINE_FEED, CARRIAGE_RETURN, SPACE, QUOTE, COMMA, COLON, OPEN_BRACKET, CLOSE_BRACKET, OPEN_BRACE, CLOSE_BRACE]) {
  ENDS_LITERAL[byte] = 1;
}
/** Bytes a string scan must look at: its end, an escape, or a control character (invalid in JSON strings). */
const STOPS_STRING = new Uint8Array(256);
for (let byte = 0; byte < SPACE; byte += 1) STOPS_STRING[byte] = 1;
STOPS_STRING[QUOTE] = 1;
STOPS_STRING[BACKSLASH] = 1;
const LITERAL = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)$/;

// What the scanner is in the middle of.
const IN_STRUCTURE = 0;
const IN_STRING = 1;
const IN_LITERAL = 2;
const SKIPPING_LINE = 3;
const SKIPPING_ELEMENT = 4;

// What may come next, in structure.
const EXPECT_VALUE = 0;
const EXPECT_VALUE_OR_END = 1;
const EXPECT_KEY_OR_END = 2;
const EXPECT_KEY = 3;
const EXPECT_COLON = 4;
const EXPECT_COMMA_OR_END = 5;

const OBJECT = 0;
const ARRAY = 1;

const EMPTY = Buffer.alloc(0);
const BYTE_ORDER_MARK = [0xef, 0xbb, 0xbf] as const;

/**
 * The push-based scanner behind `splitJsonValues`. It never parses: it follows strings (with
 * escapes) and the grammar of brackets, commas and colons just closely enough to find where each
 * value ends and to notice malformed input, in one pass over each chunk. Values are cut at ASCII
 * bytes, so a multi-byte character split between chunks is rejoined before decoding.
 */
export class JsonValueSplitter {
  private readonly unwrapArrays: boolean;
  private readonly maxValueBytes: number;
  private readonly batchBytes: number;

  private mode = IN_STRUCTURE;
  private expect = EXPECT_VALUE;
  /** Open containers, OBJECT or ARRAY, innermost last. */
  private readonly stack: number[] = [];
  /** Depth at which complete values are emitted: 1 inside an unwrapped top-level array. */
  private valueDepth = 0;
  private stringIsKey = false;
  private escaped = false;
  private readonly keys: JsonKeyCollector | undefined;
  /** The position of the next key in the current value (see `JsonKeyCollector.note`). */
  private keyPosition = 0;
  /** The bytes so far of a key of the current value that spans chunks. */
  private keyParts: Buffer[] | undefined;

  private inValue = false;
  /** Where the current value starts in the current chunk (0 if it began in an earlier one). */
  private valueStart = 0;
  /** The current value's bytes from earlier chunks (only a prefix once it is over the limit). */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private valueLine = 0;
  private valueColumn = 0;

  /** What to report once the line or element being skipped after an error ends. */
  private skipError = '';
  private skipText: Buffer[] = [];
  private skipTopLevelIndex = 0;
  /** While a bad element is skipped: its containers still open, innermost last, and whether it is inside a string (and just after a backslash). */
  private skipStack: number[] = [];
  private skipInString = false;
  private skipEscaped = false;

  /** Error recovery restarts at a token that begins a line, so that neighbours of a bad value survive. */
  private newlineSinceToken = false;
  private line = 1;
  private lineStart = 0;
  private offset = 0;

  private entries: JsonValueText[] = [];
  /** The bad record a top-level word of garbage made, and its line: more words right after it join it. */
  private garbage: { entry: JsonValueText; line: number } | undefined;
  private entriesBytes = 0;
  private ready: JsonValueChunk[] = [];
  private count = 0;
  private topLevelCount = 0;

  constructor(options: SplitJsonOptions) {
    this.unwrapArrays = options.unwrapArrays;
    this.maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
    this.batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
    this.keys = options.keys;
  }

  write(chunk: Buffer): void {
    let i = 0;
    // A byte order mark may open the stream, possibly split across the first chunks.
    while (this.offset + i < BYTE_ORDER_MARK.length && i < chunk.length && chunk[i] === BYTE_ORDER_MARK[this.offset + i]) i += 1;
    this.valueStart = 0;
    while (i < chunk.length) {
      if (this.mode === IN_STRUCTURE) i = this.scanStructure(chunk, i);
      else if (this.mode === IN_STRING) i = this.continueString(chunk, i);
      else if (this.mode === IN_LITERAL) i = this.continueLiteral(chunk, i);
      else if (this.mode === SKIPPING_ELEMENT) i = this.skipElement(chunk, i);
      else i = this.skipLine(chunk, i);
    }
    if (this.inValue) this.keepValueBytes(chunk.subarray(this.valueStart));
    this.offset += chunk.length;
  }

  /** Ends the input: a value cut short or an array left open is reported as an error. */
  end(): void {
    this.valueStart = 0;
    if (this.mode === SKIPPING_LINE) {
      this.finishSkippedLine();
    } else if (this.mode === SKIPPING_ELEMENT) {
      // The bad element ran to the end: it is reported, then its array as not closed.
      this.finishSkippedElement();
    } else if (this.mode === IN_LITERAL && this.stack.length === 0) {
      // Only a top-level literal is known to be whole: inside an open array it may have been cut.
      this.mode = IN_STRUCTURE;
      this.emitValue(EMPTY, 0);
    }
    if (this.inValue) {
      this.pushEntry(errorText(this.parts, EMPTY), `unexpected end of input inside a value ${this.position(0)}`);
    } else if (this.stack.length > 0) {
      this.pushEntry('', `unexpected end of input: the top-level array is not closed ${this.position(0)}`);
    }
    this.reset();
    if (this.entries.length > 0) this.flushBatch();
  }

  /** The batches completed so far, in order. */
  takeBatches(): JsonValueChunk[] {
    const batches = this.ready;
    this.ready = [];
    return batches;
  }

  /** Every value split out so far, whether or not its batch is full, in order. */
  takeValues(): JsonValueText[] {
    if (this.entries.length > 0) this.flushBatch();
    return this.takeBatches().flat();
  }

  /**
   * The top-level index that more entries may still come for: a top-level value or unwrapped array
   * being read, or a bad line being skipped (its error entry is yet to come). Undefined between values.
   */
  get openTopLevelIndex(): number | undefined {
    if (this.mode === SKIPPING_LINE || this.mode === SKIPPING_ELEMENT) return this.skipTopLevelIndex;
    return this.inValue || this.stack.length > 0 ? this.topLevelCount : undefined;
  }

  /**
   * The hot loop. Whole strings and literals are skipped in place, and the state it changes per
   * token lives in locals, written back only when it returns.
   */
  private scanStructure(chunk: Buffer, start: number): number {
    const length = chunk.length;
    const stack = this.stack;
    let expect = this.expect;
    let afterNewline = this.newlineSinceToken;
    let i = start;
    while (i < length) {
      const byte = chunk[i]!;
      if (byte === SPACE || byte === TAB || byte === CARRIAGE_RETURN) {
        i += 1;
        continue;
      }
      if (byte === LINE_FEED) {
        i += 1;
        this.line += 1;
        this.lineStart = this.offset + i;
        afterNewline = true;
        continue;
      }
      const restartable = afterNewline;
      afterNewline = false;

      if (byte === QUOTE) {
        const isKey = expect === EXPECT_KEY || expect === EXPECT_KEY_OR_END;
        if (!isKey && expect !== EXPECT_VALUE && expect !== EXPECT_VALUE_OR_END) return this.failUnexpected(chunk, i, restartable);
        const atValueLevel = !isKey && stack.length === this.valueDepth;
        if (atValueLevel) this.beginValue(i);
        const end = skipStringBody(chunk, i + 1);
        // A key of the value itself, not of an object inside it, nor of a top-level object where arrays of records are expected.
        const valueKey = isKey && this.keys !== undefined && stack.length === this.valueDepth + 1 && (this.valueDepth === 1 || !this.unwrapArrays);
        if (end >= length) {
          this.mode = IN_STRING;
          this.stringIsKey = isKey;
          this.escaped = end > length;
          this.newlineSinceToken = false;
          if (valueKey) this.keyParts = [Buffer.from(chunk.subarray(i + 1))];
          return length;
        }
        if (chunk[end] !== QUOTE) return this.failInString(chunk, end);
        if (valueKey) this.keys!.note(chunk, i + 1, end, this.keyPosition++);
        i = end + 1;
        if (isKey) {
          expect = EXPECT_COLON;
          continue;
        }
        if (atValueLevel) this.emitValue(chunk, i);
        expect = stack.length === 0 ? EXPECT_VALUE : EXPECT_COMMA_OR_END;
        continue;
      }

      switch (expect) {
        case EXPECT_VALUE:
        case EXPECT_VALUE_OR_END:
          if (byte === OPEN_BRACE) {
            if (stack.length === this.valueDepth) {
              this.beginValue(i);
              this.keyPosition = 0;
            }
            stack.push(OBJECT);
            expect = EXPECT_KEY_OR_END;
          } else if (byte === OPEN_BRACKET) {
            if (this.unwrapArrays && stack.length === 0) {
              this.topLevelCount += 1;
              this.valueDepth = 1;
            } else if (stack.length === this.valueDepth) {
              this.beginValue(i);
            }
            stack.push(ARRAY);
            expect = EXPECT_VALUE_OR_END;
          } else if (byte === CLOSE_BRACKET && expect === EXPECT_VALUE_OR_END) {
            expect = this.closeContainer(chunk, i);
          } else if (ENDS_LITERAL[byte] === 1) {
            return this.failUnexpected(chunk, i, restartable);
          } else {
            const atValueLevel = stack.length === this.valueDepth;
            if (atValueLevel) this.beginValue(i);
            const end = skipLiteral(chunk, i + 1);
            if (end === length) {
              this.mode = IN_LITERAL;
              this.newlineSinceToken = false;
              return length;
            }
            if (atValueLevel) this.emitValue(chunk, end);
            expect = stack.length === 0 ? EXPECT_VALUE : EXPECT_COMMA_OR_END;
            i = end;
            continue;
          }
          break;
        case EXPECT_KEY_OR_END:
        case EXPECT_KEY:
          if (byte !== CLOSE_BRACE || expect === EXPECT_KEY) return this.fail(chunk, i, 'expected a string key in an object', restartable);
          expect = this.closeContainer(chunk, i);
          break;
        case EXPECT_COLON:
          if (byte !== COLON) return this.fail(chunk, i, "expected ':' after an object key", restartable);
          expect = EXPECT_VALUE;
          break;
        default: {
          const inObject = stack[stack.length - 1] === OBJECT;
          if (byte === COMMA) expect = inObject ? EXPECT_KEY : EXPECT_VALUE;
          else if (byte === (inObject ? CLOSE_BRACE : CLOSE_BRACKET)) expect = this.closeContainer(chunk, i);
          else return this.fail(chunk, i, `expected ',' or '${inObject ? '}' : ']'}'`, restartable);
        }
      }
      i += 1;
    }
    this.expect = expect;
    this.newlineSinceToken = afterNewline;
    return i;
  }

  /** Continues a string that began in an earlier chunk. */
  private continueString(chunk: Buffer, start: number): number {
    const end = skipStringBody(chunk, this.escaped ? start + 1 : start);
    this.escaped = end > chunk.length;
    if (end >= chunk.length) {
      this.keyParts?.push(Buffer.from(chunk.subarray(start)));
      return chunk.length;
    }
    if (chunk[end] !== QUOTE) return this.failInString(chunk, end);
    if (this.keyParts) {
      const key = Buffer.concat([...this.keyParts, chunk.subarray(start, end)]);
      this.keyParts = undefined;
      this.keys!.note(key, 0, key.length, this.keyPosition++);
    }
    this.mode = IN_STRUCTURE;
    if (this.stringIsKey) this.expect = EXPECT_COLON;
    else this.endToken(chunk, end + 1);
    return end + 1;
  }

  /** Continues a literal that began in an earlier chunk. */
  private continueLiteral(chunk: Buffer, start: number): number {
    const end = skipLiteral(chunk, start);
    if (end < chunk.length) {
      this.mode = IN_STRUCTURE;
      this.endToken(chunk, end);
    }
    return end;
  }

  /** A string or literal that spanned chunks ended just before `end`. */
  private endToken(chunk: Buffer, end: number): void {
    if (this.stack.length === this.valueDepth) this.emitValue(chunk, end);
    this.expect = this.stack.length === 0 ? EXPECT_VALUE : EXPECT_COMMA_OR_END;
  }

  /** Closes the innermost container at `at`, returning what may follow. */
  private closeContainer(chunk: Buffer, at: number): number {
    const stack = this.stack;
    stack.pop();
    if (stack.length < this.valueDepth) {
      // The unwrapped top-level array itself ended; its elements were emitted one by one.
      this.valueDepth = 0;
      return EXPECT_VALUE;
    }
    if (stack.length === this.valueDepth) this.emitValue(chunk, at + 1);
    return stack.length === 0 ? EXPECT_VALUE : EXPECT_COMMA_OR_END;
  }

  private beginValue(start: number): void {
    this.inValue = true;
    this.valueStart = start;
    this.valueLine = this.line;
    this.valueColumn = this.offset + start - this.lineStart + 1;
    if (this.stack.length === 0) this.topLevelCount += 1;
  }

  /** The current value ended just before `end` of `chunk`. */
  private emitValue(chunk: Buffer, end: number): void {
    const start = this.valueStart;
    const bytes = this.partsBytes + end - start;
    if (bytes > this.maxValueBytes) {
      this.pushEntry(errorText(this.parts, chunk.subarray(start, end)), `value of ${bytes} bytes is larger than the limit of ${this.maxValueBytes} bytes ${this.valuePosition()}`);
    } else {
      const first = this.parts.length === 0 ? chunk[start] : this.parts[0]![0];
      const valueBytes = this.parts.length === 0 ? chunk.subarray(start, end) : Buffer.concat([...this.parts, chunk.subarray(start, end)]);
      const text = valueBytes.toString('utf8');
      // A bare literal is the one kind of garbage the grammar above does not catch.
      if (first !== QUOTE && first !== OPEN_BRACE && first !== OPEN_BRACKET && !LITERAL.test(text)) {
        const garbage = errorText(this.parts, chunk.subarray(start, end));
        const previous = this.entries.at(-1);
        // Words of garbage in a row on one line (`not json`) are one bad record, not one per word.
        if (this.stack.length === 0 && previous !== undefined && previous === this.garbage?.entry && this.garbage.line === this.valueLine) {
          previous.text += ` ${garbage}`;
          this.entriesBytes += garbage.length + 1;
        } else {
          this.pushEntry(garbage, `unexpected '${text.slice(0, 40)}' ${this.valuePosition()}`);
          if (this.stack.length === 0) this.garbage = { entry: this.entries.at(-1)!, line: this.valueLine };
        }
      } else if (this.unwrapArrays && this.stack.length === 0) {
        this.pushEntry(errorText(this.parts, chunk.subarray(start, end)), `expected an array of records, found ${describeValue(first)} ${this.valuePosition()}`);
      } else if (!isUtf8(valueBytes)) {
        // Decoding would put U+FFFD in place of the bytes without a word.
        this.pushEntry(errorText(this.parts, chunk.subarray(start, end)), `invalid UTF-8 ${this.valuePosition()}`);
      } else {
        this.pushEntry(text, undefined);
      }
    }
    this.inValue = false;
    if (this.partsBytes > 0) {
      this.parts = [];
      this.partsBytes = 0;
    }
  }

  private keepValueBytes(bytes: Buffer): void {
    if (this.partsBytes <= this.maxValueBytes) this.parts.push(bytes);
    this.partsBytes += bytes.length;
    // Past the limit the value is only reported, so its bytes need not be kept.
    if (this.partsBytes > this.maxValueBytes && this.parts.length > 0 && sumLengths(this.parts) > ERROR_TEXT_BYTES) {
      this.parts = [Buffer.from(Buffer.concat(this.parts).subarray(0, ERROR_TEXT_BYTES))];
    }
  }

  private failUnexpected(chunk: Buffer, at: number, restartable: boolean): number {
    return this.fail(chunk, at, `unexpected '${String.fromCharCode(chunk[at]!)}'`, restartable);
  }

  private failInString(chunk: Buffer, at: number): number {
    const message = chunk[at] === LINE_FEED ? 'unterminated string (a line break in a string must be escaped)' : 'unescaped control character in a string';
    return this.fail(chunk, at, message, false, true);
  }

  /**
   * Reports malformed input at `at` and returns where scanning resumes: at `at` itself when the bad
   * value was cut short by a token that begins a new line (`restartable`), else after the line, or
   * inside an unwrapped array after the bad element (see `failElement`). `inString`: `at` is inside a string.
   */
  private fail(chunk: Buffer, at: number, message: string, restartable: boolean, inString = false): number {
    const error = `${message} ${this.position(at)}`;
    const priorText = this.inValue ? this.parts : [];
    const start = this.inValue ? this.valueStart : at;
    if (this.valueDepth === 1) return this.failElement(chunk, at, error, restartable, inString, priorText, start);
    const restartAtToken = restartable && this.inValue;
    if (!this.inValue && this.valueDepth === 0) this.topLevelCount += 1;
    const topLevelIndex = this.topLevelCount;
    this.reset();
    if (restartAtToken) {
      const unclosed = `value starting ${this.valuePosition()} is not closed: ${error}`;
      this.pushEntry(errorText(priorText, chunk.subarray(start, at)).trimEnd(), unclosed, topLevelIndex);
      return at;
    }
    this.mode = SKIPPING_LINE;
    this.skipError = error;
    this.skipText = [];
    this.skipTopLevelIndex = topLevelIndex;
    for (const part of priorText) this.collectErrorText(part);
    this.collectErrorText(chunk.subarray(start, at));
    return at;
  }

  /**
   * Malformed input inside an unwrapped top-level array: the bad element is one error, and the array
   * goes on. Only a token that opens a line and could open the next element or close the array (`{`,
   * `[`, `]`) is taken to cut the element short, as at the top level; otherwise the element is
   * skipped to its end (see `skipElement`).
   */
  private failElement(chunk: Buffer, at: number, error: string, restartable: boolean, inString: boolean, priorText: Buffer[], start: number): number {
    const inValue = this.inValue;
    // The element's own containers still open where it went wrong; the array stays open.
    const open = this.stack.slice(1);
    this.reset();
    this.stack.push(ARRAY);
    this.valueDepth = 1;
    const byte = chunk[at];
    if (restartable && inValue && (byte === OPEN_BRACE || byte === OPEN_BRACKET || byte === CLOSE_BRACKET)) {
      this.pushEntry(errorText(priorText, chunk.subarray(start, at)).trimEnd(), `value starting ${this.valuePosition()} is not closed: ${error}`);
      this.expect = EXPECT_VALUE_OR_END;
      return at;
    }
    this.mode = SKIPPING_ELEMENT;
    this.skipError = error;
    this.skipText = [];
    this.skipTopLevelIndex = this.topLevelCount;
    this.skipStack = open;
    this.skipInString = inString;
    this.skipEscaped = false;
    for (const part of priorText) this.collectErrorText(part);
    this.collectErrorText(chunk.subarray(start, at));
    return at;
  }

  /**
   * Skips the rest of a bad element, following its strings and brackets from where it went wrong,
   * to the comma after it (the next element follows) or the array's closing bracket. A closing
   * bracket of the other kind closes the container it matches, or the innermost one. A line break
   * inside a string loses the element's structure (strings do not span lines): the element is taken
   * to end there, and the next line is read as what follows it in the array.
   */
  private skipElement(chunk: Buffer, start: number): number {
    const open = this.skipStack;
    for (let i = start; i < chunk.length; i += 1) {
      const byte = chunk[i]!;
      if (byte === LINE_FEED) {
        if (this.skipInString) return this.endSkippedElement(chunk, start, i, i, EXPECT_VALUE_OR_END);
        this.line += 1;
        this.lineStart = this.offset + i + 1;
      } else if (this.skipInString) {
        if (this.skipEscaped) this.skipEscaped = false;
        else if (byte === BACKSLASH) this.skipEscaped = true;
        else if (byte === QUOTE) this.skipInString = false;
      } else if (byte === QUOTE) {
        this.skipInString = true;
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        open.push(byte === OPEN_BRACE ? OBJECT : ARRAY);
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (open.length > 0) {
          const matching = open.lastIndexOf(byte === CLOSE_BRACE ? OBJECT : ARRAY);
          open.length = matching >= 0 ? matching : open.length - 1;
        } else if (byte === CLOSE_BRACKET) {
          // The array's own end: it closes with the element.
          this.stack.length = 0;
          this.valueDepth = 0;
          return this.endSkippedElement(chunk, start, i, i + 1, EXPECT_VALUE);
        }
        // A '}' outside any container of the element is stray: it stays part of the bad text.
      } else if (byte === COMMA && open.length === 0) {
        return this.endSkippedElement(chunk, start, i, i + 1, EXPECT_VALUE);
      }
    }
    this.collectErrorText(chunk.subarray(start));
    return chunk.length;
  }

  /** The skipped element ended before byte `end`; scanning resumes at `resume`, expecting `expect`. */
  private endSkippedElement(chunk: Buffer, start: number, end: number, resume: number, expect: number): number {
    this.collectErrorText(chunk.subarray(start, end));
    this.finishSkippedElement();
    this.expect = expect;
    return resume;
  }

  private finishSkippedElement(): void {
    this.mode = IN_STRUCTURE;
    this.pushEntry(errorText(this.skipText, EMPTY).trimEnd(), this.skipError, this.skipTopLevelIndex);
    this.skipText = [];
    this.skipStack = [];
    this.skipInString = false;
    this.skipEscaped = false;
  }

  private skipLine(chunk: Buffer, start: number): number {
    const newline = chunk.indexOf(LINE_FEED, start);
    const end = newline === -1 ? chunk.length : newline;
    this.collectErrorText(chunk.subarray(start, end));
    if (newline === -1) return end;
    this.line += 1;
    this.lineStart = this.offset + newline + 1;
    this.newlineSinceToken = true;
    this.finishSkippedLine();
    return newline + 1;
  }

  private finishSkippedLine(): void {
    this.mode = IN_STRUCTURE;
    this.pushEntry(errorText(this.skipText, EMPTY).trimEnd(), this.skipError, this.skipTopLevelIndex);
    this.skipText = [];
  }

  private collectErrorText(bytes: Buffer): void {
    const room = ERROR_TEXT_BYTES + 4 - sumLengths(this.skipText);
    // Copied: a slice would keep the whole chunk it came from alive.
    if (room > 0 && bytes.length > 0) this.skipText.push(Buffer.from(bytes.subarray(0, room)));
  }

  private reset(): void {
    this.mode = IN_STRUCTURE;
    this.expect = EXPECT_VALUE;
    this.newlineSinceToken = false;
    this.stack.length = 0;
    this.valueDepth = 0;
    this.escaped = false;
    this.keyParts = undefined;
    this.inValue = false;
    this.parts = [];
    this.partsBytes = 0;
  }

  /** Where byte `at` of the current chunk is, for messages. */
  private position(at: number): string {
    return `at line ${this.line}, column ${this.offset + at - this.lineStart + 1}`;
  }

  private valuePosition(): string {
    return `at line ${this.valueLine}, column ${this.valueColumn}`;
  }

  private pushEntry(text: string, error: string | undefined, topLevelIndex = this.topLevelCount): void {
    this.count += 1;
    this.entries.push(error === undefined ? { text, index: this.count, topLevelIndex } : { text, index: this.count, topLevelIndex, error });
    this.entriesBytes += text.length;
    if (this.entriesBytes >= this.batchBytes) this.flushBatch();
  }

  private flushBatch(): void {
    this.ready.push(this.entries);
    this.entries = [];
    this.entriesBytes = 0;
  }
}

function describeValue(first: number | undefined): string {
  if (first === OPEN_BRACE) return 'an object';
  if (first === QUOTE) return 'a string';
  return 'a bare value';
}

/**
 * Where the string body starting at `start` ends: at its closing quote or at a control character
 * (which JSON forbids in strings); `chunk.length` if it runs on, `chunk.length + 1` if the chunk
 * ends inside an escape.
 */
function skipStringBody(chunk: Buffer, start: number): number {
  const length = chunk.length;
  let i = start;
  while (i < length) {
    const byte = chunk[i]!;
    if (STOPS_STRING[byte] === 0) i += 1;
    else if (byte === BACKSLASH) i += 2;
    else return i;
  }
  return i;
}

function skipLiteral(chunk: Buffer, start: number): number {
  let i = start;
  while (i < chunk.length && ENDS_LITERAL[chunk[i]!] === 0) i += 1;
  return i;
}

function sumLengths(buffers: Buffer[]): number {
  let total = 0;
  for (const buffer of buffers) total += buffer.length;
  return total;
}

/** At most ERROR_TEXT_BYTES of the given bytes as text, cut at a character boundary. */
function errorText(parts: Buffer[], tail: Buffer): string {
  const bytes = Buffer.concat([...parts, tail]);
  if (bytes.length <= ERROR_TEXT_BYTES) return bytes.toString('utf8');
  let end = ERROR_TEXT_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return `${bytes.toString('utf8', 0, end)}…`;
}
