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
 * ClickHouse's functions that DuckDB has by the same name with another meaning, by name: the numbers
 * of arguments taken, and DuckDB's SQL from the arguments' texts. A String is bytes to ClickHouse:
 * length, position and substring count bytes (their …UTF8 forms count characters, as DuckDB does),
 * and lower and upper change ASCII letters only; round rounds a Float64 half to even.
 */
export const SAME_NAMES: Record<string, { arities: number[]; build: (args: string[]) => string }> = {
  LENGTH: { arities: [1], build: ([value]) => byteLength(value!) },
  POSITION: { arities: [2], build: ([s, needle]) => bytePosition(s!, needle!) },
  // Lowering ASCII letters only keeps every byte where it was.
  POSITIONCASEINSENSITIVE: { arities: [2], build: ([s, needle]) => bytePosition(asciiLower(s!), asciiLower(needle!)) },
  SUBSTRING: { arities: [2, 3], build: ([s, offset, length]) => byteSubstring(s!, offset!, length) },
  SUBSTR: { arities: [2, 3], build: ([s, offset, length]) => byteSubstring(s!, offset!, length) },
  LOWER: { arities: [1], build: ([s]) => asciiLower(s!) },
  LCASE: { arities: [1], build: ([s]) => asciiLower(s!) },
  UPPER: { arities: [1], build: ([s]) => asciiUpper(s!) },
  UCASE: { arities: [1], build: ([s]) => asciiUpper(s!) },
  ROUND: { arities: [1, 2], build: ([value, digits]) => roundHalfEven(value!, digits) },
};

/** A String's bytes (DuckDB's length counts characters), or an array's elements. */
function byteLength(value: string): string {
  return `CASE WHEN typeof(${value}) = 'VARCHAR' THEN strlen(CAST(${value} AS VARCHAR)) ELSE length(${value}) END`;
}

/** Where `needle` starts in `s`, in bytes from 1 (0 when it is not there), from DuckDB's position in characters. */
function bytePosition(s: string, needle: string): string {
  return `CASE WHEN strpos(${s}, ${needle}) = 0 THEN 0 ELSE strlen(left(${s}, strpos(${s}, ${needle}) - 1)) + 1 END`;
}

/**
 * ClickHouse's substring(s, offset[, length]) in bytes: a negative offset counts from the end, 0
 * gives '', and a negative length leaves that many bytes off the end. The bytes are a slice of the
 * text's UTF-8 (a BLOB), whose bounds count from the end when negative as ClickHouse's offset does:
 * `[offset:length - 1]` for a negative length, `[offset:-1]` to the end. A character cut in two
 * comes out as `?` for each byte kept (ClickHouse gives the bytes themselves, not valid UTF-8).
 */
function byteSubstring(s: string, offset: string, length?: string): string {
  const [o, n] = [`(${offset})`, `(${length})`];
  // From a negative offset, a length that reaches past the end takes the bytes to the end.
  const last = length === undefined
    ? `CASE WHEN ${o} = 0 THEN 0 ELSE -1 END`
    : `CASE WHEN ${o} = 0 THEN 0 WHEN ${n} < 0 THEN ${n} - 1 WHEN ${o} > 0 OR ${o} + ${n} <= 0 THEN ${o} + ${n} - 1 ELSE -1 END`;
  return `decode(encode(${s})[${o}:${last}], 'replace')`;
}

const ASCII_CAPITALS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const asciiLower = (s: string) => `translate(${s}, '${ASCII_CAPITALS}', '${ASCII_CAPITALS.toLowerCase()}')`;
const asciiUpper = (s: string) => `translate(${s}, '${ASCII_CAPITALS.toLowerCase()}', '${ASCII_CAPITALS}')`;

/**
 * ClickHouse rounds a Float64 (or Float32) as C's nearbyint does, half to even, scaled by the digits
 * as it scales them (× 10^n, or ÷ 10^-n for negative n); other numbers, Decimals and integers, half
 * away from zero, as DuckDB's round does. DuckDB binds both branches whatever the type, and the first
 * is cast to round's own type, which the result keeps. Only digits written as a number are taken
 * (ClickHouse wants a constant): with others DuckDB's round stays.
 */
function roundHalfEven(value: string, digits?: string): string {
  const rounded = `round(${digits === undefined ? value : `${value}, ${digits}`})`;
  const n = digits === undefined ? 0 : /^-?\s*\d+$/.test(digits.trim()) ? Number(digits.replace(/\s+/g, '')) : undefined;
  if (n === undefined || Math.abs(n) > 308) return rounded;
  const power = `1e${Math.abs(n)}`;
  const [scale, unscale] = n === 0 ? ['', ''] : n > 0 ? [` * ${power}`, ` / ${power}`] : [` / ${power}`, ` * ${power}`];
  const scaled = `(${value})${scale}`;
  const even = `CASE WHEN ${scaled} - floor(${scaled}) = 0.5 THEN 2 * round(${scaled} / 2) ELSE round(${scaled}) END`;
  return `CASE WHEN typeof(${value}) IN ('DOUBLE', 'FLOAT') THEN cast_to_type((${even})${unscale}, ${rounded}) ELSE ${rounded} END`;
}

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
