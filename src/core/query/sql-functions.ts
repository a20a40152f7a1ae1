import type { DuckDBStorage } from '../../storage/duckdb/duckdb-storage.ts';
import { quoteIdentifier } from '../../storage/duckdb/sql.ts';
import { BOUNDING_MACROS, MAX_PAIRWISE_WORK } from './built-value-bounds.ts';
import { FUNNEL_MACROS } from './funnel-functions.ts';
import { CLICKHOUSE_FALSE_TEXTS, CLICKHOUSE_TRUE_TEXTS, timestampFromText } from '../ingest/coercion.ts';

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
/**
 * A function of a time, and its form with a time zone (`toHour(t, 'Asia/Tokyo')`): the same of the
 * time's wall clock there. Functions of the instant itself (a Unix timestamp) take no zone.
 */
const onTime = (name: string, body: string, { zoned = true } = {}): SqlMacro[] => [
  { name, params: ['t'], body },
  ...(zoned ? [{ name, params: ['t', 'zone'], body: body.replace(/\bt\b/g, "timezone(zone, timezone('UTC', t))") }] : []),
];
/**
 * A DuckDB time that ClickHouse's function gives as a DateTime (whole seconds, `DateTime` in meta):
 * `value` must have no fraction of a second left, as the cast would round it.
 */
const dateTime = (value: string) => `CAST(${value} AS TIMESTAMP_S)`;
/** ClickHouse's number types (`toInt8`, `toUInt64OrNull`, …) as DuckDB's. */
const NUMBER_TYPES: Record<string, string> = {
  Int8: 'TINYINT', Int16: 'SMALLINT', Int32: 'INTEGER', Int64: 'BIGINT', Int128: 'HUGEINT',
  UInt8: 'UTINYINT', UInt16: 'USMALLINT', UInt32: 'UINTEGER', UInt64: 'UBIGINT', Float32: 'FLOAT', Float64: 'DOUBLE',
};
const aggregate = (name: string, params: string[], body: string): SqlMacro => ({ name, params, body, aggregate: true });
/**
 * A function of an array that compares or adds every element with every other (its cost grows with
 * the square of the length, in one call DuckDB cannot interrupt): refused past 10⁴ elements, 10⁸
 * steps, as the pairwise text comparisons are (see MAX_PAIRWISE_WORK). 10⁵ elements held a core for
 * two minutes, past the query's time limit.
 */
const MAX_PAIRWISE_ELEMENTS = Math.floor(Math.sqrt(MAX_PAIRWISE_WORK));
const pairwiseOnArray = (name: string, body: string): SqlMacro => ({
  name, params: ['items'],
  body: `CASE WHEN len(items) > ${MAX_PAIRWISE_ELEMENTS}
    THEN error(printf('Function ${name} takes arrays of at most ${MAX_PAIRWISE_ELEMENTS} elements (its work grows with the square of the length), not %d', len(items)))
    ELSE ${body} END`,
});

/**
 * A text or time as itself, and a number as Unix seconds (fractions dropped), as ClickHouse's
 * `toDateTime` takes both. Macros are bound whatever the argument's type, so each branch must bind
 * for every type: TRY_CAST does, and gives NULL where a type does not convert; a text that is
 * neither fails the last branch's cast with DuckDB's message.
 */
const TO_DATE_TIME = `CASE WHEN TRY_CAST(x AS TIMESTAMP) IS NOT NULL THEN TRY_CAST(x AS TIMESTAMP)
  WHEN TRY_CAST(x AS DOUBLE) IS NOT NULL THEN make_timestamp(CAST(trunc(TRY_CAST(x AS DOUBLE)) AS BIGINT) * 1000000)
  ELSE CAST(CAST(x AS VARCHAR) AS TIMESTAMP) END`;

/** `toDateTime` keeping fractions of a second (of a number too), cut to `scale` digits (at most 6). */
const TO_DATE_TIME_64 = `make_timestamp(epoch_us(CASE WHEN TRY_CAST(x AS TIMESTAMP) IS NOT NULL THEN TRY_CAST(x AS TIMESTAMP)
  WHEN TRY_CAST(x AS DOUBLE) IS NOT NULL THEN make_timestamp(CAST(TRY_CAST(x AS DOUBLE) * 1000000 AS BIGINT))
  ELSE CAST(CAST(x AS VARCHAR) AS TIMESTAMP) END) // CAST(10 ** (6 - least(scale, 6)) AS BIGINT) * CAST(10 ** (6 - least(scale, 6)) AS BIGINT))`;

/**
 * `time` (a TIMESTAMP of `x`) as the wall clock in `zone`: a time or a number is an instant, shown
 * there; a text is read as that zone's wall clock already, as ClickHouse parses it in the zone given.
 */
const inZone = (time: string): string => `CASE WHEN typeof(x) = 'VARCHAR' THEN ${time} ELSE timezone(zone, timezone('UTC', ${time})) END`;

/** ClickHouse's formatReadableQuantity: two decimals and the name of the power of a thousand (`1.23 million`). */
const READABLE_QUANTITY = `CASE WHEN abs(x) >= 1e15 THEN printf('%.2f quadrillion', x / 1e15) WHEN abs(x) >= 1e12 THEN printf('%.2f trillion', x / 1e12)
  WHEN abs(x) >= 1e9 THEN printf('%.2f billion', x / 1e9) WHEN abs(x) >= 1e6 THEN printf('%.2f million', x / 1e6)
  WHEN abs(x) >= 1e3 THEN printf('%.2f thousand', x / 1e3) ELSE printf('%.2f', CAST(x AS DOUBLE)) END`;

const inList = (texts: string[]) => texts.map((text) => `'${text}'`).join(', ');
/** ClickHouse's toBool: a number is true unless 0, a text one of ClickHouse's Bool words (anything else is an error). */
const TO_BOOL = `CASE WHEN x IS NULL THEN NULL
  WHEN typeof(x) = 'VARCHAR' THEN CASE WHEN lower(CAST(x AS VARCHAR)) IN (${inList(CLICKHOUSE_TRUE_TEXTS)}) THEN true
    WHEN lower(CAST(x AS VARCHAR)) IN (${inList(CLICKHOUSE_FALSE_TEXTS)}) THEN false
    ELSE error('toBool: cannot read "' || CAST(x AS VARCHAR) || '" as a Bool') END
  ELSE TRY_CAST(x AS DOUBLE) <> 0 END`;

/**
 * ClickHouse's transform(x, matches, results[, otherwise]): the result at the place of x among the
 * matches (the first such place), else `otherwise` (x itself without it).
 */
const transform = (otherwise: string) => `CASE WHEN len(matches) <> len(results) THEN error('transform: the arrays of values and of results must have the same size')
  WHEN list_position(matches, x) IS NULL THEN ${otherwise} ELSE results[list_position(matches, x)] END`;

/**
 * ClickHouse's isValidJSON: a document simdjson reads. DuckDB's json_valid also takes trailing
 * commas and NaN and Infinity, which standard JSON (and ClickHouse) does not: outside the strings
 * (removed first) a document json_valid takes has no other letters than those of true, false, null
 * and exponents, so `nan` or `inf` there is one of those.
 */
const VALID_JSON = `json_valid(s) AND NOT regexp_matches(regexp_replace(s, '"(?:[^"\\\\]|\\\\.)*"', '', 'g'), ',\\s*[\\]}]|(?i:nan|inf)')`;

/**
 * A number for ClickHouse's toDecimal32(x, S) and its kin, as the text of its value with no more than
 * `scale` decimals: the rest are cut, not rounded, as ClickHouse cuts them (the Tinybird rewrite casts
 * the text to the Decimal). A Float is scaled as a Float, so 1.15 is 1.14 at scale 2 as in ClickHouse;
 * a text, an integer or a Decimal keeps its digits.
 */
