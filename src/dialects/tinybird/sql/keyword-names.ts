import type { TokenReader } from '../../../core/query/sql-rewriter.ts';
import { DUCKDB_KEYWORDS } from '../../../core/query/duckdb-keywords.ts';
import { columnsRead, isDataSourceName, type ColumnsOf } from './left-join-defaults.ts';

/** Words after which a name stands, never a keyword that continues the clause. */
const NAME_AFTER = new Set(['SELECT', 'DISTINCT', 'WHERE', 'PREWHERE', 'BY', 'AND', 'OR', 'NOT', 'ON', 'WHEN', 'THEN', 'ELSE', 'HAVING', 'AS']);
/** Symbols after which a keyword may follow an expression that ends there (`(…) LEFT JOIN`, `SELECT * FROM`). */
const EXPRESSION_ENDS = new Set([')', ']', '}', '*']);

/**
 * The tokens to quote as names: a data source the query reads named like a keyword, a column of the data sources it reads (after FROM or JOIN),
 * or a name given with AS, that DuckDB takes for a keyword (`SELECT start, end FROM sessions`,
 * `… AS at`), where a name stands: after a symbol that no expression ends with, or after a word
 * that a name follows (SELECT, WHERE, BY, AND, AS …), and not before a bracket (a call). The keyword
 * itself always follows the end of an expression (`ELSE 0 END`, `t LEFT JOIN`, `x DESC`). A condition
 * on a table (a delete or replace condition: no FROM to find columns by) names its columns in `conditionOn`.
 */
export function keywordNames(reader: TokenReader, columnsOf: ColumnsOf, conditionOn?: readonly string[]): Set<number> {
  const quoted = new Set<number>();
  const { tokens } = reader;
  // A data source named like a keyword (`semi`, made from semi.csv), read after FROM or JOIN.
  tokens.forEach((token, index) => {
    if (token.kind === 'word' && isDataSourceName(reader, index) && DUCKDB_KEYWORDS.has(token.text.toUpperCase()) && columnsOf(token.text) !== undefined) quoted.add(index);
  });
  const columns = [...columnsRead(reader, columnsOf).map((column) => column.name), ...(conditionOn ?? [])];
  const names = new Set(columns.filter((name) => DUCKDB_KEYWORDS.has(name.toUpperCase())));
  tokens.forEach((token, index) => {
    if (reader.word(index - 1) === 'AS' && DUCKDB_KEYWORDS.has(reader.word(index) ?? '') && !reader.isSymbol(index + 1, '(')) names.add(token.text);
  });
  if (names.size === 0) return quoted;
  tokens.forEach((token, index) => {
    if (token.kind !== 'word' || !names.has(token.text) || reader.isSymbol(index + 1, '(')) return;
    const before = tokens[index - 1];
    // A condition (`order = 1`) may open with a name; a query opens with SELECT or WITH.
    const standsAsName = before === undefined ? conditionOn !== undefined : before.kind === 'symbol' ? !EXPRESSION_ENDS.has(before.text) : NAME_AFTER.has(reader.word(index - 1) ?? '');
    if (standsAsName) quoted.add(index);
  });
  return quoted;
}
