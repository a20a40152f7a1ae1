import { SqlRewriter, type Rewrite, type Span } from '../../core/query/sql-rewriter.ts';
import type { QuerySemantics } from '../../core/query/sql-guard.ts';
import type { ViewOptions } from '../../core/catalog/schema-change.ts';
import { DUCKDB_KEYWORDS } from '../../core/query/duckdb-keywords.ts';
import { SqlTextError, tokensOrUndefined, type Token } from '../../core/query/sql-tokens.ts';
import { readSqlType, toDuckDBType, type DataType } from '../../core/types/index.ts';

/**
 * A view's query with Feldera's SQL constructs that DuckDB cannot read rewritten into DuckDB SQL,
 * and the way back from a place in the result to the place in the program it came from (for the
 * line and column of an error).
 */
export interface TranslatedQuery {
  sql: string;
  programOffset(position: number): number;
  /**
   * Present when an unaliased expression of the outermost select list follows a `*`, whose place
   * among the view's columns (its name, `EXPR$<place>`) is known only once the `*` is expanded:
   * `sql` names it with a placeholder, and this gives the query again with each named after its
   * place among `columns`, the columns of a view created from `sql`.
   */
  nameAfterColumns?: (columns: readonly string[]) => TranslatedQuery;
}

/** Feldera's SQL is Calcite's: `/` between integers gives an integer (`7 / 2` is 3), in views and ad-hoc queries. */
export const FELDERA_SEMANTICS: QuerySemantics = { integerDivision: true };

/**
 * How a program's views are made: Feldera's SQL, where AVG keeps its input's type and a DATE plus
 * days a DATE, as in Calcite (ad-hoc queries, which Feldera answers with DataFusion, keep their
 * engine's types and column names), and the fields of `ROW(a, b)` named as Calcite names them
 * (`EXPR$0`, `EXPR$1`).
 */
export const FELDERA_VIEWS: ViewOptions = { semantics: { ...FELDERA_SEMANTICS, averageOfInputType: true, datetimeArithmeticKeepsType: true }, fieldName: (index) => `EXPR$${index}` };

/** The units Feldera's `…_TRUNC(x, UNIT)`, `FLOOR(x TO UNIT)` and `CEIL(x TO UNIT)` take. */
const UNITS = new Set(['MILLENNIUM', 'CENTURY', 'DECADE', 'YEAR', 'QUARTER', 'MONTH', 'WEEK', 'DAY', 'HOUR', 'MINUTE', 'SECOND', 'MILLISECOND', 'MICROSECOND']);

/** Windows are aligned on the epoch, as Feldera aligns them (DuckDB's own origin is 2000-01-03). */
const EPOCH = "TIMESTAMP '1970-01-01 00:00:00'";

/** Feldera's functions that DuckDB has under another name (same arguments, same meaning). */
const RENAMED_FUNCTIONS: Record<string, string> = {
  BROUND: 'round_even',
  TRUNCATE: 'trunc',
  IS_INF: 'isinf',
  IS_NAN: 'isnan',
  RLIKE: 'regexp_matches',
  EVERY: 'bool_and',
  LOGICAL_AND: 'bool_and',
  LOGICAL_OR: 'bool_or',
  // DuckDB's GREATEST and LEAST skip NULLs, as these do (Feldera's own GREATEST and LEAST do not: see CALLS).
  GREATEST_IGNORE_NULLS: 'greatest',
  LEAST_IGNORE_NULLS: 'least',
};

/** The last character of a comparison operator (the tokenizer splits `<=` into two symbols). */
const COMPARISONS = new Set(['=', '<', '>']);

/** The words that end a select list at its level: the query's next clause, or a set operation. */
const CLAUSES = new Set(['FROM', 'WHERE', 'GROUP', 'HAVING', 'WINDOW', 'QUALIFY', 'ORDER', 'LIMIT', 'OFFSET', 'FETCH', 'UNION', 'INTERSECT', 'EXCEPT', 'MINUS']);

/** A clause's word that, after this one, is part of an expression: `a IS DISTINCT FROM b`, `LISTAGG(x) WITHIN GROUP (…)`. */
const CLAUSE_IN_EXPRESSION: Record<string, string> = { FROM: 'DISTINCT', GROUP: 'WITHIN' };

/** Literals written as words: a select item of one alone is an expression, not a column. */
const LITERAL_WORDS = new Set(['NULL', 'TRUE', 'FALSE', 'UNKNOWN']);

/** Words that end an expression and so are no alias after it: `CASE … END`, `x IS NULL`, `INTERVAL '1' DAY`. */
const NOT_ALIASES = new Set([
  'END', ...LITERAL_WORDS, ...[...UNITS].flatMap((unit) => [unit, `${unit}S`]), 'CENTURIES', 'MILLENNIA', 'EPOCH',
]);

/** Words after which a name goes on with the expression rather than aliasing it (`NOT x`, `a AND b`, `x IS DISTINCT FROM y`). */
const OPERATOR_WORDS = new Set([
  'AND', 'OR', 'NOT', 'IS', 'IN', 'LIKE', 'ILIKE', 'GLOB', 'SIMILAR', 'RLIKE', 'ESCAPE', 'TO', 'BETWEEN', 'SYMMETRIC', 'CASE', 'WHEN', 'THEN', 'ELSE',
  'INTERVAL', 'DATE', 'TIME', 'TIMESTAMP', 'DISTINCT', 'ALL', 'ANY', 'SOME', 'EXISTS', 'FROM', 'AT', 'ZONE', 'COLLATE', 'OVER', 'AS', 'MEMBER', 'OF',
]);

/** The casts, and the DuckDB function each is. */
const CASTS: Record<string, string> = { CAST: 'CAST', TRY_CAST: 'TRY_CAST', SAFE_CAST: 'TRY_CAST' };

type Call = { arity: number | number[]; unit?: 'first' | 'last'; build: (args: string[], unit: string) => string };

/** A DuckDB function of 2 to 8 arguments, NULL when any argument is (DuckDB's GREATEST and LEAST skip NULLs). */
function nullWhenAnyIs(name: string): Call {
  return { arity: [2, 3, 4, 5, 6, 7, 8], build: (args) => `CASE WHEN ${args.map((arg) => `(${arg}) IS NULL`).join(' OR ')} THEN NULL ELSE ${name}(${args.join(', ')}) END` };
}

