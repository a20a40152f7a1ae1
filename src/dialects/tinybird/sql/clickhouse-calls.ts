/**
 * The tables the ClickHouse rewriter (clickhouse-sql.ts) looks names up in: for calls, the parametric
 * aggregates, lambda-first array functions, renames, functions DuckDB means otherwise, JSONExtract's
 * types and dateAdd's units, each with DuckDB's SQL for it; and the words that end a USING list.
 */

/** A ClickHouse parametric aggregate, as DuckDB's aggregate from the parameters' texts and the arguments'. */
export interface ParametricAggregate {
  /** How many arguments it takes. */
  arity: number;
  /** A quantile of one level, which is 0.5 when the call has no parameters (`quantileExact(x)`). */
  oneLevel?: boolean;
  /** Its parameters are quantile levels, each a number from 0 to 1. */
  levels?: boolean;
  build: (params: string[], args: string[]) => string;
}

/**
 * ClickHouse's quantiles of one level, by name: how many arguments they take (the value first), and
 * DuckDB's aggregate from the level's text and the arguments'. Each has a plural form of many levels
 * (`quantilesExact(0.5, 0.9)(x)`: the same quantiles, in an array) and -If forms (see PARAMETRIC).
 */
const QUANTILE_AT: Record<string, { arity: number; at: (level: string, args: string[]) => string }> = {
  QUANTILE: { arity: 1, at: (level, [value]) => `quantile_cont(${value}, ${level})` },
  QUANTILETDIGEST: { arity: 1, at: (level, [value]) => `quantile_cont(${value}, ${level})` },
  QUANTILEDETERMINISTIC: { arity: 2, at: (level, [value]) => `quantile_cont(${value}, ${level})` },
  // ClickHouse's exact quantile is the element at position ⌊level × count⌋ of the sorted values;
  // quantileExactHigh takes the same one (at 0.5, the higher middle value of an even count).
  QUANTILEEXACT: { arity: 1, at: (level, [value]) => exactQuantile(level, value!) },
  QUANTILEEXACTHIGH: { arity: 1, at: (level, [value]) => exactQuantile(level, value!) },
  // quantileExactLow too, but at 0.5 the lower middle value of an even count.
  QUANTILEEXACTLOW: { arity: 1, at: (level, [value]) => exactQuantile(level, value!, { lowMedian: true }) },
  // quantileTiming is exact for the timings it is made for: the element at ⌊level × count⌋.
  QUANTILETIMING: { arity: 1, at: (level, [value]) => exactQuantile(level, value!) },
  QUANTILEEXACTWEIGHTED: { arity: 2, at: (level, [value, weight]) => weightedQuantile(level, value!, weight!) },
};

/** A quantile's -If form: a condition last, the quantile of the values where it holds (a NULL value is skipped). */
function onlyIf({ arity, oneLevel, levels, build }: ParametricAggregate): ParametricAggregate {
  return {
    arity: arity + 1,
    ...(oneLevel && { oneLevel }),
    ...(levels && { levels }),
    build: (params, [value, ...rest]) => build(params, [`CASE WHEN ${rest.at(-1)} THEN ${value} END`, ...rest.slice(0, -1)]),
  };
}

/**
 * ClickHouse's parametric aggregates, by name (see ParametricAggregate): the quantiles of QUANTILE_AT
 * (`quantileExact(0.9)(x)`), their plural forms (`quantilesExact(0.5, 0.9)(x)`) and the -If forms of
 * both (`quantilesIf(0.5, 0.9)(x, cond)`), topK, and groupArray and groupUniqArray of at most n values.
 */
export const PARAMETRIC: Record<string, ParametricAggregate> = {
  ...Object.fromEntries(Object.entries(QUANTILE_AT).flatMap(([name, { arity, at }]) => {
    const one: ParametricAggregate = { arity, oneLevel: true, levels: true, build: ([level], args) => at(level!, args) };
    const many: ParametricAggregate = { arity, levels: true, build: (levels, args) => `[${levels.map((level) => at(level, args)).join(', ')}]` };
    const plural = name.replace(/^QUANTILE/, 'QUANTILES');
    return [[name, one], [plural, many], [`${name}IF`, onlyIf(one)], [`${plural}IF`, onlyIf(many)]];
  })),
  // ClickHouse's topK is approximate too: the most frequent values, most frequent first.
  TOPK: { arity: 1, build: ([count], [value]) => `coalesce(approx_top_k(${value}, ${count}), [])` },
  // The first n values (NULLs skipped, as ClickHouse's array aggregates skip them), or distinct ones; [] of no rows.
  GROUPARRAY: { arity: 1, build: ([count], [value]) => `coalesce(list_slice(list(${value}) FILTER (WHERE ${value} IS NOT NULL), 1, ${count}), [])` },
  GROUPUNIQARRAY: { arity: 1, build: ([count], [value]) => `coalesce(list_slice(list(DISTINCT ${value}) FILTER (WHERE ${value} IS NOT NULL), 1, ${count}), [])` },
};

