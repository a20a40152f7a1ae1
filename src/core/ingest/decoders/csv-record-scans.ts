import { open, type FileHandle } from 'node:fs/promises';
import { CsvQuoting } from './csv-quoting.ts';

/**
 * Scans of a spooled CSV file for the records DuckDB's readers would not read as they were sent
 * (see `csvInput`): a carriage return outside quotes, which fails a strict read whole, and text
 * after a closing quote, which a lenient read mangles. The file is read a block at a time.
 */

const CR = 0x0d;
const LF = 0x0a;
const BLOCK_BYTES = 1024 * 1024;
/** How much of a record's text is kept to show with it: a quarantine row shows the line, not a whole file. */
const MAX_SOURCE_BYTES = 4096;
/**
 * Past this many such records the file fails as a whole, as DuckDB's reader fails it: what is
 * found is held in memory (each record's place and text), and a file with that many stray
 * carriage returns is more likely one whose lines end otherwise than one with a few bad lines.
 */
export const MAX_STRAY_RETURN_RECORDS = 10_000;

/** Why such a record could not be read, as its quarantine row says after its line. */
export const STRAY_RETURN_REASON = 'a carriage return stands outside quotes inside the line (a value holding a line break must be quoted)';

/** A record DuckDB's reader would read otherwise than it was sent, found by a scan of the file. */
export interface ScannedRecord {
  /** The record's line, as DuckDB's rejects number it: the file's first record (a header too) is 1. */
  line: number;
  /** The record's text as it was sent, cut after a few kilobytes. */
  source: string;
}

/**
 * Finds the records of a CSV file whose lines end with \n that hold a carriage return outside
 * quotes (`2,b\rc`), and overwrites each such carriage return in the file with a space. DuckDB's
 * strict reader fails the whole file on one, naming no line; patched, the file reads, and the
 * records found are then staged as undecodable lines in place of what was read from them (see
 * `csvInput`), so that one bad line costs that line only.
 *
 * A carriage return before a \n is left alone: such a file's lines do not all end alike, which
 * stays an error of the whole file; so is one in a header, which names the columns. The file is a
 * spooled copy of the request's body, the server's own to rewrite. Most files hold no carriage
 * return at all: for them this costs one search through the file. More than
 * MAX_STRAY_RETURN_RECORDS such records are left, unpatched, to fail the file.
 */
export async function patchStrayReturns(path: string, quote: string, escape: string, delimiter: string, header: boolean): Promise<ScannedRecord[]> {
  if (!allAscii(quote, escape, delimiter)) return [];
  const file = await open(path, 'r+');
  try {
    if (!(await holdsByte(file, CR))) return [];
    const records = await findStrayReturns(file, new CsvQuoting(quote.charCodeAt(0), escape.charCodeAt(0), delimiter.charCodeAt(0)), header);
    const found: ScannedRecord[] = [];
    for (const record of records) found.push({ line: record.line, source: await textBetween(file, record.start, record.end) });
    const space = Buffer.from(' ');
    for (const record of records) for (const position of record.returns) await file.write(space, 0, 1, position);
    return found;
  } finally {
    await file.close();
  }
}


interface FoundRecord {
  line: number;
  /** The record's bytes, from `start` up to `end` (its line feed, or the end of the file). */
  start: number;
  end: number;
  /** Where its stray carriage returns are. */
  returns: number[];
}

/**
 * The records holding a carriage return outside quotes that does not end the line, quotes told
 * apart as the chunked reader tells them (see CsvQuoting); none when one stands before a line feed.
 */
async function findStrayReturns(file: FileHandle, quoting: CsvQuoting, header: boolean): Promise<FoundRecord[]> {
  const found: FoundRecord[] = [];
  let record: FoundRecord = { line: 1, start: 0, end: 0, returns: [] };
  /** Ends the record at `end`; false when too many have been found. */
  const endRecord = (end: number): boolean => {
    // A header's carriage return is left to fail the file: the header names the columns.
    if (record.returns.length > 0 && !(header && record.line === 1)) found.push({ ...record, end });
    record = { line: record.line + 1, start: end + 1, end: 0, returns: [] };
    return found.length <= MAX_STRAY_RETURN_RECORDS;
  };
  // An unquoted carriage return whose next byte decides whether it ends the line.
  let pendingReturn: number | undefined;
  let end = 0;
  for await (const { bytes, position } of blocksOf(file)) {
    for (let index = 0; index < bytes.length; index += 1) {
      const byte = bytes[index]!;
      if (pendingReturn !== undefined) {
        if (byte === LF) return [];
        record.returns.push(pendingReturn);
        pendingReturn = undefined;
      }
      if (!quoting.outside(byte)) continue;
      if (byte === CR) pendingReturn = position + index;
      else if (byte === LF && !endRecord(position + index)) return [];
    }
    end = position + bytes.length;
  }
  if (pendingReturn !== undefined) record.returns.push(pendingReturn);
  return endRecord(end) ? found : [];
}

