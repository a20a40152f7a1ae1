import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EgressStream, useFelderaSuite } from './feldera-fixture.ts';

const PROGRAM = `
  CREATE TABLE clicks (id INT NOT NULL PRIMARY KEY, ts TIMESTAMP, amount DECIMAL(10, 2));
  -- Feldera's windowing table functions and time functions, which DuckDB does not read as written.
  CREATE MATERIALIZED VIEW per_hour AS
    SELECT window_start, window_end, count(*) AS clicks, sum(amount) AS amount
    FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' HOUR)) GROUP BY window_start, window_end;
  CREATE MATERIALIZED VIEW sliding AS
    SELECT window_start, count(*) AS clicks
    FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '30' MINUTE, INTERVAL '1' HOUR)) GROUP BY window_start;
  CREATE MATERIALIZED VIEW named_sliding AS
    SELECT window_start, count(*) AS clicks
    FROM TABLE(HOP("DATA" => TABLE clicks, "TIMECOL" => DESCRIPTOR(ts), "SLIDE" => INTERVAL '30' MINUTE, "SIZE" => INTERVAL '1' HOUR)) GROUP BY window_start;
  CREATE MATERIALIZED VIEW named_per_hour AS
    SELECT window_start, count(*) AS clicks FROM TABLE(TUMBLE("TIMECOL" => DESCRIPTOR(ts), "SIZE" => INTERVAL '1' HOUR, "DATA" => TABLE clicks)) GROUP BY window_start;
  CREATE MATERIALIZED VIEW shifted AS
    SELECT window_start, count(*) AS clicks
    FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '6' HOUR)) GROUP BY window_start;
  CREATE MATERIALIZED VIEW truncated AS
    SELECT id, TIMESTAMP_TRUNC(ts, HOUR) AS hour, DATE_TRUNC(ts, MONTH) AS month, FLOOR(ts TO DAY) AS day,
           CEIL(ts TO HOUR) AS next_hour, SAFE_CAST('x' AS INT) AS bad
    FROM clicks;
  CREATE MATERIALIZED VIEW functions AS
    SELECT id, TIMESTAMPDIFF(MINUTE, TIMESTAMP '2024-05-01 10:00:00', ts) AS minutes, TIMESTAMPADD(DAY, 1, ts) AS next_day,
           FORMAT_DATE('%Y/%m', ts) AS month, PARSE_DATE('%d.%m.%Y', '02.05.2024') AS parsed, PARSE_JSON('{"a": 1}') AS doc,
           PARSE_JSON('not json') AS bad_doc, SORT_ARRAY(ARRAY[3, 1, 2]) AS sorted, ELEMENT(ARRAY[7]) AS single,
           MAP['a', 1, 'b', 2]['b'] AS from_map, BROUND(2.5, 0) AS rounded, RLIKE('abc', '^a.c$') AS matches,
           CARDINALITY(ARRAY[1, 2, 3]) AS items, CARDINALITY(MAP['a', 1]) AS entries, INITCAP('hello wORLD-élan') AS title,
           CAST('[1, 2]' AS INT ARRAY) AS cast_array, 'xaby' RLIKE 'a.' AS infix, 'xaby' NOT RLIKE '^a' AS not_infix
    FROM clicks WHERE id = 2;
  CREATE MATERIALIZED VIEW divided AS
    SELECT id, id / 2 AS half, -id / 2 AS negative_half, id / 0 AS by_zero, amount / 8 AS eighth, id / 2.0 AS exact FROM clicks WHERE id = 3;
  CREATE MATERIALIZED VIEW everywhere AS SELECT EVERY(amount > 0) AS all_positive, SOME(amount > 3) AS any_large,
    LOGICAL_AND(amount > 1) AS all_large, LOGICAL_OR(amount > 7) AS any_huge, GREATEST_IGNORE_NULLS(max(amount), NULL) AS top FROM clicks;
  CREATE MATERIALIZED VIEW weekdays AS
    SELECT id, EXTRACT(DOW FROM ts) AS dow, DAYOFWEEK(ts) AS day_of_week, EXTRACT(ISODOW FROM ts) AS isodow,
           EXTRACT(DOW FROM DATE '2024-05-05') AS sunday, Extract(Dow From DATE '2024-05-04') AS saturday,
           DAYOFWEEK(DATE '2024-05-05') AS sunday_too, EXTRACT(ISODOW FROM DATE '2024-05-05') AS iso_sunday
    FROM clicks WHERE id = 1;
  CREATE MATERIALIZED VIEW edges AS
    SELECT id, CAST(amount * 0.7 AS INT) AS cut, CAST(-2.9 AS INTEGER) AS cut_negative, CAST(2.9e0 AS BIGINT) AS cut_double,
           CAST('not a date' AS DATE) AS bad_date, CAST('2024-02-30 10:00:00' AS TIMESTAMP) AS bad_time, PARSE_DATE('%Y-%m-%d', 'garbage') AS unparsed,
           REGEXP_REPLACE('banana', 'a', 'X') AS replaced, REGEXP_REPLACE('banana', 'a') AS removed,
           SUBSTRING('hello' FROM -1 FOR 2) AS from_negative, SUBSTRING('hello' FROM 2 FOR -1) AS negative_count, SUBSTRING('hello', 2, 3) AS commas,
           SUBSTRING('hello' FROM 3) AS rest, SORT_ARRAY(ARRAY[4, 7, 1, NULL]) AS nulls_first, SORT_ARRAY(ARRAY[4, 7, 1, NULL], false) AS descending,
           SPLIT('', ',') AS split_empty, SPLIT('foo bar', '') AS split_whole, SPLIT('a,b') AS split_default,
           SUBSTRING('Thomas' FROM -1 FOR 3) AS before_start, SUBSTR('Thomas', -2) AS substr_from_end,
           REGEXP_REPLACE('Springsteen, Bruce', '([^,\\s]+),\\s+(\\S+)', '$2 $1') AS groups, LOG(8, 2) AS log_base_two, LOG(EXP(1)) AS natural_log,
           GREATEST(amount, NULL) AS greatest_null, LEAST(amount, 9, 1) AS least, CAST(PARSE_JSON('{"k": "val", "n": 7}')['k'] AS INT) AS variant_mismatch,
           CAST(PARSE_JSON('{"k": "val", "n": 7}')['n'] AS INT) AS variant_int,
           CAST(PARSE_JSON('{"f": -2.9}')['f'] AS INT) AS variant_cut, TRY_CAST(PARSE_JSON('{"f": 1.7}')['f'] AS BIGINT) AS variant_try_cut,
           CAST(PARSE_JSON('{"n": 7}') AS VARCHAR) AS variant_not_text, TO_JSON(PARSE_JSON('{"n": 7}')) AS variant_json,
           CAST(127 AS TINYINT) + 1 AS tiny_plus_one, 2 * CAST(20000 AS SMALLINT) AS small_times_two,
           ARRAY_COMPACT(ARRAY[1, NULL, 2]) AS compact, ARRAY_MAX(ARRAY[9, 1, NULL]) AS array_max, ARRAY_MIN(ARRAY[9, 1, NULL]) AS array_min,
           ARRAYS_OVERLAP(ARRAY[1, 2], ARRAY[2, 3]) AS overlap, ARRAY_REPEAT('z', 3) AS repeated, ARRAY_REPEAT(1, -1) AS repeated_none,
           ARRAY_SIZE(ARRAY[1, 2, 3]) AS size, ARRAY_TO_STRING(ARRAY['a', NULL, 'b'], ',', '*') AS joined_nulls, ARRAY_JOIN(ARRAY['a', NULL, 'b'], '-') AS joined,
           MAP_CONTAINS_KEY(MAP['a', 1], 'a') AS has_key, CAST(amount > 1 AS VARCHAR) AS true_text,
           'a_b' LIKE 'a\\_b' AS like_escaped, 'axb' LIKE 'a\\_b' AS like_literal, 'h%' LIKE 'h#%' ESCAPE '#' AS like_custom, 'axb' NOT LIKE 'a_b' AS not_like,
           NULL <=> NULL AS both_null, amount <=> 5 AS differ
    FROM clicks WHERE id = 3;
  CREATE MATERIALIZED VIEW averaged AS
    SELECT AVG(id) AS mean_id, AVG(-id) AS negative_mean, AVG(DISTINCT id % 2) AS distinct_mean, AVG(id) FILTER (WHERE id > 1) AS filtered,
           AVG(id) FILTER (WHERE id > 9) AS of_none, AVG(amount) AS mean_amount, AVG(CAST(id AS DOUBLE)) AS exact FROM clicks;
  CREATE MATERIALIZED VIEW running_average AS SELECT id, AVG(id) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS pair_mean FROM clicks;
  CREATE MATERIALIZED VIEW shifted_dates AS
    SELECT id, CAST(ts AS DATE) - INTERVAL '1' MONTH AS month_before, TIMESTAMPADD(DAY, 1, CAST(ts AS DATE)) AS next_day,
           INTERVAL '2' DAY + CAST(ts AS DATE) AS interval_first, CAST(ts AS DATE) + 3 * INTERVAL '1' DAY AS three_days,
           ts + INTERVAL '1' HOUR AS hour_later, CAST(ts AS TIME) - INTERVAL '30' MINUTE AS half_hour_before,
           (SELECT max(CAST(ts AS DATE)) FROM clicks) + INTERVAL '1' DAY AS after_last, TIMESTAMPADD(MINUTE, 90, CAST(ts AS DATE)) AS minutes_later
    FROM clicks WHERE id = 2;
  CREATE MATERIALIZED VIEW first_only AS SELECT id FROM clicks MINUS SELECT id FROM clicks WHERE id > 1;
  CREATE MATERIALIZED VIEW overlaid AS
    SELECT OVERLAY('abcdef' PLACING 'ZZ' FROM 2 FOR 1) AS longer, OVERLAY('abcdef' PLACING 'ZZ' FROM 3) AS same_length,
           OVERLAY('abc' PLACING 'x' FROM 1 FOR 0) AS inserted, OVERLAY(CAST(id AS VARCHAR) PLACING '#' FROM 1) AS of_column
    FROM clicks WHERE id = 2;
  CREATE MATERIALIZED VIEW interval_fields AS
    SELECT CAST(ts AS DATE) + INTERVAL '1-2' YEAR TO MONTH AS year_month, CAST(ts AS DATE) - INTERVAL '-0-3' YEAR TO MONTH AS minus_negative,
           ts + INTERVAL '1 02' DAY TO HOUR AS day_hour, ts + INTERVAL '+1 02:03' DAY TO MINUTE AS day_minute,
           ts - INTERVAL '1 02:03:04.5' DAY TO SECOND AS day_second, ts + INTERVAL '25:30' HOUR TO MINUTE AS hour_minute,
           ts + INTERVAL '0:00:01.000001' HOUR TO SECOND AS hour_second, ts + INTERVAL '90:15.25' MINUTE TO SECOND AS minute_second
    FROM clicks WHERE id = 2;`;