const ARRAY_LENGTH_CALL: Call = { arity: 1, build: ([value]) => `len(${value})` };
/** NULL entries are left out, or written as the third argument when it is given and not NULL. */
const ARRAY_TO_STRING_CALL: Call = { arity: [2, 3], build: ([array, separator, nulls]) => arrayToString(array!, separator!, nulls) };

/**
 * Feldera's calls that DuckDB writes another way, by name: how many arguments they take, whether
 * the first is a unit (`HOUR`), and the DuckDB SQL of the call from the other arguments' SQL.
 */
const CALLS: Record<string, Call> = {
  TIMESTAMP_TRUNC: { arity: 2, unit: 'last', build: ([value], unit) => `date_trunc('${unit}', ${value})` },
  DATE_TRUNC: { arity: 2, unit: 'last', build: ([value], unit) => `CAST(date_trunc('${unit}', ${value}) AS DATE)` },
  TIMESTAMPDIFF: { arity: 3, unit: 'first', build: ([from, to], unit) => `date_sub('${unit}', ${from}, ${to})` },
  DATEDIFF: { arity: 3, unit: 'first', build: ([from, to], unit) => `date_sub('${unit}', ${from}, ${to})` },
  TIMESTAMPADD: { arity: 3, unit: 'first', build: ([count, time], unit) => `(${time} + (${count}) * INTERVAL 1 ${unit})` },
  DATEADD: { arity: 3, unit: 'first', build: ([count, time], unit) => `(${time} + (${count}) * INTERVAL 1 ${unit})` },
  FORMAT_DATE: { arity: 2, build: ([format, value]) => `strftime(${value}, ${format})` },
  FORMAT_TIMESTAMP: { arity: 2, build: ([format, value]) => `strftime(${value}, ${format})` },
  // A text that does not match the format is NULL, as in Feldera.
  PARSE_TIMESTAMP: { arity: 2, build: ([format, text]) => `try_strptime(${text}, ${format})` },
  PARSE_DATE: { arity: 2, build: ([format, text]) => `CAST(try_strptime(${text}, ${format}) AS DATE)` },
  PARSE_JSON: { arity: 1, build: ([text]) => `CASE WHEN json_valid(${text}) THEN CAST(${text} AS JSON) END` },
  // A VARIANT's JSON text, a VARCHAR as Feldera gives it (DuckDB's to_json gives JSON, which is a VARIANT here).
  TO_JSON: { arity: 1, build: ([value]) => `CAST(to_json(${value}) AS VARCHAR)` },
  // NULL elements count as the smallest, first in ascending order.
  SORT_ARRAY: {
    arity: [1, 2],
    build: ([array, ascending]) => (ascending === undefined ? `list_sort(${array}, 'ASC', 'NULLS FIRST')`
      : `CASE WHEN ${ascending} THEN list_sort(${array}, 'ASC', 'NULLS FIRST') ELSE list_sort(${array}, 'DESC', 'NULLS LAST') END`),
  },
  // Every match is replaced (DuckDB's replaces the first without 'g'); without a replacement, by
  // nothing. A group is named `$1` in the replacement, as in Feldera, where DuckDB writes `\1`.
  REGEXP_REPLACE: {
    arity: [2, 3],
    build: ([text, pattern, replacement]) => `regexp_replace(${text}, ${pattern}, ${replacement === undefined ? "''" : `regexp_replace(${replacement}, '\\$(\\d)', '\\\\\\1', 'g')`}, 'g')`,
  },
  // LOG(value [, base]): the natural logarithm without a base (DuckDB's log is base 10, and takes the base first).
  LOG: { arity: [1, 2], build: ([value, base]) => (base === undefined ? `ln(${value})` : `log(${base}, ${value})`) },
  // NULL when any argument is, as in Feldera (DuckDB's skip NULLs).
  GREATEST: nullWhenAnyIs('greatest'),
  LEAST: nullWhenAnyIs('least'),
  // An empty text splits into no parts, an empty delimiter leaves the text whole; the delimiter is ',' by default.
  SPLIT: {
    arity: [1, 2],
    build: ([text, delimiter = "','"]) => `CASE WHEN ${text} = '' THEN []::VARCHAR[] WHEN ${delimiter} = '' THEN [${text}] ELSE string_split(${text}, ${delimiter}) END`,
  },
  // An array's length or a map's entry count, through JSON: DuckDB's cardinality takes maps only, and the type is not known here.
  CARDINALITY: { arity: 1, build: ([value]) => `coalesce(nullif(json_array_length(to_json(${value})), 0), len(json_keys(to_json(${value}))))` },
  ARRAY_SIZE: ARRAY_LENGTH_CALL,
  ARRAY_LENGTH: ARRAY_LENGTH_CALL,
  // Feldera's array and map functions by DuckDB's names.
  ARRAY_COMPACT: { arity: 1, build: ([array]) => `list_filter(${array}, sluice_x -> sluice_x IS NOT NULL)` },
  ARRAY_MAX: { arity: 1, build: ([array]) => `list_max(${array})` },
  ARRAY_MIN: { arity: 1, build: ([array]) => `list_min(${array})` },
  ARRAYS_OVERLAP: { arity: 2, build: ([left, right]) => `list_has_any(${left}, ${right})` },
  ARRAY_REPEAT: { arity: 2, build: ([element, count]) => `CASE WHEN (${count}) IS NULL THEN NULL ELSE list_transform(range(greatest(${count}, 0)), sluice_x -> ${element}) END` },
  MAP_CONTAINS_KEY: { arity: 2, build: ([map, key]) => `map_contains(${map}, ${key})` },
  ARRAY_TO_STRING: ARRAY_TO_STRING_CALL,
  ARRAY_JOIN: ARRAY_TO_STRING_CALL,
  // Each run of letters and digits with its first character upper-cased and the rest lower-cased.
  INITCAP: { arity: 1, build: ([text]) => `array_to_string(list_transform(regexp_extract_all(${text}, '[\\pL\\pN]+|[^\\pL\\pN]+'), w -> upper(w[1]) || lower(w[2:])), '')` },
  ELEMENT: { arity: 1, build: ([array]) => `CASE len(${array}) WHEN 0 THEN NULL WHEN 1 THEN (${array})[1] ELSE error('ELEMENT of an array with more than one element') END` },
};

