import type { DuckDBStorage } from '../../storage/duckdb/duckdb-storage.ts';
import { quoteIdentifier } from '../../storage/duckdb/sql.ts';
import { BOUNDING_MACROS } from './built-value-bounds.ts';
import { isJsonObject, type JsonObject } from './lossless-json.ts';

export interface SqlMacro {
  name: string;
  params: string[];
  /** The macro's body, an expression over `params`. */
  body: string;
  /** The body aggregates: the macro may not appear in a row predicate. */
  aggregate?: boolean;
}

const cast = (name: string, type: string): SqlMacro => ({ name, params: ['x'], body: `CAST(x AS ${type})` });
const tryCast = (name: string, type: string): SqlMacro => ({ name, params: ['x'], body: `TRY_CAST(x AS ${type})` });
const onTime = (name: string, body: string): SqlMacro => ({ name, params: ['t'], body });
const aggregate = (name: string, params: string[], body: string): SqlMacro => ({ name, params, body, aggregate: true });

/**
 * A text or time as itself, and a number as Unix seconds (fractions dropped), as ClickHouse's
 * `toDateTime` takes both. Macros are bound whatever the argument's type, so each branch must bind
 * for every type: TRY_CAST does, and gives NULL where a type does not convert; a text that is
 * neither fails the last branch's cast with DuckDB's message.
 */
const TO_DATE_TIME = `CASE WHEN TRY_CAST(x AS TIMESTAMP) IS NOT NULL THEN TRY_CAST(x AS TIMESTAMP)
  WHEN TRY_CAST(x AS DOUBLE) IS NOT NULL THEN make_timestamp(CAST(trunc(TRY_CAST(x AS DOUBLE)) AS BIGINT) * 1000000)
  ELSE CAST(CAST(x AS VARCHAR) AS TIMESTAMP) END`;

/** ClickHouse's `toDate` of a number: days since 1970 below 65536, Unix seconds from there. */
const TO_DATE = `CASE WHEN TRY_CAST(x AS DATE) IS NOT NULL THEN TRY_CAST(x AS DATE)
  WHEN TRY_CAST(x AS DOUBLE) < 65536 THEN DATE '1970-01-01' + CAST(trunc(TRY_CAST(x AS DOUBLE)) AS INTEGER)
  WHEN TRY_CAST(x AS DOUBLE) IS NOT NULL THEN CAST(make_timestamp(CAST(trunc(TRY_CAST(x AS DOUBLE)) AS BIGINT) * 1000000) AS DATE)
  ELSE CAST(CAST(x AS VARCHAR) AS DATE) END`;

/** A JSON function of a key, and of two keys (the second inside the first's object). */
function jsonFunction(name: string, body: (path: string) => string): SqlMacro[] {
  const step = (key: string) => `'."' || replace(${key}, '"', '\\"') || '"'`;
  return [
    { name, params: ['json', 'k1'], body: body(`'$' || ${step('k1')}`) },
    { name, params: ['json', 'k1', 'k2'], body: body(`'$' || ${step('k1')} || ${step('k2')}`) },
  ];
}

/**
 * ClickHouse names Tinybird users write, as DuckDB macros over DuckDB's own functions. Function
 * names are case-insensitive in DuckDB, so `toStartOfHour` and `tostartofhour` both work.
 *
 * Already native in DuckDB and so not here: `count()`, `countIf`, `argMax`, `argMin`, `today()`,
 * `ifNull`, `if`, `round`, `lower`, `upper`, `length`. Aggregates work as macros (their bodies
 * are expanded at bind time), including `FILTER (WHERE …)`. What a macro cannot express is rewritten
 * in the query's text by the Tinybird dialect (parametric aggregates such as `quantile(0.9)(x)`,
 * `multiIf`, `formatDateTime`: see dialects/tinybird/clickhouse-sql.ts), and `arrayMap` and
 * `arrayFilter` by the guard (see `rewriteLambdaFirstCall`).
 */
