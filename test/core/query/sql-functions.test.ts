import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { runQuery } from '../../../src/core/query/query-runner.ts';
import { CLICKHOUSE_MACROS, installSqlFunctions } from '../../../src/core/query/sql-functions.ts';
import { SqlDate, SqlTimestamp } from '../../../src/core/query/sql-values.ts';
import { renderTextValue } from '../../../src/core/query/render-value.ts';
import { INT32, openQueryFixture, STRING, type QueryFixture } from './query-fixture.ts';

let fixture: QueryFixture;

before(async () => {
  fixture = await openQueryFixture();
  await installSqlFunctions(fixture.storage);
  await fixture.createTable(
    'events',
    [['ts', { kind: 'timestamp', unit: 'us' }], ['user_id', INT32], ['amount', INT32], ['tags', { kind: 'list', element: STRING, elementNullable: true }]],
    `VALUES (TIMESTAMP '2024-03-15 10:17:42.5', 1, 10, ['a']), (TIMESTAMP '2024-03-15 11:59:00', 1, 5, []), (TIMESTAMP '2024-03-16 00:00:01', 2, 7, NULL), (TIMESTAMP '2024-03-16 00:00:02', NULL, NULL, ['b', 'c'])`,
  );
});

after(async () => {
  await fixture.close();
});

async function firstRow(sql: string): Promise<string[]> {
  const result = await runQuery(fixture.storage, await fixture.guard(sql));
  return result.rows[0]!.map((value) => renderTextValue(value));
}

test('the macros do not shadow functions DuckDB already has', async () => {
  const names = CLICKHOUSE_MACROS.map((macro) => macro.name.toLowerCase());
  const clashes = await fixture.storage.query(
    `SELECT DISTINCT function_name FROM duckdb_functions() WHERE database_name = 'system' AND lower(function_name) IN (${names.map((name) => `'${name}'`).join(', ')})`,
  );
  assert.deepEqual(clashes, []);
});

test('installing twice is harmless', async () => {
  await installSqlFunctions(fixture.storage);
  assert.deepEqual(await firstRow('SELECT toInt32(\'7\')'), ['7']);
});

test('date and time functions truncate and extract like ClickHouse', async () => {
  const row = await firstRow(`
    SELECT toStartOfMinute(ts), toStartOfFiveMinutes(ts), toStartOfFifteenMinutes(ts), toStartOfHour(ts), toStartOfDay(ts),
           toMonday(ts), toStartOfMonth(ts), toStartOfQuarter(ts), toStartOfYear(ts),
           toYear(ts), toMonth(ts), toDayOfMonth(ts), toDayOfWeek(ts), toHour(ts), toMinute(ts), toSecond(ts),
           toYYYYMM(ts), toYYYYMMDD(ts), toUnixTimestamp(TIMESTAMP '2024-01-01 00:00:00')
    FROM events ORDER BY ts LIMIT 1`);
  assert.deepEqual(row, [
    '2024-03-15 10:17:00', '2024-03-15 10:15:00', '2024-03-15 10:15:00', '2024-03-15 10:00:00', '2024-03-15 00:00:00',
    '2024-03-11', '2024-03-01', '2024-01-01', '2024-01-01',
    '2024', '3', '15', '5', '10', '17', '42',
    '202403', '20240315', '1704067200',
  ]);
});

test('now64, today and yesterday give the current time and dates', async () => {
  const result = await runQuery(fixture.storage, await fixture.guard('SELECT now64(), today(), yesterday()'));
  const [now, today, yesterday] = result.rows[0]!;
  assert.ok(now instanceof SqlTimestamp);
  assert.ok(Math.abs(Number(now.epochNanos / 1_000_000n) - Date.now()) < 60_000);
  assert.ok(today instanceof SqlDate && yesterday instanceof SqlDate);
  assert.equal(today.days - yesterday.days, 1);
});

test('conversion functions cast, and the OrNull/OrZero forms absorb bad input', async () => {
  assert.deepEqual(
    await firstRow(`SELECT toDate('2024-05-06'), toDateTime('2024-05-06 07:08:09'), toString(12), toInt8('-8'), toInt16('16'), toInt64('9007199254740993'),
      toInt128('170141183460469231731687303715884105727'), toUInt8('255'), toUInt16('1'), toUInt32('2'), toUInt64('18446744073709551615'),
      toFloat32('0.5'), toFloat64('1.25'), toInt32OrNull('x'), toInt64OrNull('5'), toFloat64OrNull('x'), toDateOrNull('nope'),
      toDateTimeOrNull('2024-01-01 00:00:00'), toInt64OrZero('x'), toFloat64OrZero('2.5'), intDiv(7, 2)`),
    ['2024-05-06', '2024-05-06 07:08:09', '12', '-8', '16', '9007199254740993', '170141183460469231731687303715884105727', '255', '1', '2',
      '18446744073709551615', '0.5', '1.25', '', '5', '', '', '2024-01-01 00:00:00', '0', '2.5', '3'],
  );
});

