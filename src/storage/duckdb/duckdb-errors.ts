import { SluiceError, type ErrorCode } from '../../core/errors.ts';

/**
 * DuckDB reports failures as messages that start with their error class ("Constraint Error: …").
 * They are translated into coded errors here, once, so nothing above the storage module reads
 * DuckDB's message text.
 */
const ERROR_CLASSES: Array<[prefix: string, code: ErrorCode]> = [
  ['Constraint Error', 'CONSTRAINT_VIOLATION'],
  ['Conversion Error', 'QUERY_FAILED'],
  ['Invalid Input Error', 'QUERY_FAILED'],
  ['Out of Range Error', 'QUERY_FAILED'],
  ['Parser Error', 'SQL_SYNTAX'],
  ['Syntax Error', 'SQL_SYNTAX'],
  ['Binder Error', 'QUERY_FAILED'],
  ['Catalog Error', 'QUERY_FAILED'],
  ['Not implemented Error', 'QUERY_FAILED'],
  // Data that is not what its format says (a Parquet page header that does not decode, say).
  ['Invalid Error', 'QUERY_FAILED'],
  ['Permission Error', 'SQL_NOT_ALLOWED'],
  ['Invalid Configuration Error', 'SQL_NOT_ALLOWED'],
  ['TransactionContext Error', 'WRITE_CONFLICT'],
  ['Out of Memory Error', 'RESOURCE_EXHAUSTED'],
  ['INTERRUPT Error', 'UNAVAILABLE'],
  // DuckDB could not undo a failed transaction ("Failed to rollback transaction. Cannot continue
  // operation.") and has invalidated the database: every later statement fails the same way.
  ['FATAL Error', 'STORAGE_FAILED'],
];

/** The words of DuckDB's out-of-memory failures, as a commit or an appender quotes them ("Failed to append: failed to allocate …"). */
const OUT_OF_MEMORY = /Out of Memory Error|failed to (pin block|allocate)|could not allocate block/i;

const MESSAGES: Partial<Record<ErrorCode, (text: string) => string>> = {
  // DuckDB's own words ("Allocation failure") do not say that memory ran out.
  RESOURCE_EXHAUSTED: (text) => `Out of memory: ${text}`,
  STORAGE_FAILED: (text) =>
    text.startsWith('Failed to commit')
      ? `The database engine failed while committing this write, which may have been applied all the same, and the server must restart to recover (${text})`
      : `The database engine failed and the server must restart to recover (${text})`,
};

export function translateDuckDBError(error: unknown): SluiceError {
  if (error instanceof SluiceError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const [prefix, classCode] = ERROR_CLASSES.find(([prefix]) => message.startsWith(prefix)) ?? ['', 'INTERNAL'];
  const outOfMemory = (classCode === 'WRITE_CONFLICT' || classCode === 'INTERNAL') && OUT_OF_MEMORY.test(message);
  // A commit that failed for want of memory may have failed after the transaction was written,
  // while DuckDB cleaned it up, and leaves it with dangling undo entries: the next update of the
  // same rows crashed the server (SIGSEGV in UpdateSegment::Update; duckdb/duckdb#26019). The
  // engine cannot be trusted past it, so it counts as failed; other appends and commits that ran
  // out of memory are neither conflicts nor faults.
  const code = outOfMemory ? (message.includes('Failed to commit') ? 'STORAGE_FAILED' : 'RESOURCE_EXHAUSTED') : classCode;
  if (code === 'INTERNAL') return new SluiceError('INTERNAL', 'Storage engine error', null, { cause: error });
  const text = firstParagraph(message.slice(prefix.length).replace(/^:/, '').trim());
  return new SluiceError(code, MESSAGES[code]?.(text) ?? text, null, { cause: error });
}

/**
 * DuckDB appends a caret diagram and hints after a blank line, and to "No function matches" every
 * signature of the function (dozens of lines for `+`); clients get the sentence itself.
 */
function firstParagraph(text: string): string {
  return text.split(/\n\s*\n|\n\s*Candidate functions:/)[0]!.trim();
}

/**
 * Why the database could not be opened, in words an operator acts on: another process (a Sluice
 * server already serving the directory) holds its lock, or DuckDB's own reason (a file it may not
 * write, a file that is no database).
 */
export function openFailure(error: unknown, dataDir: string): SluiceError {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
  if (/Could not set lock on file/i.test(message)) {
    return new SluiceError('UNAVAILABLE', `The data directory ${dataDir} is in use by another process (a Sluice server already serving it?): ${message}`, null, { cause: error });
  }
  return new SluiceError('STORAGE_FAILED', `The database in ${dataDir} could not be opened: ${message}`, null, { cause: error });
}
