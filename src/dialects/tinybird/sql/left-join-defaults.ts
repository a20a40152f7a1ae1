import type { Column } from '../../../core/catalog/model.ts';
import type { Span, TokenReader } from '../../../core/query/sql-rewriter.ts';
import { toDuckDBType } from '../../../core/types/duckdb-types.ts';
import { zeroValueSql } from '../../../core/types/zero-value.ts';

/** The columns of a data source of the workspace, by its name; undefined for no such data source. */
export type ColumnsOf = (table: string) => Column[] | undefined;

/** The columns of the data sources a query names after FROM or JOIN (a name twice if two have it). */
export function columnsRead(reader: TokenReader, columnsOf: ColumnsOf): Column[] {
  return reader.tokens.flatMap((token, index) =>
    (token.kind === 'word' || token.kind === 'quoted') && ['FROM', 'JOIN'].includes(reader.word(index - 1) ?? '') ? columnsOf(token.text) ?? [] : []);
}

/** Words that end an ON condition at its own level. */
const CONDITION_ENDS = new Set(['JOIN', 'LEFT', 'RIGHT', 'INNER', 'FULL', 'CROSS', 'ANY', 'ALL', 'ARRAY', 'WHERE', 'PREWHERE', 'GROUP', 'HAVING', 'QUALIFY', 'ORDER', 'LIMIT', 'SETTINGS', 'UNION', 'EXCEPT', 'INTERSECT', 'WINDOW']);

/**
 * The right side's columns of a LEFT JOIN, named through its alias (`u.name`), outside the join's
 * own conditions: where no row matched, ClickHouse gives them their type's default ('' , 0,
 * 1970-01-01; its `join_use_nulls` is off by default) where DuckDB gives NULL. Each such reference,
 * by its first token's index, with its span and the SQL of the default (none for a Nullable column).
 */
export function leftJoinDefaults(reader: TokenReader, columnsOf: ColumnsOf): Map<number, { span: Span; zero: string }> {
  const defaults = new Map<number, { span: Span; zero: string }>();
  const { tokens } = reader;
  const joined = new Map<string, Column[]>();
  for (let index = 0; index < tokens.length; index += 1) {
    if (reader.word(index) !== 'LEFT') continue;
    let at = index + 1;
    if (reader.word(at) === 'OUTER') at += 1;
    if (reader.word(at) !== 'JOIN') continue;
    const table = tokens[at + 1];
    if (table?.kind !== 'word' && table?.kind !== 'quoted') continue;
    const columns = columnsOf(table.text);
    if (!columns) continue;
    const aliasAt = reader.word(at + 2) === 'AS' ? at + 3 : at + 2;
    const alias = tokens[aliasAt];
    const named = (alias?.kind === 'word' && !['ON', 'USING'].includes(reader.word(aliasAt)!)) || alias?.kind === 'quoted' ? alias.text : table.text;
    joined.set(named, columns);
  }
  if (joined.size === 0) return defaults;
  const conditions = onConditions(reader);
  for (let index = 0; index + 2 < tokens.length; index += 1) {
    const columns = joined.get(tokens[index]!.text);
    const name = tokens[index + 2];
    if (!columns || !reader.isSymbol(index + 1, '.') || (name?.kind !== 'word' && name?.kind !== 'quoted') || reader.isSymbol(index - 1, '.')) continue;
    if (conditions.some((span) => index >= span.from && index < span.to)) continue;
    const column = columns.find((candidate) => candidate.name === name.text);
    if (!column || column.nullable) continue;
    defaults.set(index, { span: { from: index, to: index + 3 }, zero: `CAST(${zeroValueSql(column.type)} AS ${toDuckDBType(column.type)})` });
  }
  return defaults;
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