/**
 * The element at position ⌊level × count⌋ (from 0; the last from level 1 on) of the sorted values
 * that are not NULL; with `lowMedian`, at level 0.5 the one at ⌊(count - 1) / 2⌋.
 */
export function exactQuantile(level: string, value: string, { lowMedian = false } = {}): string {
  const count = `count(${value})`;
  const position = `least(CAST(floor((${level}) * ${count}) AS BIGINT), ${count} - 1)`;
  const at = lowMedian ? `CASE WHEN (${level}) = 0.5 THEN (${count} - 1) // 2 ELSE ${position} END` : position;
  return `list_sort(list(${value}) FILTER (WHERE ${value} IS NOT NULL))[${at} + 1]`;
}

/**
 * ClickHouse's quantileExactWeighted: over the values in order, each counted `weight` times (a whole
 * number), the first at which the running total of weights reaches ⌈level × the total⌉ (the last if
 * none does). A row whose value or weight is NULL is skipped. The total starts below 0 by that many,
 * so that the lambda takes no expression of the query's (whose names it would shadow).
 */
function weightedQuantile(level: string, value: string, weight: string): string {
  const counted = `${value} IS NOT NULL AND ${weight} IS NOT NULL`;
  const times = `CAST(trunc(${weight}) AS DOUBLE)`;
  const sorted = `list_sort(list({'v': ${value}, 'w': ${times}}) FILTER (WHERE ${counted}))`;
  const start = `{'v': NULL, 'w': -ceil(sum(${times}) FILTER (WHERE ${counted}) * (${level}))}`;
  // Fields by subscript: DuckDB reads `total.v` as a column `total`'s field when the query has one.
  const step = "(total, next) -> CASE WHEN total['v'] IS NOT NULL AND total['w'] >= 0 THEN total ELSE {'v': next['v'], 'w': total['w'] + next['w']} END";
  return `struct_extract(list_reduce(${sorted}, ${step}, ${start}), 'v')`;
}

/** Calls renamed to DuckDB's function of the same meaning (the guard then bounds lpad and rpad as it does). */
export const RENAMED: Record<string, string> = { LAGINFRAME: 'lag', LEADINFRAME: 'lead', LEFTPAD: 'lpad', RIGHTPAD: 'rpad', LEFTPADUTF8: 'lpad', RIGHTPADUTF8: 'rpad' };

/**
 * ClickHouse's functions that DuckDB has by the same name with another meaning (see the `sluice_…`
 * macros of CLICKHOUSE_MACROS, and arrayFlatten for flatten), by name: the numbers of arguments taken,
 * and the macro called. Calls
 * of another shape (`substring(s FROM a FOR b)`) are left as DuckDB reads them.
 */
export const SAME_NAMES: Record<string, { arities: number[]; macro: string }> = {
  LENGTH: { arities: [1], macro: 'sluice_byte_length' },
  POSITION: { arities: [2, 3], macro: 'sluice_byte_position' },
  LEFT: { arities: [2], macro: 'sluice_byte_left' },
  RIGHT: { arities: [2], macro: 'sluice_byte_right' },
  SUBSTRING: { arities: [2, 3], macro: 'sluice_byte_substring' },
  SUBSTR: { arities: [2, 3], macro: 'sluice_byte_substring' },
  LOWER: { arities: [1], macro: 'sluice_ascii_lower' },
  LCASE: { arities: [1], macro: 'sluice_ascii_lower' },
  UPPER: { arities: [1], macro: 'sluice_ascii_upper' },
  UCASE: { arities: [1], macro: 'sluice_ascii_upper' },
  ROUND: { arities: [1, 2], macro: 'sluice_round_half_even' },
  MD5: { arities: [1], macro: 'sluice_md5' },
  SHA1: { arities: [1], macro: 'sluice_sha1' },
  SHA256: { arities: [1], macro: 'sluice_sha256' },
  FLATTEN: { arities: [1], macro: 'arrayFlatten' },
};

/**
 * ClickHouse's toDecimal32(x, S) and its kin, by name: the Decimal's precision, and what a value that
 * does not convert gives (an error, NULL, or 0).
 */
export const DECIMAL_CONVERSIONS: Record<string, { precision: number; otherwise: 'error' | 'null' | 'zero' }> = Object.fromEntries(
  ([['32', 9], ['64', 18], ['128', 38]] as const).flatMap(([bits, precision]) => [
    [`TODECIMAL${bits}`, { precision, otherwise: 'error' }],
    [`TODECIMAL${bits}ORNULL`, { precision, otherwise: 'null' }],
    [`TODECIMAL${bits}ORZERO`, { precision, otherwise: 'zero' }],
  ]),
);