const DECIMAL_TEXT = `CASE WHEN typeof(x) IN ('FLOAT', 'DOUBLE') THEN CAST(trunc(TRY_CAST(x AS DOUBLE) * power(10, scale)) / power(10, scale) AS VARCHAR)
  WHEN typeof(x) = 'BOOLEAN' THEN CAST(TRY_CAST(x AS INTEGER) AS VARCHAR)
  ELSE regexp_replace(trim(CAST(x AS VARCHAR)), '^([+-]?[0-9]*\\.[0-9]{' || scale || '})[0-9]*$', '\\1') END`;

/**
 * ClickHouse's toWeek modes that are done here, by number: 0 (weeks from Sunday, 0 before the first
 * Sunday of the year), 1 (weeks from Monday, week 1 the first with four days of the year, 0 before
 * it; no week of the next year) and 3 (ISO 8601 weeks, as toISOWeek).
 */
const WEEK_MODES: Record<number, string> = {
  0: `CASE WHEN dayofyear(t) < 1 + (7 - dayofweek(date_trunc('year', t))) % 7 THEN 0
    ELSE (dayofyear(t) - 1 - (7 - dayofweek(date_trunc('year', t))) % 7) // 7 + 1 END`,
  1: `CASE WHEN CAST(t AS DATE) < CAST(date_trunc('week', make_date(year(t), 1, 4)) AS DATE) THEN 0
    ELSE date_diff('day', CAST(date_trunc('week', make_date(year(t), 1, 4)) AS DATE), CAST(t AS DATE)) // 7 + 1 END`,
  3: 'week(t)',
};
const TO_WEEK = `CASE mode ${Object.entries(WEEK_MODES).map(([mode, body]) => `WHEN ${mode} THEN ${body}`).join(' ')}
  ELSE error('toWeek: mode ' || CAST(mode AS VARCHAR) || ' is not supported (modes ${Object.keys(WEEK_MODES).join(', ')} are)') END`;

/**
 * ClickHouse's arrayCumSumNonNegative: running sums, each below 0 taken as 0 before the next is added,
 * in the type of arrayCumSum's. Fields by subscript: DuckDB reads `running.sum` as a column
 * `running`'s field when the query has one.
 */
const CUM_SUM_NON_NEGATIVE = `struct_extract(list_reduce(list_transform(items, x -> {'sum': x, 'sums': []}),
  (running, next) -> {'sum': greatest(running['sum'] + next['sum'], 0), 'sums': list_append(running['sums'], greatest(running['sum'] + next['sum'], 0))},
  {'sum': coalesce(list_sum(list_slice(items, 1, 0)), 0), 'sums': list_slice([list_sum(items)], 1, 0)}), 'sums')`;

/** `t` moved by `n` of a unit, for ClickHouse's addDays, subtractHours and the like. */
function shiftBy(unit: string, interval: (n: string) => string): SqlMacro[] {
  return [
    { name: `add${unit}`, params: ['t', 'n'], body: `t + ${interval('n')}` },
    { name: `subtract${unit}`, params: ['t', 'n'], body: `t - ${interval('n')}` },
  ];
}

/**
 * ClickHouse's parseDateTimeBestEffort: the texts the ingest rule for timestamps reads (ISO 8601 and
 * RFC 3339 with offsets, `YYYY-MM-DD HH:MM:SS`, a date, Unix seconds or milliseconds), in UTC, and
 * ClickHouse's other shapes: `YYYYMMDD` and `YYYYMMDDhhmmss` (not Unix times), a date whose day comes
 * first (`03/02/2024`, `3.2.2024 10:00`, `03-02-24`), or with the US forms its month, and RFC 1123's
 * and English month names (`Sat, 18 Aug 2018 07:22:16 GMT`, `Aug 18 2018`, `18 August 2018`). These
 * are tried first: DuckDB's cast reads `03-02-24` as the year 3.
 */
const bestEffort = (dayFirst: boolean): string => {
  const date = dayFirst ? '%d{s}%m{s}' : '%m{s}%d{s}';
  const numeric = ['/', '.', '-'].flatMap((separator) => ['%y', '%Y'].map((year) => `${date.replaceAll('{s}', separator)}${year}`));
  const named = ['%d %b %Y', '%b %d %Y', '%b %d, %Y', '%d %B %Y', '%B %d %Y', '%B %d, %Y', '%a, %d %b %Y', '%a %b %d %Y'];
  const formats = [...numeric, ...named].flatMap((format) => [`${format} %H:%M:%S.%f`, `${format} %H:%M:%S`, `${format} %H:%M`, format]);
  const text = 'trim(CAST(s AS VARCHAR))';
  return `CASE WHEN regexp_full_match(${text}, '[0-9]{14}') THEN try_strptime(${text}, '%Y%m%d%H%M%S')
    WHEN regexp_full_match(${text}, '[0-9]{8}') THEN try_strptime(${text}, '%Y%m%d')
    ELSE coalesce(try_strptime(regexp_replace(${text}, ' (GMT|UTC|Z)$', ''), [${formats.map((format) => `'${format}'`).join(', ')}]), ${timestampFromText('s', false)}) END`;
};
const BEST_EFFORT = bestEffort(true);
const BEST_EFFORT_US = bestEffort(false);

/** A best-effort parse as ClickHouse's three calls: failing on a text it cannot read, `OrNull`, `OrZero` (1970-01-01). */
function bestEffortCalls(name: string, parsed: string, typed: (time: string) => string): SqlMacro[] {
  return [
    { name, params: ['s'], body: `CASE WHEN s IS NOT NULL AND (${parsed}) IS NULL THEN error('${name}: cannot read "' || s || '" as a date and time') ELSE ${typed(parsed)} END` },
    { name: `${name}OrNull`, params: ['s'], body: typed(parsed) },
    { name: `${name}OrZero`, params: ['s'], body: typed(`coalesce(${parsed}, TIMESTAMP '1970-01-01 00:00:00')`) },
  ];
}

/** ClickHouse's `toDate` of a number: days since 1970 below 65536, Unix seconds from there. */
const TO_DATE = `CASE WHEN TRY_CAST(x AS DATE) IS NOT NULL THEN TRY_CAST(x AS DATE)
  WHEN TRY_CAST(x AS DOUBLE) < 65536 THEN DATE '1970-01-01' + CAST(trunc(TRY_CAST(x AS DOUBLE)) AS INTEGER)
  WHEN TRY_CAST(x AS DOUBLE) IS NOT NULL THEN CAST(make_timestamp(CAST(trunc(TRY_CAST(x AS DOUBLE)) AS BIGINT) * 1000000) AS DATE)
  ELSE CAST(CAST(x AS VARCHAR) AS DATE) END`;

/**
 * A JSON function's body over a document that is not JSON as over none (NULL): ClickHouse gives its
 * defaults there ('', 0, false, []), where DuckDB's json functions would fail the whole query.
 */
const overValidJson = (body: string) => body.replace(/\bjson\b/g, '(CASE WHEN json_valid(json) THEN json END)');

/**
 * A JSON function of a key, and of two keys (the second inside the first's value). A key is a
 * member's name, or an index into an array, as in ClickHouse: from 1, or from the end when negative
 * (0 finds nothing).
 */
