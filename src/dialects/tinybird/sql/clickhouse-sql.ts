import { RewriteTooLarge, SqlRewriter, type Rewrite, type Span } from '../../../core/query/sql-rewriter.ts';
import { SqlTextError, tokenizeSql, type Token } from '../../../core/query/sql-tokens.ts';
import { SluiceError } from '../../../core/errors.ts';
import {
  CAPTURES, DATE_SHIFTS, DATE_UNITS, DECIMAL_CONVERSIONS, JSON_ARRAY_TYPES, JSON_EXTRACT_TYPES, LAMBDA_FIRST, LAMBDA_OPTIONAL, PARAMETRIC, RENAMED, SAME_NAMES,
  SCALED_TIMES, USING_ENDS, jsonPathOf,
} from './clickhouse-calls.ts';
import { formatDateTimeSql } from './clickhouse-date-format.ts';
import { resultNames, selectItems, selectLists } from './result-names.ts';
import { arrayJoins, selectedArrayJoins, type ArrayJoin, type JoinedArray } from './array-join.ts';
import { isDataSourceName, outerJoinDefaults, type ColumnsOf } from './left-join-defaults.ts';
import { joinedStars } from './joined-stars.ts';
import { limitBy, type LimitBy } from './limit-by.ts';
import { selectAliasUses } from './select-aliases.ts';
import { orderedUnionParts } from './union-parts.ts';
import { withClause, type WithAlias } from './with-aliases.ts';
import { withFill, type RenderedFill } from './with-fill.ts';
import { withTotals, type RenderedTotals } from './with-totals.ts';
import { intervalAfter, timeArithmetic, type TimeArithmetic } from './time-arithmetic.ts';
import { keywordNames } from './keyword-names.ts';
import { divisionOperations, type DivisionOperation } from './division-operators.ts';
import { SEQUENCE_AGGREGATES, retentionSql, windowFunnelSql } from './funnel-aggregates.ts';
import { quoteIdentifier, quoteLiteral } from '../../../storage/duckdb/sql.ts';
import { parseClickHouseType, readClickHouseType, TypeNameError } from '../../../core/types/index.ts';
import { toDuckDBType } from '../../../core/types/duckdb-types.ts';
import type { DataType, FieldType } from '../../../core/types/data-type.ts';

/** Words that GLOBAL stands before, in `x GLOBAL IN (…)`, `GLOBAL NOT IN`, `GLOBAL [LEFT|ANY …] JOIN`. */
const GLOBAL_BEFORE = new Set(['IN', 'NOT', 'JOIN', 'LEFT', 'RIGHT', 'INNER', 'FULL', 'ANY', 'ALL', 'SEMI', 'ANTI', 'CROSS', 'ASOF']);

/** A ClickHouse type given as a string (`CAST(x, 'Float64')`); a 400 when it is none. */
function castType(name: string): FieldType {
  try {
    return parseClickHouseType(name);
  } catch (error) {
    if (error instanceof TypeNameError) throw new SluiceError('SQL_SYNTAX', `CAST: ${error.message}`);
    throw error;
  }
}

/**
 * The ClickHouse function a cast to `type` converts as, where DuckDB's cast converts otherwise: to
 * an integer a number's fraction is dropped (CAST(2.7 AS Int32) is 2, as toInt32 gives; DuckDB's
 * cast rounds), and to a String a float is written as toString writes it (3, not 3.0). `orNull`
 * for TRY_CAST. Undefined for other types, which DuckDB's cast converts as ClickHouse's does.
 */
export function conversionOf(type: DataType, orNull: boolean): string | undefined {
  if (type.kind === 'string' && !type.fixed && type.length === undefined) return 'toString';
  if (type.kind !== 'int' || type.bits > 128 || (type.bits === 128 && !type.signed)) return undefined;
  return `to${type.signed ? '' : 'U'}Int${type.bits}${orNull ? 'OrNull' : ''}`;
}

/** DuckDB's type of ClickHouse's toStartOfInterval, by its step's unit (finer ones keep fractions of a second). */
const BUCKET_TYPES: Record<string, string> = {
  SECOND: 'TIMESTAMP_S', MINUTE: 'TIMESTAMP_S', HOUR: 'TIMESTAMP_S', DAY: 'TIMESTAMP_S', WEEK: 'DATE', MONTH: 'DATE', QUARTER: 'DATE', YEAR: 'DATE',
};

/** What `any(` after which is not the aggregate: a comparison's quantifier (`x = ANY (SELECT …)`), or a qualified name. */
const NOT_AGGREGATE_AFTER = new Set(['=', '<', '>', '.']);

/**
 * ClickHouse's SQL that DuckDB does not parse, or reads otherwise, rewritten in the query's text
 * before it is parsed and checked like any other query:
 * - calls: the parametric aggregates (`quantile(0.95)(ms)` → `quantile_cont(ms, 0.95)`), the aggregate
 *   `any(x)` (a quantifier in DuckDB), `multiIf` of any length, `formatDateTime` (see
 *   clickhouse-date-format.ts), the lambda-first array functions (`arrayMap(f, a)`), `position(s, x)` and
 *   `extract(s, pattern)` (DuckDB reads `position(… IN …)` and `extract(… FROM …)` there), `dateAdd(day,
 *   n, t)` and `dateDiff(day, a, b)` with a unit word, typed `JSONExtract`, `countIf` of no rows (0),
 *   `now()` as a DateTime, `now64(3)` and `toDateTime64(x, 3)` as the DateTime64 of their constant scale,
 *   `toDecimal32(x, S)` and its kin as the Decimal of theirs, `concatWithSeparator` (`concat_ws`) of any
 *   length, `windowFunnel` and `retention` (see funnel-aggregates.ts), a few
 *   renames (`lagInFrame` → `lag`), and the functions DuckDB has by the same name with another
 *   meaning (`length` of a String in bytes, `lower` of ASCII letters, `round` half to even: see SAME_NAMES);
 * - clauses: `WITH <expression> AS <name>` (see with-aliases.ts), `ARRAY JOIN` over one table (see
 *   array-join.ts), `LIMIT n BY k` (see limit-by.ts), `ORDER BY … WITH FILL` (see with-fill.ts), a
 *   trailing `SETTINGS …` (dropped);
 * - values: `DateTime - DateTime` as seconds, `DateTime ± n` as n seconds later or earlier and `Date ± INTERVAL n DAY` as a Date, where the
 *   operands are plainly such (see time-arithmetic.ts), a LEFT JOIN's unmatched columns as their
 *   type's zero (left-join-defaults.ts), `SELECT *` over joined data sources as ClickHouse's columns (joined-stars.ts), `a % b` and `a MOD b` as `modulo(a, b)`, `a DIV b` as
 *   `intDiv(a, b)` (see division-operators.ts);
 * - names and strings: a SELECT alias over a column of the same name (see select-aliases.ts), result
 *   columns of unaliased calls named by their text (`count()`, see result-names.ts), and strings'
 *   backslash escapes (`'\\d+'` is the pattern `\d+`).
 * Strings, quoted names and comments are tokens of their own, so a name inside them is never
 * rewritten; a query that does not even tokenize is left for DuckDB to report.
 */