export const CLICKHOUSE_MACROS: readonly SqlMacro[] = [
  onTime('toStartOfMinute', "date_trunc('minute', t)"),
  onTime('toStartOfFiveMinutes', 'time_bucket(INTERVAL 5 MINUTE, t)'),
  onTime('toStartOfFifteenMinutes', 'time_bucket(INTERVAL 15 MINUTE, t)'),
  onTime('toStartOfHour', "date_trunc('hour', t)"),
  onTime('toStartOfDay', "date_trunc('day', t)"),
  onTime('toMonday', "CAST(date_trunc('week', t) AS DATE)"),
  onTime('toStartOfMonth', "CAST(date_trunc('month', t) AS DATE)"),
  onTime('toStartOfQuarter', "CAST(date_trunc('quarter', t) AS DATE)"),
  onTime('toStartOfYear', "CAST(date_trunc('year', t) AS DATE)"),
  onTime('toYear', 'year(t)'),
  onTime('toMonth', 'month(t)'),
  onTime('toDayOfMonth', 'dayofmonth(t)'),
  onTime('toDayOfWeek', 'isodow(t)'),
  onTime('toHour', 'hour(t)'),
  onTime('toMinute', 'minute(t)'),
  onTime('toSecond', 'second(t)'),
  onTime('toYYYYMM', 'year(t) * 100 + month(t)'),
  onTime('toYYYYMMDD', 'year(t) * 10000 + month(t) * 100 + dayofmonth(t)'),
  onTime('toUnixTimestamp', 'CAST(epoch(t) AS BIGINT)'),
  { name: 'now64', params: [], body: 'now()' },
  { name: 'yesterday', params: [], body: 'current_date - 1' },
  { name: 'toDate', params: ['x'], body: TO_DATE },
  { name: 'toDateTime', params: ['x'], body: TO_DATE_TIME },
  // In a time zone: the wall-clock time there of the UTC time.
  { name: 'toDateTime', params: ['x', 'zone'], body: `timezone(zone, timezone('UTC', ${TO_DATE_TIME}))` },
  cast('toString', 'VARCHAR'),
  cast('toInt8', 'TINYINT'),
  cast('toInt16', 'SMALLINT'),
  cast('toInt32', 'INTEGER'),
  cast('toInt64', 'BIGINT'),
  cast('toInt128', 'HUGEINT'),
  cast('toUInt8', 'UTINYINT'),
  cast('toUInt16', 'USMALLINT'),
  cast('toUInt32', 'UINTEGER'),
  cast('toUInt64', 'UBIGINT'),
  cast('toFloat32', 'FLOAT'),
  cast('toFloat64', 'DOUBLE'),
  tryCast('toInt32OrNull', 'INTEGER'),
  tryCast('toInt64OrNull', 'BIGINT'),
  tryCast('toFloat64OrNull', 'DOUBLE'),
  tryCast('toDateOrNull', 'DATE'),
  tryCast('toDateTimeOrNull', 'TIMESTAMP'),
  { name: 'toInt64OrZero', params: ['x'], body: 'COALESCE(TRY_CAST(x AS BIGINT), 0)' },
  { name: 'toFloat64OrZero', params: ['x'], body: 'COALESCE(TRY_CAST(x AS DOUBLE), 0)' },
  { name: 'intDiv', params: ['a', 'b'], body: 'a // b' },
  { name: 'empty', params: ['x'], body: 'length(x) = 0' },
  { name: 'notEmpty', params: ['x'], body: 'length(x) > 0' },
  { name: 'has', params: ['items', 'x'], body: 'list_contains(items, x)' },
  { name: 'splitByChar', params: ['separator', 's'], body: 'string_split(s, separator)' },
  { name: 'replaceAll', params: ['s', 'search', 'replacement'], body: 'replace(s, search, replacement)' },
  { name: 'lowerUTF8', params: ['s'], body: 'lower(s)' },
  { name: 'upperUTF8', params: ['s'], body: 'upper(s)' },
  onTime('toStartOfTenMinutes', 'time_bucket(INTERVAL 10 MINUTE, t)'),
  // ClickHouse's default week (mode 0) starts on Sunday; toMonday's on Monday.
  onTime('toStartOfWeek', 'CAST(t AS DATE) - CAST(dayofweek(t) AS INTEGER)'),
  onTime('toDayOfYear', 'dayofyear(t)'),
  onTime('toQuarter', 'quarter(t)'),
  onTime('toISOWeek', 'week(t)'),
  onTime('toISOYear', 'isoyear(t)'),
  { name: 'fromUnixTimestamp', params: ['n'], body: 'make_timestamp(CAST(n AS BIGINT) * 1000000)' },
  { name: 'arrayJoin', params: ['items'], body: 'unnest(items)' },
  { name: 'splitByString', params: ['separator', 's'], body: 'string_split(s, separator)' },
  { name: 'arrayStringConcat', params: ['items'], body: "array_to_string(items, '')" },
  { name: 'arrayStringConcat', params: ['items', 'separator'], body: 'array_to_string(items, separator)' },
  { name: 'indexOf', params: ['items', 'x'], body: 'coalesce(list_position(items, x), 0)' },
  { name: 'arraySort', params: ['items'], body: 'list_sort(items)' },
  { name: 'arrayReverse', params: ['items'], body: 'list_reverse(items)' },
  // ClickHouse's JSON functions, by key (one, or two for a nested one): a missing value, or one of
  // another JSON type, gives the type's zero ('' , 0, false) as ClickHouse does, not NULL.
  ...jsonFunction('JSONHas', (path) => `coalesce(json_exists(json, ${path}), false)`),
  ...jsonFunction('JSONExtractString', (path) => `CASE WHEN json_type(json, ${path}) = 'VARCHAR' THEN json_extract_string(json, ${path}) ELSE '' END`),
  ...jsonFunction('JSONExtractInt', (path) => `CASE json_type(json, ${path}) WHEN 'BIGINT' THEN CAST(json_extract_string(json, ${path}) AS BIGINT)
    WHEN 'UBIGINT' THEN coalesce(TRY_CAST(json_extract_string(json, ${path}) AS BIGINT), 0)
    WHEN 'DOUBLE' THEN coalesce(TRY_CAST(trunc(CAST(json_extract_string(json, ${path}) AS DOUBLE)) AS BIGINT), 0) ELSE 0 END`),
  ...jsonFunction('JSONExtractFloat', (path) => `CASE WHEN json_type(json, ${path}) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN CAST(json_extract_string(json, ${path}) AS DOUBLE) ELSE 0 END`),
  ...jsonFunction('JSONExtractBool', (path) => `CASE WHEN json_type(json, ${path}) = 'BOOLEAN' THEN CAST(json_extract_string(json, ${path}) AS BOOLEAN) ELSE false END`),
  ...jsonFunction('JSONExtractRaw', (path) => `coalesce(CAST(json_extract(json, ${path}) AS VARCHAR), '')`),
  // ClickHouse's uniq is approximate, but exact for small sets; count(DISTINCT) is exact always.
  aggregate('uniq', ['x'], 'count(DISTINCT x)'),
  aggregate('uniqExact', ['x'], 'count(DISTINCT x)'),
  aggregate('uniqCombined', ['x'], 'approx_count_distinct(x)'),
  aggregate('uniqHLL12', ['x'], 'approx_count_distinct(x)'),
  aggregate('uniqIf', ['x', 'c'], 'count(DISTINCT x) FILTER (WHERE c)'),
  aggregate('sumIf', ['x', 'c'], 'sum(x) FILTER (WHERE c)'),
  aggregate('avgIf', ['x', 'c'], 'avg(x) FILTER (WHERE c)'),
  aggregate('minIf', ['x', 'c'], 'min(x) FILTER (WHERE c)'),
  aggregate('maxIf', ['x', 'c'], 'max(x) FILTER (WHERE c)'),
  // ClickHouse's array aggregates skip NULLs; DuckDB's list keeps them.
  aggregate('groupArray', ['x'], 'list(x) FILTER (WHERE x IS NOT NULL)'),
  aggregate('anyLast', ['x'], 'last(x)'),
  aggregate('groupUniqArray', ['x'], 'list(DISTINCT x) FILTER (WHERE x IS NOT NULL)'),
];