/** The operators of arithmetic, whose integer literal operands are INTEGERs (see `integerInArithmetic`). */
const ARITHMETIC = new Set(['+', '-', '*', '/', '%']);

/**
 * Rewrites, anywhere in a view's query (`tokens`, positions in `program`):
 * - `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), size [, offset]))` into the rows of `t` (those with a
 *   time) with `window_start` and `window_end`, windows aligned on the epoch (plus the offset);
 * - `TABLE(HOP(TABLE t, DESCRIPTOR(ts), slide, size [, offset]))` the same, each row once for every
 *   window of `size`, starting every `slide`, that holds it;
 * - `FLOOR(x TO UNIT)` into `date_trunc`, `CEIL(x TO UNIT)` into the next boundary unless x is one;
 * - `x RLIKE 'pattern'` into `x SIMILAR TO` the pattern anywhere;
 * - an integer literal in arithmetic into an INTEGER, as Feldera types it (`ti + 1` is no TINYINT);
 * - `MAP[k, v, …]` into `MAP {k: v, …}` in key order, and Feldera's type names in casts (`CAST(x AS INT ARRAY)`) into DuckDB's;
 *   a cast to VARIANT into `to_json`, which wraps the value rather than parsing a string;
 * - the functions of RENAMED_FUNCTIONS and CALLS (`SAFE_CAST`, `TIMESTAMP_TRUNC(x, UNIT)`,
 *   `TIMESTAMPDIFF(UNIT, a, b)`, `PARSE_JSON` …) into DuckDB's;
 * - `EXTRACT(DOW FROM x)` and `DAYOFWEEK(x)` into Calcite's count of days (see CalciteDays);
 * - unquoted names into lower case (see NameFolder);
 * - and an alias added to each select item that is an expression without one, as Calcite names
 *   it (`EXPR$<n>`, see `Translator.nameExpressions`), DuckDB naming it after its text.
 * Anything else, including a construct of another shape, is kept as written (DuckDB then reports
 * what it cannot read), with its comments and spacing.
 */
export function translateViewQuery(program: string, tokens: Token[], relations: ReadonlySet<string>, columns?: readonly string[]): TranslatedQuery {
  const translator = new Translator(program, tokens, relations, columns);
  const sql = translator.rewrite();
  return {
    sql,
    programOffset: (position) => translator.sourceOffset(position),
    ...(translator.awaitsColumns && { nameAfterColumns: (created: readonly string[]) => translateViewQuery(program, tokens, relations, created) }),
  };
}

/**
 * An ad-hoc query with its unquoted names in lower case (see NameFolder), and nothing else
 * rewritten: Feldera answers these with another engine than its programs' (DataFusion), which
 * folds names alike but has none of the Calcite constructs of `translateViewQuery` (and counts the
 * day of the week from 0 for Sunday, as DuckDB does). A string, quoted name or comment never
 * closed is left for DuckDB to report, as any query it cannot read.
 */
export function foldAdHocQuery(sql: string, relations: ReadonlySet<string>): string {
  const tokens = tokensOrUndefined(sql);
  return tokens ? new NameFolder(sql, tokens, relations).rewrite() : sql;
}

/**
 * Writes every unquoted word in lower case, as Feldera reads it: quoted names, strings and
 * comments are kept. DuckDB itself matches names in any case, but a table is found by its exact
 * name (`T` must be table `t`, not a quoted `"T"`) and a column is named by its alias as written
 * (`AS MyId` must name `myid`), so the fold is written into the text. Keywords, functions and
 * type names mean the same in either case.
 */
class NameFolder extends SqlRewriter {
  /** `relations`: the names of the pipeline's tables and views (folded), which a query may read. */
  constructor(source: string, tokens: Token[], private readonly relations: ReadonlySet<string>) {
    super(source, tokens);
  }

  protected rewriteAt(index: number, _limit: number): Rewrite | undefined {
    const token = this.tokens[index]!;
    if (token.kind !== 'word') return undefined;
    const folded = token.text.toLowerCase();
    // A relation named like one of DuckDB's keywords (`semi`), read after FROM or JOIN or qualifying
    // a column (`semi.k`): DuckDB reads it only quoted.
    const asRelation = this.namesTable(index) || this.isSymbol(index + 1, '.');
    if (asRelation && this.relations.has(folded) && DUCKDB_KEYWORDS.has(token.text.toUpperCase())) {
      return { build: () => `"${folded}"`, next: index + 1 };
    }
    // A word already in lower case is copied, as any other token.
    return folded === token.text ? undefined : { build: () => folded, next: index + 1 };
  }
}

/**
 * Names folded (see NameFolder), and the day of the week counted as Calcite counts it, 1 for
 * Sunday to 7 for Saturday, where DuckDB counts from 0: `EXTRACT(DOW FROM x)` and `DAYOFWEEK(x)`
 * (its abbreviation). `EXTRACT(ISODOW FROM x)`, 1 for Monday to 7 for Sunday, is the same in both.
 */
class CalciteDays extends NameFolder {
  protected override rewriteAt(index: number, limit: number): Rewrite | undefined {
    return this.dayOfWeek(index, limit) ?? super.rewriteAt(index, limit);
  }

  private dayOfWeek(index: number, limit: number): Rewrite | undefined {
    const word = this.word(index);
    if ((word !== 'EXTRACT' && word !== 'DAYOFWEEK') || !this.isSymbol(index + 1, '(')) return undefined;
    const close = this.closing(index + 1, limit);
    if (close === undefined) return undefined;
    const next = close + 1;
    if (word === 'DAYOFWEEK') {
      const args = this.arguments({ from: index + 2, to: close });
      if (args.length !== 1) return undefined;
      return { build: () => `(dayofweek(${this.render(args[0]!)}) + 1)`, next };
    }
    if (this.word(index + 2) !== 'DOW' || this.word(index + 3) !== 'FROM' || index + 4 >= close) return undefined;
    return { build: () => `(extract(dow FROM ${this.render({ from: index + 4, to: close })}) + 1)`, next };
  }
}

/** What a select item is, for the name Calcite gives its column. */
type SelectItem = 'star' | 'column' | 'aliased' | 'expression';