describe("Feldera's SQL in views", () => {
  const suite = useFelderaSuite(async (client) => {
    await client.pipeline('windows', PROGRAM);
    await client.pushOk('windows', 'clicks', [
      { id: 1, ts: '2024-05-01 10:05:00', amount: 1 },
      { id: 2, ts: '2024-05-01 10:40:00', amount: 2 },
      { id: 3, ts: '2024-05-01 12:00:00', amount: 4 },
      { id: 4, ts: null, amount: 8 },
    ].map((row) => JSON.stringify({ insert: row })).join('\n'));
  });
  const rows = (sql: string) => suite.client.rows('windows', sql);

  test("casts, REGEXP_REPLACE, SUBSTRING, SORT_ARRAY, SPLIT, LOG, GREATEST, array and map functions and PARSE_DATE at their edges, as Feldera documents them: a fraction cast to an integer is cut, a text that is no date NULL, a VARIANT of another type NULL (a VARIANT number's fraction cut, TO_JSON its text), an integer literal in arithmetic an INTEGER (TINYINT 127 + 1 is 128), every match replaced with $n groups, a start before the first character counted in, NULLs sorted first and making GREATEST NULL", async () => {
    const [row] = await rows('SELECT * FROM edges');
    assert.equal(Math.round(Number(row!['natural_log']) * 1e9), 1e9);
    assert.equal(Number(row!['log_base_two']), 3);
    assert.deepEqual({ ...row, natural_log: undefined, log_base_two: undefined }, {
      id: 3, cut: 2, cut_negative: -2, cut_double: 2, bad_date: null, bad_time: null, unparsed: null, replaced: 'bXnXnX', removed: 'bnn',
      from_negative: '', negative_count: '', commas: 'ell', rest: 'llo', nulls_first: [null, 1, 4, 7], descending: [7, 4, 1, null],
      split_empty: [], split_whole: ['foo bar'], split_default: ['a', 'b'], before_start: 'T', substr_from_end: 'as', groups: 'Bruce Springsteen',
      greatest_null: null, least: 1, variant_mismatch: null, variant_int: 7, variant_cut: -2, variant_try_cut: 1, variant_not_text: null, variant_json: '{"n":7}', tiny_plus_one: 128, small_times_two: 40000, natural_log: undefined, log_base_two: undefined,
      compact: [1, 2], array_max: 9, array_min: 1, overlap: true, repeated: ['z', 'z', 'z'], repeated_none: [], size: 3,
      joined_nulls: 'a,*,b', joined: 'a-b', has_key: true, true_text: 'TRUE', like_escaped: true, like_literal: false, like_custom: true, not_like: false, both_null: true, differ: false,
    });
  });

  test('TUMBLE gives each timed row its window, aligned on the epoch; rows without a time are in none', async () => {
    assert.deepEqual(await rows('SELECT * FROM per_hour ORDER BY window_start'), [
      { window_start: '2024-05-01 10:00:00', window_end: '2024-05-01 11:00:00', clicks: 2, amount: 3 },
      { window_start: '2024-05-01 12:00:00', window_end: '2024-05-01 13:00:00', clicks: 1, amount: 4 },
    ]);
  });

  test('HOP gives each row every window that holds it, and TUMBLE an offset window', async () => {
    assert.deepEqual(await rows('SELECT * FROM sliding ORDER BY window_start'), [
      { window_start: '2024-05-01 09:30:00', clicks: 1 },
      { window_start: '2024-05-01 10:00:00', clicks: 2 },
      { window_start: '2024-05-01 10:30:00', clicks: 1 },
      { window_start: '2024-05-01 11:30:00', clicks: 1 },
      { window_start: '2024-05-01 12:00:00', clicks: 1 },
    ]);
    assert.deepEqual(await rows('SELECT * FROM shifted ORDER BY window_start'), [{ window_start: '2024-05-01 06:00:00', clicks: 3 }]);
  });

  test('TUMBLE and HOP take named arguments ("DATA" => TABLE t, "TIMECOL" => DESCRIPTOR(ts), "SIZE" => …) in any order, as in Feldera', async () => {
    assert.deepEqual(await rows('SELECT * FROM named_sliding ORDER BY window_start'), await rows('SELECT * FROM sliding ORDER BY window_start'));
    assert.deepEqual(await rows('SELECT * FROM named_per_hour ORDER BY window_start'), [
      { window_start: '2024-05-01 10:00:00', clicks: 2 }, { window_start: '2024-05-01 12:00:00', clicks: 1 },
    ]);
  });

  test('TIMESTAMP_TRUNC, DATE_TRUNC, FLOOR … TO, CEIL … TO and SAFE_CAST', async () => {
    assert.deepEqual(await rows('SELECT * FROM truncated WHERE id IN (1, 3) ORDER BY id'), [
      { id: 1, hour: '2024-05-01 10:00:00', month: '2024-05-01', day: '2024-05-01 00:00:00', next_hour: '2024-05-01 11:00:00', bad: null },
      { id: 3, hour: '2024-05-01 12:00:00', month: '2024-05-01', day: '2024-05-01 00:00:00', next_hour: '2024-05-01 12:00:00', bad: null },
    ]);
  });

  test("Feldera's function names and argument orders: TIMESTAMPDIFF, TIMESTAMPADD, FORMAT_DATE, PARSE_DATE, PARSE_JSON, SORT_ARRAY, ELEMENT, CARDINALITY, INITCAP, MAP[…], BROUND, RLIKE, EVERY, SOME, LOGICAL_AND/OR, GREATEST_IGNORE_NULLS, and MINUS", async () => {
    assert.deepEqual(await rows('SELECT * FROM functions'), [{
      id: 2, minutes: 40, next_day: '2024-05-02 10:40:00', month: '2024/05', parsed: '2024-05-02', doc: { a: 1 }, bad_doc: null,
      sorted: [1, 2, 3], single: 7, from_map: 2, rounded: 2, matches: true, items: 3, entries: 1, title: 'Hello World-Élan', cast_array: [1, 2], infix: true, not_infix: true,
    }]);
    assert.deepEqual(await rows('SELECT * FROM everywhere'), [{ all_positive: true, any_large: true, all_large: false, any_huge: true, top: 8 }]);
    assert.deepEqual(await rows('SELECT * FROM first_only'), [{ id: 1 }]);
  });

  test('/ between integers gives an integer, truncated toward zero, in views and ad-hoc queries; other numbers divide exactly', async () => {
    assert.deepEqual(await rows('SELECT * FROM divided'), [{ id: 3, half: 1, negative_half: -1, by_zero: null, eighth: 0.5, exact: 1.5 }]);
    assert.deepEqual(await rows('SELECT 7 / 2 AS a, -7 / 2 AS b, 7.0 / 2 AS c, CAST(7 AS DOUBLE) / 2 AS d, 7 // 2 AS e'), [{ a: 3, b: -3, c: 3.5, d: 3.5, e: 3 }]);
    const { program_info: info } = (await (await suite.client.get('windows')).json()) as { program_info: { schema: { outputs: Array<{ name: string; fields: Array<{ name: string; columntype: { type: string } }> }> } } };
    const divided = info.schema.outputs.find((view) => view.name === 'divided')!;
    assert.equal(divided.fields.find((field) => field.name === 'half')!.columntype.type, 'INTEGER');
  });

  test('in a view a DATE plus or minus whole days or more is a DATE, as in Calcite (TIMESTAMPADD too), and plus hours or less a TIMESTAMP; a TIMESTAMP or TIME keeps its type; an ad-hoc query keeps its engine\'s', async () => {
    assert.deepEqual(await rows('SELECT * FROM shifted_dates'), [{
      id: 2, month_before: '2024-04-01', next_day: '2024-05-02', interval_first: '2024-05-03', three_days: '2024-05-04',
      hour_later: '2024-05-01 11:40:00', half_hour_before: '10:10:00', after_last: '2024-05-02', minutes_later: '2024-05-01 01:30:00',
    }]);
    const { program_info: info } = (await (await suite.client.get('windows')).json()) as { program_info: { schema: { outputs: Array<{ name: string; fields: Array<{ name: string; columntype: { type: string } }> }> } } };
    const types = info.schema.outputs.find((view) => view.name === 'shifted_dates')!.fields.map((field) => field.columntype.type);
    assert.deepEqual(types, ['INTEGER', 'DATE', 'DATE', 'DATE', 'DATE', 'TIMESTAMP', 'TIME', 'DATE', 'TIMESTAMP']);
    // Unaliased, an ad-hoc query's column keeps the name of what was written.
    const adHoc = await rows("SELECT DATE '2024-03-31' - INTERVAL '1' MONTH");
    assert.equal(Object.keys(adHoc[0] as object).some((name) => name.includes('cast_to_type')), false);
  });

  test('OVERLAY(s PLACING r FROM start [FOR count]) replaces count characters from start (as many as r has, without FOR), as the SQL standard defines it', async () => {
    assert.deepEqual(await rows('SELECT * FROM overlaid'), [{ longer: 'aZZcdef', same_length: 'abZZef', inserted: 'xabc', of_column: '#' }]);
  });

  test('an interval literal of two fields (YEAR TO MONTH, DAY TO SECOND …) is read as Calcite reads it, a DATE plus years and months staying a DATE', async () => {
    assert.deepEqual(await rows('SELECT * FROM interval_fields'), [{
      year_month: '2025-07-01', minus_negative: '2024-08-01', day_hour: '2024-05-02 12:40:00', day_minute: '2024-05-02 12:43:00',
      day_second: '2024-04-30 08:36:55.5', hour_minute: '2024-05-02 12:10:00', hour_second: '2024-05-01 10:40:01.000001',
      minute_second: '2024-05-01 12:10:15.25',
    }]);
    // A text not of the qualifier's shape (a 13th month) is a SqlError, as in Feldera.
    const response = await suite.client.putPipeline('bad_interval', { program_code: "CREATE TABLE t (d DATE); CREATE VIEW v AS SELECT d + INTERVAL '1-13' YEAR TO MONTH AS x FROM t;" });
    const body = (await response.json()) as { program_status: string; program_error: { sql_compilation: { messages: Array<{ message: string; start_column: number }> } } };
    assert.equal(body.program_status, 'SqlError');
    assert.deepEqual(body.program_error.sql_compilation.messages.map(({ message, start_column }) => [message, start_column]), [
      ["Illegal interval literal format '1-13' for INTERVAL YEAR TO MONTH", 63],
    ]);
  });

  test("AVG in a view is of its argument's type, as in Calcite: an integer average is cut toward zero (with DISTINCT, FILTER and OVER too), a DECIMAL's keeps its scale; an ad-hoc query's is a DOUBLE, as DataFusion's", async () => {
    assert.deepEqual(await rows('SELECT * FROM averaged'), [
      { mean_id: 2, negative_mean: -2, distinct_mean: 0, filtered: 3, of_none: null, mean_amount: 3.75, exact: 2.5 },
    ]);
    assert.deepEqual(await rows('SELECT * FROM running_average ORDER BY id'), [
      { id: 1, pair_mean: 1 }, { id: 2, pair_mean: 1 }, { id: 3, pair_mean: 2 }, { id: 4, pair_mean: 3 },
    ]);
    const { program_info: info } = (await (await suite.client.get('windows')).json()) as { program_info: { schema: { outputs: Array<{ name: string; fields: Array<{ name: string; columntype: { type: string; scale?: number } }> }> } } };
    const types = Object.fromEntries(info.schema.outputs.find((view) => view.name === 'averaged')!.fields.map((field) => [field.name, field.columntype]));
    assert.deepEqual([types['mean_id']!.type, types['mean_amount']!.type, types['mean_amount']!.scale, types['exact']!.type], ['INTEGER', 'DECIMAL', 2, 'DOUBLE']);
    assert.deepEqual(await rows('SELECT AVG(id) AS mean FROM clicks'), [{ mean: 2.5 }]);
  });

  test('in views EXTRACT(DOW …) and DAYOFWEEK count 1 for Sunday to 7 for Saturday, as Calcite does, and ISODOW 1 for Monday to 7 for Sunday; ad-hoc queries count DOW from 0, as DataFusion does', async () => {
    // 2024-05-01, the clicks' day, is a Wednesday.
    assert.deepEqual(await rows('SELECT * FROM weekdays'), [{ id: 1, dow: 4, day_of_week: 4, isodow: 3, sunday: 1, saturday: 7, sunday_too: 1, iso_sunday: 7 }]);
    assert.deepEqual(await rows(`SELECT EXTRACT(DOW FROM ts) AS dow, EXTRACT(ISODOW FROM ts) AS isodow,
        EXTRACT(DOW FROM DATE '2024-05-05') AS sunday, EXTRACT(DOW FROM TIMESTAMP '2024-05-04 23:59:59') AS saturday,
        EXTRACT(ISODOW FROM DATE '2024-05-06') AS iso_monday FROM clicks WHERE id = 1`), [{ dow: 3, isodow: 3, sunday: 0, saturday: 6, iso_monday: 1 }]);
  });

  test('a view with a column list names its query\'s columns in order (unquoted names folded, EXPR$n too renamed); a list of another length is a SqlError', async () => {
    const created = await suite.client.putPipeline('listed', {
      program_code: 'CREATE TABLE t (a INT, b VARCHAR);\nCREATE MATERIALIZED VIEW v (X, "Y", z) AS SELECT a, upper(b), a + 1 FROM t;',
    });
    const body = (await created.json()) as { program_status: string; program_info: { schema: { outputs: Array<{ name: string; fields: Array<{ name: string }> }> } } };
    assert.equal(body.program_status, 'Success', JSON.stringify(body));
    assert.deepEqual(body.program_info.schema.outputs.find((output) => output.name === 'v')!.fields.map((field) => field.name), ['x', 'Y', 'z']);
    await suite.client.action('listed', 'start');
    await suite.client.pushOk('listed', 't', '{"insert": {"a": 1, "b": "q"}}');
    assert.deepEqual(await suite.client.rows('listed', 'SELECT * FROM v'), [{ x: 1, Y: 'Q', z: 2 }]);
    const wrong = await suite.client.putPipeline('listed_wrong', { program_code: 'CREATE TABLE t (a INT);\nCREATE VIEW v (x, y) AS SELECT a FROM t;' });
    const failed = (await wrong.json()) as { program_status: string; program_error: { sql_compilation: { messages: Array<{ message: string; start_line_number: number }> } } };
    assert.equal(failed.program_status, 'SqlError');
    assert.deepEqual(failed.program_error.sql_compilation.messages.map(({ message, start_line_number }) => [message, start_line_number]), [["View 'v' names 2 columns, but its query gives 1", 2]]);
  });

  test('an error after a rewritten construct is reported at its own line and column', async () => {
    const response = await suite.client.putPipeline('broken', {
      program_code: "CREATE TABLE t (ts TIMESTAMP);\nCREATE VIEW v AS SELECT TIMESTAMP_TRUNC(ts, HOUR) AS h,\n  count(* FROM t;",
    });
    const body = (await response.json()) as { program_status: string; program_error: { sql_compilation: { messages: Array<{ start_line_number: number; start_column: number }> } } };
    assert.equal(body.program_status, 'SqlError');
    const [message] = body.program_error.sql_compilation.messages;
    assert.deepEqual([message!.start_line_number, message!.start_column], [3, 11]);
  });
});

