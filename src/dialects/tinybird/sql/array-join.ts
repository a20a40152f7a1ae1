import { SluiceError } from '../../../core/errors.ts';
import type { Span, TokenReader } from '../../../core/query/sql-rewriter.ts';

/** One array of an ARRAY JOIN: its expression, and the name its elements take (the column's own when it is one). */
export interface JoinedArray {
  array: Span;
  /** The name given with AS; without one, the array is a column whose name its elements take. */
  alias?: string;
  column?: string;
}

/** ClickHouse's `FROM table [alias] [LEFT] ARRAY JOIN arrays` over one table or subquery. */
export interface ArrayJoin {
  /** From the token after FROM to the end of the array list: what the rewrite replaces. */
  span: Span;
  /** The table as written (with its alias), and the name it is known by. */
  table: Span;
  name: string;
  left: boolean;
  arrays: JoinedArray[];
}

/** Words that end an ARRAY JOIN's list of arrays. */
const LIST_ENDS = new Set(['WHERE', 'PREWHERE', 'GROUP', 'HAVING', 'QUALIFY', 'ORDER', 'LIMIT', 'SETTINGS', 'UNION', 'EXCEPT', 'INTERSECT', 'WINDOW']);

/**
 * Every ARRAY JOIN of the query whose FROM is one table or subquery, with or without an alias (joins before an
 * ARRAY JOIN are not read: the query is left to DuckDB, which refuses it).
 */
export function arrayJoins(reader: TokenReader): ArrayJoin[] {
  const joins: ArrayJoin[] = [];
  const { tokens } = reader;
  for (let index = 0; index < tokens.length; index += 1) {
    if (reader.word(index) !== 'ARRAY' || reader.word(index + 1) !== 'JOIN') continue;
    const left = reader.word(index - 1) === 'LEFT';
    const tableEnd = left ? index - 1 : index;
    // Back to this level's FROM over a table's name or a subquery, and its alias (a join or a comma stops it).
    let from = tableEnd - 1;
    while (from >= 0 && reader.word(from) !== 'FROM' && !reader.opens(from) && !reader.isSymbol(from, ',') && reader.word(from) !== 'JOIN') {
      from = reader.closes(from) ? (reader.opening(from) ?? 0) - 1 : from - 1;
    }
    if (from < 0 || reader.word(from) !== 'FROM' || tableEnd - from < 2) continue;
    // `name`, `name alias`, `name AS alias` or `(subquery) [AS] alias`: the table is known by its last word.
    const last = tokens[tableEnd - 1]!;
    const table = { table: { from: from + 1, to: tableEnd }, name: last.kind === 'word' || last.kind === 'quoted' ? last.text : 'unnamed_subquery' };
    const arrays: JoinedArray[] = [];
    let depth = 0;
    let start = index + 2;
    let end = start;
    for (; end < tokens.length; end += 1) {
      if (reader.opens(end)) depth += 1;
      else if (reader.closes(end)) {
        if (depth === 0) break;
        depth -= 1;
      } else if (depth === 0 && (LIST_ENDS.has(reader.word(end) ?? '') || reader.isSymbol(end, ';'))) break;
      else if (depth === 0 && reader.isSymbol(end, ',')) {
        arrays.push(arrayOf(reader, { from: start, to: end }));
        start = end + 1;
      }
    }
    if (end > start) arrays.push(arrayOf(reader, { from: start, to: end }));
    // An array without a name that is no column has no name for its elements: left to DuckDB.
    if (arrays.length === 0 || arrays.some((array) => array.alias === undefined && array.column === undefined)) continue;
    joins.push({ span: { from: from + 1, to: end }, ...table, left, arrays });
  }
  return joins;
}