class Translator extends CalciteDays {
  /**
   * The aliases naming select items as Calcite names them, by the index of the token the item
   * ends before (the token count for an item that ends the query): the alias is written there.
   */
  private readonly aliases = new Map<number, string>();
  /** Whether an alias is a placeholder awaiting the view's columns (see `TranslatedQuery.nameAfterColumns`). */
  readonly awaitsColumns: boolean;
  /** Select items named by DuckDB after their text (unaliased expressions of nested selects): their text is kept as written. */
  private readonly namedByText: Span[] = [];

  constructor(source: string, tokens: Token[], relations: ReadonlySet<string>, columns?: readonly string[]) {
    super(source, tokens, relations);
    this.awaitsColumns = this.nameExpressions(columns);
  }

  override rewrite(): string {
    const sql = super.rewrite();
    const alias = this.aliases.get(this.tokens.length);
    return alias === undefined ? sql : `${sql} AS ${alias}`;
  }

  /** The rewrite at `index`: a Feldera construct starting there, else its word folded; after it, the alias of a select item ending before it. */
  protected override rewriteAt(index: number, limit: number): Rewrite | undefined {
    const rewrite = this.construct(index, limit) ?? super.rewriteAt(index, limit);
    const alias = this.aliases.get(index);
    if (alias === undefined) return rewrite;
    const token = this.tokens[index]!;
    const spaced = index > 0 && this.tokens[index - 1]!.end < token.start;
    return {
      build: () => `${spaced ? '' : ' '}AS ${alias}${spaced ? ' ' : ''}${rewrite ? rewrite.build() : this.source.slice(token.start, token.end)}`,
      next: rewrite?.next ?? index + 1,
    };
  }

  /**
   * Names the unaliased expressions of every select list as Calcite does: `EXPR$<n>`, n being the
   * column's place among the select's columns, counted from 0 (those a `*` expands to included);
   * a column reference (`a`, `t.a`) keeps its name, as it does in DuckDB. The columns an
   * expression after a `*` follows are counted once the view exists: in the view's own select
   * list it is named by a placeholder until `columns` (of the view as created with the
   * placeholders) give its place; in a nested select it keeps DuckDB's name. Returns whether
   * placeholders were written.
   */
  private nameExpressions(columns: readonly string[] | undefined): boolean {
    const main = this.mainSelect();
    const ends = this.groupEnds();
    let placeholders = false;
    for (let select = 0; select < this.tokens.length; select += 1) {
      if (this.word(select) !== 'SELECT') continue;
      let place = 0;
      let afterStar = false;
      this.selectItems(select, ends[select]!).forEach((item, number) => {
        const kind = this.itemKind(item);
        if (kind === 'star') {
          afterStar = true;
          return;
        }
        if (kind === 'expression') {
          let name = afterStar ? undefined : `EXPR$${place}`;
          if (afterStar && select === main) {
            const placeholder = `EXPR$?${number}`;
            placeholders ||= columns === undefined;
            const at = columns?.indexOf(placeholder) ?? -1;
            name = columns === undefined ? placeholder : at >= 0 ? `EXPR$${at}` : undefined;
          }
          if (name !== undefined) this.aliases.set(item.to, `"${name}"`);
          else this.namedByText.push(item);
        }
        place += 1;
      });
    }
    return placeholders;
  }

  /**
   * The index of the SELECT whose select list names the view's columns: the query's first, after
   * its WITH clause, inside the parentheses it may start with; undefined for a query of another
   * shape (VALUES …).
   */
  private mainSelect(): number | undefined {
    let index = 0;
    let end = this.tokens.length;
    if (this.word(index) === 'WITH') {
      index += this.word(index + 1) === 'RECURSIVE' ? 2 : 1;
      for (;;) {
        // name [(columns)] AS [[NOT] MATERIALIZED] (query)
        index += 1;
        if (this.isSymbol(index, '(')) index = (this.closing(index, end) ?? end) + 1;
        if (this.word(index) !== 'AS') return undefined;
        index += 1;
        if (this.word(index) === 'NOT') index += 1;
        if (this.word(index) === 'MATERIALIZED') index += 1;
        if (!this.isSymbol(index, '(')) return undefined;
        index = (this.closing(index, end) ?? end) + 1;
        if (!this.isSymbol(index, ',')) break;
        index += 1;
      }
    }
    while (this.isSymbol(index, '(')) {
      const close = this.closing(index, end);
      if (close === undefined) return undefined;
      index += 1;
      end = close;
    }
    return this.word(index) === 'SELECT' ? index : undefined;
  }

  /** The items of the select list of the SELECT at `select`, up to its next clause at its level (or `end`, its group's end). */
  private selectItems(select: number, end: number): Span[] {
    let from = select + 1;
    if (this.word(from) === 'ALL') from += 1;
    else if (this.word(from) === 'DISTINCT') {
      from += 1;
      // DuckDB's DISTINCT ON (…)
      if (this.word(from) === 'ON' && this.opens(from + 1)) from = (this.closing(from + 1, end) ?? end) + 1;
    }
    let to = from;
    while (to < end) {
      if (this.opens(to)) {
        const close = this.closing(to, end);
        if (close === undefined) return [];
        to = close + 1;
        continue;
      }
      const word = this.word(to);
      if (word !== undefined && CLAUSES.has(word) && (CLAUSE_IN_EXPRESSION[word] === undefined || this.word(to - 1) !== CLAUSE_IN_EXPRESSION[word])) break;
      to += 1;
    }
    return from < to ? this.arguments({ from, to }) : [];
  }

  /** For each token, the index of the bracket closing the group it is in (the token count when it is in none, or the group is never closed). */
  private groupEnds(): Int32Array {
    const count = this.tokens.length;
    const ends = new Int32Array(count).fill(count);
    const opened: number[] = [];
    for (let index = 0; index < count; index += 1) {
      if (this.closes(index)) opened.pop();
      const open = opened.at(-1);
      if (open !== undefined) ends[index] = this.closing(open, count) ?? count;
      if (this.opens(index)) opened.push(index);
    }
    return ends;
  }

  /**
   * What a select item is: a `*` (or `t.*`, DuckDB's `COLUMNS(…)`), a column reference (names
   * joined by dots, in parentheses or not), an item with an alias (`AS name`, or a name after the
   * expression), or any other expression. An item in doubt counts as aliased, so that no alias
   * is added to it.
   */
  private itemKind({ from, to }: Span): SelectItem {
    if (from >= to) return 'aliased';
    for (let index = from; index < to; index += 1) {
      if (this.opens(index)) index = this.closing(index, to) ?? to;
      else if (this.isSymbol(index, '*') && (index === from || this.isSymbol(index - 1, '.'))) return 'star';
    }
    if (this.word(from) === 'COLUMNS' && this.isSymbol(from + 1, '(')) return 'star';
    if (this.isAliased(from, to)) return 'aliased';
    while (this.isSymbol(from, '(') && this.closing(from, to) === to - 1) {
      from += 1;
      to -= 1;
    }
    return this.isColumnReference(from, to) ? 'column' : 'expression';
  }

