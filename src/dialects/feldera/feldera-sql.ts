import { SqlRewriter, type Rewrite, type Span } from '../../core/query/sql-rewriter.ts';
import type { QuerySemantics } from '../../core/query/sql-guard.ts';
import { SqlTextError, tokenizeSql, type Token } from '../../core/query/sql-tokens.ts';
import { readSqlType, toDuckDBType } from '../../core/types/index.ts';

/**
 * A view's query with Feldera's SQL constructs that DuckDB cannot read rewritten into DuckDB SQL,
 * and the way back from a place in the result to the place in the program it came from (for the
 * line and column of an error).
 */
export interface TranslatedQuery {
  sql: string;
  programOffset(position: number): number;
}

/** Feldera's SQL is Calcite's: `/` between integers gives an integer (`7 / 2` is 3), in views and ad-hoc queries. */
export const FELDERA_SEMANTICS: QuerySemantics = { integerDivision: true };

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
};

/** The last character of a comparison operator (the tokenizer splits `<=` into two symbols). */
const COMPARISONS = new Set(['=', '<', '>']);

/** The casts, and the DuckDB function each is. */
const CASTS: Record<string, string> = { CAST: 'CAST', TRY_CAST: 'TRY_CAST', SAFE_CAST: 'TRY_CAST' };

/**
 * Feldera's calls that DuckDB writes another way, by name: how many arguments they take, whether
 * the first is a unit (`HOUR`), and the DuckDB SQL of the call from the other arguments' SQL.
 */
const CALLS: Record<string, { arity: number; unit?: 'first' | 'last'; build: (args: string[], unit: string) => string }> = {
  TIMESTAMP_TRUNC: { arity: 2, unit: 'last', build: ([value], unit) => `date_trunc('${unit}', ${value})` },
  DATE_TRUNC: { arity: 2, unit: 'last', build: ([value], unit) => `CAST(date_trunc('${unit}', ${value}) AS DATE)` },
  TIMESTAMPDIFF: { arity: 3, unit: 'first', build: ([from, to], unit) => `date_sub('${unit}', ${from}, ${to})` },
  DATEDIFF: { arity: 3, unit: 'first', build: ([from, to], unit) => `date_sub('${unit}', ${from}, ${to})` },
  TIMESTAMPADD: { arity: 3, unit: 'first', build: ([count, time], unit) => `(${time} + (${count}) * INTERVAL 1 ${unit})` },
  DATEADD: { arity: 3, unit: 'first', build: ([count, time], unit) => `(${time} + (${count}) * INTERVAL 1 ${unit})` },
  FORMAT_DATE: { arity: 2, build: ([format, value]) => `strftime(${value}, ${format})` },
  FORMAT_TIMESTAMP: { arity: 2, build: ([format, value]) => `strftime(${value}, ${format})` },
  PARSE_TIMESTAMP: { arity: 2, build: ([format, text]) => `strptime(${text}, ${format})` },
  PARSE_DATE: { arity: 2, build: ([format, text]) => `CAST(strptime(${text}, ${format}) AS DATE)` },
  PARSE_JSON: { arity: 1, build: ([text]) => `CASE WHEN json_valid(${text}) THEN CAST(${text} AS JSON) END` },
  SORT_ARRAY: { arity: 1, build: ([array]) => `list_sort(${array})` },
  // An array's length or a map's entry count, through JSON: DuckDB's cardinality takes maps only, and the type is not known here.
  CARDINALITY: { arity: 1, build: ([value]) => `coalesce(nullif(json_array_length(to_json(${value})), 0), len(json_keys(to_json(${value}))))` },
  // Each run of letters and digits with its first character upper-cased and the rest lower-cased.
  INITCAP: { arity: 1, build: ([text]) => `array_to_string(list_transform(regexp_extract_all(${text}, '[\\pL\\pN]+|[^\\pL\\pN]+'), w -> upper(w[1]) || lower(w[2:])), '')` },
  ELEMENT: { arity: 1, build: ([array]) => `CASE len(${array}) WHEN 0 THEN NULL WHEN 1 THEN (${array})[1] ELSE error('ELEMENT of an array with more than one element') END` },
};