export function rewriteClickHouseSql(sql: string, options: RewriteOptions = {}): string {
  const query = rewriteClickHouseQuery(sql, options);
  if ('fill' in query) throw new SluiceError('SQL_SYNTAX', 'WITH FILL is only supported in a query');
  if ('totals' in query) throw new SluiceError('SQL_SYNTAX', 'WITH TOTALS is only supported in a query');
  return query.sql;
}

/**
 * A query rewritten as `rewriteClickHouseSql` does; one whose rows are filled (ORDER BY … WITH FILL)
 * comes in rendered pieces instead, to be put together once the columns of the query under its
 * ORDER BY are known (see `filledQuery`).
 */
export function rewriteClickHouseQuery(sql: string, options: RewriteOptions = {}): { sql: string } | { fill: RenderedFill } | { totals: RenderedTotals } {
  // ClickHouse's own default max_query_size.
  if (sql.length > MAX_QUERY_CHARS) throw new SluiceError('SQL_SYNTAX', `The query is longer than ${MAX_QUERY_CHARS} characters`);
  try {
    const rewriter = new ClickHouseRewriter(sql, tokenizeSql(sql, { clickhouse: true }), options);
    const fill = rewriter.renderedFill();
    const totals = rewriter.renderedTotals();
    return fill ? { fill } : totals ? { totals } : { sql: rewriter.rewrite() };
  } catch (error) {
    if (error instanceof RewriteTooLarge) throw new SluiceError('SQL_SYNTAX', error.message);
    if (error instanceof RangeError) throw new SluiceError('SQL_SYNTAX', 'The query nests too deeply');
    if (error instanceof SqlTextError) return { sql };
    throw error;
  }
}

const MAX_QUERY_CHARS = 262_144;

interface RewriteOptions {
  /** The columns of the data sources a query reads, by name (for LEFT JOIN defaults, time arithmetic, keyword-named columns). */
  columnsOf?: ColumnsOf;
  /** For a condition on one data source (delete_condition, replace_condition), that data source's column names. */
  conditionOn?: readonly string[];
}

function byName(aliases: WithAlias[]): Map<string, WithAlias[]> {
  const byName = new Map<string, WithAlias[]>();
  for (const alias of aliases) byName.set(alias.name, [...(byName.get(alias.name) ?? []), alias]);
  return byName;
}

class ClickHouseRewriter extends SqlRewriter {
  /** An outer join's unmatchable columns that take their type's default where no row matched (see `outerJoinDefaults`). */
  private readonly joinDefaults: Map<number, { span: Span; zero: string }>;

  /** `SELECT *` over joined data sources, as the list of columns ClickHouse gives (see `joinedStars`), by the `*`. */
  private readonly stars: Map<number, string>;

  /** Arithmetic on times that ClickHouse means otherwise (see `timeArithmetic`), by its left side's first token. */
  private readonly timeOperations: Map<number, TimeArithmetic>;

  constructor(source: string, tokens: Token[], { columnsOf, conditionOn }: RewriteOptions) {
    super(source, tokens);
    this.joinDefaults = columnsOf ? outerJoinDefaults(this, columnsOf) : new Map();
    this.stars = columnsOf ? joinedStars(this, columnsOf) : new Map();
    this.timeOperations = timeArithmetic(this, columnsOf ?? (() => undefined), this.items, this.withs?.aliases ?? []);
    this.keywordNames = keywordNames(this, columnsOf ?? (() => undefined), conditionOn);
    this.divisionAt = divisionOperations(this, this.keywordNames);
  }

  /** `a % b`, `a MOD b` and `a DIV b`, to be `modulo(a, b)` or `intDiv(a, b)`, by the first token of `a` (see `divisionOperations`). */
  private readonly divisionAt: (start: number, limit: number) => DivisionOperation | undefined;

  /** Names DuckDB would take for keywords (`end`, `at`), quoted where they stand as names (see `keywordNames`). */
  private readonly keywordNames: Set<number>;

  /** The items of the query's SELECT lists. */
  private readonly items = selectItems(this);
  /** Result columns named as ClickHouse names them, by their first token (see `resultNames`). */
  private readonly names = resultNames(this.source, this, this.items);

  /** The query's WITH clause when it names expressions (see `withClause`), and its aliases by name. */
  private readonly withs = withClause(this);
  private readonly withAliasesByName = byName(this.withs?.aliases ?? []);
  /** Where the items of the query's SELECT lists begin and end (one past their last token). */
  private readonly selectItemStarts = new Set(this.items.map((item) => item.from));
  private readonly selectItemEnds = new Set(this.items.map((item) => item.to));

  /** Names that stand for an alias of their SELECT list (see `selectAliasUses`). */
  private readonly selectAliases = selectAliasUses(this);
  /** The alias expressions being put in a clause now, innermost last (see `SelectAliasUses.inExpansions`). */
  private readonly expanding: Span[] = [];
  /** Where a trailing `SETTINGS name = value, …` begins: ClickHouse's knobs, which mean nothing to DuckDB. */
  private readonly settings = this.trailingSettings();
  /** The SELECTs of a union with an ORDER BY or LIMIT of their own (see `orderedUnionParts`). */
  private readonly orderedParts = orderedUnionParts(this);

  /** arrayJoin() items of grouping queries, taken into their FROM (see `selectedArrayJoins`). */
  private readonly selectedJoins = selectedArrayJoins(this, selectLists(this));
  private readonly arrayJoinItems = new Map(this.selectedJoins.items.map((item) => [item.item.from, item]));
  /** The ARRAY JOINs of the query, by the first token of the table they join (see `arrayJoins`). */
  private readonly arrayJoins = new Map([...arrayJoins(this), ...this.selectedJoins.joins].map((join) => [join.span.from, join]));
  /** The query's LIMIT BY (see `limitBy`). */
  private readonly limited = limitBy(this);
  /** The query's ORDER BY … WITH FILL (see `withFill`). */
  private readonly filled = withFill(this);
  /** The query's GROUP BY … WITH TOTALS (see `withTotals`). */
  private readonly totals = withTotals(this);
  /**
   * Rewrites that wrap the tokens they start at (a name added to an item, a table made a subquery,
   * the query under a LIMIT BY) render those tokens again inside: there they are not applied again.
   */
  private readonly wrapping = new Set<string>();