  private isAliased(from: number, to: number): boolean {
    if (to - from < 2) return false;
    if (this.word(to - 2) === 'AS') return true;
    const last = this.tokens[to - 1]!;
    if (!(last.kind === 'quoted' || (last.kind === 'word' && !NOT_ALIASES.has(last.text.toUpperCase())))) return false;
    const before = this.tokens[to - 2]!;
    if (before.kind === 'symbol') return before.text === ')' || before.text === ']';
    return before.kind !== 'word' || !OPERATOR_WORDS.has(before.text.toUpperCase());
  }

  /** Whether the tokens are names joined by dots (`a`, `t.a`, `"T"."A"`), which Calcite names after the last. */
  private isColumnReference(from: number, to: number): boolean {
    if ((to - from) % 2 === 0) return false;
    for (let index = from; index < to; index += 1) {
      const token = this.tokens[index]!;
      const isName = token.kind === 'quoted' || (token.kind === 'word' && !LITERAL_WORDS.has(token.text.toUpperCase()));
      if ((index - from) % 2 === 0 ? !isName : !this.isSymbol(index, '.')) return false;
    }
    return true;
  }

  /** The rewrite of the construct starting at `index`, if one does (and the index after it). */
  /**
   * An integer literal that fits an INTEGER, an operand of arithmetic (`ti + 1`, `2 * si`): an
   * INTEGER in Feldera, so that `TINYINT + 1` is an INTEGER; DuckDB gives such a literal the other
   * operand's type, and `127 + 1` in a TINYINT column overflowed. Not in an unaliased expression
   * of a nested select, which DuckDB names after its text (`(a + 1)`, as the README promises).
   */
  private integerInArithmetic(index: number): string | undefined {
    const token = this.tokens[index]!;
    if (token.kind !== 'number' || !/^[0-9]+$/.test(token.text) || Number(token.text) > 2 ** 31 - 1) return undefined;
    const arithmetic = (at: number) => ARITHMETIC.has(this.tokens[at]?.kind === 'symbol' ? this.tokens[at]!.text : '');
    // In an item DuckDB names after its text, the literal stays as written, and so does the name.
    if (this.namedByText.some((item) => item.from <= index && index < item.to)) return undefined;
    return arithmetic(index - 1) || arithmetic(index + 1) ? token.text : undefined;
  }

  private construct(index: number, limit: number): Rewrite | undefined {
    const word = this.word(index);
    // `a <=> b`: equal, or both NULL (DuckDB writes IS NOT DISTINCT FROM); `MINUS` is EXCEPT.
    if (this.isSymbol(index, '<') && this.isSymbol(index + 1, '=') && this.isSymbol(index + 2, '>') && this.adjacent(index, index + 2)) {
      return { build: () => 'IS NOT DISTINCT FROM', next: index + 3 };
    }
    if (word === 'MINUS') return { build: () => 'EXCEPT', next: index + 1 };
    if (word === 'MAP' && this.isSymbol(index + 1, '[')) return this.mapLiteral(index + 1, limit);
    if (word === 'INTERVAL') return this.intervalLiteral(index);
    const literal = this.integerInArithmetic(index);
    if (literal !== undefined) return { build: () => `CAST(${literal} AS INTEGER)`, next: index + 1 };
    // `x RLIKE 'pattern'` finds the pattern anywhere in x; DuckDB's SIMILAR TO must match all of it.
    const pattern = this.tokens[index + 1];
    if (word === 'RLIKE' && pattern?.kind === 'string') {
      return { build: () => `SIMILAR TO '(?s).*(?:${pattern.text.replaceAll("'", "''")}).*'`, next: index + 2 };
    }
    // `x LIKE 'pattern'` escapes with a backslash unless told otherwise, as in Feldera (DuckDB's LIKE has no escape by default).
    if ((word === 'LIKE' || word === 'ILIKE') && pattern?.kind === 'string' && this.word(index + 2) !== 'ESCAPE') {
      return { build: () => `${word.toLowerCase()} '${pattern.text.replaceAll("'", "''")}' ESCAPE '\\'`, next: index + 2 };
    }
    if (!this.isSymbol(index + 1, '(')) return undefined;
    // SOME(…) is an aggregate, unless it follows a comparison (`x = SOME (SELECT …)`, DuckDB's own quantifier).
    if (word === 'SOME' && !COMPARISONS.has(this.tokens[index - 1]?.text ?? '')) return { build: () => 'bool_or', next: index + 1 };
    const renamed = word !== undefined && Object.hasOwn(RENAMED_FUNCTIONS, word) ? RENAMED_FUNCTIONS[word]! : undefined;
    if (renamed) return { build: () => renamed, next: index + 1 };
    const close = this.closing(index + 1, limit);
    if (close === undefined) return undefined;
    const args = this.arguments({ from: index + 2, to: close });
    const next = close + 1;
    if (word === 'TABLE') return this.window(index + 2, close, next);
    // The whole of a cast's parentheses: a type's own commas (`MAP<K, V>`) are no argument separators.
    if (word !== undefined && Object.hasOwn(CASTS, word)) return this.cast(CASTS[word]!, { from: index + 2, to: close }, close, next);
    if (word === 'SUBSTRING' || word === 'SUBSTR') return this.substring(args, next, word === 'SUBSTR');
    if (word === 'OVERLAY' && args.length === 1) return this.overlay(args[0]!, next);
    const call = word !== undefined && Object.hasOwn(CALLS, word) ? CALLS[word]! : undefined;
    if (call && [call.arity].flat().includes(args.length)) {
      // A unit argument must be one (`date_trunc('hour', ts)`, DuckDB's own form, is left as it is).
      const unit = call.unit === 'first' ? this.unit(args[0]!) : call.unit === 'last' ? this.unit(args.at(-1)!) : '';
      if (unit === undefined) return undefined;
      const values = call.unit === 'first' ? args.slice(1) : call.unit === 'last' ? args.slice(0, -1) : args;
      return { build: () => call.build(values.map((span) => this.render(span)), unit), next };
    }
    if ((word === 'FLOOR' || word === 'CEIL') && args.length === 1) {
      const span = args[0]!;
      const to = span.to - 2;
      const unit = to > span.from && this.word(to) === 'TO' ? this.unit({ from: to + 1, to: span.to }) : undefined;
      if (!unit) return undefined;
      const value = () => this.render({ from: span.from, to });
      if (word === 'FLOOR') return { build: () => `date_trunc('${unit}', ${value()})`, next };
      return {
        build: () => {
          const x = value();
          return `CASE WHEN date_trunc('${unit}', ${x}) = ${x} THEN ${x} ELSE date_trunc('${unit}', ${x}) + INTERVAL 1 ${unit} END`;
        },
        next,
      };
    }
    return undefined;
  }