const NAMING_PROGRAM = `
  CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a INT, s VARCHAR);
  CREATE MATERIALIZED VIEW computed AS SELECT id, a + 1, a / 2, t.a, (s), CAST(a AS BIGINT), a * 2 AS doubled, UPPER(s) FROM t;
  CREATE MATERIALIZED VIEW starred AS SELECT *, a + 1 FROM t;
  CREATE MATERIALIZED VIEW nested AS SELECT * FROM (SELECT id, a + 10 FROM t) AS inner_query WHERE id > 0;
  CREATE MATERIALIZED VIEW counted AS SELECT s, count(*) FROM t GROUP BY s;
  CREATE TABLE docs (id INT NOT NULL PRIMARY KEY, s VARCHAR, n INT, flag BOOLEAN, tags VARCHAR ARRAY, attrs MAP<VARCHAR, INT>);
  CREATE MATERIALIZED VIEW wrapped AS SELECT id, CAST(s AS VARIANT) AS s, CAST(n AS VARIANT) AS n, CAST(flag AS VARIANT) AS flag,
    CAST(tags AS VARIANT) AS tags, CAST(attrs AS VARIANT) AS attrs, SAFE_CAST(s AS VARIANT) AS safe, PARSE_JSON(s) AS parsed,
    CAST(tags AS VARIANT ARRAY) AS items
  FROM docs;
  CREATE MATERIALIZED VIEW unwrapped AS SELECT id, CAST(s AS VARCHAR) AS s, CAST(safe AS VARCHAR) AS safe FROM wrapped;`;

