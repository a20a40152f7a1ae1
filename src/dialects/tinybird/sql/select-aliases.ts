import type { Span, TokenReader } from '../../../core/query/sql-rewriter.ts';
import { selectLists } from './result-names.ts';

/** Words that end a query's level (beside the brackets around it). */
const LEVEL_ENDS = new Set(['UNION', 'EXCEPT', 'INTERSECT']);
/** The clauses where a name may stand for an alias, and those where it may not (FROM and its joins, LIMIT …). */
const ALIAS_CLAUSES = new Set(['WHERE', 'GROUP', 'HAVING', 'QUALIFY', 'ORDER']);
const OTHER_CLAUSES = new Set(['FROM', 'JOIN', 'ON', 'USING', 'LIMIT', 'OFFSET', 'WINDOW', 'SETTINGS']);

/**
 * Where a name in a query's WHERE, GROUP BY, HAVING, QUALIFY or ORDER BY stands for an alias of its SELECT
 * list (`expression AS name`), by the token's index, with the aliased expression. ClickHouse reads
 * such a name as the alias even when a column has the same name (`SELECT toStartOfDay(timestamp) AS
 * timestamp … GROUP BY timestamp` groups by the day); DuckDB reads it as the column, so the rewrite
 * puts the expression there. Names inside subqueries belong to their own level.
 */
export function selectAliasUses(reader: TokenReader): Map<number, Span> {
  const uses = new Map<number, Span>();
  for (const list of selectLists(reader)) {
    const aliases = new Map<string, Span>();
    for (const item of list.items) {
      const last = reader.tokens[item.to - 1];
      if (item.to - item.from < 3 || reader.word(item.to - 2) !== 'AS' || (last?.kind !== 'word' && last?.kind !== 'quoted')) continue;
      const expression = { from: item.from, to: item.to - 2 };
      // `name AS name` names a column as itself.
      const only = reader.tokens[expression.from];
      if (expression.to - expression.from === 1 && only?.text === last.text) continue;
      aliases.set(last.text, expression);
    }
    if (aliases.size === 0) continue;
    let depth = 0;
    let inClause = false;
    for (let index = list.end; index < reader.tokens.length; index += 1) {
      const word = depth === 0 ? reader.word(index) : undefined;
      if (word !== undefined && ALIAS_CLAUSES.has(word)) inClause = true;
      else if (word !== undefined && OTHER_CLAUSES.has(word)) inClause = false;
      if (reader.opens(index)) {
        // A subquery is a level of its own: skip it whole.
        const nested = reader.word(index + 1) === 'SELECT' || reader.word(index + 1) === 'WITH';
        if (nested) {
          index = reader.closing(index, reader.tokens.length) ?? reader.tokens.length;
          continue;
        }
        depth += 1;
      } else if (reader.closes(index) && (depth -= 1) < 0) break;
      else if (depth === 0 && (LEVEL_ENDS.has(reader.word(index) ?? '') || reader.isSymbol(index, ';'))) break;
      const token = reader.tokens[index]!;
      if (!inClause || (token.kind !== 'word' && token.kind !== 'quoted')) continue;
      const expression = aliases.get(token.text);
      if (!expression || reader.word(index - 1) === 'AS' || reader.isSymbol(index - 1, '.') || reader.isSymbol(index + 1, '(') || reader.isSymbol(index + 1, '.')) continue;
      uses.set(index, expression);
    }
  }
  return uses;
}
