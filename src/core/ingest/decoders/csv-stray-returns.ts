import { open, type FileHandle } from 'node:fs/promises';
import { CsvQuoting } from './csv-quoting.ts';

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

export interface StrayReturnRecord {
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
export async function patchStrayReturns(path: string, quote: string, escape: string, header: boolean): Promise<StrayReturnRecord[]> {
  // The scan compares bytes: a quote or escape character beyond ASCII is left to DuckDB.
  if (!/^[\x00-\x7f]$/.test(quote) || !/^[\x00-\x7f]$/.test(escape)) return [];
  const file = await open(path, 'r+');
  try {
    if (!(await holdsCarriageReturn(file))) return [];
    const records = await findStrayReturns(file, quote.charCodeAt(0), escape.charCodeAt(0), header);
    const found: StrayReturnRecord[] = [];
    for (const record of records) found.push({ line: record.line, source: await textBetween(file, record.start, record.end) });
    const space = Buffer.from(' ');
    for (const record of records) for (const position of record.returns) await file.write(space, 0, 1, position);
    return found;
  } finally {
    await file.close();
  }
}

async function holdsCarriageReturn(file: FileHandle): Promise<boolean> {
  const buffer = Buffer.alloc(BLOCK_BYTES);
  for (let position = 0; ; ) {
    const { bytesRead } = await file.read(buffer, 0, BLOCK_BYTES, position);
    if (bytesRead === 0) return false;
    if (buffer.subarray(0, bytesRead).includes(CR)) return true;
    position += bytesRead;
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
async function findStrayReturns(file: FileHandle, quote: number, escape: number, header: boolean): Promise<FoundRecord[]> {
  const found: FoundRecord[] = [];
  let record: FoundRecord = { line: 1, start: 0, end: 0, returns: [] };
  /** Ends the record at `end`; false when too many have been found. */
  const endRecord = (end: number): boolean => {
    // A header's carriage return is left to fail the file: the header names the columns.
    if (record.returns.length > 0 && !(header && record.line === 1)) found.push({ ...record, end });
    record = { line: record.line + 1, start: end + 1, end: 0, returns: [] };
    return found.length <= MAX_STRAY_RETURN_RECORDS;
  };
  const quoting = new CsvQuoting(quote, escape);
  // An unquoted carriage return whose next byte decides whether it ends the line.
  let pendingReturn: number | undefined;
  const buffer = Buffer.alloc(BLOCK_BYTES);
  let position = 0;
  for (;;) {
    const { bytesRead } = await file.read(buffer, 0, BLOCK_BYTES, position);
    if (bytesRead === 0) break;
    for (let index = 0; index < bytesRead; index += 1) {
      const byte = buffer[index]!;
      if (pendingReturn !== undefined) {
        if (byte === LF) return [];
        record.returns.push(pendingReturn);
        pendingReturn = undefined;
      }
      if (!quoting.outside(byte)) continue;
      if (byte === CR) pendingReturn = position + index;
      else if (byte === LF && !endRecord(position + index)) return [];
    }
    position += bytesRead;
  }
  if (pendingReturn !== undefined) record.returns.push(pendingReturn);
  return endRecord(position) ? found : [];
}

async function textBetween(file: FileHandle, start: number, end: number): Promise<string> {
  const length = Math.min(end - start, MAX_SOURCE_BYTES);
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, start);
  const text = buffer.subarray(0, bytesRead).toString('utf8');
  return end - start > MAX_SOURCE_BYTES ? `${text}…` : text;
}