test('string and array helpers', async () => {
  assert.deepEqual(
    await firstRow(`SELECT empty(''), notEmpty('x'), empty([]), has(['a', 'b'], 'b'), splitByChar(',', 'a,b'), replaceAll('a-b-c', '-', '+'), lowerUTF8('ÀB'), upperUTF8('àb')`),
    ['true', 'true', 'true', 'true', '["a","b"]', 'a+b+c', 'àb', 'ÀB'],
  );
});

test('more date functions: ten-minute buckets, Sunday weeks, day of year, quarter, ISO week and year, from epoch seconds', async () => {
  assert.deepEqual(
    await firstRow(`SELECT toStartOfTenMinutes(ts), toStartOfWeek(ts), toDayOfYear(ts), toQuarter(ts), toISOWeek(ts), toISOYear(TIMESTAMP '2021-01-01'),
      fromUnixTimestamp(1704067200) FROM events ORDER BY ts LIMIT 1`),
    ['2024-03-15 10:10:00', '2024-03-10', '75', '1', '11', '2020', '2024-01-01 00:00:00'],
  );
});

test('every number conversion has OrNull and OrZero forms that absorb bad input', async () => {
  const row = await firstRow(`SELECT
    toInt8OrNull('x'), toInt8OrZero('x'), toInt8OrNull('7'), toInt8OrZero('7'),
    toInt16OrNull('x'), toInt16OrZero('x'), toInt16OrNull('7'), toInt16OrZero('7'),
    toInt32OrNull('x'), toInt32OrZero('x'), toInt32OrNull('7'), toInt32OrZero('7'),
    toInt64OrNull('x'), toInt64OrZero('x'), toInt64OrNull('7'), toInt64OrZero('7'),
    toInt128OrNull('x'), toInt128OrZero('x'), toInt128OrNull('7'), toInt128OrZero('7'),
    toUInt8OrNull('x'), toUInt8OrZero('x'), toUInt8OrNull('7'), toUInt8OrZero('7'),
    toUInt16OrNull('x'), toUInt16OrZero('x'), toUInt16OrNull('7'), toUInt16OrZero('7'),
    toUInt32OrNull('x'), toUInt32OrZero('x'), toUInt32OrNull('7'), toUInt32OrZero('7'),
    toUInt64OrNull('x'), toUInt64OrZero('x'), toUInt64OrNull('7'), toUInt64OrZero('7'),
    toFloat32OrNull('x'), toFloat32OrZero('x'), toFloat32OrNull('7'), toFloat32OrZero('7'),
    toFloat64OrNull('x'), toFloat64OrZero('x'), toFloat64OrNull('7'), toFloat64OrZero('7')`);
  assert.deepEqual(row, Array.from({ length: 11 }, () => ['', '0', '7', '7']).flat());
});

test('toDateTime and toDate take texts and times as themselves and numbers as Unix seconds (toDate: days below 65536), in a time zone with a second argument', async () => {
  assert.deepEqual(
    await firstRow(`SELECT toDateTime(1704067200), toDateTime(1704067200.9), toDateTime('1704067200'), toDateTime(DATE '2024-05-06'), toDateTime(NULL),
      toDate(19000), toDate(1704067200), toDate(TIMESTAMP '2024-05-06 23:59:59'), toDateTime(TIMESTAMP '2024-05-06 10:00:00', 'Europe/Madrid')`),
    ['2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-05-06 00:00:00', '', '2022-01-08', '2024-01-01', '2024-05-06', '2024-05-06 12:00:00'],
  );
  await assert.rejects(firstRow(`SELECT toDateTime('not a time')`), /not a time/);
});

test('array helpers: arrayJoin makes a row per element; splitByString, arrayStringConcat, indexOf, arraySort, arrayReverse', async () => {
  const joined = await runQuery(fixture.storage, await fixture.guard(`SELECT user_id, arrayJoin(tags) AS tag FROM events WHERE tags IS NOT NULL ORDER BY tag`));
  assert.deepEqual(joined.rows.map((row) => row.map((value) => renderTextValue(value))), [['1', 'a'], ['', 'b'], ['', 'c']]);
  assert.deepEqual(
    await firstRow(`SELECT splitByString('::', 'a::b'), arrayStringConcat(['a', 'b']), arrayStringConcat(['a', 'b'], '-'), indexOf(['a', 'b'], 'b'),
      indexOf(['a'], 'z'), arraySort([3, 1, 2]), arrayReverse([1, 2, 3])`),
    ['["a","b"]', 'ab', 'a-b', '2', '0', '[1,2,3]', '[3,2,1]'],
  );
});

