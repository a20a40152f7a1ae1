/**
 * The tables the ClickHouse rewriter (clickhouse-sql.ts) looks names up in: for calls, the parametric
 * aggregates, lambda-first array functions, renames, functions DuckDB means otherwise, JSONExtract's
 * types and dateAdd's units, each with DuckDB's SQL for it; and the words that end a USING list.
 */

/**
 * ClickHouse's parametric aggregates, by name: how many arguments they take, and DuckDB's aggregate
 * from the parameters' text and the arguments'.
 */
export const PARAMETRIC: Record<string, { arity: number; build: (params: string, args: string[]) => string }> = {
  QUANTILE: { arity: 1, build: (params, [value]) => `quantile_cont(${value}, ${params})` },
  QUANTILETDIGEST: { arity: 1, build: (params, [value]) => `quantile_cont(${value}, ${params})` },
  // ClickHouse's exact quantile is the element at position floor(level × count) of the sorted values.
  QUANTILEEXACT: { arity: 1, build: (params, [value]) => exactQuantile(params, value!) },
  QUANTILES: { arity: 1, build: (params, [value]) => `quantile_cont(${value}, [${params}])` },
  QUANTILESEXACT: { arity: 1, build: (params, [value]) => `quantile_disc(${value}, [${params}])` },
  // ClickHouse's topK is approximate too: the most frequent values, most frequent first.
  TOPK: { arity: 1, build: (params, [value]) => `coalesce(approx_top_k(${value}, ${params}), [])` },
  QUANTILEIF: { arity: 2, build: (params, [value, condition]) => `quantile_cont(${value}, ${params}) FILTER (WHERE ${condition})` },
  // quantileTiming is exact for the timings it is made for: the element at ⌊level × count⌋.
  QUANTILETIMING: { arity: 1, build: (params, [value]) => exactQuantile(params, value!) },
  QUANTILESTIMING: { arity: 1, build: (params, [value]) => `quantile_cont(${value}, [${params}])` },
  QUANTILEDETERMINISTIC: { arity: 2, build: (params, [value]) => `quantile_cont(${value}, ${params})` },
  // The first n values (NULLs skipped, as ClickHouse's array aggregates skip them), or distinct ones; [] of no rows.
  GROUPARRAY: { arity: 1, build: (params, [value]) => `coalesce(list_slice(list(${value}) FILTER (WHERE ${value} IS NOT NULL), 1, ${params}), [])` },
  GROUPUNIQARRAY: { arity: 1, build: (params, [value]) => `coalesce(list_slice(list(DISTINCT ${value}) FILTER (WHERE ${value} IS NOT NULL), 1, ${params}), [])` },
};

/**
 * ClickHouse's higher-order array functions take the lambda first (`arrayMap(x -> x * 2, arr)`),
 * DuckDB's list functions last: each as DuckDB's SQL from the array's text and the lambda's.
 */
export function exactQuantile(level: string, value: string): string {
  return `list_sort(list(${value}) FILTER (WHERE ${value} IS NOT NULL))[least(CAST(floor((${level}) * count(${value})) AS BIGINT), count(${value}) - 1) + 1]`;
}

/** Calls renamed to DuckDB's function of the same meaning (the guard then bounds lpad and rpad as it does). */
export const RENAMED: Record<string, string> = { LAGINFRAME: 'lag', LEADINFRAME: 'lead', LEFTPAD: 'lpad', RIGHTPAD: 'rpad', LEFTPADUTF8: 'lpad', RIGHTPADUTF8: 'rpad' };

/**
 * ClickHouse's functions that DuckDB has by the same name with another meaning (see the `sluice_…`
 * macros of CLICKHOUSE_MACROS), by name: the numbers of arguments taken, and the macro called. Calls
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
};

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