function jsonFunction(name: string, body: (path: string) => string, { wholeDocument = false } = {}): SqlMacro[] {
  const step = (key: string) => `CASE WHEN typeof(${key}) IN ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT')
    THEN '[' || CASE WHEN TRY_CAST(${key} AS BIGINT) > 0 THEN CAST(TRY_CAST(${key} AS BIGINT) - 1 AS VARCHAR) WHEN TRY_CAST(${key} AS BIGINT) < 0 THEN '#' || CAST(TRY_CAST(${key} AS BIGINT) AS VARCHAR) END || ']'
    ELSE '."' || replace(CAST(${key} AS VARCHAR), '"', '\\"') || '"' END`;
  return [
    ...(wholeDocument ? [{ name, params: ['json'], body: overValidJson(body("'$'")) }] : []),
    { name, params: ['json', 'k1'], body: overValidJson(body(`'$' || ${step('k1')}`)) },
    { name, params: ['json', 'k1', 'k2'], body: overValidJson(body(`'$' || ${step('k1')} || ${step('k2')}`)) },
  ];
}

/** ClickHouse's JSONExtractInt: a number's whole part, 0 for anything else (JSON_INT reads it, as BIGINT). */
const JSON_INT = (path: string) => `CASE json_type(json, ${path}) WHEN 'BIGINT' THEN CAST(json_extract_string(json, ${path}) AS BIGINT)
    WHEN 'UBIGINT' THEN coalesce(TRY_CAST(json_extract_string(json, ${path}) AS BIGINT), 0)
    WHEN 'DOUBLE' THEN coalesce(TRY_CAST(trunc(CAST(json_extract_string(json, ${path}) AS DOUBLE)) AS BIGINT), 0) ELSE 0 END`;
const JSON_STRING = (path: string) => `CASE WHEN json_type(json, ${path}) = 'VARCHAR' THEN json_extract_string(json, ${path}) ELSE '' END`;
const JSON_FLOAT = (path: string) => `CASE WHEN json_type(json, ${path}) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN CAST(json_extract_string(json, ${path}) AS DOUBLE) ELSE 0 END`;
const JSON_BOOL = (path: string) => `CASE WHEN json_type(json, ${path}) = 'BOOLEAN' THEN CAST(json_extract_string(json, ${path}) AS BOOLEAN) ELSE false END`;
const JSON_RAW = (path: string) => `coalesce(CAST(json_extract(json, ${path}) AS VARCHAR), '')`;

/** A URL's parts, by ClickHouse's rules: the scheme and `//` are optional before the host. */
const URL_HOST = "regexp_extract(url, '^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?(?://)?(?:[^@/?#]*@)?([^:/?#]*)', 1)";
const URL_PATH = "regexp_extract(url, '^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//[^/?#]*([^?#]*)', 1)";

/**
 * A ClickHouse integer conversion: a number's fraction is dropped (toInt32(2.7) is 2; DuckDB's cast
 * rounds it); what no decimal holds is cast from its text. `safe` gives NULL rather than an error.
 * (Every branch must bind whatever the argument's type, as macros are bound before they run.)
 */
function toInteger(type: string, safe: boolean): string {
  const cast = safe ? 'TRY_CAST' : 'CAST';
  // A DateTime is its Unix seconds, a Date its days since 1970, as ClickHouse converts them.
  return `CASE WHEN typeof(x) = 'DATE' THEN ${cast}(date_diff('day', DATE '1970-01-01', TRY_CAST(x AS DATE)) AS ${type})
    WHEN typeof(x) LIKE 'TIMESTAMP%' THEN ${cast}(epoch(TRY_CAST(x AS TIMESTAMP)) AS ${type})
    WHEN TRY_CAST(x AS DECIMAL(38, 10)) IS NULL THEN ${cast}(CAST(x AS VARCHAR) AS ${type}) ELSE ${cast}(trunc(TRY_CAST(x AS DECIMAL(38, 10))) AS ${type}) END`;
}

const ASCII_CAPITALS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** SQL: where `needle` starts in `text`, in bytes from 1 (0 when it is not there), from DuckDB's position in characters. */
function bytePosition(text: string): string {
  return `CASE WHEN strpos(${text}, needle) = 0 THEN 0 ELSE strlen(left(${text}, strpos(${text}, needle) - 1)) + 1 END`;
}

/**
 * SQL: where `search(from)`, a search of the text from `from` on, finds its needle, as a place in the
 * whole text; 0 when it does not, or when `from` is past the text's end (`size` + 1 is its end).
 */
function searchFrom(from: string, size: string, search: (from: string) => string): string {
  return `CASE WHEN ${from} > ${size} + 1 THEN 0 WHEN ${search(from)} = 0 THEN 0 ELSE ${search(from)} + ${from} - 1 END`;
}

/**
 * ClickHouse rounds a Float64 (or Float32) of `x` as C's nearbyint does, half to even, once scaled
 * (`scaled`, unscaled again by `unscale`); other numbers, Decimals and integers, half away from zero
 * as DuckDB's `rounded` does. DuckDB binds both branches whatever the type, and the first is cast to
 * round's own type, which the result keeps.
 */
function roundHalfEven(scaled: string, rounded: string, unscale = (even: string) => even): string {
  const even = `CASE WHEN ${scaled} - floor(${scaled}) = 0.5 THEN 2 * round((${scaled}) / 2) ELSE round(${scaled}) END`;
  return `CASE WHEN typeof(x) IN ('DOUBLE', 'FLOAT') THEN cast_to_type(${unscale(even)}, ${rounded}) ELSE ${rounded} END`;
}

/**
 * ClickHouse names Tinybird users write, as DuckDB macros over DuckDB's own functions. Function
 * names are case-insensitive in DuckDB, so `toStartOfHour` and `tostartofhour` both work.
 *
 * Already native in DuckDB and so not here: `count()`, `countIf`, `argMax`, `argMin`, `today()`,
 * `ifNull`, `if`. Aggregates work as macros (their bodies are expanded at bind time), including `FILTER (WHERE …)`. What a macro cannot express is rewritten
 * in the query's text by the Tinybird dialect (parametric aggregates such as `quantile(0.9)(x)`,
 * `multiIf`, `formatDateTime`, the lambda-first `arrayMap` and its kin: see
 * dialects/tinybird/sql/clickhouse-sql.ts).
 */
