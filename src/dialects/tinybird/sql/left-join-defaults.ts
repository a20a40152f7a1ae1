import type { Column } from '../../../core/catalog/model.ts';
import type { Span, TokenReader } from '../../../core/query/sql-rewriter.ts';
import { toDuckDBType } from '../../../core/types/duckdb-types.ts';
import { zeroValueSql } from '../../../core/types/zero-value.ts';

/** The columns of a data source of the workspace, by its name; undefined for no such data source. */
export type ColumnsOf = (table: string) => Column[] | undefined;

/** Whether the token at `index` names a data source the query reads: a name right after FROM or JOIN. */
export function isDataSourceName(reader: TokenReader, index: number): boolean {
  const token = reader.tokens[index];
  return (token?.kind === 'word' || token?.kind === 'quoted') && reader.namesTable(index);
}

/** The columns of the data sources a query names after FROM or JOIN (a name twice if two have it). */
export function columnsRead(reader: TokenReader, columnsOf: ColumnsOf): Column[] {
  return reader.tokens.flatMap((token, index) => (isDataSourceName(reader, index) ? columnsOf(token.text) ?? [] : []));
}

/** A column's type's default (ClickHouse's zero value: '', 0, 1970-01-01, []), as SQL of its DuckDB type. */
export function zeroOf(column: Column): string {
  return `CAST(${zeroValueSql(column.type)} AS ${toDuckDBType(column.type)})`;
}

/** Words that end an ON condition at its own level. */
const CONDITION_ENDS = new Set(['JOIN', 'LEFT', 'RIGHT', 'INNER', 'FULL', 'CROSS', 'ANY', 'ALL', 'ARRAY', 'WHERE', 'PREWHERE', 'GROUP', 'HAVING', 'QUALIFY', 'ORDER', 'LIMIT', 'SETTINGS', 'UNION', 'EXCEPT', 'INTERSECT', 'WINDOW']);

/** Words that may follow a data source after FROM or JOIN, other than an alias. */
const ALIAS_FOLLOWERS = new Set([...CONDITION_ENDS, 'ON', 'USING', 'AS', 'FINAL', 'SAMPLE', 'OUTER', 'SEMI', 'ANTI', 'ASOF', 'GLOBAL', 'NATURAL', 'FORMAT', 'LIMIT', 'OFFSET']);

/**
 * The columns of a data source an outer join may leave unmatched — a LEFT JOIN's right side, a
 * RIGHT JOIN's sides before it, a FULL JOIN's both — outside the join's own conditions: where no row matched,
 * ClickHouse gives them their type's default ('' , 0, 1970-01-01; its `join_use_nulls` is off by
 * default) where DuckDB gives NULL. A column is found named through the side's alias or name
 * (`u.name`), or by its name alone when no other data source the query reads has a column so named
 * and no name given in the query is (then it can only be that column: where the name is read
 * elsewhere, in a subquery of that data source, the column is never NULL and the default changes
 * nothing). Each such reference, by its first token's index, with its span and the SQL of the
 * default (none for a Nullable column).
 */
