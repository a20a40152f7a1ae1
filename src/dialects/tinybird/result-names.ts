import type { Span } from '../../core/query/sql-rewriter.ts';
import type { Token } from '../../core/query/sql-tokens.ts';

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
export function resultNames(source: string, tokens: Token[]): Map<number, { item: Span; name: string }> {
  const names = new Map<number, { item: Span; name: string }>();
  const word = (index: number) => (tokens[index]?.kind === 'word' ? tokens[index].text.toUpperCase() : undefined);
  const symbol = (index: number) => (tokens[index]?.kind === 'symbol' ? tokens[index].text : undefined);
  const opens = (index: number) => ['(', '[', '{'].includes(symbol(index) ?? '');
  const closes = (index: number) => [')', ']', '}'].includes(symbol(index) ?? '');
  for (let select = 0; select < tokens.length; select += 1) {
    if (word(select) !== 'SELECT') continue;
    let start = select + 1;
    if (word(start) === 'ALL' || word(start) === 'DISTINCT') start += 1;
    if (word(start) === 'ON') continue;
    // The list ends at a clause of its own level, or where the brackets around its query close.
    const items: Span[] = [];
    let depth = 0;
    let index = start;
    for (; index < tokens.length; index += 1) {
      if (opens(index)) depth += 1;
      else if (closes(index) && (depth -= 1) < 0) break;
      else if (depth === 0 && (LIST_ENDS.has(word(index) ?? '') || symbol(index) === ';')) break;
      else if (depth === 0 && symbol(index) === ',') {
        items.push({ from: start, to: index });
        start = index + 1;
      }
    }
    items.push({ from: start, to: index });
    for (const item of items) {
      if (item.to <= item.from || symbol(item.to - 1) !== ')' || hasAlias(item, word, opens, closes)) continue;
      const text = source.slice(tokens[item.from]!.start, tokens[item.to - 1]!.end).replace(/\s+/g, ' ');
      names.set(item.from, { item, name: /^count\(\s*\*\s*\)$/i.test(text) ? 'count()' : text });
    }
  }
  return names;
}

/** Whether the item names itself with AS outside its brackets. */
function hasAlias(item: Span, word: (index: number) => string | undefined, opens: (index: number) => boolean, closes: (index: number) => boolean): boolean {
  let depth = 0;
  for (let at = item.from; at < item.to; at += 1) {
    if (opens(at)) depth += 1;
    else if (closes(at)) depth -= 1;
    else if (depth === 0 && word(at) === 'AS') return true;
  }
  return false;
}