test('time functions: intervals, seconds, 64-bit times and Unix milliseconds, best-effort parsing, adding and subtracting units', async () => {
  assert.deepEqual(
    await firstRow(`SELECT toStartOfInterval(ts, INTERVAL 20 MINUTE), toStartOfInterval(ts, INTERVAL 1 MONTH), sluice_start_of_weeks(ts, INTERVAL 2 WEEK), toStartOfSecond(ts),
      toDateTime64('2024-01-01 00:00:00.123456', 3), toDateTime64(1704067200.5, 3), toDateTime64(ts, 0, 'Europe/Madrid'),
      toUnixTimestamp64Milli(ts), toUnixTimestamp64Micro(ts), toUnixTimestamp64Nano(ts), fromUnixTimestamp64Milli(1710497862500),
      fromUnixTimestamp64Micro(1710497862500001), parseDateTimeBestEffort('2024-03-15T10:17:42+02:00'), parseDateTimeBestEffort('1710497862'),
      parseDateTimeBestEffortOrNull('nope'), parseDateTimeBestEffortOrZero('nope'),
      addSeconds(ts, 1.5), addMinutes(ts, 1), addHours(ts, 2), addDays(ts, 1), addWeeks(ts, 1), addMonths(ts, 1), addQuarters(ts, 1), addYears(ts, 1),
      subtractSeconds(ts, 2), subtractMinutes(ts, 1), subtractHours(ts, 1), subtractDays(ts, 15), subtractWeeks(ts, 1), subtractMonths(ts, 1),
      subtractQuarters(ts, 1), subtractYears(ts, 1)
      FROM events ORDER BY ts LIMIT 1`),
    ['2024-03-15 10:00:00', '2024-03-01 00:00:00', '2024-03-04 00:00:00', '2024-03-15 10:17:42', '2024-01-01 00:00:00.123', '2024-01-01 00:00:00.5', '2024-03-15 11:17:42',
      '1710497862500', '1710497862500000', '1710497862500000000', '2024-03-15 10:17:42.5', '2024-03-15 10:17:42.500001', '2024-03-15 08:17:42',
      '2024-03-15 10:17:42', '', '1970-01-01 00:00:00',
      '2024-03-15 10:17:44', '2024-03-15 10:18:42.5', '2024-03-15 12:17:42.5', '2024-03-16 10:17:42.5', '2024-03-22 10:17:42.5', '2024-04-15 10:17:42.5',
      '2024-06-15 10:17:42.5', '2025-03-15 10:17:42.5', '2024-03-15 10:17:40.5', '2024-03-15 10:16:42.5', '2024-03-15 09:17:42.5', '2024-02-29 10:17:42.5',
      '2024-03-08 10:17:42.5', '2024-02-15 10:17:42.5', '2023-12-15 10:17:42.5', '2023-03-15 10:17:42.5'],
  );
  await assert.rejects(firstRow(`SELECT parseDateTimeBestEffort('half past nine')`), /parseDateTimeBestEffort: cannot read "half past nine"/);
});

test('null, string and bit helpers: isNull, startsWith, match, replaceRegexp*, replaceOne, splitByRegexp, trims, base64, UUIDs', async () => {
  assert.deepEqual(
    await firstRow(`SELECT isNull(NULL), isNotNull(1), assumeNotNull(3), toNullable(4), startsWith('abc', 'ab'), endsWith('abc', 'bc'), lengthUTF8('añb'),
      positionCaseInsensitive('aBc', 'BC'), match('abc123', '[0-9]+$'), replaceRegexpAll('a1b22', '[0-9]+', '#'), replaceRegexpOne('a1b22', '([0-9]+)', '<\\1>'),
      replaceOne('a-b-c', '-', '+'), replaceOne('abc', 'z', '+'), splitByRegexp('[,;]', 'a,b;c'), trimBoth('  a  '), trimLeft('  a  '), trimRight('  a  '),
      base64Encode('hi'), base64Decode('aGk='), toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0'), length(CAST(generateUUIDv4() AS VARCHAR)),
      bitAnd(6, 3), bitOr(6, 3), bitXor(6, 3)`),
    ['true', 'true', '3', '4', 'true', 'true', '3', '2', 'true', 'a#b#', 'a<1>b22', 'a+b-c', 'abc', '["a","b","c"]', 'a', 'a  ', '  a',
      'aGk=', 'hi', '61f0c404-5cb3-11e7-907b-a6006ad3dba0', '36', '2', '7', '5'],
  );
});

