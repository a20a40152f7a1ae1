import type { Span, TokenReader } from '../../../core/query/sql-rewriter.ts';

/** Words that end a SELECT list at its own level. */
const LIST_ENDS = new Set(['FROM', 'WHERE', 'GROUP', 'HAVING', 'QUALIFY', 'WINDOW', 'ORDER', 'LIMIT', 'OFFSET', 'UNION', 'EXCEPT', 'INTERSECT', 'SETTINGS']);

/**
 * The items of the query's SELECT lists (its subqueries' too, whose names an outer `*` passes on)
 * that ClickHouse would name by their text but DuckDB names otherwise: unaliased calls and
 * parenthesized expressions, items ending in `)` (`count()` is `count()` in ClickHouse,
 * `count_star()` in DuckDB). Only such items are named: an item ending in a word may carry an alias
 * without AS. Each is given by its first token, with its span and its name, the item's text with
 * runs of spaces as one (`count(*)` named `count()`, as ClickHouse does).
 */
export function resultNames(source: string, reader: TokenReader, items = selectItems(reader)): Map<number, { item: Span; name: string }> {
  const names = new Map<number, { item: Span; name: string }>();
  for (const item of items) {
    if (!reader.isSymbol(item.to - 1, ')') || hasAlias(reader, item) || isStar(reader, item)) continue;
    const text = source.slice(reader.tokens[item.from]!.start, reader.tokens[item.to - 1]!.end).replace(/\s+/g, ' ');
    names.set(item.from, { item, name: /^count\(\s*\*\s*\)$/i.test(text) ? 'count()' : text });
  }
  return names;
}

/** A SELECT list: its items (none empty) and the token where it ends (FROM, WHERE, a closing bracket …). */
export interface SelectList {
  items: Span[];
  end: number;
}

/** Every SELECT list of the query, subqueries' included. */
export function selectLists(reader: TokenReader): SelectList[] {
  const lists: SelectList[] = [];
  for (let select = 0; select < reader.tokens.length; select += 1) {
    if (reader.word(select) !== 'SELECT') continue;
    let start = select + 1;
    if (reader.word(start) === 'ALL' || reader.word(start) === 'DISTINCT') start += 1;
    if (reader.word(start) === 'ON') continue;
    // The list ends at a clause of its own level, or where the brackets around its query close.
    const items: Span[] = [];
    let depth = 0;
    let index = start;
    for (; index < reader.tokens.length; index += 1) {
      if (reader.opens(index)) depth += 1;
      else if (reader.closes(index) && (depth -= 1) < 0) break;
      // A SELECT of the list's own level cannot be in it: the list (a malformed one) ends there.
      else if (depth === 0 && (endsList(reader, index) || reader.word(index) === 'SELECT' || reader.isSymbol(index, ';'))) break;
      else if (depth === 0 && reader.isSymbol(index, ',')) {
        if (index > start) items.push({ from: start, to: index });
        start = index + 1;
      }
    }
    if (index > start) items.push({ from: start, to: index });
    lists.push({ items, end: index });
  }
  return lists;
}

/**
 * Whether the word at `index` is a clause that ends a SELECT list, not a column named like one: a
 * name follows a `.` (`t.order`), and GROUP and ORDER are clauses only before BY (`SELECT group, order FROM t`).
 */
function endsList(reader: TokenReader, index: number): boolean {
  const word = reader.word(index) ?? '';
  if (!LIST_ENDS.has(word) || reader.isSymbol(index - 1, '.')) return false;
  return (word !== 'GROUP' && word !== 'ORDER') || reader.word(index + 1) === 'BY';
}

/** The items of every SELECT list of the query. */
export function selectItems(reader: TokenReader): Span[] {
  return selectLists(reader).flatMap((list) => list.items);
}

/** Whether the item stands for several columns, each named by itself: `* EXCEPT (a)`, `t.* REPLACE (…)`, `COLUMNS('re')`. */
function isStar(reader: TokenReader, item: Span): boolean {
  const star = reader.isSymbol(item.from, '*') || (reader.isSymbol(item.from + 1, '.') && reader.isSymbol(item.from + 2, '*'));
  return star || (reader.word(item.from) === 'COLUMNS' && reader.isSymbol(item.from + 1, '('));
}

/** Whether the item names itself with AS outside its brackets. */
function hasAlias(reader: TokenReader, item: Span): boolean {
  let depth = 0;
  for (let at = item.from; at < item.to; at += 1) {
    if (reader.opens(at)) depth += 1;
    else if (reader.closes(at)) depth -= 1;
    else if (depth === 0 && reader.word(at) === 'AS') return true;
  }
  return false;
}