  /**
   * `CAST(x AS T)` (or TRY_CAST, SAFE_CAST) with T in Feldera's type names (`INT ARRAY`, `MAP<VARCHAR, INT>`,
   * `BIGINT UNSIGNED`) as DuckDB's; a type Feldera's names do not read is left for DuckDB to read.
   */
  private cast(name: string, span: Span, close: number, next: number): Rewrite {
    let as: number | undefined;
    let depth = 0;
    for (let index = span.from; index < span.to; index += 1) {
      if (this.opens(index)) depth += 1;
      else if (this.closes(index)) depth -= 1;
      else if (depth === 0 && this.word(index) === 'AS') as = index;
    }
    const type = as === undefined || as + 1 >= span.to ? undefined : this.sqlType(this.tokens[as + 1]!.start, this.tokens[close]!.start);
    if (as === undefined || type === undefined) return { build: () => `${name}(${this.render(span)})`, next };
    const value = () => this.render({ from: span.from, to: as });
    // A VARIANT wraps the value as it is, a string as a string (DuckDB's cast to JSON would parse
    // it as JSON text, and fail on one that is not): to_json gives its JSON, and never fails.
    if (type.type.kind === 'json') return { build: () => `to_json(${value()})`, next };
    if (holdsVariant(type.type)) return { build: () => `${name}(to_json(${value()}) AS ${type.sql})`, next };
    const to = (x: string) => `${name}(${x} AS ${type.sql})`;
    // A VARIANT (stored as JSON) whose value is not of the type casts to NULL, as in Feldera.
    const variant = (x: string) => `WHEN typeof(${x}) = 'JSON' THEN TRY_CAST(${x} AS ${type.sql})`;
    // A fraction cast to an integer is cut, as Feldera casts (DuckDB's cast rounds: 2.9 would be 3),
    // a VARIANT's too.
    if (type.type.kind === 'int') {
      return {
        build: () => {
          const x = value();
          const fromVariant = `WHEN typeof(${x}) = 'JSON' THEN CASE WHEN json_type(CAST(${x} AS JSON)) = 'DOUBLE' THEN TRY_CAST(trunc(TRY_CAST(${x} AS DOUBLE)) AS ${type.sql}) `
            + `ELSE TRY_CAST(${x} AS ${type.sql}) END `;
          return `CASE ${fromVariant}WHEN typeof(${x}) IN ('FLOAT', 'DOUBLE') THEN ${to(`trunc(CAST(${x} AS DOUBLE))`)} ` +
            `WHEN typeof(${x}) LIKE 'DECIMAL%' THEN ${to(`split_part(CAST(${x} AS VARCHAR), '.', 1)`)} ELSE ${to(x)} END`;
        },
        next,
      };
    }
    // A text that is no date or time is NULL, as in Feldera (DuckDB's cast fails the query; a TRY_CAST needs nothing).
    if (name === 'CAST' && (type.type.kind === 'date' || type.type.kind === 'time' || type.type.kind === 'timestamp')) {
      return {
        build: () => {
          const x = value();
          return `CASE WHEN typeof(${x}) IN ('VARCHAR', 'JSON') THEN TRY_CAST(${x} AS ${type.sql}) ELSE ${to(x)} END`;
        },
        next,
      };
    }
    // A VARIANT holding a string is cast to that string, not to its JSON text with the quotes, and
    // one holding anything else to NULL, as for other types (TO_JSON gives its JSON text). A VARIANT
    // is stored as JSON; the rewrite has no types, so the value's own type decides.
    if (type.type.kind === 'string') {
      return {
        build: () => {
          const x = value();
          const cast = `${name}(${x} AS ${type.sql})`;
          // A boolean is written TRUE or FALSE, as Feldera writes it.
          return `CASE WHEN typeof(${x}) = 'JSON' THEN CASE WHEN json_type(CAST(${x} AS JSON)) = 'VARCHAR' THEN json_extract_string(CAST(${x} AS JSON), '$') END
            WHEN typeof(${x}) = 'BOOLEAN' THEN ${name}(upper(CAST(${x} AS VARCHAR)) AS ${type.sql}) ELSE ${cast} END`;
        },
        next,
      };
    }
    if (name === 'CAST') {
      return {
        build: () => {
          const x = value();
          return `CASE ${variant(x)} ELSE ${to(x)} END`;
        },
        next,
      };
    }
    return { build: () => to(value()), next };
  }

  /**
   * `SUBSTRING(s FROM start [FOR count])` or `SUBSTRING(s, start [, count])` as Feldera reads it: a
   * start before the first character keeps only the characters of the range from the first on
   * (`max(count + start - 1, 0)` of them; DuckDB's would count from the end), and a negative count
   * gives ''. `SUBSTR(s, start [, count])` counts a negative start from the end, as DuckDB does.
   */
  private substring(args: Span[], next: number, fromEnd: boolean): Rewrite | undefined {
    let parts = args;
    if (args.length === 1) {
      const span = args[0]!;
      const from = this.levelWordIn(span, 'FROM');
      if (from === undefined) return undefined;
      const count = this.levelWordIn({ from: from + 1, to: span.to }, 'FOR');
      parts = [{ from: span.from, to: from }, { from: from + 1, to: count ?? span.to }, ...(count === undefined ? [] : [{ from: count + 1, to: span.to }])];
    }
    if (parts.length < 2 || parts.length > 3 || parts.some((part) => part.to <= part.from)) return undefined;
    return {
      build: () => {
        const [text, start, count] = parts.map((part) => this.render(part));
        if (fromEnd) return count === undefined ? `substring(${text}, ${start})` : `substring(${text}, ${start}, greatest(${count}, 0))`;
        const first = `greatest(${start}, 1)`;
        return count === undefined ? `substring(${text}, ${first})`
          : `substring(${text}, ${first}, greatest(CASE WHEN ${start} < 1 THEN ${count} + ${start} - 1 ELSE ${count} END, 0))`;
      },
      next,
    };
  }