  /** Whether the token at `index` comes right after a data source read (`FROM t`, `JOIN t a`, `FROM t AS a`). */
  private followsDataSource(index: number): boolean {
    const isName = (at: number) => this.tokens[at]?.kind === 'word' || this.tokens[at]?.kind === 'quoted';
    const read = (at: number) => isDataSourceName(this, at);
    return read(index - 1) || (isName(index - 1) && (read(index - 2) || (this.word(index - 2) === 'AS' && read(index - 3))));
  }

  protected rewriteAt(index: number, limit: number): Rewrite | undefined {
    if (index === 0 && this.limited && !this.wrapping.has('limit')) return this.wrap('limit', () => this.limitByQuery(this.limited!), this.tokens.length);
    if (index === this.settings) return { build: () => '', next: this.tokens.length };
    if (index === this.totals?.at) return { build: () => '', next: index + 2 };
    const orderedPart = this.orderedParts.get(index);
    if (orderedPart !== undefined && !this.wrapping.has(`part:${index}`)) {
      return this.wrap(`part:${index}`, () => `(${this.render({ from: index, to: orderedPart })})`, orderedPart);
    }
    // GLOBAL IN / GLOBAL JOIN send a subquery's result to a cluster's other shards: here there are none.
    if (this.word(index) === 'GLOBAL' && GLOBAL_BEFORE.has(this.word(index + 1) ?? '')) return { build: () => '', next: index + 1 };
    // FINAL after a data source merges a ReplacingMergeTree's rows of a key: its writes keep one per key already.
    if (this.word(index) === 'FINAL' && this.followsDataSource(index)) return { build: () => '', next: index + 1 };
    const castType = this.castTypeAt(index);
    if (castType) return castType;
    const joinedItem = this.arrayJoinItems.get(index);
    if (joinedItem) return { build: () => quoteIdentifier(joinedItem.name), next: joinedItem.item.to };
    const arrayJoin = this.arrayJoins.get(index);
    if (arrayJoin && !this.wrapping.has(`join:${index}`)) return this.wrap(`join:${index}`, () => this.arrayJoinTable(arrayJoin), arrayJoin.span.to);
    if (this.withs && index === 0) {
      // What stays of the clause: its common table expressions.
      const { tables, span } = this.withs;
      return { build: () => (tables.length === 0 ? '' : `WITH ${tables.map((table) => this.render(table)).join(', ')}`), next: span.to };
    }
    // An item named by its text is named around the rewrites below, which render parts of it again
    // (the first operand of an operation that starts the item).
    const named = this.names.get(index);
    if (named && !this.wrapping.has(`name:${index}`) && named.item.to <= limit) {
      return this.wrap(`name:${index}`, () => `${this.render(named.item)} AS ${quoteIdentifier(named.name)}`, named.item.to);
    }
    // An operation on times renders its operands again, where a LEFT JOIN's default still applies.
    const timeOperation = this.timeOperations.get(index);
    if (timeOperation && !this.wrapping.has(`time:${index}`)) {
      if (timeOperation.kind === 'dateShift') return this.wrap(`time:${index}`, () => `CAST(${this.render(timeOperation.span)} AS DATE)`, timeOperation.span.to);
      if (timeOperation.kind === 'seconds') return this.wrap(`time:${index}`, () => `to_seconds(${this.render(timeOperation.span)})`, timeOperation.span.to);
      if (timeOperation.kind === 'epoch') return this.wrap(`time:${index}`, () => `CAST(to_timestamp(${this.render(timeOperation.span)}) AS TIMESTAMP)`, timeOperation.span.to);
      const { left, right } = timeOperation;
      return this.wrap(`time:${index}`, () => `date_diff('second', ${this.render(right)}, ${this.render(left)})`, right.to);
    }
    // The last `a % b` (or MOD, DIV) within the span: the others starting here are in its left side, rendered again.
    const division = this.divisionAt(index, limit);
    if (division) {
      const { operator, end, call } = division;
      return { build: () => `${call}(${this.render({ from: index, to: operator })}, ${this.render({ from: operator + 1, to: end })})`, next: end };
    }
    const star = this.stars.get(index);
    if (star !== undefined) return { build: () => star, next: index + 1 };
    const joinDefault = this.joinDefaults.get(index);
    if (joinDefault) {
      const { span, zero } = joinDefault;
      const last = this.tokens[span.to - 1]!;
      // A select item that is the column alone keeps the column's name.
      const named = this.selectItemStarts.has(span.from) && this.selectItemEnds.has(span.to) ? ` AS ${quoteIdentifier(last.text)}` : '';
      const column = span.to - span.from === 1 ? quoteIdentifier(last.text) : this.asWritten(span);
      return { build: () => `coalesce(${column}, ${zero})${named}`, next: span.to };
    }
    const inExpansion = this.expanding.length > 0 ? this.selectAliases.inExpansions.get(index) : undefined;
    const aliased = this.selectAliases.uses.get(index) ?? (inExpansion && !this.expanding.includes(inExpansion) ? inExpansion : undefined);
    if (aliased) {
      // A select item that is the name alone keeps it. A constant (`1 AS one`) stays a value where
      // DuckDB would read a bare one as a position (GROUP BY 1) or refuse it (ORDER BY 'total').
      const named = this.selectItemStarts.has(index) && this.selectItemEnds.has(index + 1) ? ` AS ${quoteIdentifier(this.tokens[index]!.text)}` : '';
      const constant = aliased.to === aliased.from + 1 && ['number', 'string'].includes(this.tokens[aliased.from]!.kind);
      return { build: () => `${constant ? 'coalesce' : ''}(${this.expand(aliased)})${named}`, next: index + 1 };
    }
    const alias = this.withAliasAt(index);
    if (alias) {
      // A select item that is the name alone is named by it, as in ClickHouse.
      const named = this.selectItemStarts.has(index) && this.selectItemEnds.has(index + 1) ? ` AS ${quoteIdentifier(alias.name)}` : '';
      return { build: () => `(${this.render(alias.expression)})${named}`, next: index + 1 };
    }
    // A string or name written with backslash escapes, or a name in backticks, is written again in standard quotes.
    const token = this.tokens[index]!;
    if (this.keywordNames.has(index)) return { build: () => quoteIdentifier(token.text), next: index + 1 };
    const written = this.source.slice(token.start, token.end);
    if (token.kind === 'string' && written.includes('\\')) return { build: () => quoteLiteral(token.text), next: index + 1 };
    if (token.kind === 'quoted' && (written.startsWith('`') || written.includes('\\'))) return { build: () => quoteIdentifier(token.text), next: index + 1 };
    if (token.kind === 'number' && /^0[xXbB]/.test(token.text)) return { build: () => BigInt(token.text.toLowerCase()).toString(), next: index + 1 };
    const clause = this.clauseAt(index);
    if (clause) return clause;
    const word = this.word(index);
    if (word === undefined || !this.isSymbol(index + 1, '(')) return undefined;
    if (word === 'NUMBERS' && ['FROM', 'JOIN', ','].includes(this.tokens[index - 1]?.text.toUpperCase() ?? '')) {
      const close = this.closing(index + 1, limit);
      const args = close === undefined ? [] : this.arguments({ from: index + 2, to: close });
      if (close !== undefined && args.length >= 1 && args.length <= 2) {
        // ClickHouse's numbers(n) or numbers(start, n): a column `number`.
        const bounds = args.length === 1 ? this.render(args[0]!) : `${this.render(args[0]!)}, (${this.render(args[0]!)}) + (${this.render(args[1]!)})`;
        return { build: () => `(SELECT range AS number FROM range(${bounds}))`, next: close + 1 };
      }
    }
    if (word === 'ANY') return NOT_AGGREGATE_AFTER.has(this.tokens[index - 1]?.text ?? '') ? undefined : { build: () => 'any_value', next: index + 1 };
    // ClickHouse's now() is a DateTime: to the second, without a zone, so that it compares with
    // DateTime columns (DuckDB's is a TIMESTAMPTZ, which a TIMESTAMP_S column does not compare with).
    if (word === 'NOW' && this.isSymbol(index + 2, ')')) return { build: () => 'CAST(now() AS TIMESTAMP_S)', next: index + 3 };
    const scaled = Object.hasOwn(SCALED_TIMES, word) && !this.wrapping.has(`scale:${index}`) ? this.scaledTime(word, index, limit) : undefined;
    if (scaled) return scaled;
    const sum = word === 'SUM' && !this.wrapping.has(`sum:${index}`) ? this.emptySumIsZero(index, limit) : undefined;
    if (sum) return sum;
    if (word === 'WINDOWFUNNEL') return this.windowFunnel(index, limit);
    if (SEQUENCE_AGGREGATES.has(word)) throw new SluiceError('SQL_SYNTAX', `${this.tokens[index]!.text} is not supported: ClickHouse's sequence pattern matching is not provided (windowFunnel is)`);
    const call = this.call(word, index, limit);
    if (call) return call;
    return this.parametric(word, index, limit);
  }