test("ClickHouse's meanings of DuckDB's own names, called by the Tinybird rewrite: byte length, position (from a start too), substring, left and right, ASCII-only case, round half to even of a Float", async () => {
  assert.deepEqual(
    await firstRow(`SELECT sluice_byte_length('héllo'), sluice_byte_length([1, 2]), sluice_byte_position('héllo', 'l'), sluice_byte_position('abc', 'z'),
      sluice_byte_substring('hello', -3), sluice_byte_substring('hello', 2, -1), sluice_ascii_lower('ÉCOLE'), sluice_ascii_upper('école'),
      sluice_round_half_even(2.5::DOUBLE), sluice_round_half_even(3.5::DOUBLE), sluice_round_half_even(2.5), sluice_round_half_even(0.125::DOUBLE, 2),
      sluice_byte_position('héllo', 'l', 5), sluice_byte_left('héllo', 3), sluice_byte_right('héllo', -1), leftUTF8('héllo', 2), rightUTF8('héllo', -1),
      reverseUTF8('añb'), locate('l', 'héllo'), locate('l', 'héllo', 5)`),
    ['6', '2', '4', '0', 'llo', 'ell', 'École', 'éCOLE', '2', '4', '3', '0.12', '5', 'hé', 'éllo', 'hé', 'éllo', 'bña', '4', '5'],
  );
});

test("sluice_float_text writes a float as ClickHouse does, JavaScript's shortest text without an exponent's plus sign, for 2,000 random doubles; its parts are sluice_float_digits and sluice_float_from_digits", async () => {
  // Seeded, so that a failure is the same on every run.
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const bytes = new DataView(new ArrayBuffer(8));
  const doubles = Array.from({ length: 2000 }, (_, index) => {
    if (index % 2 === 0) return (random() - 0.5) * 10 ** Math.floor(random() * 60 - 30);
    for (let byte = 0; byte < 8; byte += 1) bytes.setUint8(byte, Math.floor(random() * 256));
    return bytes.getFloat64(0);
  }).filter(Number.isFinite);
  const rows = await fixture.storage.query(
    `SELECT sluice_float_text(CAST(v AS VARCHAR)) AS text FROM (SELECT unnest([${doubles.map((value) => `'${value}'`).join(', ')}]::DOUBLE[]) AS v, generate_subscripts([${doubles.map(() => '0').join(', ')}], 1) AS i) ORDER BY i`,
  );
  const wrong = doubles.flatMap((value, index) => (rows[index]!['text'] === String(value).replace('e+', 'e') ? [] : [`${value}: ${String(rows[index]!['text'])}`]));
  assert.deepEqual(wrong, []);
  assert.deepEqual(
    await firstRow(`SELECT sluice_float_text('-nan'), sluice_float_text('-inf'), sluice_float_text('1e+16'), sluice_float_text('1e-07'), sluice_float_text('123456.0'),
      sluice_float_from_digits(sluice_float_digits({'i': '0', 'f': '0015', 'e': ''}))`),
    ['nan', '-inf', '10000000000000000', '1e-7', '123456', '0.0015'],
  );
});

test('array and map helpers: arrayElement, arrayDistinct in first-seen order, arrayUniq, arraySum, arrayMin/Max/Avg, arrayConcat, arraySlice from either end, hasAny, hasAll, mapKeys', async () => {
  assert.deepEqual(
    await firstRow('SELECT arrayMin([3, 1, 2]), arrayMax([3, 1, 2]), arrayAvg([1, 2])'),
    ['1', '3', '1.5'],
  );
  assert.deepEqual(
    await firstRow(`SELECT arrayElement([10, 20, 30], 2), arrayElement([10, 20, 30], -1), arrayDistinct([3, 1, 3, 2, 1]), arrayUniq([1, 1, 2]), arraySum([1, 2, 3]),
      arraySum(CAST([] AS INTEGER[])), arrayConcat([1], [2, 3]), arrayConcat([1], [2], [3]), arraySlice([1, 2, 3, 4, 5], 2), arraySlice([1, 2, 3, 4, 5], 2, 2),
      arraySlice([1, 2, 3, 4, 5], -2, 5), arraySlice([1, 2, 3, 4, 5], -3, 2), hasAny([1, 2], [2, 9]), hasAll([1, 2], [2, 9]),
      mapKeys(MAP {'a': 1, 'b': 2}), mapValues(MAP {'a': 1, 'b': 2})`),
    ['20', '30', '[3,1,2]', '2', '6', '0', '[1,2,3]', '[1,2,3]', '[2,3,4,5]', '[2,3]', '[4,5]', '[3,4]', 'true', 'false', '["a","b"]', '[1,2]'],
  );
});