/**
 * Rewrites, anywhere in a view's query (`tokens`, positions in `program`):
 * - `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), size [, offset]))` into the rows of `t` (those with a
 *   time) with `window_start` and `window_end`, windows aligned on the epoch (plus the offset);
 * - `TABLE(HOP(TABLE t, DESCRIPTOR(ts), slide, size [, offset]))` the same, each row once for every
 *   window of `size`, starting every `slide`, that holds it;
 * - `FLOOR(x TO UNIT)` into `date_trunc`, `CEIL(x TO UNIT)` into the next boundary unless x is one;
 * - `x RLIKE 'pattern'` into `x SIMILAR TO` the pattern anywhere;
 * - `MAP[k, v, …]` into `MAP {k: v, …}`, and Feldera's type names in casts (`CAST(x AS INT ARRAY)`) into DuckDB's;
 * - the functions of RENAMED_FUNCTIONS and CALLS (`SAFE_CAST`, `TIMESTAMP_TRUNC(x, UNIT)`,
 *   `TIMESTAMPDIFF(UNIT, a, b)`, `PARSE_JSON` …) into DuckDB's;
 * - `EXTRACT(DOW FROM x)` and `DAYOFWEEK(x)` into Calcite's count of days (see CalciteDays);
 * - unquoted names into lower case (see NameFolder).
 * Anything else, including a construct of another shape, is kept as written (DuckDB then reports
 * what it cannot read), with its comments and spacing.
 */
export function translateViewQuery(program: string, tokens: Token[]): TranslatedQuery {
  const translator = new Translator(program, tokens);
  const sql = translator.rewrite();
  return { sql, programOffset: (position) => translator.sourceOffset(position) };
}

/**
 * An ad-hoc query with its unquoted names in lower case (see NameFolder), and nothing else
 * rewritten: Feldera answers these with another engine than its programs' (DataFusion), which
 * folds names alike but has none of the Calcite constructs of `translateViewQuery` (and counts the
 * day of the week from 0 for Sunday, as DuckDB does). A string, quoted name or comment never
 * closed is left for DuckDB to report, as any query it cannot read.
 */
export function foldAdHocQuery(sql: string): string {
  let tokens: Token[];
  try {
    tokens = tokenizeSql(sql);
  } catch (error) {
    if (error instanceof SqlTextError) return sql;
    throw error;
  }
  return new NameFolder(sql, tokens).rewrite();
}

/**
 * Writes every unquoted word in lower case, as Feldera reads it: quoted names, strings and
 * comments are kept. DuckDB itself matches names in any case, but a table is found by its exact
 * name (`T` must be table `t`, not a quoted `"T"`) and a column is named by its alias as written
 * (`AS MyId` must name `myid`), so the fold is written into the text. Keywords, functions and
 * type names mean the same in either case.
 */
class NameFolder extends SqlRewriter {
  protected rewriteAt(index: number, _limit: number): Rewrite | undefined {
    const token = this.tokens[index]!;
    if (token.kind !== 'word') return undefined;
    const folded = token.text.toLowerCase();
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

class Translator extends CalciteDays {
  /** The rewrite at `index`: a Feldera construct starting there, else its word folded. */
  protected override rewriteAt(index: number, limit: number): Rewrite | undefined {
    return this.construct(index, limit) ?? super.rewriteAt(index, limit);
  }

  /** The rewrite of the construct starting at `index`, if one does (and the index after it). */
  private construct(index: number, limit: number): Rewrite | undefined {
    const word = this.word(index);
    if (word === 'MAP' && this.isSymbol(index + 1, '[')) return this.mapLiteral(index + 1, limit);
    // `x RLIKE 'pattern'` finds the pattern anywhere in x; DuckDB's SIMILAR TO must match all of it.
    const pattern = this.tokens[index + 1];
    if (word === 'RLIKE' && pattern?.kind === 'string') {
      return { build: () => `SIMILAR TO '(?s).*(?:${pattern.text.replaceAll("'", "''")}).*'`, next: index + 2 };
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
    const call = word !== undefined && Object.hasOwn(CALLS, word) ? CALLS[word]! : undefined;
    if (call && call.arity === args.length) {
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
    return { build: () => `${name}(${this.render({ from: span.from, to: as })} AS ${type})`, next };
  }

  /** The DuckDB name of the Feldera type written from `start` to just before `end`, if it reads as one. */
  private sqlType(start: number, end: number): string | undefined {
    try {
      const read = readSqlType(this.source, start);
      return read.end <= end && this.source.slice(read.end, end).trim() === '' ? toDuckDBType(read.field.type) : undefined;
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
        return `MAP {${pairs.join(', ')}}`;
      },
    };
  }

  /** `TABLE(TUMBLE(…))` or `TABLE(HOP(…))`, the inner call spanning `from` to `close` (TABLE's closing parenthesis). */
  private window(from: number, close: number, next: number): Rewrite | undefined {
    const kind = this.word(from);
    if ((kind !== 'TUMBLE' && kind !== 'HOP') || !this.isSymbol(from + 1, '(') || this.closing(from + 1, close) !== close - 1) return undefined;
    const args = this.arguments({ from: from + 2, to: close - 1 });
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

  /** The unit a span names (one word of UNITS), lower-cased for DuckDB. */
  private unit(span: Span): string | undefined {
    const word = span.to - span.from === 1 ? this.word(span.from) : undefined;
    return word !== undefined && UNITS.has(word) ? word.toLowerCase() : undefined;
  }
}
