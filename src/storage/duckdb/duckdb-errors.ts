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
  ['Permission Error', 'SQL_NOT_ALLOWED'],
  ['Invalid Configuration Error', 'SQL_NOT_ALLOWED'],
  ['TransactionContext Error', 'WRITE_CONFLICT'],
  ['Out of Memory Error', 'RESOURCE_EXHAUSTED'],
  ['INTERRUPT Error', 'UNAVAILABLE'],
];

export function translateDuckDBError(error: unknown): SluiceError {
  if (error instanceof SluiceError) return error;
  const message = error instanceof Error ? error.message : String(error);
  for (const [prefix, code] of ERROR_CLASSES) {
    if (message.startsWith(prefix)) {
      // Conflicts on the write path are retryable; the same class raised by a read is not.
      const text = firstParagraph(message.slice(prefix.length + 1).trim());
      // DuckDB's own words ("Allocation failure") do not say that memory ran out.
      return new SluiceError(code, code === 'RESOURCE_EXHAUSTED' ? `Out of memory: ${text}` : text, null, { cause: error });
    }
  }
  return new SluiceError('INTERNAL', 'Storage engine error', null, { cause: error });
}

/** DuckDB appends a caret diagram and hints after a blank line; clients get the sentence itself. */
function firstParagraph(text: string): string {
  return text.split(/\n\s*\n/)[0]!.trim();
}