describe("Feldera's view column names and VARIANT casts", () => {
  const suite = useFelderaSuite(async (client) => {
    await client.pipeline('named', NAMING_PROGRAM);
    await client.pushOk('named', 't', '{"insert": {"id": 1, "a": 7, "s": "x"}}');
    await client.pushOk('named', 'docs', [
      { id: 1, s: '{"x": 1}', n: 5, flag: true, tags: ['a', 'b'], attrs: { k: 1 } },
      { id: 2, s: 'plain', n: null, flag: null, tags: null, attrs: null },
    ].map((row) => JSON.stringify({ insert: row })).join('\n'));
  });
  const rows = (sql: string) => suite.client.rows('named', sql);
  const outputs = async () => {
    const { program_info: info } = (await (await suite.client.get('named')).json()) as { program_info: { schema: { outputs: Array<{ name: string; fields: Array<{ name: string; columntype: { type: string } }> }> } } };
    return Object.fromEntries(info.schema.outputs.map((view) => [view.name, view.fields]));
  };

  test("a view's unaliased expression is named EXPR$<n>, n its place in the select list from 0, as Calcite names it; a column reference keeps its name; so say program_info, ad-hoc queries and egress", async () => {
    const views = await outputs();
    assert.deepEqual(views['computed']!.map((field) => field.name), ['id', 'EXPR$1', 'EXPR$2', 'a', 's', 'EXPR$5', 'doubled', 'EXPR$7']);
    // A `*` counts as the columns it gives; an inner query's names reach the view through its `*`.
    assert.deepEqual(views['starred']!.map((field) => field.name), ['id', 'a', 's', 'EXPR$3']);
    assert.deepEqual(views['nested']!.map((field) => field.name), ['id', 'EXPR$1']);
    assert.deepEqual(views['counted']!.map((field) => [field.name, field.columntype.type]), [['s', 'VARCHAR'], ['EXPR$1', 'BIGINT']]);
    assert.deepEqual(await rows('SELECT * FROM computed'), [{ id: 1, EXPR$1: 8, EXPR$2: 3, a: 7, s: 'x', EXPR$5: 7, doubled: 14, EXPR$7: 'X' }]);
    assert.deepEqual(await rows('SELECT "EXPR$3" FROM starred'), [{ EXPR$3: 8 }]);
    assert.deepEqual(await rows('SELECT * FROM nested'), [{ id: 1, EXPR$1: 17 }]);
    // Ad-hoc queries are answered by another engine (DataFusion), which names columns its own way.
    assert.ok(!Object.keys((await rows('SELECT a + 1 FROM t'))[0]!).includes('EXPR$0'));
    const response = await suite.server.fetch('/v0/pipelines/named/egress/computed?format=json&send_snapshot=true', { method: 'POST' });
    assert.equal(response.status, 200);
    const stream = new EgressStream(response.body!.getReader());
    try {
      assert.deepEqual(await stream.items(1), [{ insert: { id: 1, EXPR$1: 8, EXPR$2: 3, a: 7, s: 'x', EXPR$5: 7, doubled: 14, EXPR$7: 'X' } }]);
    } finally {
      stream.cancel();
    }
  });

  test('CAST(x AS VARIANT) wraps the value as it is, as Feldera does: a string stays a string (JSON text or not), numbers, booleans, arrays and maps become their VARIANT forms; only PARSE_JSON parses', async () => {
    assert.deepEqual(await rows('SELECT * FROM wrapped ORDER BY id'), [
      { id: 1, s: '{"x": 1}', n: 5, flag: true, tags: ['a', 'b'], attrs: { k: 1 }, safe: '{"x": 1}', parsed: { x: 1 }, items: ['a', 'b'] },
      { id: 2, s: 'plain', n: null, flag: null, tags: null, attrs: null, safe: 'plain', parsed: null, items: null },
    ]);
    const wrapped = (await outputs())['wrapped']!;
    assert.deepEqual(wrapped.filter((field) => field.name !== 'id' && field.name !== 'items').map((field) => field.columntype.type), Array(7).fill('VARIANT'));
  });

  test('CAST(v AS VARCHAR) of a VARIANT holding a string is that string in a view, without the quotes of its JSON; an ad-hoc query keeps the JSON text', async () => {
    assert.deepEqual(await rows('SELECT * FROM unwrapped ORDER BY id'), [{ id: 1, s: '{"x": 1}', safe: '{"x": 1}' }, { id: 2, s: 'plain', safe: 'plain' }]);
    assert.deepEqual(await rows('SELECT id, CAST(s AS VARCHAR) AS s FROM wrapped ORDER BY id'), [{ id: 1, s: '"{\\"x\\": 1}"' }, { id: 2, s: '"plain"' }]);
  });
});
