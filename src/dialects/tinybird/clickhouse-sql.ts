import { SqlRewriter, type Rewrite } from '../../core/query/sql-rewriter.ts';
import { SqlTextError, tokenizeSql } from '../../core/query/sql-tokens.ts';

/**
 * ClickHouse's parametric aggregates, by name: how many arguments they take, and DuckDB's aggregate
 * from the parameters' text and the arguments'.
 */
const PARAMETRIC: Record<string, { arity: number; build: (params: string, args: string[]) => string }> = {
  QUANTILE: { arity: 1, build: (params, [value]) => `quantile_cont(${value}, ${params})` },
  QUANTILETDIGEST: { arity: 1, build: (params, [value]) => `quantile_cont(${value}, ${params})` },
  QUANTILEEXACT: { arity: 1, build: (params, [value]) => `quantile_disc(${value}, ${params})` },
  QUANTILES: { arity: 1, build: (params, [value]) => `quantile_cont(${value}, [${params}])` },
  QUANTILESEXACT: { arity: 1, build: (params, [value]) => `quantile_disc(${value}, [${params}])` },
  // ClickHouse's topK is approximate too: the most frequent values, most frequent first.
  TOPK: { arity: 1, build: (params, [value]) => `approx_top_k(${value}, ${params})` },
  QUANTILEIF: { arity: 2, build: (params, [value, condition]) => `quantile_cont(${value}, ${params}) FILTER (WHERE ${condition})` },
};

/** What `any(` after which is not the aggregate: a comparison's quantifier (`x = ANY (SELECT …)`), or a qualified name. */
const NOT_AGGREGATE_AFTER = new Set(['=', '<', '>', '.']);

/**
 * ClickHouse's SQL that DuckDB does not parse, or parses as something else, rewritten in the query's
 * text before it is parsed and checked like any other query: the parametric aggregates
 * (`quantile(0.95)(duration)` → `quantile_cont(duration, 0.95)`) and the aggregate `any(x)` (a
 * quantifier keyword in DuckDB) → `any_value(x)`. Strings, quoted names and comments are tokens of
 * their own, so a name inside them is never rewritten; a query that does not even tokenize is left
 * for DuckDB to report.
 */
export function rewriteClickHouseSql(sql: string): string {
  try {
    return new ClickHouseRewriter(sql, tokenizeSql(sql)).rewrite();
  } catch (error) {
    if (error instanceof SqlTextError) return sql;
    throw error;
  }
}

class ClickHouseRewriter extends SqlRewriter {
  protected rewriteAt(index: number, limit: number): Rewrite | undefined {
    const word = this.word(index);
    if (word === undefined || !this.isSymbol(index + 1, '(')) return undefined;
    if (word === 'ANY') return NOT_AGGREGATE_AFTER.has(this.tokens[index - 1]?.text ?? '') ? undefined : { build: () => 'any_value', next: index + 1 };
    const aggregate = Object.hasOwn(PARAMETRIC, word) ? PARAMETRIC[word]! : undefined;
    const paramsClose = aggregate && this.closing(index + 1, limit);
    if (!aggregate || paramsClose === undefined || !this.isSymbol(paramsClose + 1, '(')) return undefined;
    const argsClose = this.closing(paramsClose + 1, limit);
    const args = argsClose === undefined ? [] : this.arguments({ from: paramsClose + 2, to: argsClose });
    // A call of another shape stays as written.
    if (argsClose === undefined || args.length !== aggregate.arity) return undefined;
    const params = { from: index + 2, to: paramsClose };
    return { build: () => aggregate.build(this.render(params), args.map((span) => this.render(span))), next: argsClose + 1 };
  }
}