/**
 * Creates (or refreshes) the macros in the database's `main` schema, where user queries resolve
 * unqualified function names: ClickHouse's names, and the checks of built values' sizes that the
 * query guard calls (see BOUNDING_MACROS). Persistent and idempotent: call once at startup.
 */
export async function installSqlFunctions(storage: DuckDBStorage): Promise<void> {
  await storage.transaction(async (tx) => {
    // Macros of one name are its overloads, one per number of arguments, created together.
    const byName = new Map<string, SqlMacro[]>();
    for (const macro of [...CLICKHOUSE_MACROS, ...BOUNDING_MACROS]) byName.set(macro.name, [...(byName.get(macro.name) ?? []), macro]);
    for (const [name, overloads] of byName) {
      await tx.run(`CREATE OR REPLACE MACRO main.${quoteIdentifier(name)}${overloads.map((macro) => `(${macro.params.join(', ')}) AS ${macro.body}`).join(', ')}`);
    }
  });
}

/**
 * ClickHouse's higher-order array functions take the lambda first (`arrayMap(x -> x * 2, arr)`),
 * DuckDB's list functions last, and a macro cannot take a lambda: the guard renames such a call in
 * the parsed query, in place (one array only; several are DuckDB's `list_zip` first).
 */
const LAMBDA_FIRST: Record<string, string> = { arraymap: 'list_transform', arrayfilter: 'list_filter' };

export function rewriteLambdaFirstCall(call: JsonObject, name: string): void {
  const children = call['children'];
  if (!Object.hasOwn(LAMBDA_FIRST, name) || !Array.isArray(children) || children.length !== 2) return;
  const [lambda, items] = children;
  if (!isJsonObject(lambda) || lambda['class'] !== 'LAMBDA') return;
  call['function_name'] = LAMBDA_FIRST[name]!;
  call['children'] = [items!, lambda];
}