/** Why such a record could not be read, as its error says after its line. */
export const TEXT_AFTER_QUOTE_REASON = 'text follows the closing quote of a field (a quote inside a value is doubled, and the whole value quoted)';

/**
 * Finds the records of a CSV file with text right after a field's closing quote (`1,"ab"cd`), for
 * a lenient read (strict_mode=false), which silently mangles such a field (DuckDB 1.5 reads
 * `"ab"cd` as `abc`); the strict reader rejects the record itself. The records found are staged
 * as undecodable lines in place of what was read from them (see `csvInput`), however many: past
 * MAX_STRAY_RETURN_RECORDS, without their text (reports list far fewer). A file without a quote
 * costs one search for it.
 */
export async function findTextAfterQuotes(path: string, quote: string, escape: string, delimiter: string, header: boolean): Promise<ScannedRecord[]> {
  if (!allAscii(quote, escape, delimiter)) return [];
  const [QUOTE, DELIMITER] = [quote.charCodeAt(0), delimiter.charCodeAt(0)];
  const file = await open(path, 'r');
  try {
    if (!(await holdsByte(file, QUOTE))) return [];
    const quoting = new CsvQuoting(QUOTE, escape.charCodeAt(0), DELIMITER);
    const records: Array<{ line: number; start: number; end: number }> = [];
    let [line, start, spoilt, justClosed, end] = [1, 0, false, false, 0];
    let previous = -1;
    const endRecord = (end: number) => {
      // A header's fields name the columns: its text is the header's business. A \r ending the line is not the record's.
      if (spoilt && !(header && line === 1)) records.push({ line, start, end: previous === CR ? end - 1 : end });
      [line, start, spoilt] = [line + 1, end + 1, false];
    };
    for await (const { bytes, position } of blocksOf(file)) {
      for (let index = 0; index < bytes.length; index += 1) {
        const byte = bytes[index]!;
        const wasQuoted = quoting.inQuotes;
        const outside = quoting.outside(byte);
        // After a closing quote comes the next field, the record's end, or a quote (a doubled one, inside the value).
        if (justClosed && byte !== QUOTE && byte !== DELIMITER && byte !== CR && byte !== LF) spoilt = true;
        justClosed = byte === QUOTE && wasQuoted && !quoting.inQuotes;
        if (outside && byte === LF) endRecord(position + index);
        previous = byte;
      }
      end = position + bytes.length;
    }
    endRecord(end);
    const found: ScannedRecord[] = [];
    for (const [index, record] of records.entries()) {
      found.push({ line: record.line, source: index < MAX_STRAY_RETURN_RECORDS ? await textBetween(file, record.start, record.end) : '' });
    }
    return found;
  } finally {
    await file.close();
  }
}

/** The scans compare bytes: a quote, escape or delimiter beyond ASCII is left to DuckDB. */
function allAscii(...characters: string[]): boolean {
  return characters.every((character) => /^[\x00-\x7f]$/.test(character));
}

/** The file's bytes a block at a time, each with where it starts (the block's buffer is reused). */
async function* blocksOf(file: FileHandle): AsyncGenerator<{ bytes: Buffer; position: number }> {
  const buffer = Buffer.alloc(BLOCK_BYTES);
  for (let position = 0; ; ) {
    const { bytesRead } = await file.read(buffer, 0, BLOCK_BYTES, position);
    if (bytesRead === 0) return;
    yield { bytes: buffer.subarray(0, bytesRead), position };
    position += bytesRead;
  }
}

async function holdsByte(file: FileHandle, byte: number): Promise<boolean> {
  for await (const { bytes } of blocksOf(file)) if (bytes.includes(byte)) return true;
  return false;
}

async function textBetween(file: FileHandle, start: number, end: number): Promise<string> {
  const length = Math.min(end - start, MAX_SOURCE_BYTES);
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, start);
  const text = buffer.subarray(0, bytesRead).toString('utf8');
  return end - start > MAX_SOURCE_BYTES ? `${text}…` : text;
}
