import type { Column } from '../../catalog/model.ts';
import { SluiceError, type ErrorCode } from '../../errors.ts';

/** Failures of the server while it reads, which say nothing of the bytes read. */
const SERVER_FAILURES = new Set<ErrorCode>(['RESOURCE_EXHAUSTED', 'UNAVAILABLE', 'STORAGE_FAILED', 'TOO_MANY_REQUESTS']);

/**
 * A reader's failure on a request's bytes: the client sent something that is not the format it
 * named. The reader's message names the spooled file it read, a path of the server's that the
 * client has no use for, which is replaced by `<body>`.
 */
export function asMalformed(error: unknown, format: string, path?: string): SluiceError {
  // The server's own trouble (memory, an interrupt, the engine) is not the bytes': it stays what it is, retryable.
  if (error instanceof SluiceError && SERVER_FAILURES.has(error.code)) return error;
  const said = error instanceof Error ? error.message : String(error);
  const message = path === undefined ? said : said.replaceAll(`'${path}'`, '<body>').replaceAll(`"${path}"`, '<body>').replaceAll(path, '<body>');
  return new SluiceError('MALFORMED_BODY', `The ${format} data could not be read: ${message}`, null, { cause: error });
}

/**
 * Input whose fields (a CSV header, Parquet columns, an Arrow stream's fields) match none of the
 * table's columns is taken for a mistake (a missing header row, the wrong file) rather than loaded
 * as rows of nulls: this is the error, when it is so.
 */
export function checkSomeFieldMatches(source: string, fields: string[], columns: Column[], matched: number): void {
  if (fields.length === 0 || matched > 0) return;
  throw new SluiceError('INVALID_ARGUMENT', `None of ${source}'s fields (${fields.map((name) => `"${name}"`).join(', ')}) matches a column of the table`, {
    fields,
    columns: columns.map((column) => column.name),
  });
}

/**
 * Which of a file's fields (`source`, e.g. "the Arrow stream") feeds `column`: the one of its name,
 * or regardless of case. Regardless of case, every field that names the column counts (`id` and
 * `ID` are one column named twice, as in a CSV header): an exact name is not taken over the other,
 * and two are a 400 naming them.
 */
export function fieldFor(source: string, fields: readonly string[], column: string, caseInsensitive: boolean): number | undefined {
  const lower = column.toLowerCase();
  const matches = fields.flatMap((name, index) => ((caseInsensitive ? name.toLowerCase() === lower : name === column) ? [index] : []));
  if (matches.length > 1) {
    const names = matches.map((index) => fields[index]!);
    throw new SluiceError('INVALID_ARGUMENT', `Column "${column}" matches ${matches.length} fields of ${source} (${names.map((name) => `"${name}"`).join(', ')})`, { column, fields: names });
  }
  return matches[0];
}