/** ClickHouse's functions of a DateTime64 whose scale is an argument, by name: that argument's place. */
export const SCALED_TIMES: Record<string, number> = { NOW64: 0, TODATETIME64: 1 };

/**
 * ClickHouse's JSONExtract(json, key…, 'Type') by its type's name: the matching JSONExtract* function,
 * or for an Array the elements converted (an empty array when the value is none).
 */
export const JSON_EXTRACT_TYPES: Record<string, string> = {
  String: 'JSONExtractString', Bool: 'JSONExtractBool', Float32: 'JSONExtractFloat', Float64: 'JSONExtractFloat',
  Int8: 'JSONExtractInt', Int16: 'JSONExtractInt', Int32: 'JSONExtractInt', Int64: 'JSONExtractInt',
  UInt8: 'JSONExtractUInt', UInt16: 'JSONExtractUInt', UInt32: 'JSONExtractUInt', UInt64: 'JSONExtractUInt',
};
export const JSON_ARRAY_TYPES: Record<string, string> = { String: 'VARCHAR', Int32: 'INTEGER', Int64: 'BIGINT', UInt32: 'UINTEGER', UInt64: 'UBIGINT', Float64: 'DOUBLE', Bool: 'BOOLEAN' };

/**
 * ClickHouse's higher-order array functions take the lambda first (`arrayMap(x -> x * 2, arr)`),
 * DuckDB's list functions last: each as DuckDB's SQL from the array's text and the lambda's.
 */
export const LAMBDA_FIRST: Record<string, (items: string, lambda: string) => string> = {
  ARRAYMAP: (items, lambda) => `list_transform(${items}, ${lambda})`,
  ARRAYFILTER: (items, lambda) => `list_filter(${items}, ${lambda})`,
  ARRAYCOUNT: (items, lambda) => `length(list_filter(${items}, ${lambda}))`,
  ARRAYEXISTS: (items, lambda) => `coalesce(list_bool_or(list_transform(${items}, ${lambda})), false)`,
  ARRAYALL: (items, lambda) => `coalesce(list_bool_and(list_transform(${items}, ${lambda})), true)`,
  ARRAYFIRST: (items, lambda) => `list_extract(list_filter(${items}, ${lambda}), 1)`,
  ARRAYSUM: (items, lambda) => `coalesce(list_sum(list_transform(${items}, ${lambda})), 0)`,
  ARRAYMAX: (items, lambda) => `list_max(list_transform(${items}, ${lambda}))`,
  ARRAYMIN: (items, lambda) => `list_min(list_transform(${items}, ${lambda}))`,
  // Sorted by the lambda's value of each element (then by the element).
  ARRAYSORT: (items, lambda) => `list_transform(list_sort(list_zip(list_transform(${items}, ${lambda}), ${items})), s -> s[2])`,
  ARRAYREVERSESORT: (items, lambda) => `list_transform(list_reverse_sort(list_zip(list_transform(${items}, ${lambda}), ${items})), s -> s[2])`,
};

/** Words that may not be a USING column: a clause or join that follows. */
export const USING_ENDS = new Set(['WHERE', 'GROUP', 'ORDER', 'LIMIT', 'HAVING', 'JOIN', 'LEFT', 'RIGHT', 'INNER', 'FULL', 'CROSS', 'ANY', 'ALL', 'PREWHERE', 'SETTINGS', 'UNION', 'ARRAY', 'ON']);

/** The lambda-first functions that are also ClickHouse functions of one array (arraySum(arr)), which stay as they are. */
export const LAMBDA_OPTIONAL = new Set(['ARRAYSUM', 'ARRAYMAX', 'ARRAYMIN', 'ARRAYSORT', 'ARRAYREVERSESORT']);

/** A JSON path by keys (SQL texts), as the JSON macros build it. */
export function jsonPathOf(keys: string[]): string {
  return ["'$'", ...keys.map((key) => `'."' || replace(${key}, '"', '\\"') || '"'`)].join(' || ');
}

/** ClickHouse's dateAdd(unit, n, t) and its other names; the unit is a word (`day`) or a string. */
export const DATE_SHIFTS: Record<string, '+' | '-'> = { DATEADD: '+', DATE_ADD: '+', TIMESTAMPADD: '+', TIMESTAMP_ADD: '+', DATESUB: '-', DATE_SUB: '-', TIMESTAMPSUB: '-', TIMESTAMP_SUB: '-' };
export const DATE_UNITS = new Set(['MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'WEEK', 'MONTH', 'QUARTER', 'YEAR']);

/** A regular expression with a capturing group: ClickHouse's `extract` then gives the first group. */
export const CAPTURES = /(^|[^\\])\((?!\?)/;