test("JSON functions read by key (and nested key) and give the type's zero where ClickHouse does", async () => {
  const doc = `'{"s": "x", "i": 42, "f": 1.5, "b": true, "o": {"k": "in"}, "a b": 7}'`;
  assert.deepEqual(
    await firstRow(`SELECT JSONHas(${doc}, 's'), JSONHas(${doc}, 'nope'), JSONExtractString(${doc}, 's'), JSONExtractString(${doc}, 'i'),
      JSONExtractString(${doc}, 'o', 'k'), JSONExtractInt(${doc}, 'i'), JSONExtractInt(${doc}, 'f'), JSONExtractInt(${doc}, 's'),
      JSONExtractInt(${doc}, 'a b'), JSONExtractFloat(${doc}, 'f'), JSONExtractFloat(${doc}, 'nope'), JSONExtractBool(${doc}, 'b'),
      JSONExtractBool(${doc}, 'i'), JSONExtractRaw(${doc}, 'o'), JSONExtractRaw(${doc}, 'nope'), JSONHas(${doc}, 'o', 'k')`),
    ['true', 'false', 'x', '', 'in', '42', '1', '0', '7', '1.5', '0', 'true', 'false', '{"k":"in"}', '', 'true'],
  );
});

test('a JSON function\'s integer key is an array index from 1, or from the end when negative; 0 finds nothing', async () => {
  const doc = `'{"a": [10, 20, 30], "s": ["x", "y"]}'`;
  assert.deepEqual(
    await firstRow(`SELECT JSONExtractInt(${doc}, 'a', 1), JSONExtractInt(${doc}, 'a', -1), JSONExtractInt(${doc}, 'a', 0), JSONExtractString('["x", "y"]', 2),
      JSONHas(${doc}, 's', 3), JSONExtractRaw(${doc}, 'a', -2), JSONExtractString(${doc}, 's', 1)`),
    ['10', '30', '0', 'y', 'false', '20', 'x'],
  );
});

test('aggregate aliases: uniq, uniqExact, *If, groupArray', async () => {
  assert.deepEqual(
    await firstRow(`
      SELECT count(), countIf(amount > 6), uniq(user_id), uniqExact(user_id), uniqCombined(user_id), uniqHLL12(user_id), uniqIf(user_id, amount > 6),
             sumIf(amount, user_id = 1), avgIf(amount, user_id = 1), minIf(amount, user_id = 1), maxIf(amount, user_id = 1),
             groupArray(user_id), list_sort(groupUniqArray(user_id)), argMax(user_id, amount), (SELECT anyLast(x) FROM (VALUES (5), (5)) t(x)),
             anyIf(user_id, amount = 7), countDistinct(user_id), argMaxIf(ts, amount, user_id = 1), argMinIf(amount, ts, user_id = 1),
             groupArrayIf(amount, user_id = 1), round(stddevPop(amount), 3), round(stddevSamp(amount), 3), round(varPop(amount), 3), round(varSamp(amount), 3),
             round(covarPop(amount, user_id), 3), round(covarSamp(amount, user_id), 3)
      FROM events`),
    ['4', '2', '2', '2', '2', '2', '2', '15', '7.5', '5', '10', '[1,1,2]', '[1,2]', '1', '5',
      '2', '2', '2024-03-15 10:17:42.5', '10', '[10,5]', '2.055', '2.517', '4.222', '6.333', '-0.111', '-0.167'],
  );
});

