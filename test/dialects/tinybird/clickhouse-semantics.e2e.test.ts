import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useTinybirdSuite } from '../../helpers/tinybird-suite.ts';

/**
 * ClickHouse's answers, through the SQL API, at the edges where DuckDB's function of the same name
 * (or the macro standing for ClickHouse's) answers otherwise: NULLs, empty strings and arrays,
 * signs, division by zero, rounding, 1-based and negative positions, UTF-8, date boundaries, result
 * types in `meta`, aggregates of no rows. Each expectation is ClickHouse's documented behaviour; a
 * case whose ClickHouse answer is not certain is left out. Differences not fixed are `todo`.
 */
describe("ClickHouse's semantics at the edges, in the Tinybird SQL API", () => {
  const suite = useTinybirdSuite();

  before(async () => {
    await suite.tb.form('/v0/datasources?name=edges', {
      schema: 'id Int32, u UInt8, f Float64, s String, d Date, ts DateTime, ts3 DateTime64(3), n Nullable(Int32), tags Array(String), j String',
    });
    // Two Sundays at a week's and a year's edge, and a leap day (a Thursday).
    const rows = [
      { id: 1, u: 200, f: 2.5, s: 'héllo', d: '2024-01-07', ts: '2024-01-07 23:59:59', ts3: '2024-01-07 23:59:59.123', n: null, tags: ['a', 'b'], j: '{"a":1,"b":"x","c":[1,2],"d":{"e":2.5},"t":true}' },
      { id: 2, u: 100, f: -2.5, s: '', d: '2023-12-31', ts: '2024-01-01 00:00:00', ts3: '2024-01-01 00:00:00.000', n: 5, tags: [], j: '{}' },
      { id: 3, u: 55, f: 3.5, s: 'abc', d: '2024-02-29', ts: '2024-02-29 12:30:00', ts3: '2024-02-29 12:30:00.750', n: 7, tags: ['c'], j: 'not json' },
    ];
    const loaded = await suite.server.fetch('/v0/events?name=edges&wait=true', { method: 'POST', body: rows.map((row) => JSON.stringify(row)).join('\n') });
    assert.equal(loaded.status, 200, await loaded.text());
    await suite.tb.form('/v0/datasources?name=ties', { schema: 'k String, v Int32' });
    const ties = [{ k: 'a', v: 1 }, { k: 'b', v: 2 }, { k: 'c', v: 2 }, { k: 'd', v: 1 }];
    const tied = await suite.server.fetch('/v0/events?name=ties&wait=true', { method: 'POST', body: ties.map((row) => JSON.stringify(row)).join('\n') });
    assert.equal(tied.status, 200, await tied.text());
  });

  interface Result {
    data: Array<Record<string, unknown>>;
    meta: Array<{ name: string; type: string }>;
  }

  const run = (sql: string) => suite.server.fetch(`/v0/sql?q=${encodeURIComponent(sql)}`);

  async function query(sql: string): Promise<Result> {
    const response = await run(`${sql} FORMAT JSON`);
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    return body as Result;
  }

  async function text(sql: string): Promise<string> {
    const response = await run(sql);
    const body = await response.text();
    assert.equal(response.status, 200, body);
    return body;
  }

  /** The `meta` types of the columns named (the others are not ClickHouse's here, or not this test's point). */
  function assertTypes(result: Result, expected: Record<string, string>): void {
    const types = Object.fromEntries(result.meta.map(({ name, type }) => [name, type]));
    assert.deepEqual(Object.fromEntries(Object.keys(expected).map((name) => [name, types[name]])), expected);
  }

  async function assertRefused(sql: string, error: RegExp): Promise<void> {
    const response = await run(sql);
    const body = (await response.json()) as { error?: string };
    assert.equal(response.status, 400, `${sql}: ${JSON.stringify(body)}`);
    assert.match(body.error ?? '', error, sql);
  }

  describe('numbers', () => {
    test('an alias of a constant in GROUP BY or ORDER BY is that value, not a column position, nor refused', async () => {
      const grouped = await query('SELECT number % 3 AS k, 1 AS one, 5 AS w, count() AS c FROM numbers(10) GROUP BY k, w ORDER BY one, c, k');
      assert.deepEqual(grouped.data, [{ k: 1, one: 1, w: 5, c: 3 }, { k: 2, one: 1, w: 5, c: 3 }, { k: 0, one: 1, w: 5, c: 4 }]);
      const labelled = await query("SELECT 'total' AS label, count() AS c FROM numbers(3) GROUP BY label ORDER BY label");
      assert.deepEqual(labelled.data, [{ label: 'total', c: 3 }]);
    });

    test('an alias in GROUP BY, ORDER BY or WHERE whose expression names other aliases of the list is read with theirs, as ClickHouse reads it; one reading a column of its own name keeps the column', async () => {
      const daily = await query(`SELECT toStartOfDay(toDateTime(number * 43200)) AS day, formatDateTime(day, '%Y-%m-%d') AS label, count() AS c
        FROM numbers(5) GROUP BY day, label ORDER BY label`);
      assert.deepEqual(daily.data, [{ day: '1970-01-01 00:00:00', label: '1970-01-01', c: 2 }, { day: '1970-01-02 00:00:00', label: '1970-01-02', c: 2 }, { day: '1970-01-03 00:00:00', label: '1970-01-03', c: 1 }]);
      const ratios = await query('SELECT number % 2 AS k, count() AS c, sum(number) AS total, c / total AS share FROM numbers(4) GROUP BY k HAVING share > 0.4 ORDER BY share');
      assert.deepEqual(ratios.data, [{ k: 1, c: 2, total: 4, share: 0.5 }, { k: 0, c: 2, total: 2, share: 1 }]);
      const filtered = await query('SELECT number + 1 AS a, a * 10 AS b FROM numbers(4) WHERE b > 25 ORDER BY b');
      assert.deepEqual(filtered.data, [{ a: 3, b: 30 }, { a: 4, b: 40 }]);
      const shadowed = await query('SELECT toString(number) AS number, toString(number * 2) AS twice FROM numbers(3) ORDER BY twice DESC');
      assert.deepEqual(shadowed.data, [{ number: '2', twice: '4' }, { number: '1', twice: '2' }, { number: '0', twice: '0' }]);
    });

    test("a SELECT of a union keeps its own ORDER BY and LIMIT, as ClickHouse applies them, at any level of the query", async () => {
      const last = await query('SELECT number FROM numbers(3) UNION ALL SELECT number FROM numbers(10) ORDER BY number DESC LIMIT 2');
      assert.deepEqual(last.data.map((row) => row['number']).sort(), [0, 1, 2, 8, 9]);
      const first = await query('SELECT number FROM numbers(5) ORDER BY number DESC LIMIT 2 UNION ALL SELECT number FROM numbers(3)');
      assert.deepEqual(first.data.map((row) => row['number']).sort(), [0, 1, 2, 3, 4]);
      const nested = await query('SELECT count() AS c FROM (SELECT number FROM numbers(3) UNION ALL SELECT number FROM numbers(10) LIMIT 2)');
      assert.deepEqual(nested.data, [{ c: 5 }]);
    });

    test('CAST to an integer drops the fraction as toInt32 does, in any spelling; CAST to String writes a Float64 as toString does', async () => {
      const result = await query(`SELECT CAST(f AS Int32) AS a, CAST(f, 'Int64') AS b, TRY_CAST(s AS Nullable(UInt8)) AS c, CAST(f * 2 AS String) AS e,
        CAST(ts AS UInt32) AS g FROM edges WHERE id IN (1, 2) ORDER BY id`);
      assert.deepEqual(result.data, [{ a: 2, b: 2, c: null, e: '5', g: 1704671999 }, { a: -2, b: -2, c: null, e: '-5', g: 1704067200 }]);
      assertTypes(result, { a: 'Int32', b: 'Int64', c: 'Nullable(UInt8)', e: 'String', g: 'UInt32' });
    });

    test('intDiv truncates toward zero and modulo takes the sign of the dividend; intDivOrZero by zero is 0', async () => {
      const result = await query(`SELECT intDiv(-7, 2) AS a, intDiv(7, -2) AS b, modulo(-7, 2) AS c, modulo(7, -2) AS e, -7 % 2 AS g,
        intDivOrZero(7, 0) AS h, intDiv(id, 2) AS i FROM edges WHERE id = 3`);
      assert.deepEqual(result.data, [{ a: -3, b: -3, c: -1, e: 1, g: -1, h: 0, i: 1 }]);
    });

    test('intDiv and modulo of an integer by zero are errors, not NULL, for constants and columns alike', async () => {
      await assertRefused('SELECT intDiv(1, 0)', /Division by zero/);
      await assertRefused('SELECT modulo(1, 0)', /Division by zero/);
      await assertRefused('SELECT intDiv(id, id - id) FROM edges', /Division by zero/);
      await assertRefused('SELECT modulo(id, 0) FROM edges', /Division by zero/);
    });

    test('the % operator of an integer by zero is an error too, and binds as * and / do', async () => {
      await assertRefused('SELECT id % 0 FROM edges', /Division by zero/);
      await assertRefused('SELECT count() FROM edges WHERE (id + 1) % (id - id) = 0', /Division by zero/);
      const result = await query(`SELECT 2 * 3 % 4 AS a, 7 % 4 * 2 AS b, 10 % 7 % 4 AS c, 1 + 7 % 4 AS e, 7 % -4 AS g, id % 2 AS h,
        '100%' AS pct, if(s LIKE '%l%', 'yes', 'no') AS has_l FROM edges WHERE id = 1`);
      assert.deepEqual(result.data, [{ a: 2, b: 6, c: 3, e: 4, g: 3, h: 1, pct: '100%', has_l: 'yes' }]);
    });

    test('DIV and MOD are intDiv and modulo, binding as * and / do (an integer by zero is an error), and a name div or mod stays a name', async () => {
      const result = await query(`SELECT 7 DIV 2 AS a, -7 DIV 2 AS b, 7 MOD 4 AS c, -7 MOD 4 AS e, 2 * 7 DIV 2 AS g, 1 + 7 DIV 2 AS h, 7 MOD 4 * 2 AS i,
        id DIV 2 AS j, id AS div, div DIV 2 AS k FROM edges WHERE id = 3`);
      assert.deepEqual(result.data, [{ a: 3, b: -3, c: 3, e: -3, g: 7, h: 4, i: 6, j: 1, div: 3, k: 1 }]);
      await assertRefused('SELECT id DIV 0 FROM edges', /Division by zero/);
      await assertRefused('SELECT id MOD (id - id) FROM edges', /Division by zero/);
    });

    test('/ divides as floats: 7 / 2 is 3.5 (a Float64), and by zero it gives inf, -inf and nan rather than an error, written null in JSON', async () => {
      const result = await query('SELECT 7 / 2 AS half, 6 / 3 AS whole');
      assert.deepEqual(result.data, [{ half: 3.5, whole: 2 }]);
      assertTypes(result, { half: 'Float64', whole: 'Float64' });
      assert.equal(await text('SELECT 1 / 0, -1 / 0, 0 / 0, id / 0 FROM edges WHERE id = 1 FORMAT CSV'), 'inf,-inf,nan,inf\n');
      // JSON has no such numbers: ClickHouse's JSON formats write them as null (output_format_json_quote_denormals is off).
      assert.deepEqual((await query('SELECT 1 / 0 AS a, -1 / 0 AS b, 0 / 0 AS c')).data, [{ a: null, b: null, c: null }]);
      assert.equal(await text('SELECT 1 / 0 AS a, 0 / 0 AS c FORMAT JSONEachRow'), '{"a":null,"c":null}\n');
    });

    test('round of a Float64 rounds half to even (banker\'s rounding): 2.5 is 2, -2.5 is -2, 3.5 is 4', async () => {
      const result = await query('SELECT round(f) AS r FROM edges ORDER BY id');
      assert.deepEqual(result.data, [{ r: 2 }, { r: -2 }, { r: 4 }]);
      assertTypes(result, { r: 'Float64' });
    });

    test('integer arithmetic widens the type as ClickHouse does instead of overflowing: Int32 + UInt32, UInt8 + UInt8, UInt8 - UInt8 and -UInt8', { todo: "DuckDB keeps the operands' type: Int32 + 2147483647 and UInt8 + UInt8 past 255 are overflow errors (400), UInt8 - 201 too, and -u of a UInt8 200 wraps to 56; ClickHouse's result types (Int64, UInt16, Int16) need type-aware rewriting of every operator" }, async () => {
      const result = await query('SELECT id + 2147483647 AS a, u + u AS b, u - 201 AS c, -u AS e, id * 2147483647 AS g FROM edges WHERE id = 1');
      assert.deepEqual(result.data, [{ a: 2147483648, b: 400, c: -1, e: -200, g: 2147483647 }]);
    });

    test('toDecimal32/64/128(x, S) are Decimal(9|18|38, S) with the digits past S cut, not rounded (a Float64 scaled as a Float64: 1.15 is 1.14); OrNull and OrZero absorb what does not convert', async () => {
      const result = await query(`SELECT toDecimal32(2, 1) AS a, toDecimal32('4.2', 3) AS b, toDecimal32('1.159', 2) AS cut, toDecimal32(toFloat64(1.15), 2) AS float,
        toDecimal64('-1.999', 2) AS negative, toDecimal64(f, 1) AS of_column, toDecimal128('123456789012345678901234567890.123456', 5) AS wide,
        toDecimal32OrNull('abc', 2) AS bad_null, toDecimal64OrZero('abc', 3) AS bad_zero FROM edges WHERE id = 2`);
      assert.deepEqual(result.data, [{
        a: 2, b: 4.2, cut: 1.15, float: 1.14, negative: -1.99, of_column: -2.5, wide: '123456789012345678901234567890.12345', bad_null: null, bad_zero: 0,
      }]);
      assertTypes(result, {
        a: 'Decimal(9, 1)', b: 'Decimal(9, 3)', cut: 'Decimal(9, 2)', float: 'Decimal(9, 2)', negative: 'Decimal(18, 2)', wide: 'Decimal(38, 5)',
        bad_null: 'Nullable(Decimal(9, 2))', bad_zero: 'Decimal(18, 3)',
      });
      await assertRefused('SELECT toDecimal32(12345678, 2)', /DECIMAL\(9, ?2\)/);
      await assertRefused('SELECT toDecimal32(1, 10)', /scale must be from 0 to 9/);
      await assertRefused('SELECT toDecimal32(id, id) FROM edges', /constant whole number/);
    });

    test("toBool: a number is true unless 0; a text is true, false, yes, no, on, off, 1, 0 … in either case, and anything else an error", async () => {
      const result = await query(`SELECT toBool(u) AS a, toBool(-1) AS b, toBool(toFloat64(0.5)) AS c, toBool(0) AS d, toBool('true') AS e, toBool('FALSE') AS g,
        toBool('Yes') AS h, toBool('off') AS i, toBool(n) AS j FROM edges WHERE id = 1`);
      assert.deepEqual(result.data, [{ a: true, b: true, c: true, d: false, e: true, g: false, h: true, i: false, j: null }]);
      assertTypes(result, { a: 'Bool', e: 'Bool' });
      await assertRefused("SELECT toBool('maybe')", /toBool: cannot read "maybe"/);
    });

    test('toInt8 and toUInt8 of an out-of-range number wrap around, without an overflow check: toInt8(300) is 44, toUInt8(-1) 255', { todo: 'the conversions are casts that fail with an error (400) out of range; wrapping needs modular arithmetic per integer width in toInteger()' }, async () => {
      const result = await query('SELECT toInt8(300) AS a, toInt8(128) AS b, toUInt8(-1) AS c, toUInt8(256) AS e');
      assert.deepEqual(result.data, [{ a: 44, b: -128, c: 255, e: 0 }]);
    });
  });

  describe('dates and times', () => {
    test('toStartOfWeek starts on Sunday (mode 0) or Monday (mode 1); toMonday, toDayOfWeek (Sunday is 7), toYYYYMM and toYYYYMMDD at a year\'s end and a leap day', async () => {
      const result = await query(`SELECT toStartOfWeek(d) AS w0, toStartOfWeek(d, 1) AS w1, toMonday(d) AS monday, toStartOfWeek(ts) AS of_time,
        toDayOfWeek(d) AS dow, toYYYYMM(d) AS ym, toYYYYMMDD(d) AS ymd, toDayOfYear(d) AS doy, toQuarter(d) AS q FROM edges ORDER BY id`);
      assert.deepEqual(result.data, [
        { w0: '2024-01-07', w1: '2024-01-01', monday: '2024-01-01', of_time: '2024-01-07', dow: 7, ym: 202401, ymd: 20240107, doy: 7, q: 1 },
        { w0: '2023-12-31', w1: '2023-12-25', monday: '2023-12-25', of_time: '2023-12-31', dow: 7, ym: 202312, ymd: 20231231, doy: 365, q: 4 },
        { w0: '2024-02-25', w1: '2024-02-26', monday: '2024-02-26', of_time: '2024-02-25', dow: 4, ym: 202402, ymd: 20240229, doy: 60, q: 1 },
      ]);
      assertTypes(result, { w0: 'Date', w1: 'Date', monday: 'Date', of_time: 'Date' });
    });

    test('toISOWeek and toISOYear across a year boundary, toLastDayOfMonth of a leap February, and month arithmetic clamped to the month\'s last day', async () => {
      const result = await query(`SELECT toISOWeek(toDate('2024-12-30')) AS w1, toISOYear(toDate('2024-12-30')) AS y1, toISOWeek(toDate('2021-01-01')) AS w2,
        toISOYear(toDate('2021-01-01')) AS y2, toLastDayOfMonth(toDate('2024-02-10')) AS last, addMonths(toDate('2024-01-31'), 1) AS next_month,
        subtractYears(toDate('2024-02-29'), 1) AS year_before`);
      assert.deepEqual(result.data, [{ w1: 1, y1: 2025, w2: 53, y2: 2020, last: '2024-02-29', next_month: '2024-02-29', year_before: '2023-02-28' }]);
      assertTypes(result, { last: 'Date', next_month: 'Date', year_before: 'Date' });
    });

    test('dateDiff counts the unit boundaries crossed, not whole units elapsed, and is negative when the end comes first', async () => {
      const result = await query(`SELECT dateDiff('day', toDateTime('2024-01-07 23:59:59'), toDateTime('2024-01-08 00:00:00')) AS day,
        dateDiff('month', toDate('2024-01-31'), toDate('2024-02-01')) AS month, dateDiff('year', toDate('2024-12-31'), toDate('2025-01-01')) AS year,
        dateDiff('quarter', toDate('2024-03-31'), toDate('2024-04-01')) AS quarter, dateDiff('day', toDate('2024-01-02'), toDate('2024-01-01')) AS back,
        dateDiff('hour', toDateTime('2024-01-01 01:00:00'), toDateTime('2024-01-01 00:59:59')) AS hour_back,
        dateDiff('minute', toDateTime('2024-01-01 00:00:59'), toDateTime('2024-01-01 00:01:00')) AS minute,
        dateDiff('second', toDateTime('2024-01-01 00:00:00'), toDateTime('2024-01-01 00:01:00')) AS seconds,
        dateDiff('week', toDate('2024-01-07'), toDate('2024-01-08')) AS week`);
      assert.deepEqual(result.data, [{ day: 1, month: 1, year: 1, quarter: 1, back: -1, hour_back: -1, minute: 1, seconds: 60, week: 1 }]);
      const perRow = await query("SELECT dateDiff('day', d, toDate('2024-01-08')) AS days FROM edges ORDER BY id");
      assert.deepEqual(perRow.data, [{ days: 1 }, { days: 8 }, { days: -52 }]);
    });

    test('toUnixTimestamp of a DateTime64 cuts its fraction of a second (.750 belongs to the second before), as a DateTime has it', async () => {
      const result = await query(`SELECT toUnixTimestamp(ts3) AS of_64, toUnixTimestamp(ts) AS of_time,
        toUnixTimestamp(toDateTime64('2024-01-01 00:00:00.999', 3)) AS almost FROM edges ORDER BY id`);
      assert.deepEqual(result.data, [
        { of_64: 1704671999, of_time: 1704671999, almost: 1704067200 },
        { of_64: 1704067200, of_time: 1704067200, almost: 1704067200 },
        { of_64: 1709209800, of_time: 1709209800, almost: 1704067200 },
      ]);
    });

    test('formatDateTime: %u, %w, %V, %j and %e on Sundays and a leap day; %I, %h, %p and %r at midnight and noon; %f in as many digits as the type has', async () => {
      const result = await query(`SELECT formatDateTime(d, '%u %w %V %j [%e] %a %y') AS day, formatDateTime(ts3, '%f') AS millis,
        formatDateTime(ts, '%f') AS of_time, formatDateTime(ts3, '%S.%f', 'Asia/Kolkata') AS zoned, formatDateTime(d, '%H:%i:%S') AS of_date FROM edges ORDER BY id`);
      assert.deepEqual(result.data, [
        { day: '7 0 01 007 [ 7] Sun 24', millis: '123', of_time: '000000', zoned: '59.123', of_date: '00:00:00' },
        { day: '7 0 52 365 [31] Sun 23', millis: '000', of_time: '000000', zoned: '00.000', of_date: '00:00:00' },
        { day: '4 4 09 060 [29] Thu 24', millis: '750', of_time: '000000', zoned: '00.750', of_date: '00:00:00' },
      ]);
      const clock = await query(`SELECT formatDateTime(toDateTime('2024-01-01 00:00:00'), '%I %h %p|%r') AS midnight,
        formatDateTime(toDateTime('2024-01-01 12:05:00'), '%I %h %p|%r') AS noon, formatDateTime(toDateTime64('2024-01-01 00:00:00.123456', 6), '%f') AS micros`);
      assert.deepEqual(clock.data, [{ midnight: '12 12 AM|12:00 AM', noon: '12 12 PM|12:05 PM', micros: '123456' }]);
      assertTypes(clock, { midnight: 'String', noon: 'String', micros: 'String' });
    });

    test('toString writes a float as ClickHouse does (1, not 1.0; 1e-7 and 10000000000000000, not 1e-07 and 1e+16), and a Date, a DateTime and a DateTime64(3) with all their digits', async () => {
      const result = await query(`SELECT toString(f) AS f, toString(f * 2) AS doubled, toString(toFloat64(1)) AS one, toString(id) AS id,
        toString(d) AS d, toString(ts) AS ts, toString(ts3) AS ts3 FROM edges ORDER BY id`);
      assert.deepEqual(result.data, [
        { f: '2.5', doubled: '5', one: '1', id: '1', d: '2024-01-07', ts: '2024-01-07 23:59:59', ts3: '2024-01-07 23:59:59.123' },
        { f: '-2.5', doubled: '-5', one: '1', id: '2', d: '2023-12-31', ts: '2024-01-01 00:00:00', ts3: '2024-01-01 00:00:00.000' },
        { f: '3.5', doubled: '7', one: '1', id: '3', d: '2024-02-29', ts: '2024-02-29 12:30:00', ts3: '2024-02-29 12:30:00.750' },
      ]);
      assertTypes(result, { f: 'String', doubled: 'String', d: 'String', ts3: 'String' });
      // Its shortest digits, plain from 1e-6 to below 1e21, else with an exponent without a plus sign, as ClickHouse writes floats.
      const floats = await query(`SELECT toString(toFloat64(1e-7)) AS tiny, toString(toFloat64(0.000015)) AS small, toString(toFloat64(1e16)) AS big,
        toString(toFloat64(1e20)) AS bigger, toString(toFloat64(1e21)) AS huge, toString(toFloat64(-2.5e300)) AS negative, toString(toFloat64(0.1) + toFloat64(0.2)) AS sum,
        toString(toFloat32(0.1)) AS single, toString(toFloat64(0) / 0) AS nan, toString(toFloat64(-1) / 0) AS minus_inf`);
      assert.deepEqual(floats.data, [{
        tiny: '1e-7', small: '0.000015', big: '10000000000000000', bigger: '100000000000000000000', huge: '1e21', negative: '-2.5e300',
        sum: '0.30000000000000004', single: '0.1', nan: 'nan', minus_inf: '-inf',
      }]);
    });

    test('now64 is a DateTime64(3), or of the scale given (in a time zone, its wall clock); toDateTime64 of a constant scale is typed as that DateTime64, as a cast is, and a (3) written with its three digits', async () => {
      const result = await query(`SELECT now64() AS now3, now64(3) AS also3, now64(6) AS now6, now64(3, 'UTC') AS utc,
        dateDiff('hour', now64(3), now64(3, 'Asia/Tokyo')) AS tokyo_ahead, toDateTime64('2024-01-01 00:00:00.100', 3) AS t3,
        CAST('2024-01-01 00:00:00.100' AS DateTime64(3)) AS cast3, toDateTime64('2024-01-01 00:00:00.123456', 6) AS t6,
        toDateTime64(ts, 3, 'Asia/Tokyo') AS tokyo, toDateTime64(ts, 3) AS of_column FROM edges WHERE id = 2`);
      assertTypes(result, { now3: 'DateTime64(3)', also3: 'DateTime64(3)', now6: 'DateTime64(6)', t3: 'DateTime64(3)', cast3: 'DateTime64(3)', t6: 'DateTime64(6)', of_column: 'DateTime64(3)' });
      const { now3, also3, now6, utc, ...rest } = result.data[0]!;
      assert.match(String(now3), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
      // A DateTime64(6) is DuckDB's TIMESTAMP, written without the trailing zeros of its fraction (docs/tinybird.md).
      assert.match(String(now6), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{0,5}[1-9])?$/);
      assert.ok(Math.abs(Date.parse(`${String(now3).replace(' ', 'T')}Z`) - Date.now()) < 60_000);
      assert.equal(also3, now3);
      assert.equal(utc, now3);
      assert.deepEqual(rest, {
        tokyo_ahead: 9, t3: '2024-01-01 00:00:00.100', cast3: '2024-01-01 00:00:00.100', t6: '2024-01-01 00:00:00.123456', tokyo: '2024-01-01 09:00:00.000',
        of_column: '2024-01-01 00:00:00.000',
      });
    });

    test('toYYYYMMDDhhmmss of a time, a date and in a time zone; toWeek by mode: 0 counts Sunday weeks from 0, 1 Monday weeks with four days of the year from 0, 3 ISO weeks', async () => {
      const result = await query(`SELECT toYYYYMMDDhhmmss(ts) AS full, toYYYYMMDDhhmmss(d) AS of_date, toYYYYMMDDhhmmss(ts, 'Asia/Tokyo') AS tokyo,
        toWeek(d) AS w0, toWeek(d, 1) AS w1, toWeek(d, 3) AS w3 FROM edges ORDER BY id`);
      assert.deepEqual(result.data, [
        { full: 20240107235959, of_date: 20240107000000, tokyo: 20240108085959, w0: 1, w1: 1, w3: 1 },
        { full: 20240101000000, of_date: 20231231000000, tokyo: 20240101090000, w0: 53, w1: 52, w3: 52 },
        { full: 20240229123000, of_date: 20240229000000, tokyo: 20240229213000, w0: 8, w1: 9, w3: 9 },
      ]);
      const edges = await query(`SELECT toWeek(toDate('2016-12-27')) AS a, toWeek(toDate('2016-12-27'), 1) AS b, toWeek(toDate('2021-01-01')) AS c,
        toWeek(toDate('2021-01-01'), 1) AS e, toWeek(toDate('2021-01-01'), 3) AS g, toWeek(toDate('2024-12-30'), 1) AS h, toWeek(toDate('2024-12-30'), 3) AS i,
        toWeek(toDate('2023-01-01')) AS j`);
      assert.deepEqual(edges.data, [{ a: 52, b: 52, c: 0, e: 0, g: 53, h: 53, i: 1, j: 1 }]);
      await assertRefused("SELECT toWeek(toDate('2024-01-01'), 2)", /toWeek: mode 2 is not supported/);
    });

    test("date parts have ClickHouse's narrow unsigned types in meta: toYear UInt16, toMonth, toDayOfWeek and toHour UInt8, toYYYYMM UInt32, toUnixTimestamp UInt32", { todo: 'the macros give DuckDB\'s BIGINT (Int64); casting them to UTINYINT/USMALLINT/UINTEGER would make DuckDB overflow where ClickHouse widens (toHour(t) * 1000), as its arithmetic does not promote' }, async () => {
      const result = await query(`SELECT toYear(d) AS y, toMonth(d) AS m, toDayOfMonth(d) AS dom, toDayOfWeek(d) AS dow, toDayOfYear(d) AS doy, toQuarter(d) AS q,
        toHour(ts) AS h, toYYYYMM(d) AS ym, toYYYYMMDD(d) AS ymd, toUnixTimestamp(ts) AS unix, toISOWeek(d) AS iso FROM edges WHERE id = 1`);
      assert.deepEqual(result.data, [{ y: 2024, m: 1, dom: 7, dow: 7, doy: 7, q: 1, h: 23, ym: 202401, ymd: 20240107, unix: 1704671999, iso: 1 }]);
      assertTypes(result, {
        y: 'UInt16', m: 'UInt8', dom: 'UInt8', dow: 'UInt8', doy: 'UInt16', q: 'UInt8', h: 'UInt8', ym: 'UInt32', ymd: 'UInt32', unix: 'UInt32', iso: 'UInt8',
      });
    });
  });

  describe('aggregates', () => {
    test('count, sum, avg and uniq over rows: their values; avg is a Float64', async () => {
      const result = await query('SELECT count() AS c, sum(id) AS s, sum(u) AS su, sum(f) AS sf, avg(id) AS a, uniq(id) AS uq, countIf(id > 1) AS ci, sumIf(id, id > 1) AS si FROM edges');
      assert.deepEqual(result.data, [{ c: 3, s: 6, su: 355, sf: 3.5, a: 2, uq: 3, ci: 2, si: 5 }]);
      assertTypes(result, { sf: 'Float64', a: 'Float64' });
    });

    test("count(), uniq and countIf are UInt64 in meta, sum of an Int32 is Int64 and of a UInt8 UInt64", { todo: "DuckDB's count is BIGINT (Int64) and its sum of integers HUGEINT (Int128), countIf's too; casting them would make DuckDB's arithmetic overflow where ClickHouse's does not (count() - 10 on a UInt64)" }, async () => {
      const result = await query('SELECT count() AS c, sum(id) AS s, sum(u) AS su, uniq(id) AS uq, uniqExact(id) AS ue, countIf(id > 1) AS ci, sumIf(id, id > 1) AS si FROM edges');
      assertTypes(result, { c: 'UInt64', s: 'Int64', su: 'UInt64', uq: 'UInt64', ue: 'UInt64', ci: 'UInt64', si: 'Int64' });
    });

    test('of no rows: count, sum, sumIf, countIf, uniq and groupBitOr are 0; groupArray, groupUniqArray, groupArrayIf, groupArray(n) and topK are []', async () => {
      const result = await query(`SELECT count() AS c, sum(id) AS s, sumIf(id, u > 0) AS si, countIf(u > 0) AS ci, uniq(id) AS uq, groupBitOr(u) AS bits,
        groupArray(id) AS ga, groupUniqArray(s) AS gu, groupArrayIf(id, u > 0) AS gai, groupArray(2)(id) AS ga2, topK(2)(s) AS top FROM edges WHERE id > 100`);
      assert.deepEqual(result.data, [{ c: 0, s: 0, si: 0, ci: 0, uq: 0, bits: 0, ga: [], gu: [], gai: [], ga2: [], top: [] }]);
      assertTypes(result, { ga: 'Array(Int32)', gu: 'Array(String)', gai: 'Array(Int32)', ga2: 'Array(Int32)', top: 'Array(String)' });
    });

    test('avg, avgIf and quantile of no rows are nan, typed Float64 (not a Nullable NULL)', { todo: "DuckDB's avg and quantile_cont give NULL of no rows (Nullable(Float64)); ClickHouse gives nan of a non-Nullable argument but NULL of a Nullable one, which the text rewrite cannot tell apart (in JSON both are null)" }, async () => {
      assert.equal(await text('SELECT avg(id), avgIf(id, u > 0), quantile(0.5)(id) FROM edges WHERE id > 100 FORMAT CSV'), 'nan,nan,nan\n');
      const result = await query('SELECT avg(id) AS a, avgIf(id, u > 0) AS ai, quantile(0.5)(id) AS q FROM edges WHERE id > 100');
      assertTypes(result, { a: 'Float64', ai: 'Float64', q: 'Float64' });
    });

    test("any, anyLast and argMax of no rows give the type's default (0, ''), not NULL", { todo: "DuckDB's any_value, last and arg_max give NULL of no rows; the default depends on the argument's type, which a macro or the text rewrite does not know" }, async () => {
      const result = await query('SELECT any(id) AS a, anyLast(s) AS b, argMax(s, id) AS c, any(s) AS e FROM edges WHERE id > 100');
      assert.deepEqual(result.data, [{ a: 0, b: '', c: '', e: '' }]);
      assertTypes(result, { a: 'Int32', b: 'String', c: 'String', e: 'String' });
    });

    test('groupArray keeps the order the rows come in and skips NULLs; argMax and argMin keep the first row of a tie', async () => {
      const ordered = await query('SELECT groupArray(x) AS xs FROM (SELECT number AS x FROM numbers(5) ORDER BY x DESC)');
      assert.deepEqual(ordered.data, [{ xs: [4, 3, 2, 1, 0] }]);
      const nullable = await query('SELECT groupArray(n) AS ns, count(n) AS counted FROM edges');
      assert.deepEqual(nullable.data, [{ ns: [5, 7], counted: 2 }]);
      const ties = await query('SELECT argMax(k, v) AS max_first, argMin(k, v) AS min_first FROM ties');
      assert.deepEqual(ties.data, [{ max_first: 'b', min_first: 'a' }]);
      assertTypes(ties, { max_first: 'String', min_first: 'String' });
    });

    test('quantile and median interpolate between the middle values (2.5 of 1 to 4); quantileExact and medianExact take the higher one (3)', async () => {
      const result = await query(`SELECT quantile(0.5)(x) AS q, median(x) AS m, quantileExact(0.5)(x) AS qe, medianExact(x) AS me,
        quantiles(0.25, 0.75)(x) AS qs, quantile(0.9)(x) AS q90 FROM (SELECT number + 1 AS x FROM numbers(4))`);
      assert.deepEqual(result.data, [{ q: 2.5, m: 2.5, qe: 3, me: 3, qs: [1.75, 3.25], q90: 3.7 }]);
      assertTypes(result, { q: 'Float64', m: 'Float64', qs: 'Array(Float64)', q90: 'Float64' });
    });
  });

  describe('quantiles', () => {
    test('the plural quantiles compute as the singular ones: quantilesExact(0.5, 0.9) is [5, 9] of 0 to 9 as quantileExact gives 5 and 9, quantilesTiming too', async () => {
      const result = await query(`SELECT quantilesExact(0.5, 0.9)(number) AS qse, quantileExact(0.5)(number) AS qe5, quantileExact(0.9)(number) AS qe9,
        quantilesTiming(0.9)(number) AS qst, quantileTiming(0.9)(number) AS qt, quantiles(0.5, 0.9)(number) AS qs, quantile(0.9)(number) AS q9,
        quantilesExactLow(0.5, 0.9)(number) AS low, quantilesExactHigh(0.5, 0.9)(number) AS high,
        quantilesExactWeighted(0.5, 0.9)(number, 1) AS weighted, quantileExactWeighted(0.9)(number, 1) AS weighted9,
        quantilesTDigest(0.5)(number) = [quantileTDigest(0.5)(number)] AS tdigest_alike, quantilesDeterministic(0.5)(number, number) = [quantileDeterministic(0.5)(number, number)] AS deterministic_alike
        FROM numbers(10)`);
      assert.deepEqual(result.data, [{
        qse: [5, 9], qe5: 5, qe9: 9, qst: [9], qt: 9, qs: [4.5, 8.1], q9: 8.1, low: [4, 9], high: [5, 9], weighted: [4, 8], weighted9: 8, tdigest_alike: true, deterministic_alike: true,
      }]);
      assertTypes(result, { qse: 'Array(Int64)', qs: 'Array(Float64)' });
    });

    test('quantileExactLow and quantileExactHigh take the lower and higher middle value of an even count; without a level they take 0.5', async () => {
      const result = await query(`SELECT quantileExactLow(0.5)(x) AS low, quantileExactHigh(0.5)(x) AS high, quantileExact(0.5)(x) AS exact,
        quantileExactLow(0.1)(x) AS low10, quantileExactLow(x) AS low_default, quantileExact(x) AS exact_default, quantile(x) AS interpolated,
        (SELECT quantileExactLow(0.5)(number) FROM numbers(5)) AS odd_low FROM (SELECT number + 1 AS x FROM numbers(4))`);
      assert.deepEqual(result.data, [{ low: 2, high: 3, exact: 3, low10: 1, low_default: 2, exact_default: 3, interpolated: 2.5, odd_low: 2 }]);
    });

    test('quantileExactWeighted counts each value its weight in times: the first whose running total reaches ⌈level × total⌉, the last at level 1', async () => {
      const result = await query(`SELECT quantileExactWeighted(0.5)(x, 1) AS q5, quantilesExactWeighted(0, 0.1, 0.3, 0.4, 0.7, 0.8, 1)(x, 1) AS qs,
        quantileExactWeighted(0.5)(x, if(x = 100, 10, 1)) AS heavy FROM (SELECT arrayJoin([1, 1, 1, 10, 10, 10, 10, 100, 100, 100]) AS x)`);
      assert.deepEqual(result.data, [{ q5: 10, qs: [1, 1, 1, 10, 10, 100, 100], heavy: 100 }]);
      // Columns named like the rewrite's own names stay the query's.
      const named = await query('SELECT quantileExactWeighted(0.5)(next, total) AS q FROM (SELECT number AS next, 2 AS total FROM numbers(10))');
      assert.deepEqual(named.data, [{ q: 4 }]);
    });

    test('the -If forms take a condition last: quantileIf, quantilesIf, quantileExactIf, quantilesExactIf, quantileExactWeightedIf', async () => {
      const result = await query(`SELECT quantileIf(0.5)(number, number > 4) AS qi, quantilesIf(0.5, 0.9)(number, number > 4) AS qsi,
        quantileExactIf(0.5)(number, number < 4) AS qei, quantilesExactIf(0.5, 0.9)(number, number % 2 = 0) AS qsei,
        quantileExactWeightedIf(0.5)(number, 1, number >= 5) AS qewi, quantileTimingIf(0.5)(number, number > 2) AS qti FROM numbers(10)`);
      assert.deepEqual(result.data, [{ qi: 7, qsi: [7, 8.6], qei: 2, qsei: [4, 8], qewi: 7, qti: 6 }]);
      await assertRefused('SELECT quantileExact(0.5, 0.9)(number) FROM numbers(3)', /quantileExact takes one level/);
    });

    test('a quantile level outside 0 to 1, or not a constant number, is a 400 naming it, as in ClickHouse', async () => {
      await assertRefused('SELECT quantile(-1)(number) FROM numbers(3)', /quantile: a quantile level is a constant number from 0 to 1, not -1/);
      await assertRefused('SELECT quantilesExact(0.5, 1.5)(number) FROM numbers(3)', /quantilesExact: .* not 1\.5/);
      await assertRefused('SELECT quantileIf(number)(number, 1) FROM numbers(3)', /quantileIf: .* not number/);
      const edges = await query('SELECT quantileExact(0)(number) AS low, quantileExact(1)(number) AS high, quantile(1e-1)(number) AS tenth FROM numbers(11)');
      assert.deepEqual(edges.data, [{ low: 0, high: 10, tenth: 1 }]);
    });
  });

  describe('conditions and NULLs', () => {
    test('if and multiIf take a NULL condition as false; ifNull and coalesce replace a NULL', async () => {
      const result = await query(`SELECT if(n > 5, 'big', 'small') AS by_if, multiIf(isNull(n), 'none', n > 5, 'big', 'small') AS by_multi,
        multiIf(n > 5, 'big', 'small') AS null_false, if(NULL, 1, 2) AS null_condition, ifNull(n, -1) AS if_null, coalesce(n, 0) AS coalesced FROM edges ORDER BY id`);
      assert.deepEqual(result.data, [
        { by_if: 'small', by_multi: 'none', null_false: 'small', null_condition: 2, if_null: -1, coalesced: 0 },
        { by_if: 'small', by_multi: 'small', null_false: 'small', null_condition: 2, if_null: 5, coalesced: 5 },
        { by_if: 'big', by_multi: 'big', null_false: 'big', null_condition: 2, if_null: 7, coalesced: 7 },
      ]);
      assertTypes(result, { by_if: 'String', by_multi: 'String', if_null: 'Int32', coalesced: 'Int32' });
    });

    test('has and indexOf take NULL as a value like any other: has([1, NULL], NULL) holds, has([1, 2], NULL) does not, indexOf finds the first NULL', async () => {
      const result = await query(`SELECT if(has([1, NULL], NULL), 'yes', 'no') AS has_null, if(has([1, 2], NULL), 'yes', 'no') AS no_null,
        if(has(tags, 'a'), 'yes', 'no') AS tag, indexOf([1, 3, NULL, NULL], NULL) AS first_null, indexOf([1, 2], 3) AS missing FROM edges ORDER BY id`);
      assert.deepEqual(result.data, [
        { has_null: 'yes', no_null: 'no', tag: 'yes', first_null: 3, missing: 0 },
        { has_null: 'yes', no_null: 'no', tag: 'no', first_null: 3, missing: 0 },
        { has_null: 'yes', no_null: 'no', tag: 'no', first_null: 3, missing: 0 },
      ]);
    });

    test('predicates are UInt8 1 or 0, not booleans: has, empty, startsWith, isNull, JSONHas, JSONExtractBool and comparisons', { todo: "DuckDB's predicates are BOOLEAN, written true/false and typed Bool; ClickHouse's are UInt8. Every comparison and predicate would need a cast in the rewrite, and a cast would break their use as conditions" }, async () => {
      const result = await query(`SELECT has(tags, 'a') AS h, empty(s) AS e, startsWith(s, 'h') AS sw, isNull(n) AS isn, JSONHas(j, 'a') AS jh,
        JSONExtractBool(j, 't') AS jb, id > 1 AS gt FROM edges WHERE id = 1`);
      assert.deepEqual(result.data, [{ h: 1, e: 0, sw: 1, isn: 1, jh: 1, jb: 1, gt: 0 }]);
      assertTypes(result, { h: 'UInt8', e: 'UInt8', sw: 'UInt8', isn: 'UInt8', jh: 'UInt8', jb: 'UInt8', gt: 'UInt8' });
    });

    test('transform maps a value found among the first array to the second\'s element at its place, else to the default (or keeps it without one)', async () => {
      const result = await query(`SELECT transform(id, [1, 3], [10, 30]) AS kept, transform(s, ['héllo', 'abc'], ['greeting', 'letters'], 'other') AS mapped,
        transform(id, [2], ['two'], '') AS to_text FROM edges ORDER BY id`);
      assert.deepEqual(result.data, [
        { kept: 10, mapped: 'greeting', to_text: '' },
        { kept: 2, mapped: 'other', to_text: 'two' },
        { kept: 30, mapped: 'letters', to_text: '' },
      ]);
      assertTypes(result, { mapped: 'String', to_text: 'String' });
      await assertRefused('SELECT transform(1, [1, 2], [3])', /transform: the arrays/);
    });

    test('concat with a NULL argument is NULL; otherwise it joins the texts of its arguments', async () => {
      const result = await query(`SELECT concat('x', n) AS with_null, concat(s, '-', toString(id)) AS joined, concat(id, 'x') AS number,
        concat('it\\'s', '!') AS escaped FROM edges ORDER BY id`);
      assert.deepEqual(result.data, [
        { with_null: null, joined: 'héllo-1', number: '1x', escaped: "it's!" },
        { with_null: 'x5', joined: '-2', number: '2x', escaped: "it's!" },
        { with_null: 'x7', joined: 'abc-3', number: '3x', escaped: "it's!" },
      ]);
      assertTypes(result, { with_null: 'Nullable(String)', joined: 'String', number: 'String' });
      const constant = await query("SELECT concat('a', NULL, 'b') AS c");
      assert.deepEqual(constant.data, [{ c: null }]);
    });
  });

  describe('strings', () => {
    test('lengthUTF8 and substringUTF8 count characters: a negative offset from the end, a negative length off the end, and the two-argument form', async () => {
      const result = await query(`SELECT lengthUTF8('héllo') AS chars, substringUTF8('héllo', 2) AS rest, substringUTF8('héllo', -2) AS tail,
        substringUTF8('héllo', 2, 2) AS two, substringUTF8('héllo', 2, -1) AS but_last, substringUTF8('héllo', -4, -1) AS from_end,
        substringUTF8('héllo', 2, -10) AS nothing, substringUTF8(s, 1, -1) AS per_row FROM edges ORDER BY id`);
      const constants = { chars: 5, rest: 'éllo', tail: 'lo', two: 'él', but_last: 'éll', from_end: 'éll', nothing: '' };
      assert.deepEqual(result.data, [{ ...constants, per_row: 'héll' }, { ...constants, per_row: '' }, { ...constants, per_row: 'ab' }]);
      assertTypes(result, { rest: 'String', per_row: 'String' });
    });

    test('length, position and substring count bytes, not characters, and substring takes a negative length off the end', async () => {
      const result = await query(`SELECT length(s) AS bytes, position(s, 'l') AS at, positionCaseInsensitive(s, 'L') AS at_ci, positionUTF8(s, 'l') AS at_char,
        substring('hello', 2, -1) AS but_last, substring(s, 2, 2) AS two_bytes, length(tags) AS elements FROM edges ORDER BY id`);
      assert.deepEqual(result.data, [
        { bytes: 6, at: 4, at_ci: 4, at_char: 3, but_last: 'ell', two_bytes: 'é', elements: 2 },
        { bytes: 0, at: 0, at_ci: 0, at_char: 0, but_last: 'ell', two_bytes: '', elements: 0 },
        { bytes: 3, at: 0, at_ci: 0, at_char: 0, but_last: 'ell', two_bytes: 'bc', elements: 1 },
      ]);
    });

    test('substring counts a negative offset from the end; position of an empty needle is 1; empty and notEmpty of empty strings and arrays', async () => {
      const result = await query(`SELECT substring('hello', -3) AS tail, substring('hello', -3, 2) AS mid, position('abc', '') AS empty_needle,
        position('abc', 'z') AS missing, if(empty(s), 'yes', 'no') AS empty_s, if(notEmpty(tags), 'yes', 'no') AS has_tags FROM edges ORDER BY id`);
      assert.deepEqual(result.data.map((row) => [row.tail, row.mid, row.empty_needle, row.missing, row.empty_s, row.has_tags]), [
        ['llo', 'll', 1, 0, 'no', 'yes'],
        ['llo', 'll', 1, 0, 'yes', 'no'],
        ['llo', 'll', 1, 0, 'no', 'yes'],
      ]);
    });

    test('left and right count bytes, leftUTF8 and rightUTF8 characters; a negative count takes all but that many, a count past the end the whole string', async () => {
      const result = await query(`SELECT left(s, 3) AS l3, right(s, 3) AS r3, left(s, -1) AS all_but_last, right(s, -1) AS all_but_first,
        leftUTF8(s, 2) AS l2_chars, rightUTF8(s, 4) AS r4_chars, left(s, 10) AS l10, right(s, 0) AS r0 FROM edges ORDER BY id`);
      assert.deepEqual(result.data, [
        { l3: 'hé', r3: 'llo', all_but_last: 'héll', all_but_first: 'éllo', l2_chars: 'hé', r4_chars: 'éllo', l10: 'héllo', r0: '' },
        { l3: '', r3: '', all_but_last: '', all_but_first: '', l2_chars: '', r4_chars: '', l10: '', r0: '' },
        { l3: 'abc', r3: 'abc', all_but_last: 'ab', all_but_first: 'bc', l2_chars: 'ab', r4_chars: 'abc', l10: 'abc', r0: '' },
      ]);
      assertTypes(result, { l3: 'String', r4_chars: 'String' });
    });

    test('position from a start (in bytes; positionUTF8 in characters), 0 past the end, and locate with the needle first', async () => {
      const result = await query(`SELECT position('abcabc', 'b', 3) AS from3, position(s, 'l', 5) AS from5, position(s, 'l', 3) AS within_e,
        positionUTF8(s, 'l', 4) AS chars_from4, positionCaseInsensitive('ABCabc', 'b', 3) AS ci, position('abc', '', 4) AS empty_at_end,
        position('abc', '', 5) AS past_end, position('abc', 'a', 0) AS from0, locate('l', s) AS loc, locate('b', 'abcabc', 3) AS loc3 FROM edges WHERE id = 1`);
      assert.deepEqual(result.data, [{ from3: 5, from5: 5, within_e: 4, chars_from4: 4, ci: 5, empty_at_end: 4, past_end: 0, from0: 1, loc: 4, loc3: 5 }]);
    });

    test('substring and substringUTF8 from offset 0 are empty', async () => {
      const result = await query("SELECT substring('abc', 0) AS a, substring('abc', 0, 2) AS b, substringUTF8('abc', 0) AS c, substringUTF8('abc', 0, 2) AS e");
      assert.deepEqual(result.data, [{ a: '', b: '', c: '', e: '' }]);
    });

    test("MD5, SHA1 and SHA256 are the digest's bytes, so hex() of them is the digest's hexadecimal text; JSON writes the bytes as an array of their values", async () => {
      const result = await query(`SELECT lower(hex(MD5('a'))) AS md5, hex(SHA1('a')) AS sha1, lower(hex(SHA256(s))) AS sha256, hex(md5(s)) = hex(MD5(s)) AS same_name,
        MD5('a') = MD5('a') AS equal FROM edges WHERE id = 3`);
      assert.deepEqual(result.data, [{
        md5: '0cc175b9c0f1b6a831c399e269772661', sha1: '86F7E437FAA5A7FCE15D1DDCB9EAEAEA377667B8',
        sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', same_name: true, equal: true,
      }]);
      const bytes = await query("SELECT MD5('a') AS digest");
      assert.deepEqual(bytes.data, [{ digest: [12, 193, 117, 185, 192, 241, 182, 168, 49, 195, 153, 226, 105, 119, 38, 97] }]);
    });

    test('concatWithSeparator (concat_ws) puts the separator between the texts of its arguments, and is NULL when one is NULL', async () => {
      const result = await query(`SELECT concatWithSeparator('a', '1', '2', '3', '4') AS joined, concat_ws('-', s, id, 'x') AS mixed,
        concat_ws(', ', s, n) AS with_null, concatWithSeparator('-', s) AS one FROM edges ORDER BY id`);
      assert.deepEqual(result.data, [
        { joined: '1a2a3a4', mixed: 'héllo-1-x', with_null: null, one: 'héllo' },
        { joined: '1a2a3a4', mixed: '-2-x', with_null: ', 5', one: '' },
        { joined: '1a2a3a4', mixed: 'abc-3-x', with_null: 'abc, 7', one: 'abc' },
      ]);
    });

    test('lower and upper change ASCII letters only (lowerUTF8 and upperUTF8 change the others)', async () => {
      const result = await query("SELECT lower('ÉCOLE') AS a, upper('école') AS b, lowerUTF8('ÉCOLE') AS c, upperUTF8('école') AS e");
      assert.deepEqual(result.data, [{ a: 'École', b: 'éCOLE', c: 'école', e: 'ÉCOLE' }]);
    });

    test('leftPad and rightPad pad with spaces when no fill is given, repeat a longer fill and cut a longer string', async () => {
      const result = await query(`SELECT leftPad('abc', 5) AS left_spaces, rightPad('abc', 5) AS right_spaces, leftPad('abc', 5, '*') AS stars,
        leftPad('abcdef', 3) AS cut, rightPad('ab', 5, 'xy') AS repeated`);
      assert.deepEqual(result.data, [{ left_spaces: '  abc', right_spaces: 'abc  ', stars: '**abc', cut: 'abc', repeated: 'abxyx' }]);
    });

    test('splitByChar keeps empty pieces and gives [\'\'] for an empty string, and refuses a separator that is not one byte; splitByString and splitByRegexp split an empty separator into characters', async () => {
      const result = await query(String.raw`SELECT splitByChar(',', '') AS of_empty, splitByChar(',', 'a,,b') AS doubled, splitByChar(',', ',a,') AS edges,
        splitByString(', ', 'a, b, c') AS by_string, splitByString('', 'abc') AS by_nothing, splitByRegexp('\\d+', 'a1b22c') AS by_regexp,
        splitByRegexp('', 'abc') AS by_empty_regexp`);
      assert.deepEqual(result.data, [{
        of_empty: [''], doubled: ['a', '', 'b'], edges: ['', 'a', ''], by_string: ['a', 'b', 'c'], by_nothing: ['a', 'b', 'c'], by_regexp: ['a', 'b', 'c'], by_empty_regexp: ['a', 'b', 'c'],
      }]);
      assertTypes(result, { of_empty: 'Array(String)', doubled: 'Array(String)', by_string: 'Array(String)', by_regexp: 'Array(String)' });
      await assertRefused("SELECT splitByChar(', ', 'a, b')", /splitByChar/);
      await assertRefused("SELECT splitByChar('', 'ab')", /splitByChar/);
    });

    test('replaceRegexpAll takes \\0 for the whole match and \\1 for a group; extract gives \'\' without a match; replaceOne replaces the first only', async () => {
      const result = await query(String.raw`SELECT replaceRegexpAll('Hello', '.', '\\0\\0') AS doubled, replaceRegexpOne('abc', '(b)', '[\\1]') AS grouped,
        replaceRegexpAll('a1b2', '\\d', '') AS removed, extract('abc', '\\d+') AS no_match, extractAll('a1b22c333', '\\d+') AS every,
        replaceOne('aaa', 'a', 'b') AS once, replaceAll('aaa', 'a', 'bb') AS every_one`);
      assert.deepEqual(result.data, [{ doubled: 'HHeelllloo', grouped: 'a[b]c', removed: 'ab', no_match: '', every: ['1', '22', '333'], once: 'baa', every_one: 'bbbbbb' }]);
    });

    test("URL parts: extractURLParameter takes a repeated parameter's first value and '' for a missing one; the query string and fragment without their marks", async () => {
      const url = "'https://www.example.com:8080/a/b?c=1&d=2&c=3#frag'";
      const result = await query(`SELECT domain(${url}) AS domain, domainWithoutWWW(${url}) AS bare, topLevelDomain(${url}) AS tld, protocol(${url}) AS protocol,
        path(${url}) AS path, pathFull(${url}) AS full, queryString(${url}) AS query, fragment(${url}) AS fragment, cutQueryString(${url}) AS cut,
        extractURLParameter(${url}, 'c') AS first, extractURLParameter(${url}, 'z') AS missing`);
      assert.deepEqual(result.data, [{
        domain: 'www.example.com', bare: 'example.com', tld: 'com', protocol: 'https', path: '/a/b', full: '/a/b?c=1&d=2&c=3#frag', query: 'c=1&d=2&c=3',
        fragment: 'frag', cut: 'https://www.example.com:8080/a/b#frag', first: '1', missing: '',
      }]);
    });
  });

  describe('JSON', () => {
    test('isValidJSON takes standard JSON only: not trailing commas, NaN or Infinity (which DuckDB\'s reader allows), wherever they stand outside strings', async () => {
      const result = await query(`SELECT isValidJSON(j) AS valid, isValidJSON('[1,]') AS trailing, isValidJSON('{"a": 1, }') AS trailing_key,
        isValidJSON('[NaN]') AS nan, isValidJSON('{"n": -Infinity}') AS infinity, isValidJSON('{"s": "NaN, ]"}') AS in_string, isValidJSON('') AS empty,
        isValidJSON('1') AS scalar FROM edges ORDER BY id`);
      const constants = { trailing: false, trailing_key: false, nan: false, infinity: false, in_string: true, empty: false, scalar: true };
      assert.deepEqual(result.data, [{ valid: true, ...constants }, { valid: true, ...constants }, { valid: false, ...constants }]);
    });

    test("JSONExtract* of a missing key, of a value of another type, or of a document that is not JSON give '', 0 or [] (not NULL, not an error)", async () => {
      const result = await query(`SELECT JSONExtractString(j, 'missing') AS missing_string, JSONExtractInt(j, 'missing') AS missing_int,
        JSONExtractFloat(j, 'd', 'e') AS nested, JSONExtractString(j, 'b') AS string, JSONExtractString(j, 'a') AS number_as_string,
        JSONExtractInt(j, 'b') AS string_as_int, JSONExtractUInt(j, 'a') AS uint, JSONExtractRaw(j, 'c') AS raw, JSONLength(j) AS keys_count,
        JSONExtractKeys(j) AS keys, JSONExtract(j, 'c', 'Array(Int32)') AS typed, JSONExtract(j, 'a', 'Int64') AS typed_int,
        JSONExtractArrayRaw(j, 'c') AS raw_items, visitParamExtractInt(j, 'a') AS visit, if(JSONHas(j, 'a'), 'yes', 'no') AS has_a FROM edges ORDER BY id`);
      const none = {
        missing_string: '', missing_int: 0, nested: 0, string: '', number_as_string: '', string_as_int: 0, uint: 0, raw: '', keys_count: 0, keys: [],
        typed: [], typed_int: 0, raw_items: [], visit: 0, has_a: 'no',
      };
      assert.deepEqual(result.data, [
        { ...none, nested: 2.5, string: 'x', uint: 1, raw: '[1,2]', keys_count: 5, keys: ['a', 'b', 'c', 'd', 't'], typed: [1, 2], typed_int: 1, raw_items: ['1', '2'], visit: 1, has_a: 'yes' },
        none,
        none,
      ]);
      assertTypes(result, {
        missing_string: 'String', missing_int: 'Int64', nested: 'Float64', uint: 'UInt64', raw: 'String', keys: 'Array(String)', typed: 'Array(Int32)',
        typed_int: 'Int64', raw_items: 'Array(String)',
      });
    });
  });

  describe('arrays', () => {
    test('arrayZip pairs equal-sized arrays into tuples; arrayFlatten (flatten) joins an array of arrays; arrayDifference starts at 0; arrayCumSumNonNegative restarts below 0; countEqual counts NULLs too', async () => {
      const result = await query(`SELECT arrayZip(['a', 'b', 'c'], [5, 2, 1]) AS zipped, arrayZip(tags, tags) AS per_row, arrayFlatten([[1, 2], [], [3]]) AS flat,
        flatten([['a'], ['b', 'c']]) AS flat_alias, arrayDifference([1, 2, 3, 4]) AS diff, arrayDifference(CAST([5, 1] AS Array(UInt8))) AS unsigned_diff,
        arrayDifference(CAST([] AS Array(Int32))) AS no_diff, arrayCumSumNonNegative([1, 1, -4, 1]) AS non_negative,
        arrayCumSumNonNegative(CAST([0.1, 0.2, -1, 0.3] AS Array(Float64))) AS floats, countEqual([1, 2, NULL, NULL], NULL) AS nulls,
        countEqual(tags, 'a') AS a_tags FROM edges WHERE id = 1`);
      assert.deepEqual(result.data, [{
        zipped: [['a', 5], ['b', 2], ['c', 1]], per_row: [['a', 'a'], ['b', 'b']], flat: [1, 2, 3], flat_alias: ['a', 'b', 'c'], diff: [0, 1, 1, 1],
        unsigned_diff: [0, -4], no_diff: [], non_negative: [1, 2, 0, 1], floats: [0.1, 0.30000000000000004, 0, 0.3], nulls: 2, a_tags: 1,
      }]);
      assertTypes(result, { zipped: 'Array(Tuple(String, Int32))', flat: 'Array(Int32)', floats: 'Array(Float64)' });
      await assertRefused('SELECT arrayZip([1], [1, 2])', /arrayZip: the arrays must have the same size/);
      await assertRefused('SELECT arrayFlatten([[[1]], [[2]]])', /arrayFlatten takes an array of arrays/);
    });

    test('emptyArrayString, emptyArrayInt32 and their kin are empty arrays of their type', async () => {
      const result = await query(`SELECT emptyArrayString() AS s, emptyArrayInt32() AS i, emptyArrayUInt64() AS u, emptyArrayFloat64() AS f, emptyArrayDate() AS d,
        emptyArrayDateTime() AS t`);
      assert.deepEqual(result.data, [{ s: [], i: [], u: [], f: [], d: [], t: [] }]);
      assertTypes(result, { s: 'Array(String)', i: 'Array(Int32)', u: 'Array(UInt64)', f: 'Array(Float64)', d: 'Array(Date)', t: 'Array(DateTime)' });
    });

    test('arraySlice counts a negative offset from the end and takes a negative length off the end; other array functions at their edges', async () => {
      const result = await query(`SELECT arraySlice([1, 2, 3, 4, 5], 2, 3) AS mid, arraySlice([1, 2, 3, 4, 5], 2, -1) AS but_last,
        arraySlice([1, 2, 3, 4, 5], -3, -1) AS from_end, arraySlice([1, 2, 3, 4, 5], -2) AS tail, arraySlice([1, 2, 3, 4, 5], -2, 1) AS one,
        arraySlice([1, 2, 3], 5, 1) AS past, arrayElement([1, 2, 3], -1) AS last, arraySum(CAST([] AS Array(Int32))) AS empty_sum,
        arrayPopBack(CAST([] AS Array(Int32))) AS popped, arrayCumSum([1, 2, 3]) AS cumulative, arrayCompact([1, 1, 2, 2, 1]) AS compact,
        arrayDistinct([3, 1, 3, 2, 1]) AS distinct_first_seen, arrayEnumerate(['a', 'b']) AS positions, arrayReverseSort([2, 3, 1]) AS reversed,
        arrayStringConcat(['a', 'b'], '-') AS joined, arrayUniq([1, 1, 2]) AS uniques`);
      assert.deepEqual(result.data, [{
        mid: [2, 3, 4], but_last: [2, 3, 4], from_end: [3, 4], tail: [4, 5], one: [4], past: [], last: 3, empty_sum: 0, popped: [], cumulative: [1, 3, 6],
        compact: [1, 2, 1], distinct_first_seen: [3, 1, 2], positions: [1, 2], reversed: [3, 2, 1], joined: 'a-b', uniques: 2,
      }]);
      assertTypes(result, { popped: 'Array(Int32)', joined: 'String' });
    });

    test("arrayElement out of range, a subscript past the end and arrayFirst without a match give the element type's default (0, ''), not NULL", { todo: "DuckDB's list_extract gives NULL past the end (typed Nullable); the default depends on the element type, which the macro does not know" }, async () => {
      const result = await query(`SELECT arrayElement(tags, 3) AS third, tags[5] AS fifth, arrayElement([1, 2, 3], 5) AS number,
        arrayFirst(x -> x > 10, [1, 2]) AS first FROM edges WHERE id = 1`);
      assert.deepEqual(result.data, [{ third: '', fifth: '', number: 0, first: 0 }]);
      assertTypes(result, { third: 'String', fifth: 'String' });
    });
  });
});