function arrayOf(reader: TokenReader, item: Span): JoinedArray {
  const last = reader.tokens[item.to - 1];
  if (item.to - item.from >= 3 && reader.word(item.to - 2) === 'AS' && (last?.kind === 'word' || last?.kind === 'quoted')) {
    return { array: { from: item.from, to: item.to - 2 }, alias: last.text };
  }
  const only = reader.tokens[item.from];
  return item.to - item.from === 1 && (only?.kind === 'word' || only?.kind === 'quoted') ? { array: item, column: only.text } : { array: item };
}

/** A SELECT item `arrayJoin(array) AS name` of an aggregating query, taken out of the list into its FROM. */
export interface SelectedArrayJoin {
  item: Span;
  name: string;
}

/** Words after a FROM's one table: where it ends. */
const TABLE_ENDS = new Set(['WHERE', 'PREWHERE', 'GROUP', 'HAVING', 'QUALIFY', 'ORDER', 'LIMIT', 'SETTINGS', 'UNION', 'EXCEPT', 'INTERSECT', 'WINDOW']);

/**
 * `SELECT arrayJoin(tags) AS tag, count() … FROM t GROUP BY tag`: DuckDB cannot unnest in a query
 * that groups, so each such item becomes an ARRAY JOIN of its query's one table (the FROM is
 * rewritten as one, see `arrayJoins`) and the item its name. Only named items over one table, in
 * queries with a GROUP BY, are taken (elsewhere arrayJoin is DuckDB's unnest); an unnamed one there
 * is refused with the way to write it.
 */
export function selectedArrayJoins(reader: TokenReader, lists: Array<{ items: Span[]; end: number }>): { joins: ArrayJoin[]; items: SelectedArrayJoin[] } {
  const joins: ArrayJoin[] = [];
  const items: SelectedArrayJoin[] = [];
  const { tokens } = reader;
  for (const list of lists) {
    const unnamed: Span[] = [];
    const selected = list.items.flatMap((item) => {
      const close = reader.word(item.from) === 'ARRAYJOIN' && reader.isSymbol(item.from + 1, '(') ? reader.closing(item.from + 1, item.to) : undefined;
      const name = tokens[item.to - 1];
      // Named with or without AS (`arrayJoin(tags) AS tag`, `arrayJoin(tags) tag`).
      const named = close !== undefined && (name?.kind === 'word' || name?.kind === 'quoted')
        && ((close + 3 === item.to && reader.word(close + 1) === 'AS') || close + 2 === item.to);
      if (close !== undefined && close + 1 === item.to) unnamed.push(item);
      if (!named) return [];
      return [{ item, name: name.text, array: { from: item.from + 2, to: close } }];
    });
    if ((selected.length === 0 && unnamed.length === 0) || reader.word(list.end) !== 'FROM') continue;
    // The one table, up to the next clause of the level; and a GROUP BY among those clauses.
    let end = list.end + 1;
    while (end < tokens.length && !TABLE_ENDS.has(reader.word(end) ?? '') && !reader.opens(end) && !reader.closes(end) && !reader.isSymbol(end, ',') && reader.word(end) !== 'JOIN') end += 1;
    let groups = false;
    for (let index = end, depth = 0; index < tokens.length && depth >= 0; index += 1) {
      if (reader.opens(index)) depth += 1;
      else if (reader.closes(index)) depth -= 1;
      else if (depth === 0 && reader.word(index) === 'GROUP') groups = true;
    }
    if (!groups || end - list.end < 2 || end - list.end > 4 || !(end === tokens.length || TABLE_ENDS.has(reader.word(end) ?? '') || reader.closes(end))) continue;
    if (unnamed.length > 0) {
      throw new SluiceError('SQL_SYNTAX', 'In a query that groups, name each arrayJoin(…) in the SELECT list (`arrayJoin(tags) AS tag`) and group by that name');
    }
    joins.push({
      span: { from: list.end + 1, to: end }, table: { from: list.end + 1, to: end }, name: tokens[end - 1]!.text, left: false,
      arrays: selected.map(({ array, name }) => ({ array, alias: name })),
    });
    items.push(...selected.map(({ item, name }) => ({ item, name })));
  }
  return { joins, items };
}
