import { tokensOrUndefined, type Token } from '../../core/query/sql-tokens.ts';
import { isUnnamedStruct } from '../../core/types/data-type.ts';
import { toDuckDBType, type DataType } from '../../core/types/index.ts';
import { quoteIdentifier } from '../../storage/duckdb/sql.ts';
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

/**
 * SQL converting `value`, of type `given`, to `target`, as Feldera converts a ROW: by position, its
 * fields' names aside (a view's `ROW(a, b)` has fields `EXPR$0`, `EXPR$1`; DuckDB's cast matches
 * them by name), in lists too; a fraction into an integer cut; anything else is a plain cast.
 */
export function castByPosition(value: string, given: DataType, target: DataType): string {
  // A struct built without names (`ROW(5, 'w')`) is cast by position already.
  if (given.kind === 'struct' && target.kind === 'struct' && given.fields.length === target.fields.length && !isUnnamedStruct(given)
    && given.fields.some((field, index) => field.name !== target.fields[index]!.name)) {
    const fields = target.fields.map((field, index) => `${quoteIdentifier(field.name)} := ${castByPosition(`(${value}).${quoteIdentifier(given.fields[index]!.name)}`, given.fields[index]!.type, field.type)}`);
    return `CASE WHEN (${value}) IS NULL THEN NULL ELSE struct_pack(${fields.join(', ')}) END`;
  }
  if (given.kind === 'list' && target.kind === 'list' && given.element.kind !== 'null') {
    const inner = castByPosition('element', given.element, target.element);
    if (inner !== `CAST(element AS ${toDuckDBType(target.element)})`) return `CAST(list_transform(${value}, element -> ${inner}) AS ${toDuckDBType(target)})`;
  }
  // A fraction into an integer is cut, as Feldera's casts cut it (DuckDB's round: 1.9 would be 2).
  if (target.kind === 'int' && (given.kind === 'float' || given.kind === 'decimal')) return `CAST(trunc(${value}) AS ${toDuckDBType(target)})`;
  return `CAST(${value} AS ${toDuckDBType(target)})`;
}