test('integer conversions drop a fraction as ClickHouse does (toInt32(2.7) is 2); URL parts; more JSON; intervals; week starts by mode; time zones; array helpers', async () => {
  const url = "'https://www.example.com:8080/a/b?x=1&utm_source=news&y=#top'";
  const doc = `'{"a": {"b": 1, "c": [1, "two"]}, "n": -5, "s": "x"}'`;
  assert.deepEqual(
    await firstRow(`SELECT toInt32(2.7), toInt32(-2.7), toUInt8(3.9), toInt64('9007199254740993'), toInt32OrNull('x'), toInt16OrZero(7.9),
      domain(${url}), domainWithoutWWW(${url}), domain('example.org/x'), topLevelDomain(${url}), protocol(${url}), path(${url}), pathFull(${url}),
      queryString(${url}), fragment(${url}), cutQueryString(${url}), extractURLParameter(${url}, 'utm_source'), extractURLParameter(${url}, 'z'),
      JSONExtractUInt(${doc}, 'n'), JSONExtractKeys(${doc}), JSONExtractKeys(${doc}, 'a'), JSONExtractArrayRaw(${doc}, 'a', 'c'), JSONLength(${doc}),
      JSONLength(${doc}, 'a', 'c'), simpleJSONExtractString(${doc}, 's'), visitParamExtractInt(${doc}, 'n'), simpleJSONExtractInt(${doc}, 'n'),
      visitParamExtractString(${doc}, 's'), simpleJSONExtractFloat(${doc}, 'n'), visitParamExtractFloat(${doc}, 'n'), simpleJSONExtractBool(${doc}, 's'),
      visitParamExtractBool(${doc}, 's'), simpleJSONExtractRaw(${doc}, 'a'), visitParamExtractRaw(${doc}, 's'),
      TIMESTAMP '2024-01-01 00:00:00' + toIntervalSecond(30) + toIntervalMinute(1) + toIntervalHour(2) + toIntervalDay(1) + toIntervalWeek(1)
        + toIntervalMonth(1) + toIntervalQuarter(1) + toIntervalYear(1),
      toStartOfWeek(DATE '2024-03-13', 1), toStartOfWeek(DATE '2024-03-13', 0), toTimezone(TIMESTAMP '2024-03-13 10:00:00', 'Asia/Tokyo'),
      arrayEnumerate(['a', 'b', 'c']), arrayCumSum([1, 2, 3]), arrayReverseSort([2, 3, 1])`),
    ['2', '-2', '3', '9007199254740993', '', '7',
      'www.example.com', 'example.com', 'example.org', 'com', 'https', '/a/b', '/a/b?x=1&utm_source=news&y=#top',
      'x=1&utm_source=news&y=', 'top', 'https://www.example.com:8080/a/b#top', 'news', '',
      '0', '["a","n","s"]', '["b","c"]', '["1","\\"two\\""]', '3',
      '2', 'x', '-5', '-5',
      'x', '-5', '-5', 'false',
      'false', '{"b":1,"c":[1,"two"]}', '"x"',
      '2025-05-09 02:01:30',
      '2024-03-11', '2024-03-10', '2024-03-13 19:00:00',
      '[1,2,3]', '[1,3,6]', '[3,2,1]'],
  );
});

test('exact distinct counts: uniqCombined (exact at any size here), uniq of several columns, uniqExactIf; medianExact takes the higher middle value; sumIf of no rows is 0', async () => {
  assert.deepEqual(
    await firstRow(`SELECT uniqCombined(x), uniqCombined64(x), uniq(x % 7, x % 3), uniq(x % 2, x % 3, x % 5), uniqExact(x % 7, x % 3), uniqExactIf(x % 10, x > 500),
      medianExact(x), (SELECT medianExact(y) FROM (VALUES (1), (2), (3), (4)) t(y)), (SELECT sumIf(y, y > 10) FROM (VALUES (1)) t(y))
      FROM range(1, 1001) r(x)`),
    ['1000', '1000', '21', '30', '21', '10', '501', '3', '0'],
  );
});

test('time zones on date functions (the wall clock there), integer conversions of times (Unix seconds) and dates (days), tupleElement, timestampAdd/Sub, countDistinctIf', async () => {
  const t = "TIMESTAMP '2024-03-15 22:30:00'";
  assert.deepEqual(
    await firstRow(`SELECT toDate(${t}, 'Asia/Tokyo'), toHour(${t}, 'Asia/Tokyo'), toStartOfDay(${t}, 'Asia/Tokyo'), toStartOfHour(${t}, 'America/New_York'),
      toYYYYMMDD(${t}, 'Asia/Tokyo'), toUInt32(TIMESTAMP_S '2024-01-01 00:00:00'), toInt64(DATE '1970-01-11'), toUInt32OrNull(${t}), toInt32(7.9),
      tupleElement((1, 'a'), 2), timestampAdd(DATE '2024-01-01', INTERVAL 2 DAY), timestampSub(${t}, INTERVAL 30 MINUTE),
      (SELECT countDistinctIf(x % 3, x > 3) FROM range(10) r(x))`),
    ['2024-03-16', '7', '2024-03-16 00:00:00', '2024-03-15 18:00:00', '20240316', '1704067200', '10', '1710541800', '7',
      'a', '2024-01-03 00:00:00', '2024-03-15 22:00:00', '3'],
  );
});