  /**
   * A parametric aggregate (`quantileExact(0.9)(x)`, see PARAMETRIC), or a quantile of one level
   * without its parameters, at 0.5 (`quantileExact(x)`); a call of another shape stays as written.
   */
  private parametric(word: string, index: number, limit: number): Rewrite | undefined {
    const aggregate = Object.hasOwn(PARAMETRIC, word) ? PARAMETRIC[word]! : undefined;
    const paramsClose = aggregate && this.closing(index + 1, limit);
    if (!aggregate || paramsClose === undefined) return undefined;
    const render = (spans: Span[]) => spans.map((span) => this.render(span));
    const params = this.arguments({ from: index + 2, to: paramsClose });
    if (!this.isSymbol(paramsClose + 1, '(')) {
      if (!aggregate.oneLevel || params.length !== aggregate.arity) return undefined;
      return { build: () => aggregate.build(['0.5'], render(params)), next: paramsClose + 1 };
    }
    const argsClose = this.closing(paramsClose + 1, limit);
    const args = argsClose === undefined ? [] : this.arguments({ from: paramsClose + 2, to: argsClose });
    if (argsClose === undefined || args.length !== aggregate.arity) return undefined;
    if (aggregate.oneLevel && params.length !== 1) {
      throw new SluiceError('SQL_SYNTAX', `${this.tokens[index]!.text} takes one level (${params.length} given): quantiles… take several`);
    }
    for (const level of aggregate.levels ? params : []) {
      const text = this.source.slice(this.tokens[level.from]!.start, this.tokens[level.to - 1]!.end);
      const value = /^-?\s*(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text) ? Number(text.replace(/\s+/g, '')) : undefined;
      if (value === undefined || !(value >= 0 && value <= 1)) {
        throw new SluiceError('SQL_SYNTAX', `${this.tokens[index]!.text}: a quantile level is a constant number from 0 to 1, not ${text}`);
      }
    }
    return { build: () => aggregate.build(render(params), render(args)), next: argsClose + 1 };
  }

  /**
   * `windowFunnel(window[, mode…])(timestamp, cond…)` (see `windowFunnelSql`); without its
   * parameters it is refused, not left for DuckDB to report as an unknown function.
   */
  private windowFunnel(index: number, limit: number): Rewrite | undefined {
    const paramsClose = this.closing(index + 1, limit);
    if (paramsClose === undefined) return undefined;
    const argsClose = this.isSymbol(paramsClose + 1, '(') ? this.closing(paramsClose + 1, limit) : undefined;
    const params = this.arguments({ from: index + 2, to: paramsClose });
    const first = params[0] && params[0].to === params[0].from + 1 ? this.tokens[params[0].from] : undefined;
    const window = first?.kind === 'number' && /^\d+$/.test(first.text) ? first.text : undefined;
    const modes = params.slice(1).map((span) => this.stringAt(span));
    const args = argsClose === undefined ? [] : this.arguments({ from: paramsClose + 2, to: argsClose });
    return { build: () => windowFunnelSql({ window, modes }, args.map((span) => this.render(span))), next: (argsClose ?? paramsClose) + 1 };
  }

  /** The pieces of a query with ORDER BY … WITH FILL, rendered (see `filledQuery`); undefined for another query. */
  renderedFill(): RenderedFill | undefined {
    if (!this.filled) return undefined;
    if (this.limited) throw new SluiceError('SQL_SYNTAX', 'WITH FILL and LIMIT BY are not supported in one query');
    const { head, order, column, descending, from, to, step, rest } = this.filled;
    // A result column is named by its alias, or by the text of its expression (see `resultNames`).
    const columnName = (span: Span) => (span.to === span.from + 1 && ['word', 'quoted'].includes(this.tokens[span.from]!.kind)
      ? this.tokens[span.from]!.text
      : this.source.slice(this.tokens[span.from]!.start, this.tokens[span.to - 1]!.end));
    return {
      head: this.render(head),
      order: order.map((item) => ({ name: columnName(item.expression), expression: this.render(item.expression), suffix: this.render(item.suffix).trim() })),
      column: columnName(column),
      descending,
      ...(from && { from: this.render(from) }),
      ...(to && { to: this.render(to) }),
      ...(step && { step: this.render(step) }),
      rest: this.render(rest).trim(),
    };
  }