export const CLICKHOUSE_MACROS: readonly SqlMacro[] = [
  ...onTime('toStartOfMinute', dateTime("date_trunc('minute', t)")),
  ...onTime('toStartOfFiveMinutes', dateTime('time_bucket(INTERVAL 5 MINUTE, t)')),
  ...onTime('toStartOfFifteenMinutes', dateTime('time_bucket(INTERVAL 15 MINUTE, t)')),
  ...onTime('toStartOfHour', dateTime("date_trunc('hour', t)")),
  ...onTime('toStartOfDay', dateTime("date_trunc('day', t)")),
  ...onTime('toMonday', "CAST(date_trunc('week', t) AS DATE)"),
  ...onTime('toStartOfMonth', "CAST(date_trunc('month', t) AS DATE)"),
  ...onTime('toStartOfQuarter', "CAST(date_trunc('quarter', t) AS DATE)"),
  ...onTime('toStartOfYear', "CAST(date_trunc('year', t) AS DATE)"),
  ...onTime('toYear', 'year(t)'),
  ...onTime('toMonth', 'month(t)'),
  ...onTime('toDayOfMonth', 'dayofmonth(t)'),
  ...onTime('toDayOfWeek', 'isodow(t)'),
  ...onTime('toHour', 'hour(t)'),
  ...onTime('toMinute', 'minute(t)'),
  ...onTime('toSecond', 'second(t)'),
  ...onTime('toYYYYMM', 'year(t) * 100 + month(t)'),
  ...onTime('toYYYYMMDD', 'year(t) * 10000 + month(t) * 100 + dayofmonth(t)'),
  // A DateTime64's fraction of a second is cut, as ClickHouse does (DuckDB's cast would round it).
  ...onTime('toUnixTimestamp', 'CAST(floor(epoch(t)) AS BIGINT)', { zoned: false }),
  { name: 'yesterday', params: [], body: 'current_date - 1' },
  { name: 'toDate', params: ['x'], body: TO_DATE },
  // In a time zone: the date there of the UTC time (of a text, its date).
  { name: 'toDate', params: ['x', 'zone'], body: `CAST(${inZone(TO_DATE_TIME)} AS DATE)` },
  { name: 'toDateTime', params: ['x'], body: dateTime(`date_trunc('second', ${TO_DATE_TIME})`) },
  // In a time zone: the wall-clock time there of the UTC time (of a text, that text's time).
  { name: 'toDateTime', params: ['x', 'zone'], body: dateTime(`date_trunc('second', ${inZone(TO_DATE_TIME)})`) },
  // A float's shortest digits (DuckDB's text has them), and where its decimal point falls among them.
  {
    name: 'sluice_float_digits', params: ['m'],
    body: `{'digits': rtrim(ltrim(m.i || m.f, '0'), '0'),
      'point': length(m.i) + coalesce(TRY_CAST(nullif(m.e, '') AS INTEGER), 0) - (length(m.i || m.f) - length(ltrim(m.i || m.f, '0')))}`,
  },
  {
    name: 'sluice_float_from_digits', params: ['p'],
    body: `CASE WHEN p.digits = '' THEN '0'
      WHEN length(p.digits) <= p.point AND p.point <= 21 THEN p.digits || repeat('0', p.point - length(p.digits))
      WHEN 0 < p.point AND p.point <= 21 THEN p.digits[1:p.point] || '.' || p.digits[p.point + 1:]
      WHEN -6 < p.point AND p.point <= 0 THEN '0.' || repeat('0', -p.point) || p.digits
      ELSE p.digits[1:1] || CASE WHEN length(p.digits) > 1 THEN '.' || p.digits[2:] ELSE '' END || 'e' || CAST(p.point - 1 AS VARCHAR) END`,
  },
  /**
   * A float, given as DuckDB's text of it, as ClickHouse writes it: its shortest digits, in plain
   * notation from 1e-6 up to below 1e21 (\`10000000000000000\`, \`0.000001\`), else with an exponent
   * without a plus sign (\`1e-7\`, \`1e21\`); DuckDB's text switches at other bounds and pads the
   * exponent (\`1e+16\`, \`1e-07\`). A NaN is nan, whatever its sign bit (DuckDB may write -nan).
   */
  {
    name: 'sluice_float_text', params: ['s'],
    body: `CASE WHEN s IN ('nan', '-nan') THEN 'nan' WHEN s IN ('inf', '-inf') THEN s
      ELSE CASE WHEN starts_with(s, '-') THEN '-' ELSE '' END
        || sluice_float_from_digits(sluice_float_digits(regexp_extract(s, '^-?([0-9]+)(?:\\.([0-9]*))?(?:e([-+][0-9]+))?$', ['i', 'f', 'e']))) END`,
  },
  // A DateTime64(3) as ClickHouse writes it, with its three digits (DuckDB's text drops trailing zeros).
  {
    name: 'toString', params: ['x'],
    // A float as ClickHouse writes it (see sluice_float_text).
    body: `CASE typeof(x) WHEN 'TIMESTAMP_MS' THEN strftime(TRY_CAST(x AS TIMESTAMP), '%Y-%m-%d %H:%M:%S.%g')
      WHEN 'DOUBLE' THEN sluice_float_text(CAST(x AS VARCHAR)) WHEN 'FLOAT' THEN sluice_float_text(CAST(x AS VARCHAR)) ELSE CAST(x AS VARCHAR) END`,
  },
  ...Object.entries(NUMBER_TYPES).flatMap(([name, type]) => {
    const integer = name.includes('Int');
    return [
      integer ? { name: `to${name}`, params: ['x'], body: toInteger(type, false) } : cast(`to${name}`, type),
      integer ? { name: `to${name}OrNull`, params: ['x'], body: toInteger(type, true) } : tryCast(`to${name}OrNull`, type),
      { name: `to${name}OrZero`, params: ['x'], body: `COALESCE(${integer ? toInteger(type, true) : `TRY_CAST(x AS ${type})`}, 0)` },
    ];
  }),
  tryCast('toDateOrNull', 'DATE'),
  tryCast('toDateTimeOrNull', 'TIMESTAMP'),
  // By zero an error, as in ClickHouse (DuckDB gives NULL).
  { name: 'intDiv', params: ['a', 'b'], body: "CASE WHEN b = 0 THEN error('Division by zero (intDiv)') ELSE a // b END" },
  { name: 'empty', params: ['x'], body: 'length(x) = 0' },
  { name: 'notEmpty', params: ['x'], body: 'length(x) > 0' },
  // NULL is a value like any other, as in ClickHouse: has([1, NULL], NULL) is true.
  { name: 'has', params: ['items', 'x'], body: 'CASE WHEN x IS NULL THEN coalesce(list_position(items, x), 0) > 0 ELSE list_contains(items, x) END' },
  // ClickHouse refuses a separator that is not exactly one byte (splitByString takes the others).
  { name: 'splitByChar', params: ['separator', 's'],
    body: "CASE WHEN strlen(separator) <> 1 THEN error('splitByChar: the separator must be exactly one byte, not \"' || separator || '\"') ELSE string_split(s, separator) END" },
  { name: 'replaceAll', params: ['s', 'search', 'replacement'], body: 'replace(s, search, replacement)' },
  { name: 'lowerUTF8', params: ['s'], body: 'lower(s)' },
  { name: 'upperUTF8', params: ['s'], body: 'upper(s)' },
  ...onTime('toStartOfTenMinutes', dateTime('time_bucket(INTERVAL 10 MINUTE, t)')),
  // ClickHouse's default week (mode 0) starts on Sunday; toMonday's on Monday.
  // Its second argument is a mode, not a zone.
  ...onTime('toStartOfWeek', 'CAST(t AS DATE) - CAST(dayofweek(t) AS INTEGER)', { zoned: false }),
  // With a mode: odd modes start weeks on Monday, even ones on Sunday.
  { name: 'toStartOfWeek', params: ['t', 'mode'], body: "CASE WHEN mode % 2 = 1 THEN CAST(date_trunc('week', t) AS DATE) ELSE CAST(t AS DATE) - CAST(dayofweek(t) AS INTEGER) END" },
  { name: 'toTimezone', params: ['t', 'zone'], body: "timezone(zone, timezone('UTC', t))" },
  ...([['Second', 'to_seconds(CAST(n AS DOUBLE))'], ['Minute', 'to_minutes(CAST(n AS BIGINT))'], ['Hour', 'to_hours(CAST(n AS BIGINT))'],
    ['Day', 'to_days(CAST(n AS INTEGER))'], ['Week', 'to_weeks(CAST(n AS INTEGER))'], ['Month', 'to_months(CAST(n AS INTEGER))'],
    ['Quarter', 'to_months(CAST(n AS INTEGER) * 3)'], ['Year', 'to_years(CAST(n AS INTEGER))']] as const)
    .map(([unit, interval]) => ({ name: `toInterval${unit}`, params: ['n'], body: interval })),
  ...onTime('toDayOfYear', 'dayofyear(t)'),
  ...onTime('toQuarter', 'quarter(t)'),
  ...onTime('toISOWeek', 'week(t)'),
  ...onTime('toISOYear', 'isoyear(t)'),
  { name: 'fromUnixTimestamp', params: ['n'], body: dateTime('make_timestamp(CAST(n AS BIGINT) * 1000000)') },
  { name: 'arrayJoin', params: ['items'], body: 'unnest(items)' },
  // Buckets counted from the epoch, as ClickHouse counts them (DuckDB's from 2000-01-03); weeks from its Monday before.
  {
    name: 'toStartOfInterval', params: ['t', 'step'],
    body: "time_bucket(step, t, TIMESTAMP '1970-01-01 00:00:00')",
  },
  // Steps of weeks (which DuckDB's intervals hold as days: the Tinybird rewrite calls this for
  // INTERVAL n WEEK) count from the first Monday after the epoch, as ClickHouse's do.
  { name: 'sluice_start_of_weeks', params: ['t', 'step'], body: "time_bucket(step, t, TIMESTAMP '1970-01-05 00:00:00')" },
  ...onTime('toStartOfSecond', "date_trunc('second', t)"),
  { name: 'toDateTime64', params: ['x', 'scale'], body: TO_DATE_TIME_64 },
  { name: 'toDateTime64', params: ['x', 'scale', 'zone'], body: inZone(TO_DATE_TIME_64) },
  // ClickHouse's now64() has milliseconds (cut, not rounded); a time without a zone compares with every time
  // column. With a scale, its digits (the Tinybird rewrite types a constant scale's DateTime64), and in a zone
  // the wall clock there.
  { name: 'now64', params: [], body: 'CAST(toDateTime64(now(), 3) AS TIMESTAMP_MS)' },
  { name: 'now64', params: ['scale'], body: 'toDateTime64(now(), scale)' },
  { name: 'now64', params: ['scale', 'zone'], body: 'toDateTime64(now(), scale, zone)' },
  ...onTime('toUnixTimestamp64Milli', 'epoch_ms(t)', { zoned: false }),
  ...onTime('toUnixTimestamp64Micro', 'epoch_us(t)', { zoned: false }),
  ...onTime('toUnixTimestamp64Nano', 'epoch_ns(t)', { zoned: false }),
  { name: 'fromUnixTimestamp64Milli', params: ['n'], body: 'make_timestamp(CAST(n AS BIGINT) * 1000)' },
  { name: 'fromUnixTimestamp64Micro', params: ['n'], body: 'make_timestamp(CAST(n AS BIGINT))' },
  ...bestEffortCalls('parseDateTimeBestEffort', BEST_EFFORT, (time) => dateTime(`date_trunc('second', ${time})`)),
  ...bestEffortCalls('parseDateTimeBestEffortUS', BEST_EFFORT_US, (time) => dateTime(`date_trunc('second', ${time})`)),
  ...shiftBy('Seconds', (n) => `to_seconds(CAST(${n} AS DOUBLE))`),
  ...shiftBy('Minutes', (n) => `to_minutes(CAST(${n} AS BIGINT))`),
  ...shiftBy('Hours', (n) => `to_hours(CAST(${n} AS BIGINT))`),
  ...shiftBy('Days', (n) => `to_days(CAST(${n} AS INTEGER))`),
  ...shiftBy('Weeks', (n) => `to_weeks(CAST(${n} AS INTEGER))`),
  ...shiftBy('Months', (n) => `to_months(CAST(${n} AS INTEGER))`),
  ...shiftBy('Quarters', (n) => `to_months(CAST(${n} AS INTEGER) * 3)`),
  ...shiftBy('Years', (n) => `to_years(CAST(${n} AS INTEGER))`),
  { name: 'isNull', params: ['x'], body: '(x IS NULL)' },
  { name: 'isNotNull', params: ['x'], body: '(x IS NOT NULL)' },
  { name: 'assumeNotNull', params: ['x'], body: 'x' },
  { name: 'toNullable', params: ['x'], body: 'x' },
  { name: 'startsWith', params: ['s', 'prefix'], body: 'starts_with(s, prefix)' },
  { name: 'endsWith', params: ['s', 'suffix'], body: 'suffix(s, suffix)' },
  { name: 'lengthUTF8', params: ['s'], body: 'length(s)' },
  { name: 'match', params: ['s', 'pattern'], body: 'regexp_matches(s, pattern)' },
  { name: 'replaceRegexpAll', params: ['s', 'pattern', 'replacement'], body: "regexp_replace(s, pattern, replacement, 'g')" },
  { name: 'replaceRegexpOne', params: ['s', 'pattern', 'replacement'], body: 'regexp_replace(s, pattern, replacement)' },
  { name: 'replaceOne', params: ['s', 'search', 'replacement'],
    body: 'CASE WHEN strpos(s, search) = 0 OR search = \'\' THEN s ELSE left(s, strpos(s, search) - 1) || replacement || substr(s, strpos(s, search) + length(search)) END' },
  { name: 'splitByRegexp', params: ['pattern', 's'], body: 'regexp_split_to_array(s, pattern)' },
  { name: 'trimBoth', params: ['s'], body: 'trim(s)' },
  { name: 'trimLeft', params: ['s'], body: 'ltrim(s)' },
  { name: 'trimRight', params: ['s'], body: 'rtrim(s)' },
  { name: 'base64Encode', params: ['s'], body: 'to_base64(encode(s))' },
  { name: 'base64Decode', params: ['s'], body: 'decode(from_base64(s))' },
  { name: 'toUUID', params: ['s'], body: 'CAST(s AS UUID)' },
  { name: 'generateUUIDv4', params: [], body: 'uuid()' },
  { name: 'bitAnd', params: ['a', 'b'], body: '(a & b)' },
  { name: 'bitOr', params: ['a', 'b'], body: '(a | b)' },
  { name: 'bitXor', params: ['a', 'b'], body: 'xor(a, b)' },
  { name: 'arrayElement', params: ['items', 'n'], body: 'list_extract(items, n)' },
  { name: 'tupleElement', params: ['tuple', 'n'], body: 'struct_extract_at(tuple, n)' },
  { name: 'timestampAdd', params: ['t', 'step'], body: 't + step' },
  { name: 'timestampSub', params: ['t', 'step'], body: 't - step' },
  // In the order of first appearance, as ClickHouse keeps them (list_distinct does not).
  pairwiseOnArray('arrayDistinct', 'list_filter(items, (x, i) -> list_position(items, x) = i)'),
  { name: 'arrayUniq', params: ['items'], body: 'length(list_distinct(items))' },
  { name: 'arraySum', params: ['items'], body: 'coalesce(list_sum(items), 0)' },
  { name: 'arrayMin', params: ['items'], body: 'list_min(items)' },
  { name: 'arrayMax', params: ['items'], body: 'list_max(items)' },
  { name: 'arrayAvg', params: ['items'], body: 'list_avg(items)' },
  { name: 'arrayEnumerate', params: ['items'], body: 'list_transform(items, (x, i) -> i)' },
  pairwiseOnArray('arrayCumSum', 'list_transform(items, (x, i) -> list_sum(items[1:i]))'),
  { name: 'arrayReverseSort', params: ['items'], body: 'list_reverse_sort(items)' },
  { name: 'arrayConcat', params: ['a', 'b'], body: 'list_concat(a, b)' },
  { name: 'arrayConcat', params: ['a', 'b', 'c'], body: 'list_concat(a, b, c)' },
  // From a position counted from the end when negative, as many elements as asked for (or to the end;
  // a negative count leaves that many off the end).
  { name: 'arraySlice', params: ['items', 'start'], body: 'list_slice(items, start, length(items))' },
  { name: 'arraySlice', params: ['items', 'start', 'n'],
    body: `list_slice(items, CASE WHEN start < 0 THEN length(items) + start + 1 ELSE start END,
      CASE WHEN n < 0 THEN length(items) + n WHEN start < 0 THEN length(items) + start + n ELSE start + n - 1 END)` },
  { name: 'hasAny', params: ['a', 'b'], body: 'list_has_any(a, b)' },
  { name: 'hasAll', params: ['a', 'b'], body: 'list_has_all(a, b)' },
  { name: 'mapKeys', params: ['m'], body: 'map_keys(m)' },
  { name: 'mapValues', params: ['m'], body: 'map_values(m)' },
  { name: 'splitByString', params: ['separator', 's'], body: 'string_split(s, separator)' },
  { name: 'arrayStringConcat', params: ['items'], body: "array_to_string(items, '')" },
  { name: 'arrayStringConcat', params: ['items', 'separator'], body: 'array_to_string(items, separator)' },
  { name: 'indexOf', params: ['items', 'x'], body: 'coalesce(list_position(items, x), 0)' },
  { name: 'arraySort', params: ['items'], body: 'list_sort(items)' },
  { name: 'arrayReverse', params: ['items'], body: 'list_reverse(items)' },
  // ClickHouse's JSON functions, by key (one, or two for a nested one): a missing value, or one of
  // another JSON type, gives the type's zero ('' , 0, false) as ClickHouse does, not NULL.
  ...jsonFunction('JSONHas', (path) => `coalesce(json_exists(json, ${path}), false)`),
  ...jsonFunction('JSONExtractString', JSON_STRING),
  ...jsonFunction('JSONExtractInt', JSON_INT),
  ...jsonFunction('JSONExtractFloat', JSON_FLOAT),
  ...jsonFunction('JSONExtractBool', JSON_BOOL),
  ...jsonFunction('JSONExtractRaw', JSON_RAW),
  ...jsonFunction('JSONExtractUInt', (path) => `CAST(greatest(${JSON_INT(path)}, 0) AS UBIGINT)`),
  ...jsonFunction('JSONExtractKeys', (path) => `coalesce(json_keys(json, ${path}), [])`, { wholeDocument: true }),
  ...jsonFunction('JSONExtractArrayRaw', (path) => `CASE WHEN json_type(json, ${path}) = 'ARRAY' THEN CAST(CAST(json_extract(json, ${path}) AS JSON[]) AS VARCHAR[]) ELSE [] END`, { wholeDocument: true }),
  ...jsonFunction('JSONLength', (path) => `CASE json_type(json, ${path}) WHEN 'ARRAY' THEN CAST(json_array_length(json, ${path}) AS BIGINT)
    WHEN 'OBJECT' THEN len(json_keys(json, ${path})) ELSE 0 END`, { wholeDocument: true }),
  // The simple (visitParam) forms, by one key.
  ...['simpleJSON', 'visitParam'].flatMap((prefix) => ([['String', JSON_STRING], ['Int', JSON_INT], ['Float', JSON_FLOAT], ['Bool', JSON_BOOL], ['Raw', JSON_RAW]] as const)
    .map(([kind, body]) => ({ name: `${prefix}Extract${kind}`, params: ['json', 'k1'], body: overValidJson(body(`'$."' || replace(k1, '"', '\\"') || '"'`)) }))),
  // URLs, as web analytics pipes take them apart.
  { name: 'domain', params: ['url'], body: URL_HOST },
  { name: 'domainWithoutWWW', params: ['url'], body: `regexp_replace(${URL_HOST}, '^www\\.', '')` },
  { name: 'topLevelDomain', params: ['url'], body: `regexp_extract(${URL_HOST}, '\\.([^.]+)$', 1)` },
  { name: 'protocol', params: ['url'], body: "regexp_extract(url, '^([a-zA-Z][a-zA-Z0-9+.-]*):', 1)" },
  { name: 'path', params: ['url'], body: URL_PATH },
  { name: 'pathFull', params: ['url'], body: "regexp_extract(url, '^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//[^/?#]*(.*)$', 1)" },
  { name: 'queryString', params: ['url'], body: "regexp_extract(url, '\\?([^#]*)', 1)" },
  { name: 'fragment', params: ['url'], body: "regexp_extract(url, '#(.*)$', 1)" },
  { name: 'cutQueryString', params: ['url'], body: "regexp_replace(url, '\\?[^#]*', '')" },
  { name: 'extractURLParameter', params: ['url', 'name'], body: "regexp_extract(url, '[?&]' || regexp_escape(name) || '=([^&#]*)', 1)" },
  // ClickHouse's uniq is approximate, but exact for small sets; count(DISTINCT) is exact always.
  aggregate('uniq', ['x'], 'count(DISTINCT x)'),
  aggregate('uniqExact', ['x'], 'count(DISTINCT x)'),
  // Exact, as ClickHouse's uniqCombined is for sets of the sizes a query shows (HyperLogLog only past them).
  aggregate('uniqCombined', ['x'], 'count(DISTINCT x)'),
  aggregate('uniqCombined64', ['x'], 'count(DISTINCT x)'),
  aggregate('uniq', ['a', 'b'], 'count(DISTINCT (a, b))'),
  aggregate('uniq', ['a', 'b', 'c'], 'count(DISTINCT (a, b, c))'),
  aggregate('uniqExact', ['a', 'b'], 'count(DISTINCT (a, b))'),
  aggregate('uniqExactIf', ['x', 'c'], 'count(DISTINCT x) FILTER (WHERE c)'),
  aggregate('countDistinctIf', ['x', 'c'], 'count(DISTINCT x) FILTER (WHERE c)'),
  // ClickHouse's exact median of an even count is the higher of the middle two.
  aggregate('medianExact', ['x'], 'list_sort(list(x) FILTER (WHERE x IS NOT NULL))[CAST(count(x) // 2 AS BIGINT) + 1]'),
  aggregate('uniqHLL12', ['x'], 'approx_count_distinct(x)'),
  aggregate('uniqIf', ['x', 'c'], 'count(DISTINCT x) FILTER (WHERE c)'),
  // A sum of no rows is 0 in ClickHouse.
  aggregate('sumIf', ['x', 'c'], 'coalesce(sum(x) FILTER (WHERE c), 0)'),
  aggregate('avgIf', ['x', 'c'], 'avg(x) FILTER (WHERE c)'),
  aggregate('minIf', ['x', 'c'], 'min(x) FILTER (WHERE c)'),
  aggregate('maxIf', ['x', 'c'], 'max(x) FILTER (WHERE c)'),
  // ClickHouse's array aggregates skip NULLs; DuckDB's list keeps them.
  // Of no rows an empty array, as in ClickHouse.
  aggregate('groupArray', ['x'], 'coalesce(list(x) FILTER (WHERE x IS NOT NULL), [])'),
  aggregate('anyLast', ['x'], 'last(x)'),
  aggregate('anyIf', ['x', 'c'], 'any_value(x) FILTER (WHERE c)'),
  aggregate('countDistinct', ['x'], 'count(DISTINCT x)'),
  aggregate('argMaxIf', ['a', 'b', 'c'], 'arg_max(a, b) FILTER (WHERE c)'),
  aggregate('argMinIf', ['a', 'b', 'c'], 'arg_min(a, b) FILTER (WHERE c)'),
  aggregate('groupArrayIf', ['x', 'c'], 'coalesce(list(x) FILTER (WHERE c AND x IS NOT NULL), [])'),
  aggregate('stddevPop', ['x'], 'stddev_pop(x)'),
  aggregate('stddevSamp', ['x'], 'stddev_samp(x)'),
  aggregate('varPop', ['x'], 'var_pop(x)'),
  aggregate('varSamp', ['x'], 'var_samp(x)'),
  aggregate('covarPop', ['x', 'y'], 'covar_pop(x, y)'),
  aggregate('covarSamp', ['x', 'y'], 'covar_samp(x, y)'),
  aggregate('groupUniqArray', ['x'], 'coalesce(list(DISTINCT x) FILTER (WHERE x IS NOT NULL), [])'),
  // Bits of no rows are 0 in ClickHouse.
  aggregate('groupBitOr', ['x'], 'coalesce(bit_or(x), 0)'),
  aggregate('groupBitAnd', ['x'], 'coalesce(bit_and(x), 0)'),
  aggregate('groupBitXor', ['x'], 'coalesce(bit_xor(x), 0)'),
  { name: 'formatReadableQuantity', params: ['x'], body: READABLE_QUANTITY },
  { name: 'multiSearchAny', params: ['s', 'needles'], body: 'coalesce(list_bool_or(list_transform(needles, needle -> contains(s, needle))), false)' },
  { name: 'arrayPushBack', params: ['items', 'x'], body: 'list_append(items, x)' },
  { name: 'arrayPushFront', params: ['items', 'x'], body: 'list_prepend(x, items)' },
  { name: 'arrayPopBack', params: ['items'], body: 'list_slice(items, 1, len(items) - 1)' },
  { name: 'arrayPopFront', params: ['items'], body: 'list_slice(items, 2, len(items))' },
  // Consecutive repeats removed, as ClickHouse's arrayCompact does (not every duplicate).
  { name: 'arrayCompact', params: ['items'], body: 'list_filter(items, (x, i) -> i = 1 OR x IS DISTINCT FROM items[i - 1])' },
  { name: 'arrayIntersect', params: ['a', 'b'], body: 'list_intersect(a, b)' },
  // ClickHouse's DateTime64 of a best-effort text has milliseconds (digits past them are cut, not rounded).
  ...bestEffortCalls('parseDateTime64BestEffort', BEST_EFFORT, (time) => `CAST(date_trunc('millisecond', ${time}) AS TIMESTAMP_MS)`),
  ...onTime('toRelativeDayNum', "date_diff('day', DATE '1970-01-01', t)", { zoned: false }),
  ...onTime('toRelativeHourNum', "date_diff('hour', TIMESTAMP '1970-01-01 00:00:00', t)", { zoned: false }),
  ...onTime('toRelativeMinuteNum', "date_diff('minute', TIMESTAMP '1970-01-01 00:00:00', t)", { zoned: false }),
  ...onTime('toRelativeSecondNum', "date_diff('second', TIMESTAMP '1970-01-01 00:00:00', t)", { zoned: false }),
  ...onTime('toRelativeMonthNum', 'year(t) * 12 + month(t)', { zoned: false }),
  ...onTime('toRelativeYearNum', 'year(t)', { zoned: false }),
  ...onTime('toLastDayOfMonth', 'last_day(t)', { zoned: false }),
  // Half-hour slots, as ClickHouse's timeSlot gives them.
  ...onTime('timeSlot', "CAST(time_bucket(INTERVAL 30 MINUTE, t, TIMESTAMP '1970-01-01 00:00:00') AS TIMESTAMP_S)", { zoned: false }),
  // A month or a weekday by its English name; another part as its number.
  {
    name: 'dateName', params: ['part', 't'],
    body: "CASE lower(part) WHEN 'month' THEN monthname(t) WHEN 'weekday' THEN dayname(t) ELSE CAST(date_part(lower(part), t) AS VARCHAR) END",
  },
  { name: 'toDate32', params: ['x'], body: TO_DATE },
  { name: 'makeDate', params: ['y', 'm', 'd'], body: 'make_date(CAST(y AS BIGINT), CAST(m AS BIGINT), CAST(d AS BIGINT))' },
  { name: 'makeDateTime', params: ['y', 'mo', 'd', 'h', 'mi', 's'], body: 'CAST(make_timestamp(CAST(y AS BIGINT), CAST(mo AS BIGINT), CAST(d AS BIGINT), CAST(h AS BIGINT), CAST(mi AS BIGINT), CAST(s AS DOUBLE)) AS TIMESTAMP_S)' },
  // DuckDB's strings are always valid UTF-8, and index characters as ClickHouse's …UTF8 functions do.
  // From offset 0 nothing, as in ClickHouse (DuckDB's substring takes it as 1).
  { name: 'substringUTF8', params: ['s', 'start'], body: "CASE WHEN start = 0 THEN '' ELSE substring(s, start) END" },
  // A negative length leaves that many characters off the end, as in ClickHouse.
  { name: 'substringUTF8', params: ['s', 'start', 'n'],
    body: "CASE WHEN start = 0 THEN '' ELSE substring(s, start, CASE WHEN n < 0 THEN greatest(length(s) - (CASE WHEN start < 0 THEN length(s) + start + 1 ELSE start END) + 1 + n, 0) ELSE n END) END" },
  // DuckDB's left and right count characters, and take a negative count as ClickHouse's …UTF8 forms do (all but that many).
  { name: 'leftUTF8', params: ['s', 'n'], body: 'left(s, n)' },
  { name: 'rightUTF8', params: ['s', 'n'], body: 'right(s, n)' },
  { name: 'reverseUTF8', params: ['s'], body: 'reverse(s)' },
  { name: 'positionUTF8', params: ['s', 'needle'], body: 'strpos(s, needle)' },
  // From the character `start` on (from 1 below 1), 0 when it is past the end.
  { name: 'positionUTF8', params: ['s', 'needle', 'start'], body: searchFrom('greatest(start, 1)', 'length(s)', (from) => `strpos(substring(s, ${from}), needle)`) },
  // ClickHouse's functions that DuckDB has by the same name with another meaning, under names of their
  // own (a macro of DuckDB's name would replace DuckDB's function everywhere); the Tinybird rewrite
  // calls them for ClickHouse's names. A String is bytes to ClickHouse: length, position and
  // substring count bytes (their …UTF8 forms count characters, as DuckDB's do), and lower and upper
  // change ASCII letters only; round rounds a Float half to even.
  // A String's bytes, or an array's elements.
  { name: 'sluice_byte_length', params: ['v'], body: "CASE WHEN typeof(v) = 'VARCHAR' THEN strlen(CAST(v AS VARCHAR)) ELSE length(v) END" },
  // A slice of the text's UTF-8 (a BLOB), whose bounds count from the end when negative as ClickHouse's
  // offset does: to the end, or with a negative length that many bytes off the end, and '' from offset 0.
  // A character cut in two comes out as `?` for each byte kept (ClickHouse gives the bytes themselves).
  { name: 'sluice_byte_substring', params: ['s', 'o'], body: "decode(encode(s)[o:CASE WHEN o = 0 THEN 0 ELSE -1 END], 'replace')" },
  {
    name: 'sluice_byte_substring', params: ['s', 'o', 'n'],
    // From a negative offset, a length that reaches past the end takes the bytes to the end.
    body: "decode(encode(s)[o:CASE WHEN o = 0 THEN 0 WHEN n < 0 THEN n - 1 WHEN o > 0 OR o + n <= 0 THEN o + n - 1 ELSE -1 END], 'replace')",
  },
  // Where `needle` starts in `s`, in bytes from 1 (0 when it is not there).
  { name: 'sluice_byte_position', params: ['s', 'needle'], body: bytePosition('s') },
  // The same from the byte `start` on (from 1 below 1), 0 past the end. From within a character the
  // search starts at the next one, as a needle cannot start inside one (bar a needle starting with `?`,
  // which the cut character's bytes read as).
  {
    name: 'sluice_byte_position', params: ['s', 'needle', 'start'],
    body: searchFrom('greatest(start, 1)', 'strlen(s)', (from) => bytePosition(`sluice_byte_substring(s, ${from})`)),
  },
  { name: 'sluice_ascii_lower', params: ['s'], body: `translate(s, '${ASCII_CAPITALS}', '${ASCII_CAPITALS.toLowerCase()}')` },
  { name: 'sluice_ascii_upper', params: ['s'], body: `translate(s, '${ASCII_CAPITALS.toLowerCase()}', '${ASCII_CAPITALS}')` },
  // Lowering ASCII letters only keeps every byte where it was.
  { name: 'positionCaseInsensitive', params: ['s', 'needle'], body: 'sluice_byte_position(sluice_ascii_lower(s), sluice_ascii_lower(needle))' },
  { name: 'positionCaseInsensitive', params: ['s', 'needle', 'start'], body: 'sluice_byte_position(sluice_ascii_lower(s), sluice_ascii_lower(needle), start)' },
  // The first `n` bytes, or all but the last -n; the last `n` bytes, or all but the first -n.
  { name: 'sluice_byte_left', params: ['s', 'n'], body: 'sluice_byte_substring(s, 1, n)' },
  { name: 'sluice_byte_right', params: ['s', 'n'], body: 'CASE WHEN n >= 0 THEN sluice_byte_substring(s, -n) ELSE sluice_byte_substring(s, 1 - n) END' },
  // ClickHouse's locate takes the needle first, as MySQL's does.
  { name: 'locate', params: ['needle', 's'], body: 'sluice_byte_position(s, needle)' },
  { name: 'locate', params: ['needle', 's', 'start'], body: 'sluice_byte_position(s, needle, start)' },
  { name: 'sluice_round_half_even', params: ['x'], body: roundHalfEven('x', 'round(x)') },
  {
    name: 'sluice_round_half_even', params: ['x', 'd'],
    // Scaled as ClickHouse scales: × 10^d, or ÷ 10^-d for a negative d.
    body: roundHalfEven('CASE WHEN d >= 0 THEN x * power(10, d) ELSE x / power(10, -d) END', 'round(x, d)', (even) => `CASE WHEN d >= 0 THEN ${even} / power(10, d) ELSE ${even} * power(10, -d) END`),
  },
  { name: 'toValidUTF8', params: ['s'], body: 's' },
  { name: 'intDivOrZero', params: ['a', 'b'], body: 'CASE WHEN b = 0 THEN 0 ELSE a // b END' },
  // Integers by zero are an error, as in ClickHouse (DuckDB gives NULL).
  { name: 'modulo', params: ['a', 'b'], body: "CASE WHEN b = 0 AND typeof(a % b) NOT IN ('FLOAT', 'DOUBLE') THEN error('Division by zero (modulo)') ELSE a % b END" },
  { name: 'bitShiftLeft', params: ['a', 'b'], body: 'a << b' },
  { name: 'bitShiftRight', params: ['a', 'b'], body: 'a >> b' },
  // ClickHouse's rand() is a UInt32, randCanonical() a Float64 in [0, 1).
  { name: 'rand', params: [], body: 'CAST(floor(random() * 4294967296) AS UINTEGER)' },
  { name: 'randCanonical', params: [], body: 'random()' },
  // ClickHouse's hashes are the digest's bytes (a FixedString; hex(MD5(s)) is its text), DuckDB's its
  // text in hexadecimal: the Tinybird rewrite calls these for ClickHouse's names.
  { name: 'sluice_md5', params: ['s'], body: 'unhex(md5(s))' },
  { name: 'sluice_sha1', params: ['s'], body: 'unhex(sha1(s))' },
  { name: 'sluice_sha256', params: ['s'], body: 'unhex(sha256(s))' },
  { name: 'sluice_decimal_text', params: ['x', 'scale'], body: DECIMAL_TEXT },
  { name: 'toBool', params: ['x'], body: TO_BOOL },
  { name: 'transform', params: ['x', 'matches', 'results'], body: transform('x') },
  { name: 'transform', params: ['x', 'matches', 'results', 'otherwise'], body: transform('otherwise') },
  ...onTime('toYYYYMMDDhhmmss', 'year(t) * 10000000000 + month(t) * 100000000 + dayofmonth(t) * 1000000 + hour(t) * 10000 + minute(t) * 100 + second(t)'),
  { name: 'toWeek', params: ['t'], body: WEEK_MODES[0]! },
  { name: 'toWeek', params: ['t', 'mode'], body: TO_WEEK },
  { name: 'isValidJSON', params: ['s'], body: VALID_JSON },
  // Arrays of one size, as ClickHouse requires (DuckDB's list_zip pads the shorter ones with NULLs).
  { name: 'arrayZip', params: ['a'], body: 'list_zip(a)' },
  { name: 'arrayZip', params: ['a', 'b'], body: "CASE WHEN len(a) <> len(b) THEN error('arrayZip: the arrays must have the same size') ELSE list_zip(a, b) END" },
  {
    name: 'arrayZip', params: ['a', 'b', 'c'],
    body: "CASE WHEN len(a) <> len(b) OR len(a) <> len(c) THEN error('arrayZip: the arrays must have the same size') ELSE list_zip(a, b, c) END",
  },
  // ClickHouse flattens every level; DuckDB's flatten one, which is all there is in an array of arrays.
  {
    name: 'arrayFlatten', params: ['items'],
    body: "CASE WHEN typeof(items) LIKE '%[][][]' THEN error('arrayFlatten takes an array of arrays (of more levels is not supported)') ELSE flatten(items) END",
  },
  // The first element's difference is 0. Integers are subtracted as Int64 (ClickHouse widens; an unsigned difference may be negative).
  {
    name: 'arrayDifference', params: ['items'],
    body: `CASE WHEN typeof(items) SIMILAR TO '(U?(TINY|SMALL|BIG)?INT(EGER)?)\\[\\]' THEN list_transform(items, (x, i) -> CASE WHEN i = 1 THEN 0 ELSE TRY_CAST(x AS BIGINT) - TRY_CAST(items[i - 1] AS BIGINT) END)
      ELSE list_transform(items, (x, i) -> CASE WHEN i = 1 THEN x - x ELSE x - items[i - 1] END) END`,
  },
  // Each running sum is appended to a copy of the list so far: quadratic in the length, as arrayCumSum is.
  pairwiseOnArray('arrayCumSumNonNegative', CUM_SUM_NON_NEGATIVE),
  // NULL counts as a value like any other, as in ClickHouse.
  { name: 'countEqual', params: ['items', 'x'], body: 'len(list_filter(items, item -> item IS NOT DISTINCT FROM x))' },
  ...['UInt8', 'UInt16', 'UInt32', 'UInt64', 'Int8', 'Int16', 'Int32', 'Int64', 'Float32', 'Float64'].map((type) => ({ name: `emptyArray${type}`, params: [], body: `CAST([] AS ${NUMBER_TYPES[type]}[])` })),
  { name: 'emptyArrayString', params: [], body: 'CAST([] AS VARCHAR[])' },
  { name: 'emptyArrayDate', params: [], body: 'CAST([] AS DATE[])' },
  { name: 'emptyArrayDateTime', params: [], body: 'CAST([] AS TIMESTAMP_S[])' },
];

/**
 * Creates (or refreshes) the macros in the database's `main` schema, where user queries resolve
 * unqualified function names: ClickHouse's names, the checks of built values' sizes that the
 * query guard calls (see BOUNDING_MACROS), and what ClickHouse's windowFunnel and retention are
 * rewritten to (see FUNNEL_MACROS). Persistent and idempotent: call once at startup.
 */
export async function installSqlFunctions(storage: DuckDBStorage): Promise<void> {
  await storage.transaction(async (tx) => {
    // Macros of one name are its overloads, one per number of arguments, created together.
    const byName = new Map<string, SqlMacro[]>();
    for (const macro of [...CLICKHOUSE_MACROS, ...BOUNDING_MACROS, ...FUNNEL_MACROS]) byName.set(macro.name, [...(byName.get(macro.name) ?? []), macro]);
    for (const [name, overloads] of byName) {
      await tx.run(`CREATE OR REPLACE MACRO main.${quoteIdentifier(name)}${overloads.map((macro) => `(${macro.params.join(', ')}) AS ${macro.body}`).join(', ')}`);
    }
  });
}