test("best-effort parsing reads ClickHouse's other shapes: a day first (a month first in the US forms), YYYYMMDD[hhmmss], RFC 1123, month names; whole seconds", async () => {
  assert.deepEqual(
    await firstRow(`SELECT parseDateTimeBestEffort('03/02/2024'), parseDateTimeBestEffortUS('03/02/2024'), parseDateTimeBestEffort('3.2.2024 10:00'),
      parseDateTimeBestEffort('03-02-24 10:00:05'), parseDateTimeBestEffort('20240102030405'), parseDateTimeBestEffort('20240102'),
      parseDateTimeBestEffort('Sat, 18 Aug 2018 07:22:16 GMT'), parseDateTimeBestEffort('Aug 18 2018'), parseDateTimeBestEffort('18 August 2018 10:00'),
      parseDateTimeBestEffort('2024-01-01 10:00:00.75'), parseDateTimeBestEffortUSOrNull('13/13/2024'), parseDateTimeBestEffortUSOrZero('x'),
      parseDateTime64BestEffort('18/08/2018 07:22:16.25')`),
    ['2024-02-03 00:00:00', '2024-03-02 00:00:00', '2024-02-03 10:00:00', '2024-02-03 10:00:05', '2024-01-02 03:04:05', '2024-01-02 00:00:00',
      '2018-08-18 07:22:16', '2018-08-18 00:00:00', '2018-08-18 10:00:00', '2024-01-01 10:00:00', '', '1970-01-01 00:00:00', '2018-08-18 07:22:16.25'],
  );
  await assert.rejects(firstRow(`SELECT parseDateTimeBestEffortUS('31/01/2024')`), /parseDateTimeBestEffortUS: cannot read "31\/01\/2024"/);
});

test('a text given a time zone is that zone\'s wall clock already (toDateTime, toDateTime64, toDate), where a time or a number is moved there', async () => {
  assert.deepEqual(
    await firstRow(`SELECT toDateTime('2024-01-01 00:00:00', 'Asia/Tokyo'), toDateTime64('2024-01-01 00:00:00.5', 3, 'Asia/Tokyo'), toDate('2024-01-01 20:00:00', 'Asia/Tokyo'),
      toDateTime(1704067200, 'Asia/Tokyo'), toDateTime(TIMESTAMP '2024-01-01 00:00:00', 'Asia/Tokyo'), toDate(TIMESTAMP '2024-01-01 20:00:00', 'Asia/Tokyo')`),
    ['2024-01-01 00:00:00', '2024-01-01 00:00:00.5', '2024-01-01', '2024-01-01 09:00:00', '2024-01-01 09:00:00', '2024-01-02'],
  );
});

test('aggregate aliases work per group', async () => {
  const result = await runQuery(fixture.storage, await fixture.guard('SELECT toDate(ts) AS day, sumIf(amount, amount > 5) AS s FROM events GROUP BY day ORDER BY day'));
  assert.deepEqual(result.rows.map((row) => row.map((value) => renderTextValue(value))), [['2024-03-15', '10'], ['2024-03-16', '7']]);
});

test('more ClickHouse names: bit aggregates, readable quantities, multiSearchAny, array push/pop/compact/intersect, 64-bit best-effort times, relative numbers, dateName, makeDate', async () => {
  assert.deepEqual(
    await firstRow(`SELECT groupBitOr(x), groupBitAnd(x), groupBitXor(x), formatReadableQuantity(1500), formatReadableQuantity(2.5e9), multiSearchAny('abc', ['z', 'b']),
      arrayPushBack([1], 2), arrayPushFront([1], 0), arrayPopBack([1, 2]), arrayPopFront([1, 2]), arrayPopBack([]), arrayCompact([1, 1, NULL, NULL, 2]),
      arrayIntersect([1, 2], [2]), parseDateTime64BestEffort('2024-01-01 00:00:00.98765'), parseDateTime64BestEffortOrNull('x'), parseDateTime64BestEffortOrZero('x'),
      toRelativeDayNum(DATE '1970-01-03'), toRelativeHourNum(TIMESTAMP '1970-01-01 05:30:00'), toRelativeMinuteNum(TIMESTAMP '1970-01-01 00:02:30'),
      toRelativeSecondNum(TIMESTAMP '1970-01-01 00:00:07'), toRelativeMonthNum(DATE '2024-02-10'), toRelativeYearNum(DATE '2024-02-10'),
      toLastDayOfMonth(DATE '2023-02-10'), timeSlot(TIMESTAMP '2024-01-01 10:29:59'), dateName('month', DATE '2024-05-01'), dateName('Weekday', DATE '2024-05-01'),
      dateName('day', DATE '2024-05-01'), toDate32('2024-05-01'), makeDate(2024, 5, 1), makeDateTime(2024, 5, 1, 23, 59, 58), substringUTF8('añob', 2, 2),
      positionUTF8('añob', 'o'), toValidUTF8('ok'), intDivOrZero(5, 0), intDivOrZero(-7, 2), modulo(7, 4), bitShiftLeft(3, 2), bitShiftRight(12, 2),
      rand() < 4294967296, randCanonical() BETWEEN 0 AND 1
      FROM (VALUES (6), (3)) t(x)`),
    ['7', '2', '5', '1.50 thousand', '2.50 billion', 'true', '[1,2]', '[0,1]', '[1]', '[2]', '[]', '[1,null,2]', '[2]', '2024-01-01 00:00:00.987', '',
      '1970-01-01 00:00:00', '2', '5', '2', '7', '24290', '2024', '2023-02-28', '2024-01-01 10:00:00', 'May', 'Wednesday', '1', '2024-05-01', '2024-05-01',
      '2024-05-01 23:59:58', 'ño', '3', 'ok', '0', '-3', '3', '12', '3', 'true', 'true'],
  );
});

