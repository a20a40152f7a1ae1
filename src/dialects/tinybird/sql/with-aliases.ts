import type { Span, TokenReader } from '../../../core/query/sql-rewriter.ts';

/** An expression ClickHouse's WITH names: `WITH <expression> AS <name>`. */
export interface WithAlias {
  name: string;
  expression: Span;
  /** The token after its WITH item: the name stands for the expression from there on. */
  from: number;
}

/** A top-level WITH clause that names expressions, and what stays of it. */
export interface WithClause {
  /** From the WITH to the SELECT it leads to. */
  span: Span;
  /** Its common table expressions (`name AS (SELECT …)`), kept as they are. */
  tables: Span[];
  aliases: WithAlias[];
}

/**
 * The query's top-level WITH clause when it names expressions, ClickHouse's `WITH 5 AS k,
 * toDate(now()) AS today SELECT …`, which DuckDB does not parse; its common table expressions
 * may stand beside them. Undefined when there is none, or when no item names an expression.
 */
export function withClause(reader: TokenReader): WithClause | undefined {
  if (reader.word(0) !== 'WITH') return undefined;
  const items: Span[] = [];
  let depth = 0;
  let start = 1;
  let select = -1;
  for (let index = 1; index < reader.tokens.length && select < 0; index += 1) {
    if (reader.opens(index)) depth += 1;
    else if (reader.closes(index)) depth -= 1;
    else if (depth === 0 && reader.word(index) === 'SELECT') select = index;
    else if (depth === 0 && reader.isSymbol(index, ',')) {
      items.push({ from: start, to: index });
      start = index + 1;
    }
  }
  if (select < 0) return undefined;
  items.push({ from: start, to: select });
  const tables: Span[] = [];
  const aliases: WithAlias[] = [];
  for (const item of items) {
    // `name AS (…)` (or `name AS MATERIALIZED (…)`) is a common table expression.
    const named = reader.tokens[item.from];
    const isTable = item.to - item.from >= 3 && (named?.kind === 'word' || named?.kind === 'quoted') && reader.word(item.from + 1) === 'AS'
      && (reader.isSymbol(item.from + 2, '(') || reader.word(item.from + 2) === 'MATERIALIZED' || reader.word(item.from + 2) === 'NOT');
    const last = reader.tokens[item.to - 1];
    if (isTable) tables.push(item);
    else if (item.to - item.from >= 3 && reader.word(item.to - 2) === 'AS' && (last?.kind === 'word' || last?.kind === 'quoted')) {
      aliases.push({ name: last.text, expression: { from: item.from, to: item.to - 2 }, from: item.to });
    } else return undefined;
  }
  return aliases.length === 0 ? undefined : { span: { from: 0, to: select }, tables, aliases };
}
