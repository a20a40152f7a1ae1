import { isAbsolute, relative, resolve } from 'node:path';
import { SluiceError, isSluiceError } from '../../errors.ts';
import type { DuckDBStorage } from '../../../storage/duckdb/duckdb-storage.ts';
import { quoteLiteral } from '../../../storage/duckdb/sql.ts';
import { DUCKDB_LINE_LIMITS } from '../decoders/line-limits.ts';

/** DuckDB's own sniffer sample; big enough to see the odd value, small enough to answer at once. */
export const DEFAULT_SAMPLE_ROWS = 20_480;

/**
 * Checks what every inference reads: a file inside the storage's spool folder (DuckDB's sandbox
 * would refuse any other, with a less helpful message) and a positive whole sample size.
 */
export function resolveInferenceInput(
  storage: DuckDBStorage,
  filePath: string,
  sampleRows: number | undefined,
): { path: string; sampleRows: number } {
  const path = resolve(storage.spoolDir, filePath);
  const inside = relative(storage.spoolDir, path);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
    throw new SluiceError('INVALID_ARGUMENT', 'Only files in the spool folder can be analyzed', { parameter: 'filePath' });
  }
  const rows = sampleRows ?? DEFAULT_SAMPLE_ROWS;
  if (!Number.isSafeInteger(rows) || rows < 1) {
    throw new SluiceError('INVALID_ARGUMENT', `Invalid sampleRows ${String(sampleRows)}: it must be a positive integer`, {
      parameter: 'sampleRows',
    });
  }
  return { path, sampleRows: rows };
}

/**
 * DuckDB's readers report unparsable input as query failures; to the client that is a malformed
 * file. Their messages name the server's spool path, so the client gets `message` instead.
 */
export async function readOrMalformed<T>(read: () => Promise<T>, message: string): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (isSluiceError(error) && error.code === 'QUERY_FAILED') throw new SluiceError('MALFORMED_BODY', message, null, { cause: error });
    throw error;
  }
}

/**
 * SQL for the lines of an NDJSON file that are valid JSON, as a relation with one column `json`,
 * in file order. The lines are read as text by DuckDB's CSV reader, which drops a byte order mark
 * (its JSON reader would lose the first record to one) and reads compressed files; \x01 never
 * occurs in a line of valid JSON (control characters must be escaped), so it splits no line. Not
 * strict: lines may end in \r\n and \n in one file (a blank line after a \r\n one failed the file).
 */
export function ndjsonRecords(path: string): string {
  const lines = `read_csv(${quoteLiteral(path)}, columns = {'json': 'VARCHAR'}, delim = '\x01', quote = '', escape = '', header = false,
                          auto_detect = false, ignore_errors = true, strict_mode = false, ${DUCKDB_LINE_LIMITS})`;
  return `(SELECT json FROM ${lines} WHERE json_valid(json))`;
}