test('hashes as their bytes, decimal digits cut not rounded, toBool, transform, toYYYYMMDDhhmmss, toWeek by mode, isValidJSON, array helpers, now64 with a scale', async () => {
  assert.deepEqual(
    await firstRow(`SELECT lower(hex(sluice_md5('a'))), hex(sluice_sha1('a')), hex(sluice_sha256('a')), octet_length(sluice_md5('a')),
      sluice_decimal_text(1.15::DOUBLE, 2), sluice_decimal_text('-1.999', 2), sluice_decimal_text(42, 3), sluice_decimal_text(true, 1),
      toBool('Yes'), toBool(0), toBool(-2), transform(2, [1, 2], [10, 20]), transform(3, [1, 2], [10, 20]), transform('c', ['a', 'b'], ['x', 'y'], 'z'),
      toYYYYMMDDhhmmss(ts), toYYYYMMDDhhmmss(ts, 'Asia/Tokyo'), toWeek(DATE '2016-12-27'), toWeek(DATE '2016-12-27', 1), toWeek(DATE '2021-01-01', 3),
      isValidJSON('{"a": [1, 2]}'), isValidJSON('[1,]'), isValidJSON('{"s": "NaN,]"}'), arrayZip([1, 2], ['a', 'b']), arrayZip([1]), arrayZip([1], [2], [3]),
      arrayFlatten([[1], [], [2, 3]]), arrayDifference([1, 4, 2]), arrayCumSumNonNegative([1, 1, -4, 1]),
      (SELECT arrayCumSumNonNegative(running) FROM (SELECT [5, -9, 1] AS running, 1 AS next)), countEqual([1, NULL, NULL], NULL),
      len(now64(6)::VARCHAR) > 0, now64(3, 'Asia/Tokyo') > now64(3)
      FROM events ORDER BY ts LIMIT 1`),
    ['0cc175b9c0f1b6a831c399e269772661', '86F7E437FAA5A7FCE15D1DDCB9EAEAEA377667B8', 'CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB', '16',
      '1.14', '-1.99', '42', '1',
      'true', 'false', 'true', '20', '3', 'z',
      '20240315101742', '20240315191742', '52', '52', '53',
      'true', 'false', 'true', '[[1,"a"],[2,"b"]]', '[[1]]', '[[1,2,3]]',
      '[1,2,3]', '[0,3,-2]', '[1,2,0,1]', '[5,0,1]', '2',
      'true', 'true'],
  );
  await assert.rejects(firstRow(`SELECT toBool('maybe')`), /toBool: cannot read "maybe"/);
  await assert.rejects(firstRow('SELECT transform(1, [1, 2], [3])'), /transform: the arrays/);
  await assert.rejects(firstRow('SELECT arrayZip([1], [1, 2])'), /arrayZip: the arrays must have the same size/);
  await assert.rejects(firstRow('SELECT toWeek(DATE \'2024-01-01\', 2)'), /toWeek: mode 2 is not supported/);
  assert.deepEqual(
    await firstRow(`SELECT emptyArrayUInt8(), emptyArrayUInt16(), emptyArrayUInt32(), emptyArrayUInt64(), emptyArrayInt8(), emptyArrayInt16(), emptyArrayInt32(),
      emptyArrayInt64(), emptyArrayFloat32(), emptyArrayFloat64(), emptyArrayString(), emptyArrayDate(), emptyArrayDateTime()`),
    Array.from({ length: 13 }, () => '[]'),
  );
});

test('every macro is exercised by a query in this file', async () => {
  const source = await readFile(fileURLToPath(import.meta.url), 'utf8');
  const untested = CLICKHOUSE_MACROS.map((macro) => macro.name).filter((name) => !new RegExp(`\\b${name}\\(`).test(source));
  assert.deepEqual(untested, []);
});
