import { SqlRewriter, type Rewrite, type Span } from '../../core/query/sql-rewriter.ts';
import { SqlTextError, tokenizeSql } from '../../core/query/sql-tokens.ts';
import { SluiceError } from '../../core/errors.ts';
import { formatDateTimeSql } from './clickhouse-date-format.ts';

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
 * (`quantile(0.95)(duration)` → `quantile_cont(duration, 0.95)`), the aggregate `any(x)` (a
 * quantifier keyword in DuckDB) → `any_value(x)`, `multiIf(c1, v1, …, otherwise)` of any length →
 * `CASE`, and `formatDateTime(t, 'format'[, 'zone'])` → strftime's letters (see
 * clickhouse-date-format.ts). Strings, quoted names and comments are tokens of
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
    if (word === 'MULTIIF' || word === 'FORMATDATETIME') {
      const close = this.closing(index + 1, limit);
      if (close === undefined) return undefined;
      const args = this.arguments({ from: index + 2, to: close });
      return { build: () => (word === 'MULTIIF' ? this.multiIf(args) : this.formatDateTime(args)), next: close + 1 };
    }
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

  private multiIf(args: Span[]): string {
    if (args.length < 3 || args.length % 2 === 0) {
      throw new SluiceError('SQL_SYNTAX', `multiIf takes conditions and values in pairs, then the value otherwise: an odd number of arguments, 3 or more, not ${args.length}`);
    }
    const branches = [];
    for (let at = 0; at + 1 < args.length; at += 2) branches.push(`WHEN ${this.render(args[at]!)} THEN ${this.render(args[at + 1]!)}`);
    return `CASE ${branches.join(' ')} ELSE ${this.render(args.at(-1)!)} END`;
  }

  private formatDateTime(args: Span[]): string {
    const [value, format, timeZone] = args;
    const formatToken = format && format.to === format.from + 1 ? this.tokens[format.from] : undefined;
    if (!value || formatToken?.kind !== 'string' || args.length > 3) {
      throw new SluiceError('SQL_SYNTAX', 'formatDateTime takes a date or time, its format as a constant string, and optionally a time zone');
    }
    return formatDateTimeSql(this.render(value), formatToken.text, timeZone && this.render(timeZone));
  }
}
