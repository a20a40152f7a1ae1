import type { Span, TokenReader } from '../../../core/query/sql-rewriter.ts';
import { selectLists } from './result-names.ts';

/** Words that end a query's level (beside the brackets around it). */
const LEVEL_ENDS = new Set(['UNION', 'EXCEPT', 'INTERSECT']);
/** The clauses where a name may stand for an alias, and those where it may not (FROM and its joins, LIMIT …). */
const ALIAS_CLAUSES = new Set(['WHERE', 'GROUP', 'HAVING', 'QUALIFY', 'ORDER']);
const OTHER_CLAUSES = new Set(['FROM', 'JOIN', 'ON', 'USING', 'LIMIT', 'OFFSET', 'WINDOW', 'SETTINGS']);

export interface SelectAliasUses {
  /** Names in WHERE, GROUP BY, HAVING, QUALIFY and ORDER BY standing for an alias, with its expression. */
  uses: Map<number, Span>;
  /**
   * Names inside an alias's expression standing for another alias of its list, with that one's
   * expression: put in where the expression is put in a clause (`toStartOfDay(t) AS day,
   * formatDateTime(day, '%F') AS label … GROUP BY label`), as DuckDB reads no alias there. In the
   * SELECT list itself they are left to DuckDB, which reads an alias before it in the list.
   */
  inExpansions: Map<number, Span>;
}

/**
 * Where a name in a query's WHERE, GROUP BY, HAVING, QUALIFY or ORDER BY stands for an alias of its SELECT
 * list (`expression AS name`), by the token's index, with the aliased expression. ClickHouse reads
 * such a name as the alias even when a column has the same name (`SELECT toStartOfDay(timestamp) AS
 * timestamp … GROUP BY timestamp` groups by the day); DuckDB reads it as the column, so the rewrite
 * puts the expression there. Names inside subqueries belong to their own level.
 */
export function selectAliasUses(reader: TokenReader): SelectAliasUses {
  const uses = new Map<number, Span>();
  const inExpansions = new Map<number, Span>();
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
    // In an alias's expression, another alias of the list is that alias (its own name is the
    // column). Not one that reads a column of its own name (`toString(f) AS f`): there the name is
    // left to DuckDB, which reads the column, as queries written for it expect (`toString(f * 2)`).
    const shadowing = new Set([...aliases].filter(([name, expression]) => mentions(reader, expression, name)).map(([name]) => name));
    for (const [name, expression] of aliases) {
      for (let index = expression.from; index < expression.to; index += 1) {
        if (opensSubquery(reader, index)) {
          index = reader.closing(index, expression.to) ?? expression.to;
          continue;
        }
        const token = reader.tokens[index]!;
        const other = token.kind === 'word' || token.kind === 'quoted' ? aliases.get(token.text) : undefined;
        if (other && token.text !== name && !shadowing.has(token.text) && namesAlias(reader, index)) inExpansions.set(index, other);
      }
    }
    let depth = 0;
    let inClause = false;
    for (let index = list.end; index < reader.tokens.length; index += 1) {
      const word = depth === 0 ? reader.word(index) : undefined;
      if (word !== undefined && ALIAS_CLAUSES.has(word)) inClause = true;
      else if (word !== undefined && OTHER_CLAUSES.has(word)) inClause = false;
      if (reader.opens(index)) {
        // A subquery is a level of its own: skip it whole.
        if (opensSubquery(reader, index)) {
          index = reader.closing(index, reader.tokens.length) ?? reader.tokens.length;
          continue;
        }
        depth += 1;
      } else if (reader.closes(index) && (depth -= 1) < 0) break;
      else if (depth === 0 && (LEVEL_ENDS.has(reader.word(index) ?? '') || reader.isSymbol(index, ';'))) break;
      const token = reader.tokens[index]!;
      if (!inClause || (token.kind !== 'word' && token.kind !== 'quoted')) continue;
      const expression = aliases.get(token.text);
      if (!expression || !namesAlias(reader, index)) continue;
      uses.set(index, expression);
    }
  }
  return { uses, inExpansions };
}

/** Whether a bracket opens a subquery, a level of its own. */
function opensSubquery(reader: TokenReader, index: number): boolean {
  return reader.opens(index) && (reader.word(index + 1) === 'SELECT' || reader.word(index + 1) === 'WITH');
}

/** Whether `name` is named in the expression (a column or an alias of that name, not a function or a qualified name's part). */
function mentions(reader: TokenReader, expression: Span, name: string): boolean {
  for (let index = expression.from; index < expression.to; index += 1) {
    const token = reader.tokens[index]!;
    if ((token.kind === 'word' || token.kind === 'quoted') && token.text === name && namesAlias(reader, index)) return true;
  }
  return false;
}

/** A name that may stand for an alias: not one being given (`AS name`), a qualified name's part or a function's name. */
function namesAlias(reader: TokenReader, index: number): boolean {
  return !(reader.word(index - 1) === 'AS' || reader.isSymbol(index - 1, '.') || reader.isSymbol(index + 1, '(') || reader.isSymbol(index + 1, '.'));
}
