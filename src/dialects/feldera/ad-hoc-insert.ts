import { tokensOrUndefined, type Token } from '../../core/query/sql-tokens.ts';
import { FelderaError } from './errors.ts';

/** An ad-hoc `INSERT INTO table [(column, …)] query`, its names as Feldera reads them (unquoted ones folded). */
export interface AdHocInsert {
  table: string;
  /** The columns the query's values go to, in order; undefined: every column of the table, in order. */
  columns: string[] | undefined;
  /** The query giving the rows: `VALUES (…), (…)` or a SELECT. */
  query: string;
}

const SHAPE = 'an INSERT is written INSERT INTO table [(column, …)] VALUES (…), … or INSERT INTO table [(column, …)] SELECT …';

/**
 * Reads `sql` as an ad-hoc INSERT, which Feldera runs beside SELECTs; undefined when it is not one
 * (its first word is not INSERT), an AdHocQueryError when it starts as one but is not of its shape.
 */
export function parseAdHocInsert(sql: string): AdHocInsert | undefined {
  const tokens = tokensOrUndefined(sql);
  if (!tokens || !isWord(tokens[0], 'INSERT')) return undefined;
  if (!isWord(tokens[1], 'INTO')) throw new FelderaError('AdHocQueryError', SHAPE);
  const table = nameOf(tokens[2]);
  let at = 3;
  let columns: string[] | undefined;
  if (tokens[at]?.kind === 'symbol' && tokens[at]!.text === '(') {
    columns = [];
    at += 1;
    for (;;) {
      const column = nameOf(tokens[at]);
      columns.push(column);
      const separator = tokens[at + 1];
      at += 2;
      if (separator?.kind === 'symbol' && separator.text === ')') break;
      if (separator?.kind !== 'symbol' || separator.text !== ',') throw new FelderaError('AdHocQueryError', SHAPE);
    }
  }
  const start = tokens[at];
  if (!isWord(start, 'VALUES') && !isWord(start, 'SELECT') && !isWord(start, 'WITH')) throw new FelderaError('AdHocQueryError', SHAPE);
  return { table, columns, query: sql.slice(start!.start) };
}

function isWord(token: Token | undefined, word: string): boolean {
  return token?.kind === 'word' && token.text.toUpperCase() === word;
}

/** A name as Feldera reads it: unquoted in lower case, quoted as written. */
function nameOf(token: Token | undefined): string {
  if (token?.kind === 'word') return token.text.toLowerCase();
  if (token?.kind === 'quoted') return token.text;
  throw new FelderaError('AdHocQueryError', SHAPE);
}