  /** A query with GROUP BY … WITH TOTALS, rendered (see `totalsQuery`); undefined for another query. */
  renderedTotals(): RenderedTotals | undefined {
    if (!this.totals) return undefined;
    if (this.limited || this.filled) throw new SluiceError('SQL_SYNTAX', 'WITH TOTALS beside LIMIT BY or WITH FILL is not supported');
    const { groupStart, keys } = this.totals;
    const text = (span: Span) => this.source.slice(this.tokens[span.from]!.start, this.tokens[span.to - 1]!.end).replace(/\s+/g, ' ');
    const keyTexts = new Set(keys.map(text));
    // The outermost SELECT list's items that are keys: as written, by their alias, or by the column they name.
    const outermost = new Set(this.outermost());
    const outer = selectLists(this).find((list) => list.items.length > 0 && outermost.has(list.items[0]!.from));
    const keyColumns = (outer?.items ?? []).flatMap((item) => {
      const aliased = item.to - item.from >= 3 && this.word(item.to - 2) === 'AS';
      const expression = aliased ? { from: item.from, to: item.to - 2 } : item;
      const alias = aliased ? this.tokens[item.to - 1]!.text : undefined;
      const length = expression.to - expression.from;
      const column = length === 1 ? this.tokens[expression.from]!.text : length === 3 && this.isSymbol(expression.from + 1, '.') ? this.tokens[expression.from + 2]!.text : undefined;
      const isKey = keyTexts.has(text(expression)) || [alias, column].some((name) => name !== undefined && keyTexts.has(name));
      return isKey ? [alias ?? column ?? this.names.get(item.from)?.name ?? text(item)] : [];
    });
    const grouped = keys.map((key) => this.render(key)).join(', ');
    const allGrouped = (1n << BigInt(keys.length)) - 1n;
    return {
      sql: this.rewrite(),
      totals: `${this.render({ from: 0, to: groupStart })} GROUPING SETS ((${grouped}), ()) HAVING GROUPING(${grouped}) = ${allGrouped}`,
      keyColumns,
    };
  }

  /** The unit of an interval written `INTERVAL n UNIT` or `toIntervalUnit(n)`, upper-cased and singular. */
  private intervalUnit(span: Span): string | undefined {
    const interval = this.word(span.from) === 'INTERVAL' ? intervalAfter(this, span.from) : undefined;
    if (interval) return interval.span.to === span.to ? interval.unit.replace(/S$/, '') : undefined;
    const call = /^TOINTERVAL(\w+)$/.exec(this.word(span.from) ?? '');
    return call && this.isSymbol(span.from + 1, '(') && this.closing(span.from + 1, span.to) === span.to - 1 ? call[1] : undefined;
  }

  /**
   * A ClickHouse type a value is cast to (`CAST(x AS Float64)`, `x::Nullable(String)`, `CAST(x AS
   * Array(String))`), written as DuckDB's type: DuckDB knows none of Float64, DateTime64(3),
   * Nullable(…), LowCardinality(…), Array(…) or Map(…). A type that is not ClickHouse's is left as written.
   */
  private castTypeAt(index: number): Rewrite | undefined {
    const colons = this.isSymbol(index, ':') && this.isSymbol(index + 1, ':') && this.tokens[index]!.end === this.tokens[index + 1]!.start;
    const cast = colons || (this.word(index) === 'AS' && ['CAST', 'TRY_CAST'].includes(this.word(this.enclosingBracket(index) - 1) ?? ''));
    const typeAt = colons ? index + 2 : index + 1;
    const first = this.tokens[typeAt];
    if (!cast || first === undefined || (first.kind !== 'word' && first.kind !== 'quoted')) return undefined;
    let read: ReturnType<typeof readClickHouseType>;
    try {
      read = readClickHouseType(this.source, first.start);
    } catch {
      return undefined;
    }
    let next = typeAt;
    while (next < this.tokens.length && this.tokens[next]!.start < read.end) next += 1;
    if (this.tokens[next - 1]!.end !== read.end) return undefined;
    const type = toDuckDBType(read.field.type);
    return { build: () => (colons ? `::${type}` : `AS ${type}`), next };
  }

