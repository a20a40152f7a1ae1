import type { Column } from '../../../core/catalog/model.ts';
import type { TokenReader } from '../../../core/query/sql-rewriter.ts';
import { quoteIdentifier } from '../../../storage/duckdb/sql.ts';
import { zeroOf, type ColumnsOf } from './left-join-defaults.ts';
import { selectLists } from './result-names.ts';

/** Words between two joined data sources (`ANY LEFT OUTER JOIN`), JOIN last. */
const JOIN_WORDS = new Set(['LEFT', 'RIGHT', 'INNER', 'FULL', 'OUTER', 'ANY', 'ALL', 'CROSS', 'GLOBAL', 'JOIN']);
/** Joins whose columns are not both sides' (SEMI, ANTI), or are no data source's (ARRAY JOIN): left alone. */
const OTHER_JOINS = new Set(['SEMI', 'ANTI', 'ASOF', 'ARRAY', 'PASTE', 'NATURAL']);
/** Words that end a FROM clause at its own level. */
const FROM_ENDS = new Set(['WHERE', 'PREWHERE', 'GROUP', 'HAVING', 'QUALIFY', 'ORDER', 'LIMIT', 'SETTINGS', 'UNION', 'EXCEPT', 'INTERSECT', 'WINDOW', 'FORMAT']);

/** A data source of a join: the name its columns go by (its alias, else its own), and whether it is a LEFT JOIN's right side. */
interface JoinedSide {
  name: string;
  columns: Column[];
  using: string[];
  leftJoined: boolean;
}

/**
 * `SELECT *` over data sources joined together, each column as ClickHouse gives it: a column whose
 * name an earlier side already gave is named through its side (`b.id`, where DuckDB says `id:1`), a
 * USING column comes once, and a LEFT JOIN's right-side column takes its type's default where no
 * row matched, as the same column named in the query does (see left-join-defaults.ts). By the `*`
 * token, the SQL of the list it stands for. Only joins of the workspace's data sources are known:
 * a subquery, a table function, a comma or another kind of join leaves the `*` as it is.
 */
export function joinedStars(reader: TokenReader, columnsOf: ColumnsOf): Map<number, string> {
  const stars = new Map<number, string>();
  for (const list of selectLists(reader)) {
    const [item] = list.items;
    if (list.items.length !== 1 || item!.to !== item!.from + 1 || !reader.isSymbol(item!.from, '*') || reader.word(list.end) !== 'FROM') continue;
    const sides = joinedSides(reader, list.end + 1, columnsOf);
    if (sides && sides.length > 1) stars.set(item!.from, starList(sides));
  }
  return stars;
}

function starList(sides: JoinedSide[]): string {
  const using = new Set(sides.flatMap((side) => side.using));
  const given = new Set<string>();
  const items: string[] = [];
  sides.forEach((side, index) => {
    for (const column of side.columns) {
      if (index > 0 && side.using.includes(column.name)) continue;
      // A USING column alone is the join's one column of that name.
      const reference = index === 0 && using.has(column.name) ? quoteIdentifier(column.name) : `${quoteIdentifier(side.name)}.${quoteIdentifier(column.name)}`;
      const value = side.leftJoined && !column.nullable ? `coalesce(${reference}, ${zeroOf(column)})` : reference;
      const name = given.has(column.name) ? `${side.name}.${column.name}` : column.name;
      given.add(name);
      items.push(`${value} AS ${quoteIdentifier(name)}`);
    }
  });
  return items.join(', ');
}

/** The data sources of a FROM clause starting at `at`, if it joins only data sources of the workspace. */
function joinedSides(reader: TokenReader, at: number, columnsOf: ColumnsOf): JoinedSide[] | undefined {
  const { tokens } = reader;
  const sides: JoinedSide[] = [];
  let leftJoined = false;
  for (;;) {
    const table = tokens[at];
    if ((table?.kind !== 'word' && table?.kind !== 'quoted') || reader.isSymbol(at + 1, '.') || reader.isSymbol(at + 1, '(')) return undefined;
    const columns = columnsOf(table.text);
    if (!columns) return undefined;
    at += 1;
    let name = table.text;
    if (reader.word(at) === 'FINAL') at += 1;
    const alias = tokens[reader.word(at) === 'AS' ? at + 1 : at];
    const word = reader.word(at);
    if (reader.word(at) === 'AS' || alias?.kind === 'quoted' || (word !== undefined && !isClauseWord(word))) {
      if (alias?.kind !== 'word' && alias?.kind !== 'quoted') return undefined;
      name = alias.text;
      at += reader.word(at) === 'AS' ? 2 : 1;
    }
    const side: JoinedSide = { name, columns, using: [], leftJoined };
    sides.push(side);
    if (reader.word(at) === 'ON') at = conditionEnd(reader, at + 1);
    else if (reader.word(at) === 'USING') {
      const bracketed = reader.isSymbol(at + 1, '(');
      const end = bracketed ? reader.closing(at + 1, tokens.length) : undefined;
      if (bracketed && end === undefined) return undefined;
      let next = bracketed ? at + 2 : at + 1;
      for (;;) {
        const column = tokens[next];
        if (column?.kind !== 'word' && column?.kind !== 'quoted') return undefined;
        side.using.push(column.text);
        next += 1;
        if (!reader.isSymbol(next, ',') || (!bracketed && isClauseWord(reader.word(next + 1) ?? ''))) break;
        next += 1;
      }
      if (bracketed && next !== end) return undefined;
      at = bracketed ? end! + 1 : next;
    }
    if (at >= tokens.length || reader.closes(at) || FROM_ENDS.has(reader.word(at) ?? '') || reader.isSymbol(at, ';')) return sides;
    const words: string[] = [];
    for (let word = reader.word(at); word !== undefined && JOIN_WORDS.has(word) && words.at(-1) !== 'JOIN'; word = reader.word(at)) {
      words.push(word);
      at += 1;
    }
    // Anything else (a comma, SEMI, ARRAY JOIN …) is not a join of two sides' columns.
    if (words.at(-1) !== 'JOIN') return undefined;
    leftJoined = words.includes('LEFT');
  }
}

/** Words that follow a data source where no alias is given. */
function isClauseWord(word: string): boolean {
  return JOIN_WORDS.has(word) || OTHER_JOINS.has(word) || FROM_ENDS.has(word) || word === 'ON' || word === 'USING' || word === 'FINAL' || word === 'SAMPLE';
}

/** Where an ON condition starting at `at` ends: at its level's next join, clause or closing bracket. */
function conditionEnd(reader: TokenReader, at: number): number {
  let end = at;
  for (; end < reader.tokens.length; end += 1) {
    if (reader.opens(end)) end = reader.closing(end, reader.tokens.length) ?? reader.tokens.length;
    else if (reader.closes(end) || reader.isSymbol(end, ';') || (isClauseWord(reader.word(end) ?? '') && !reader.isSymbol(end + 1, '('))) break;
  }
  return end;
}