  /**
   * `OVERLAY(s PLACING r FROM start [FOR count])`, which DuckDB lacks: s with `count` characters from
   * `start` (as many as r has, without FOR) replaced by r, as the SQL standard defines it.
   */
  private overlay(span: Span, next: number): Rewrite | undefined {
    const placing = this.levelWordIn(span, 'PLACING');
    const from = placing === undefined ? undefined : this.levelWordIn({ from: placing + 1, to: span.to }, 'FROM');
    if (placing === undefined || from === undefined) return undefined;
    const count = this.levelWordIn({ from: from + 1, to: span.to }, 'FOR');
    const parts = [{ from: span.from, to: placing }, { from: placing + 1, to: from }, { from: from + 1, to: count ?? span.to }, ...(count === undefined ? [] : [{ from: count + 1, to: span.to }])];
    if (parts.some((part) => part.to <= part.from)) return undefined;
    return {
      build: () => {
        const [text, replacement, start, length = `length(${this.render(parts[1]!)})`] = parts.map((part) => this.render(part));
        return `(substring(${text}, 1, (${start}) - 1) || ${replacement} || substring(${text}, (${start}) + (${length})))`;
      },
      next,
    };
  }

  /** The first `word` in a span outside its brackets. */
  private levelWordIn(span: Span, word: string): number | undefined {
    for (let index = span.from; index < span.to; index += 1) {
      if (this.opens(index)) index = this.closing(index, span.to) ?? span.to;
      else if (this.word(index) === word) return index;
    }
    return undefined;
  }

  /** The Feldera type written from `start` to just before `end`, and its DuckDB name, if it reads as one. */
  private sqlType(start: number, end: number): { type: DataType; sql: string } | undefined {
    try {
      const read = readSqlType(this.source, start);
      if (read.end > end || this.source.slice(read.end, end).trim() !== '') return undefined;
      return { type: read.field.type, sql: toDuckDBType(read.field.type) };
    } catch {
      return undefined;
    }
  }

  /** `MAP[k1, v1, k2, v2 …]`, the bracket at `open`, as DuckDB's `MAP {k1: v1, …}`. */
  private mapLiteral(open: number, limit: number): Rewrite | undefined {
    const close = this.closing(open, limit);
    if (close === undefined || !this.isSymbol(close, ']')) return undefined;
    const items = this.arguments({ from: open + 1, to: close });
    if (items.length % 2 !== 0) return undefined;
    return {
      next: close + 1,
      build: () => {
        const texts = items.map((span) => this.render(span));
        const pairs = Array.from({ length: texts.length / 2 }, (_, pair) => `${texts[2 * pair]}: ${texts[2 * pair + 1]}`);
        // In key order, as Feldera's maps are (and as pushed maps are kept): equal maps are one value.
        return `map_from_entries(list_sort(map_entries(MAP {${pairs.join(', ')}})))`;
      },
    };
  }

  /**
   * `INTERVAL 'text' FIRST TO LAST` at `index` (see `intervalOfFields`); undefined for an interval
   * of another form. A text not of the qualifier's shape is an error at it, as in Calcite.
   */
  private intervalLiteral(index: number): Rewrite | undefined {
    const text = this.tokens[index + 1];
    const [first, to, last] = [this.word(index + 2), this.word(index + 3), this.word(index + 4)];
    const fields = first !== undefined && to === 'TO' && last !== undefined ? intervalQualifier(first, last) : undefined;
    if (text?.kind !== 'string' || fields === undefined) return undefined;
    const sql = intervalOfFields(text.text, fields);
    if (sql === undefined) throw new SqlTextError(`Illegal interval literal format '${text.text}' for INTERVAL ${first} TO ${last}`, text.start, text.end - text.start);
    return { build: () => sql, next: index + 5 };
  }

  /** `TABLE(TUMBLE(…))` or `TABLE(HOP(…))`, the inner call spanning `from` to `close` (TABLE's closing parenthesis). */
  private window(from: number, close: number, next: number): Rewrite | undefined {
    const kind = this.word(from);
    if ((kind !== 'TUMBLE' && kind !== 'HOP') || !this.isSymbol(from + 1, '(') || this.closing(from + 1, close) !== close - 1) return undefined;
    const args = this.positional(this.arguments({ from: from + 2, to: close - 1 }), kind === 'TUMBLE' ? TUMBLE_PARAMETERS : HOP_PARAMETERS);
    if (args === undefined) return undefined;
    const sizes = kind === 'TUMBLE' ? 1 : 2;
    if (args.length < 2 + sizes || args.length > 3 + sizes) return undefined;
    const [table, descriptor] = args as [Span, Span];
    if (this.word(table.from) !== 'TABLE' || table.to - table.from < 2) return undefined;
    if (this.word(descriptor.from) !== 'DESCRIPTOR' || !this.isSymbol(descriptor.from + 1, '(') || this.closing(descriptor.from + 1, descriptor.to) !== descriptor.to - 1) return undefined;
    return {
      next,
      build: () => {
        const name = this.render({ from: table.from + 1, to: table.to });
        const column = this.render({ from: descriptor.from + 2, to: descriptor.to - 1 });
        const time = `CAST(${column} AS TIMESTAMP)`;
        // TUMBLE's size, or HOP's slide and size; then the offset, if given.
        const values = args.slice(2).map((span) => `(${this.render(span)})`);
        const offset = values[sizes];
        const origin = offset === undefined ? EPOCH : `${EPOCH} + ${offset}`;
        if (kind === 'TUMBLE') {
          const size = values[0]!;
          const start = `time_bucket(${size}, ${time}, ${origin})`;
          return `(SELECT *, ${start} AS window_start, ${start} + ${size} AS window_end FROM ${name} WHERE ${column} IS NOT NULL)`;
        }
        const [slide, size] = [values[0]!, values[1]!];
        const starts = `generate_series(time_bucket(${slide}, ${time} - ${size}, ${origin}) + ${slide}, time_bucket(${slide}, ${time}, ${origin}), ${slide})`;
        return `(SELECT ${name}.*, sluice_hop.window_start, sluice_hop.window_start + ${size} AS window_end
          FROM ${name}, unnest(${starts}) AS sluice_hop(window_start) WHERE ${column} IS NOT NULL)`;
      },
    };
  }