  /** The conversion function a cast to the ClickHouse type written in `span` is (see conversionOf), if any. */
  private conversionAt(span: Span, orNull: boolean): string | undefined {
    const first = this.tokens[span.from];
    if (first === undefined || (first.kind !== 'word' && first.kind !== 'quoted')) return undefined;
    try {
      const read = readClickHouseType(this.source, first.start);
      return read.end === this.tokens[span.to - 1]!.end ? conversionOf(read.field.type, orNull) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The index of the innermost bracket open around `index`, or -1. */
  private enclosingBracket(index: number): number {
    for (let at = index - 1, depth = 0; at >= 0; at -= 1) {
      if (this.closes(at)) depth += 1;
      else if (this.opens(at) && (depth -= 1) < 0) return at;
    }
    return -1;
  }

  /**
   * `… ORDER BY o LIMIT n BY k` as the query's rows filtered to the first n of each k in the order o
   * (a window's row number); the order and the keys are the query's result columns, as written.
   */
  private limitByQuery({ head, order, offset, count, by, rest }: LimitBy): string {
    const ordered = order && order.to > order.from ? this.asWritten(order) : undefined;
    const position = `row_number() OVER (PARTITION BY ${this.asWritten(by)}${ordered ? ` ORDER BY ${ordered}` : ''})`;
    const after = rest.to > rest.from ? ` ${this.render(rest)}` : '';
    return `SELECT * FROM (${this.render(head)}) QUALIFY ${position} BETWEEN ${offset + 1} AND ${offset + count}${ordered ? ` ORDER BY ${ordered}` : ''}${after}`;
  }

  /**
   * `sum(x)` of no rows as 0, as ClickHouse gives it for the (non-Nullable) columns a data source
   * usually has; DuckDB gives NULL. A FILTER or OVER clause after the call goes inside with it.
   */
  private emptySumIsZero(index: number, limit: number): Rewrite | undefined {
    const close = this.closing(index + 1, limit);
    if (close === undefined) return undefined;
    let end = close + 1;
    if (this.word(end) === 'FILTER' && this.isSymbol(end + 1, '(')) end = (this.closing(end + 1, limit) ?? end) + 1;
    if (this.word(end) === 'OVER') end = this.isSymbol(end + 1, '(') ? (this.closing(end + 1, limit) ?? end) + 1 : end + 2;
    if (end > limit) return undefined;
    return this.wrap(`sum:${index}`, () => `coalesce(${this.render({ from: index, to: end })}, 0)`, end);
  }

  /**
   * A span's text as written, but with its names in DuckDB's quoting: a name in backticks or with
   * backslash escapes, or a column named like a DuckDB keyword (`order`), in double quotes.
   */
  private asWritten(span: Span): string {
    let text = '';
    for (let index = span.from; index < span.to; index += 1) {
      const token = this.tokens[index]!;
      if (index > span.from) text += this.source.slice(this.tokens[index - 1]!.end, token.start);
      const written = this.source.slice(token.start, token.end);
      const requoted = this.keywordNames.has(index) || (token.kind === 'quoted' && (written.startsWith('`') || written.includes('\\')));
      text += requoted ? quoteIdentifier(token.text) : token.kind === 'string' && written.includes('\\') ? quoteLiteral(token.text) : written;
    }
    return text;
  }

  /** A rewrite built while `key` marks its own tokens as being wrapped (see `wrapping`). */
  private wrap(key: string, build: () => string, next: number): Rewrite {
    return {
      build: () => {
        this.wrapping.add(key);
        try {
          return build();
        } finally {
          this.wrapping.delete(key);
        }
      },
      next,
    };
  }

  /**
   * `FROM t [LEFT] ARRAY JOIN a AS x, b` as a subquery known by t's name that gives a row per element:
   * `x` beside t's columns, `b` in place of the array it was (unnested together, as ClickHouse requires
   * arrays of one length). With LEFT, a row with an empty array stays, with NULL for its element.
   */
  private arrayJoinTable({ table, name, left, arrays }: ArrayJoin): string {
    const elements = (array: JoinedArray) => {
      const items = this.render(array.array);
      return `unnest(${left ? `CASE WHEN len(${items}) > 0 THEN ${items} ELSE [NULL] END` : items})`;
    };
    const replaced = arrays.filter((array) => array.alias === undefined).map((array) => `${elements(array)} AS ${quoteIdentifier(array.column!)}`);
    const added = arrays.filter((array) => array.alias !== undefined).map((array) => `, ${elements(array)} AS ${quoteIdentifier(array.alias!)}`);
    return `(SELECT *${replaced.length > 0 ? ` REPLACE (${replaced.join(', ')})` : ''}${added.join('')} FROM ${this.render(table)}) AS ${quoteIdentifier(name)}`;
  }

  private trailingSettings(): number | undefined {
    let depth = 0;
    for (let index = 0; index < this.tokens.length; index += 1) {
      if (this.opens(index)) depth += 1;
      else if (this.closes(index)) depth -= 1;
      else if (depth === 0 && this.word(index) === 'SETTINGS') {
        // name = value pairs to the end, values being single tokens (numbers, strings, words).
        const rest = this.tokens.length - index - 1;
        const pairs = this.arguments({ from: index + 1, to: this.tokens.length });
        const wellFormed = rest > 0 && pairs.every((pair) => pair.to - pair.from === 3 && this.word(pair.from) !== undefined && this.isSymbol(pair.from + 1, '='));
        return wellFormed ? index : undefined;
      }
    }
    return undefined;
  }

  /**
   * The WITH alias the name at `index` stands for: the latest defined before it, unless the name is
   * one being defined (after AS), a qualified one's part, or a function's.
   */
  /** An alias's expression as put in a clause, the other aliases it names put in too (never one already being put in: a cycle is left to DuckDB). */
  private expand(expression: Span): string {
    this.expanding.push(expression);
    try {
      return this.render(expression);
    } finally {
      this.expanding.pop();
    }
  }

  private withAliasAt(index: number): WithAlias | undefined {
    const token = this.tokens[index];
    if (!this.withs || (token?.kind !== 'word' && token?.kind !== 'quoted')) return undefined;
    if (this.word(index - 1) === 'AS' || this.isSymbol(index - 1, '.') || this.isSymbol(index + 1, '(') || this.isSymbol(index + 1, '.')) return undefined;
    return this.withAliasesByName.get(token.text)?.filter((alias) => alias.from <= index).at(-1);
  }

  /**
   * ClickHouse's small syntax apart from calls: `* EXCEPT (a, b)` (DuckDB's EXCLUDE), `LIMIT m, n`
   * (`LIMIT n OFFSET m`), a tuple's element `t.1` (`t[1]`), and a join's ANY or ALL strictness, which
   * is dropped (a join with ANY takes one match per row where DuckDB takes them all: the same rows when
   * the right side's keys are unique, as in the lookups it is used for).
   */
  private clauseAt(index: number): Rewrite | undefined {
    const token = this.tokens[index]!;
    if (this.isSymbol(index, '*') && this.word(index + 1) === 'EXCEPT' && this.isSymbol(index + 2, '(')) return { build: () => '* EXCLUDE', next: index + 2 };
    const number = (at: number) => this.tokens[at]?.kind === 'number' && /^\d+$/.test(this.tokens[at].text);
    if (this.word(index) === 'LIMIT' && number(index + 1) && this.isSymbol(index + 2, ',') && number(index + 3) && this.word(index + 4) !== 'BY') {
      return { build: () => `LIMIT ${this.tokens[index + 3]!.text} OFFSET ${this.tokens[index + 1]!.text}`, next: index + 4 };
    }
    const previous = this.tokens[index - 1];
    if (this.isSymbol(index, '.') && number(index + 1) && previous !== undefined && previous.end === token.start
      && (this.closes(index - 1) || previous.kind === 'word' || previous.kind === 'quoted')) {
      return { build: () => `[${this.tokens[index + 1]!.text}]`, next: index + 2 };
    }
    if ((this.word(index) === 'ANY' || this.word(index) === 'ALL') && ['LEFT', 'RIGHT', 'INNER', 'FULL', 'JOIN'].includes(this.word(index + 1) ?? '')) {
      return { build: () => '', next: index + 1 };
    }
    // INTERVAL -7 DAY: DuckDB takes a signed number in brackets.
    if (this.word(index) === 'INTERVAL' && this.isSymbol(index + 1, '-') && number(index + 2) && this.word(index + 3) !== undefined) {
      return { build: () => `INTERVAL (-${this.tokens[index + 2]!.text})`, next: index + 3 };
    }
    // USING a, b: DuckDB takes the columns in brackets.
    if (this.word(index) === 'USING' && !this.isSymbol(index + 1, '(')) {
      const isColumn = (at: number) => this.word(at) !== undefined && !USING_ENDS.has(this.word(at)!);
      if (!isColumn(index + 1)) return undefined;
      let last = index + 1;
      while (this.isSymbol(last + 1, ',') && isColumn(last + 2)) last += 2;
      return { build: () => `USING (${this.render({ from: index + 1, to: last + 1 })})`, next: last + 1 };
    }
    // PREWHERE (ClickHouse's early filter) is a WHERE; with a WHERE after it, both hold.
    if (this.word(index) === 'PREWHERE') {
      const where = this.levelWhere(index);
      if (where === undefined) return { build: () => 'WHERE', next: index + 1 };
      return { build: () => `WHERE (${this.render({ from: index + 1, to: where })}) AND`, next: where + 1 };
    }
    return undefined;
  }

  /** The WHERE that follows a PREWHERE at its own level, if any. */
  private levelWhere(from: number): number | undefined {
    for (let index = from + 1; index < this.tokens.length; index += 1) {
      if (this.opens(index)) index = this.closing(index, this.tokens.length) ?? this.tokens.length;
      else if (this.closes(index) || ['GROUP', 'ORDER', 'LIMIT', 'HAVING', 'UNION', 'SETTINGS'].includes(this.word(index) ?? '')) return undefined;
      else if (this.word(index) === 'WHERE') return index;
    }
    return undefined;
  }

  /** A call rewritten as a whole, by name and arguments; undefined where the call stays as written. */
  private call(word: string, index: number, limit: number): Rewrite | undefined {
    const close = this.closing(index + 1, limit);
    if (close === undefined) return undefined;
    const args = this.arguments({ from: index + 2, to: close });
    const next = close + 1;
    const text = (span: Span) => this.render(span);
    if (word === 'MULTIIF') return { build: () => this.multiIf(args), next };
    // retention takes no parameters: `retention(x)(…)` is ClickHouse's error too.
    if (word === 'RETENTION' && this.isSymbol(next, '(')) throw new SluiceError('SQL_SYNTAX', 'retention takes no parameters: retention(cond1, cond2, …)');
    if (word === 'RETENTION') return { build: () => retentionSql(args.map(text)), next };
    if (word === 'FORMATDATETIME') return { build: () => this.formatDateTime(args), next };
    // ClickHouse's toStartOfInterval gives a DateTime for steps of seconds to days, a Date for weeks or more.
    const bucketUnit = word === 'TOSTARTOFINTERVAL' && args.length === 2 ? this.intervalUnit(args[1]!) : undefined;
    const bucket = bucketUnit === undefined ? undefined : BUCKET_TYPES[bucketUnit];
    if (bucket) {
      // Days count from the epoch, weeks from the Monday after it (DuckDB's intervals hold weeks as days).
      const macro = bucketUnit === 'WEEK' ? 'sluice_start_of_weeks' : 'toStartOfInterval';
      return { build: () => `CAST(${macro}(${text(args[0]!)}, ${text(args[1]!)}) AS ${bucket})`, next };
    }
    // ClickHouse's CAST(x, 'Type'), the type a string.
    const typeName = word === 'CAST' && args.length === 2 ? this.stringAt(args[1]!) : undefined;
    if (typeName !== undefined) {
      const field = castType(typeName);
      const conversion = conversionOf(field.type, false);
      if (conversion) return { build: () => `${conversion}(${text(args[0]!)})`, next };
      const type = toDuckDBType(field.type);
      return { build: () => `CAST(${text(args[0]!)} AS ${type})`, next };
    }
    // CAST(x AS Int32) and CAST(x AS String) convert as toInt32 and toString do.
    const as = (word === 'CAST' || word === 'TRY_CAST') && args.length === 1 ? this.levelWord(args[0]!, 'AS') : undefined;
    const conversion = as === undefined ? undefined : this.conversionAt({ from: as + 1, to: close }, word === 'TRY_CAST');
    if (conversion) return { build: () => `${conversion}(${text({ from: index + 2, to: as! })})`, next };
    // ClickHouse's tuple(a, b) and map(k1, v1, k2, v2 …): DuckDB's row(a, b) and map([keys], [values]).
    if (word === 'TUPLE' && args.length > 0) return { build: () => `row(${args.map(text).join(', ')})`, next };
    if (word === 'MAP' && args.length > 0 && args.length % 2 === 0) {
      const [keys, values] = [args.filter((_arg, at) => at % 2 === 0), args.filter((_arg, at) => at % 2 === 1)];
      return { build: () => `map([${keys.map(text).join(', ')}], [${values.map(text).join(', ')}])`, next };
    }
    // DuckDB reads position(…) and extract(…) as `position(a IN b)` and `extract(part FROM t)`; ClickHouse's
    // position(needle IN s) is position(s, needle). extract and extractAll give the first group's match
    // when the pattern has one, else the whole match's.
    const within = word === 'POSITION' && args.length === 1 ? this.levelWord(args[0]!, 'IN') : undefined;
    if (within !== undefined) {
      return { build: () => `${SAME_NAMES.POSITION!.macro}(${text({ from: within + 1, to: close })}, ${text({ from: index + 2, to: within })})`, next };
    }
    const sameName = Object.hasOwn(SAME_NAMES, word) ? SAME_NAMES[word]! : undefined;
    if (sameName?.arities.includes(args.length)) return { build: () => `${sameName.macro}(${args.map(text).join(', ')})`, next };
    if ((word === 'EXTRACT' || word === 'EXTRACTALL') && args.length === 2) {
      const pattern = this.stringAt(args[1]!);
      const group = pattern !== undefined && CAPTURES.test(pattern) ? 1 : 0;
      return { build: () => `regexp_extract${word === 'EXTRACTALL' ? '_all' : ''}(${text(args[0]!)}, ${text(args[1]!)}, ${group})`, next };
    }
    if (Object.hasOwn(LAMBDA_FIRST, word) && (args.length === 2 || !LAMBDA_OPTIONAL.has(word))) {
      if (args.length !== 2) throw new SluiceError('SQL_SYNTAX', `${this.tokens[index]!.text} takes a lambda and one array here (${args.length} arguments given)`);
      return { build: () => LAMBDA_FIRST[word]!(text(args[1]!), text(args[0]!)), next };
    }
    // leftPad(s, n) pads with spaces, as ClickHouse does (DuckDB's lpad takes the fill always).
    const fill = /PAD/.test(word) && args.length === 2 ? ", ' '" : '';
    if (Object.hasOwn(RENAMED, word)) return { build: () => `${RENAMED[word]}(${args.map(text).join(', ')}${fill})`, next };
    // concat of a NULL is NULL in ClickHouse (DuckDB's concat skips it); each value as its text.
    if (word === 'CONCAT' && args.length >= 2) return { build: () => `(${args.map((arg) => `CAST(${text(arg)} AS VARCHAR)`).join(' || ')})`, next };
    // concatWithSeparator (concat_ws) too, with the separator between the values (DuckDB's concat_ws skips a NULL).
    if ((word === 'CONCATWITHSEPARATOR' || word === 'CONCAT_WS') && args.length >= 1) {
      const [separator, ...values] = args;
      const joined = () => values.map((value) => `CAST(${text(value)} AS VARCHAR)`).join(` || (${text(separator!)}) || `);
      return { build: () => (values.length === 0 ? `CASE WHEN (${text(separator!)}) IS NULL THEN NULL ELSE '' END` : `(${joined()})`), next };
    }
    const decimal = Object.hasOwn(DECIMAL_CONVERSIONS, word) ? DECIMAL_CONVERSIONS[word]! : undefined;
    if (decimal) return { build: () => this.toDecimal(index, args, decimal), next };
    // A count is never NULL in ClickHouse, not even of no rows; countIf(DISTINCT x, c) counts distinct values.
    if (word === 'COUNTIF' && this.word(index + 2) === 'DISTINCT' && args.length === 2) {
      return { build: () => `count(DISTINCT ${this.render({ from: index + 3, to: args[0]!.to })}) FILTER (WHERE ${text(args[1]!)})`, next };
    }
    if (word === 'COUNTIF') return { build: () => `coalesce(count_if(${args.map(text).join(', ')}), 0)`, next };
    if (word === 'JSONEXTRACT' && args.length >= 3) {
      const typeName = this.stringAt(args.at(-1)!);
      const arrayOf = typeName === undefined ? undefined : /^Array\((\w+)\)$/.exec(typeName)?.[1];
      const keys = args.slice(1, -1);
      if (typeName !== undefined && Object.hasOwn(JSON_EXTRACT_TYPES, typeName) && keys.length <= 2) {
        return { build: () => `${JSON_EXTRACT_TYPES[typeName]}(${[args[0]!, ...keys].map(text).join(', ')})`, next };
      }
      if (arrayOf !== undefined && Object.hasOwn(JSON_ARRAY_TYPES, arrayOf) && keys.length <= 2) {
        // A document that is not JSON gives [] too (DuckDB's json_extract would fail the query).
        const document = () => `CASE WHEN json_valid(${text(args[0]!)}) THEN ${text(args[0]!)} END`;
        return { build: () => `coalesce(TRY_CAST(json_extract(${document()}, ${jsonPathOf(keys.map(text))}) AS ${JSON_ARRAY_TYPES[arrayOf]}[]), [])`, next };
      }
      throw new SluiceError('SQL_SYNTAX', `JSONExtract: a type of ${Object.keys(JSON_EXTRACT_TYPES).join(', ')} or Array(${Object.keys(JSON_ARRAY_TYPES).join('|')}) is supported, by one or two keys`);
    }
    // dateAdd(day, 1, t) and dateDiff(day, a, b): a unit as a word (dateDiff takes a string as is).
    const first = args.length === 3 && args[0]!.to === args[0]!.from + 1 ? args[0]!.from : undefined;
    const unitWord = first === undefined ? undefined : this.word(first);
    const unit = unitWord ?? (first === undefined ? undefined : this.stringAt(args[0]!)?.toUpperCase());
    if (unit === undefined || !DATE_UNITS.has(unit)) return undefined;
    if (Object.hasOwn(DATE_SHIFTS, word)) return { build: () => `(${text(args[2]!)} ${DATE_SHIFTS[word]} INTERVAL (${text(args[1]!)}) ${unit})`, next };
    // ClickHouse counts the Monday-started weeks crossed; DuckDB's week difference counts whole weeks.
    if ((word === 'DATEDIFF' || word === 'DATE_DIFF') && unit === 'WEEK') {
      return { build: () => `(date_diff('day', date_trunc('week', ${text(args[1]!)}), date_trunc('week', ${text(args[2]!)})) // 7)`, next };
    }
    if ((word === 'DATEDIFF' || word === 'DATE_DIFF') && unitWord !== undefined) {
      return { build: () => `date_diff('${unit.toLowerCase()}', ${text(args[1]!)}, ${text(args[2]!)})`, next };
    }
    return undefined;
  }

  /**
   * ClickHouse's toDecimal32(x, S) and its kin: x cut to S decimals (see sluice_decimal_text), as a
   * Decimal of the function's precision; the scale must be a constant, as it is in ClickHouse.
   */
  private toDecimal(index: number, args: Span[], { precision, otherwise }: (typeof DECIMAL_CONVERSIONS)[string]): string {
    const name = this.tokens[index]!.text;
    const scale = args.length === 2 ? this.integerAt(args[1]!) : undefined;
    if (scale === undefined) throw new SluiceError('SQL_SYNTAX', `${name} takes a value and its scale, a constant whole number`);
    if (scale > precision) throw new SluiceError('SQL_SYNTAX', `${name}: the scale must be from 0 to ${precision}, not ${scale}`);
    const type = `DECIMAL(${precision}, ${scale})`;
    const digits = `sluice_decimal_text(${this.render(args[0]!)}, ${scale})`;
    if (otherwise === 'error') return `CAST(${digits} AS ${type})`;
    return otherwise === 'null' ? `TRY_CAST(${digits} AS ${type})` : `coalesce(TRY_CAST(${digits} AS ${type}), CAST(0 AS ${type}))`;
  }

  /**
   * now64(scale[, zone]) and toDateTime64(x, scale[, zone]) with a constant scale, typed as the DateTime64
   * of that scale, as a cast to it is (DuckDB's macros give microseconds, written without their trailing zeros).
   */
  private scaledTime(word: string, index: number, limit: number): Rewrite | undefined {
    const close = this.closing(index + 1, limit);
    const args = close === undefined ? [] : this.arguments({ from: index + 2, to: close });
    const scaleArg = args[SCALED_TIMES[word]!];
    const scale = scaleArg && this.integerAt(scaleArg);
    if (close === undefined || scale === undefined || scale > 9) return undefined;
    const type = toDuckDBType(castType(`DateTime64(${scale})`).type);
    return this.wrap(`scale:${index}`, () => `CAST(${this.render({ from: index, to: close + 1 })} AS ${type})`, close + 1);
  }

  /** The value of a span that is a single whole number. */
  private integerAt(span: Span): number | undefined {
    const token = this.tokens[span.from];
    return span.to === span.from + 1 && token?.kind === 'number' && /^\d+$/.test(token.text) ? Number(token.text) : undefined;
  }

  /** The first `word` of a span outside its brackets. */
  private levelWord(span: Span, word: string): number | undefined {
    for (let index = span.from; index < span.to; index += 1) {
      if (this.opens(index)) index = this.closing(index, span.to) ?? span.to;
      else if (this.word(index) === word) return index;
    }
    return undefined;
  }

  /** The text of a span that is a single string literal. */
  private stringAt(span: Span): string | undefined {
    const token = this.tokens[span.from];
    return span.to === span.from + 1 && token?.kind === 'string' ? token.text : undefined;
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
    const formatText = format && this.stringAt(format);
    if (!value || formatText === undefined || args.length > 3) {
      throw new SluiceError('SQL_SYNTAX', 'formatDateTime takes a date or time, its format as a constant string, and optionally a time zone');
    }
    return formatDateTimeSql(this.render(value), formatText, timeZone && this.render(timeZone));
  }
}