export function outerJoinDefaults(reader: TokenReader, columnsOf: ColumnsOf): Map<number, { span: Span; zero: string }> {
  const defaults = new Map<number, { span: Span; zero: string }>();
  const { tokens } = reader;
  const joined = new Map<string, Column[]>();
  /** The token of each data source whose rows an outer join may leave unmatched. */
  const unmatchedSides = new Set<number>();
  const unmatchable = (tableAt: number): void => {
    const table = tokens[tableAt];
    if (table?.kind !== 'word' && table?.kind !== 'quoted') return;
    const columns = columnsOf(table.text);
    if (!columns) return;
    unmatchedSides.add(tableAt);
    const aliasAt = reader.word(tableAt + 1) === 'AS' ? tableAt + 2 : tableAt + 1;
    const alias = tokens[aliasAt];
    const named = (alias?.kind === 'word' && !ALIAS_FOLLOWERS.has(reader.word(aliasAt)!)) || alias?.kind === 'quoted' ? alias.text : table.text;
    joined.set(named, columns);
  };
  for (let index = 0; index < tokens.length; index += 1) {
    const kind = reader.word(index);
    if (kind !== 'LEFT' && kind !== 'RIGHT' && kind !== 'FULL') continue;
    let at = index + 1;
    if (reader.word(at) === 'OUTER') at += 1;
    if (reader.word(at) !== 'JOIN') continue;
    // A LEFT JOIN may leave its right side unmatched, a RIGHT JOIN the sides before it, a FULL JOIN both.
    if (kind !== 'RIGHT') unmatchable(at + 1);
    if (kind !== 'LEFT') for (const side of sidesBefore(reader, index)) unmatchable(side);
  }
  if (joined.size === 0) return defaults;
  const conditions = onConditions(reader);
  const inCondition = (index: number) => conditions.some((span) => index >= span.from && index < span.to);
  const withDefault = (column: Column | undefined, span: Span) => {
    if (column && !column.nullable) defaults.set(span.from, { span, zero: zeroOf(column) });
  };
  for (let index = 0; index + 2 < tokens.length; index += 1) {
    const columns = joined.get(tokens[index]!.text);
    const name = tokens[index + 2];
    if (!columns || !reader.isSymbol(index + 1, '.') || (name?.kind !== 'word' && name?.kind !== 'quoted') || reader.isSymbol(index - 1, '.')) continue;
    if (!inCondition(index)) withDefault(columns.find((candidate) => candidate.name === name.text), { from: index, to: index + 3 });
  }
  const alone = unmatchedOnlyColumns(reader, columnsOf, unmatchedSides);
  tokens.forEach((token, index) => {
    const column = (token.kind === 'word' || token.kind === 'quoted') ? alone.get(token.text) : undefined;
    // A data source's name after FROM or JOIN is not a column, whatever columns share it.
    if (!column || defaults.has(index) || inCondition(index) || ['FROM', 'JOIN'].includes(reader.word(index - 1) ?? '')) return;
    // Not a qualified name's part, a call, a lambda's parameter, or a name being given.
    if (reader.isSymbol(index - 1, '.') || reader.isSymbol(index + 1, '.') || reader.isSymbol(index + 1, '(') || reader.word(index - 1) === 'AS') return;
    if (reader.isSymbol(index + 1, '-') && reader.isSymbol(index + 2, '>')) return;
    withDefault(column, { from: index, to: index + 1 });
  });
  return defaults;
}

/** The data sources (their tokens) named after FROM or JOIN before `index`, back to the FROM of its level. */
function sidesBefore(reader: TokenReader, index: number): number[] {
  const sides: number[] = [];
  let depth = 0;
  for (let at = index - 1; at > 0; at -= 1) {
    if (reader.closes(at)) depth += 1;
    else if (reader.opens(at) && (depth -= 1) < 0) break;
    if (depth !== 0) continue;
    const before = reader.word(at - 1);
    if (before === 'FROM' || before === 'JOIN') sides.push(at);
    if (before === 'FROM') break;
  }
  return sides;
}

/**
 * The columns of outer joins' unmatchable data sources (see `outerJoinDefaults`), by name, that the query can only mean when
 * it names them alone: no other data source it reads (after FROM or another JOIN) has a column so
 * named, no other right side does, and no name given in the query (`AS name`, `WITH … AS name`,
 * a lambda's parameter) is the same.
 */
function unmatchedOnlyColumns(reader: TokenReader, columnsOf: ColumnsOf, unmatchedSides: Set<number>): Map<string, Column> {
  const { tokens } = reader;
  const counts = new Map<string, number>();
  const found = new Map<string, Column>();
  tokens.forEach((token, index) => {
    if ((token.kind !== 'word' && token.kind !== 'quoted') || !['FROM', 'JOIN'].includes(reader.word(index - 1) ?? '')) return;
    for (const column of columnsOf(token.text) ?? []) {
      counts.set(column.name, (counts.get(column.name) ?? 0) + 1);
      if (unmatchedSides.has(index)) found.set(column.name, column);
    }
  });
  const readAt = (index: number) => ['FROM', 'JOIN'].includes(reader.word(index - 1) ?? '');
  tokens.forEach((token, index) => {
    // A name given: `AS name`, a lambda's parameter, or a data source's alias without AS (`FROM ev e`).
    const aliased = readAt(index - 1) && token.kind === 'word' && !reader.isSymbol(index - 1, '(') && !ALIAS_FOLLOWERS.has(reader.word(index) ?? '');
    if (reader.word(index - 1) === 'AS' || aliased || (reader.isSymbol(index + 1, '-') && reader.isSymbol(index + 2, '>'))) found.delete(token.text);
  });
  for (const name of found.keys()) if (counts.get(name) !== 1) found.delete(name);
  return found;
}

/** The spans of the query's join conditions (after ON), where the right side's row is always there. */
function onConditions(reader: TokenReader): Span[] {
  const spans: Span[] = [];
  for (let index = 0; index < reader.tokens.length; index += 1) {
    if (reader.word(index) !== 'ON') continue;
    let end = index + 1;
    for (; end < reader.tokens.length; end += 1) {
      if (reader.opens(end)) end = reader.closing(end, reader.tokens.length) ?? reader.tokens.length;
      else if (reader.closes(end) || CONDITION_ENDS.has(reader.word(end) ?? '')) break;
    }
    spans.push({ from: index + 1, to: end });
  }
  return spans;
}