  /**
   * A window function's arguments in their positional order: as they are, or, when every one is
   * named (`"DATA" => TABLE t`, `"SIZE" => INTERVAL 1 HOUR`), by their names; undefined when a
   * name is no parameter's or some are named and some not.
   */
  private positional(args: Span[], parameters: readonly string[]): Span[] | undefined {
    const named = args.map((span) => (span.to - span.from > 3 && this.isSymbol(span.from + 1, '=') && this.isSymbol(span.from + 2, '>')
      ? { name: this.tokens[span.from]!.text.toUpperCase(), value: { from: span.from + 3, to: span.to } } : undefined));
    if (named.every((entry) => entry === undefined)) return args;
    if (named.some((entry) => entry === undefined)) return undefined;
    const byName = new Map(named.map((entry) => [entry!.name, entry!.value]));
    if ([...byName.keys()].some((name) => !parameters.includes(name)) || byName.size !== named.length) return undefined;
    const ordered: Span[] = [];
    for (const parameter of parameters) {
      const value = byName.get(parameter);
      if (value === undefined) break;
      ordered.push(value);
    }
    return ordered.length === byName.size ? ordered : undefined;
  }

  /** Whether the tokens from `first` to `last` are written without a space between them (`<=>`, not `< = >`). */
  private adjacent(first: number, last: number): boolean {
    for (let index = first; index < last; index += 1) if (this.tokens[index]!.end !== this.tokens[index + 1]!.start) return false;
    return true;
  }

  /** The unit a span names (one word of UNITS), lower-cased for DuckDB. */
  private unit(span: Span): string | undefined {
    const word = span.to - span.from === 1 ? this.word(span.from) : undefined;
    return word !== undefined && UNITS.has(word) ? word.toLowerCase() : undefined;
  }
}

function arrayToString(array: string, separator: string, nulls: string | undefined): string {
  const texts = nulls === undefined ? array : `list_transform(${array}, sluice_x -> coalesce(CAST(sluice_x AS VARCHAR), ${nulls}))`;
  return `array_to_string(${texts}, ${separator})`;
}

/** The parameters of Feldera's window table functions, in their positional order (OFFSET may be left out). */
const TUMBLE_PARAMETERS = ['DATA', 'TIMECOL', 'SIZE', 'OFFSET'] as const;
const HOP_PARAMETERS = ['DATA', 'TIMECOL', 'SLIDE', 'SIZE', 'OFFSET'] as const;

/** Whether a type holds a VARIANT inside (`VARIANT ARRAY`, `MAP<VARCHAR, VARIANT>`, a ROW with one). */
function holdsVariant(type: DataType): boolean {
  const pending: DataType[] = [type];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.kind === 'json') return true;
    if (next.kind === 'list') pending.push(next.element);
    else if (next.kind === 'map') pending.push(next.key, next.value);
    else if (next.kind === 'struct') pending.push(...next.fields.map((field) => field.type));
  }
  return false;
}

/** A field of Calcite's interval qualifiers: its unit, the separator before it in a literal's text, and its largest value (unbounded when it leads). */
interface IntervalField {
  unit: string;
  before: string;
  max?: number;
}

/** The fields of Calcite's interval qualifiers, in order. */
const INTERVAL_FIELDS: IntervalField[][] = [
  [{ unit: 'YEAR', before: '' }, { unit: 'MONTH', before: '-', max: 11 }],
  [{ unit: 'DAY', before: '' }, { unit: 'HOUR', before: ' ', max: 23 }, { unit: 'MINUTE', before: ':', max: 59 }, { unit: 'SECOND', before: ':', max: 59 }],
];

/** DuckDB's function making an interval of a number of each field's unit. */
const INTERVAL_FUNCTIONS: Record<string, string> = { YEAR: 'to_years', MONTH: 'to_months', DAY: 'to_days', HOUR: 'to_hours', MINUTE: 'to_minutes' };

/** The fields of an interval qualifier `FIRST TO LAST` of two fields or more (`DAY TO SECOND`); undefined for another. */
function intervalQualifier(first: string, last: string): IntervalField[] | undefined {
  for (const fields of INTERVAL_FIELDS) {
    const [from, to] = [fields.findIndex((field) => field.unit === first), fields.findIndex((field) => field.unit === last)];
    if (from >= 0 && to > from) return fields.slice(from, to + 1);
  }
  return undefined;
}

/**
 * An interval literal's text of a qualifier's fields (`'1-2'` of YEAR TO MONTH, `'3 04:05:06.5'` of
 * DAY TO SECOND, which DuckDB does not read) as a sum of DuckDB's intervals of each field
 * (`(to_years(1) + to_months(2))`), negated for a text starting with `-`; undefined for a text
 * not of its shape, or with a field past its range (a month of 12).
 */
function intervalOfFields(text: string, fields: IntervalField[]): string | undefined {
  const seconds = fields.at(-1)!.unit === 'SECOND';
  const pattern = fields.map((field, index) => `${index === 0 ? '' : field.before}(\\d+)`).join('') + (seconds ? '(?:\\.(\\d{1,9}))?' : '');
  const match = new RegExp(`^([+-]?)${pattern}$`).exec(text.trim());
  if (!match) return undefined;
  const numbers = fields.map((_, index) => Number(match[index + 2]));
  if (fields.some((field, index) => index > 0 && field.max !== undefined && numbers[index]! > field.max)) return undefined;
  const parts = fields.map((field, index) => {
    if (field.unit !== 'SECOND') return `${INTERVAL_FUNCTIONS[field.unit]}(${numbers[index]})`;
    // Seconds to microseconds, exactly: digits past the sixth of a fraction are cut.
    const fraction = (match[fields.length + 2] ?? '').padEnd(6, '0').slice(0, 6);
    return `to_microseconds(${numbers[index]! * 1_000_000 + Number(fraction)})`;
  });
  return `${match[1] === '-' ? '-' : ''}(${parts.join(' + ')})`;
}
