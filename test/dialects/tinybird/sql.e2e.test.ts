import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useTinybirdSuite } from '../../helpers/tinybird-suite.ts';

describe('Tinybird SQL API formats and Jobs API cancellation', () => {
  const suite = useTinybirdSuite();
  before(async () => {
    await suite.tb.form('/v0/datasources?name=sales', { schema: 'id Int64, country String, amount Float64' });
    await suite.tb.upload('name=sales&mode=append', 'csv', 's.csv', '1,ES,2.5\n2,FR,4\n9007199254740993,"say ""hi""",1\n');
    await suite.tb.form('/v0/datasources?name=numbers', { schema: 'n Int32' });
    await suite.tb.upload('name=numbers&mode=append', 'csv', 'n.csv', `${Array.from({ length: 25 }, (_, index) => index + 1).join('\n')}\n`);
  });

  const sql = (query: string) => suite.server.fetch(`/v0/sql?q=${encodeURIComponent(query)}`);
  /** A query's result as FORMAT JSON, once it answered 200 (its body is the assertion's message otherwise). */
  const queryJson = async (query: string) => {
    const response = await sql(`${query} FORMAT JSON`);
    const body = (await response.json()) as { data: Array<Record<string, unknown>>; meta: Array<{ name: string; type: string }> };
    assert.equal(response.status, 200, `${query}: ${JSON.stringify(body)}`);
    return body;
  };
  const QUERY = 'SELECT id, country, amount FROM sales ORDER BY id';

  test('brackets closed that were never opened are a 400 syntax error, in a query and in a delete condition, and the server goes on serving', async () => {
    for (const query of ['SELECT 1))', 'SELECT ]]', 'SELECT }}', 'SELECT f(1)))', 'SELECT CASE WHEN 1 THEN 2 END)) % 3']) {
      const response = await sql(query);
      assert.equal(response.status, 400, query);
      assert.equal(typeof ((await response.json()) as { error: unknown }).error, 'string', query);
    }
    const dryRun = await suite.server.fetch('/v0/datasources/sales/delete', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'delete_condition=id%20%3D%201))%20OR%20((1%3D1&dry_run=true',
    });
    assert.equal(dryRun.status, 400);
    assert.equal((await suite.server.fetch('/health')).status, 200);
  });

  test('FORMAT CSV, CSVWithNames, TSV, TSVWithNames and JSONEachRow', async () => {
    const expectations: Array<[string, string]> = [
      ['CSV', '1,"ES",2.5\n2,"FR",4\n9007199254740993,"say ""hi""",1\n'],
      ['CSVWithNames', '"id","country","amount"\n1,"ES",2.5\n2,"FR",4\n9007199254740993,"say ""hi""",1\n'],
      ['TSV', '1\tES\t2.5\n2\tFR\t4\n9007199254740993\tsay "hi"\t1\n'],
      ['TSVWithNames', 'id\tcountry\tamount\n1\tES\t2.5\n2\tFR\t4\n9007199254740993\tsay "hi"\t1\n'],
      ['JSONEachRow', '{"id":1,"country":"ES","amount":2.5}\n{"id":2,"country":"FR","amount":4}\n{"id":"9007199254740993","country":"say \\"hi\\"","amount":1}\n'],
    ];
    for (const [format, expected] of expectations) {
      const response = await sql(`${QUERY} FORMAT ${format}`);
      assert.equal(response.status, 200, format);
      assert.equal(await response.text(), expected, format);
    }
  });

  test('a float with an exponent is written without its plus sign, as ClickHouse writes it, in text and JSON formats', async () => {
    const query = "SELECT toFloat64('1e308') AS a, toFloat64('-8.98846567431158e307') AS b, toFloat32('3.4028235e38') AS c, toFloat64('1e-7') AS d";
    assert.equal(await (await sql(`${query} FORMAT TSV`)).text(), '1e308\t-8.98846567431158e307\t3.4028235e38\t1e-7\n');
    assert.equal(await (await sql(`${query} FORMAT JSONEachRow`)).text(), '{"a":1e308,"b":-8.98846567431158e307,"c":3.4028235e38,"d":1e-7}\n');
  });

  test("text formats write arrays, tuples and maps in ClickHouse's syntax; JSON formats as JSON", async () => {
    const query = "SELECT ['a', 'it''s', NULL] AS l, [[1, 2], []] AS n, {'id': 1, 'name': 'x', 'day': DATE '2024-01-02'} AS t, MAP {'k': 1.5} AS m";
    const expectations: Array<[string, string]> = [
      ['CSV', `"['a','it\\'s',NULL]","[[1,2],[]]","(1,'x','2024-01-02')","{'k':1.5}"\n`],
      ['TSV', `['a','it\\'s',NULL]\t[[1,2],[]]\t(1,'x','2024-01-02')\t{'k':1.5}\n`],
      ['JSONEachRow', `{"l":["a","it's",null],"n":[[1,2],[]],"t":{"id":1,"name":"x","day":"2024-01-02"},"m":{"k":1.5}}\n`],
    ];
    for (const [format, expected] of expectations) {
      const response = await sql(`${query} FORMAT ${format}`);
      const text = await response.text();
      assert.equal(response.status, 200, text);
      assert.equal(text, expected, format);
    }
  });

  test("ClickHouse's parametric quantiles: quantile(p)(x), quantileExact, quantiles, quantileIf, topK, and the aggregate any(x) beside the quantifier ANY; names in strings and comments are left alone", async () => {
    const response = await sql(`SELECT quantile(0.5)(n) AS median, quantileExact(0.9)(n) AS p90, quantiles(0.5, 0.9)(n) AS both,
      quantileIf(0.5)(n, n > 10) AS upper_median, 'quantile(0.5)(n)' AS text /* quantile(0.5)(n) */ FROM numbers FORMAT JSON`);
    const body = (await response.json()) as { data: unknown[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [{ median: 13, p90: 23, both: [13, 22.6], upper_median: 18, text: 'quantile(0.5)(n)' }]);
    const any = (await (await sql('SELECT any(n) AS some, count() AS c FROM numbers WHERE n = ANY (SELECT 3) FORMAT JSON')).json()) as { data: unknown[] };
    assert.deepEqual(any.data, [{ some: 3, c: 1 }]);
    const top = (await (await sql('SELECT topK(2)(n % 3) AS top FROM numbers WHERE n <= 8 FORMAT JSON')).json()) as { data: Array<{ top: number[] }> };
    assert.deepEqual(top.data[0]!.top.slice().sort(), [1, 2]);
  });

  test('multiIf of any length takes the value of the first true condition, else the last argument (commas inside brackets and struct braces are not its own); a call without a value otherwise is a 400', async () => {
    const conditions = Array.from({ length: 8 }, (_, index) => `n = ${index + 1}, 'n${index + 1}'`).join(', ');
    const response = await sql(`SELECT n, multiIf(${conditions}, 'many') AS name, multiIf(n < 3, multiIf(n = 1, 'one', 'two'), 'more') AS nested,
      multiIf(n = 1, {'a': 'x', 'b': 'y'}['b'], 'z') AS picked FROM numbers WHERE n IN (1, 2, 8, 9) ORDER BY n FORMAT JSON`);
    const body = (await response.json()) as { data: unknown[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [
      { n: 1, name: 'n1', nested: 'one', picked: 'y' },
      { n: 2, name: 'n2', nested: 'two', picked: 'z' },
      { n: 8, name: 'n8', nested: 'more', picked: 'z' },
      { n: 9, name: 'many', nested: 'more', picked: 'z' },
    ]);
    const even = await sql('SELECT multiIf(n = 1, 1) FROM numbers');
    assert.equal(even.status, 400);
    assert.match(((await even.json()) as { error: string }).error, /multiIf .*odd number of arguments/);
  });

  test("formatDateTime writes ClickHouse's format letters, in UTC or in a time zone given; an unknown letter or a format that is not a constant string is a 400", async () => {
    const time = "TIMESTAMP '2024-03-05 07:08:09.123456'";
    const response = await sql(`SELECT formatDateTime(${time}, '%Y-%m-%d %H:%i:%S') AS plain,
      formatDateTime(${time}, '%e|%k|%l|%C|%g|%Q|%M|%W|%a %b|%z|%%|%F %T|%D|%r|%j|%u|%w|%f') AS letters,
      formatDateTime(${time}, '%H:%i %z', 'Asia/Kolkata') AS zoned, formatDateTime(DATE '2024-12-31', '%d/%c/%y') AS day,
      formatDateTime(multiIf(false, NULL, ${time}), '%s') AS nested FORMAT JSON`);
    const body = (await response.json()) as { data: unknown[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [{
      plain: '2024-03-05 07:08:09',
      letters: ' 5| 7| 7|20|24|1|March|Tuesday|Tue Mar|+0000|%|2024-03-05 07:08:09|03/05/24|07:08 AM|065|2|2|123456',
      zoned: '12:38 +0530',
      day: '31/12/24',
      nested: '09',
    }]);
    for (const query of [`SELECT formatDateTime(${time}, '%X')`, `SELECT formatDateTime(${time}, concat('%', 'Y'))`]) {
      const bad = await sql(query);
      assert.equal(bad.status, 400, query);
      assert.match(((await bad.json()) as { error: string }).error, /formatDateTime/, query);
    }
  });

  test("ClickHouse's lambda-first array functions, position(s, needle), extract(s, pattern), dateAdd/dateSub/dateDiff with a unit word", async () => {
    const response = await sql(`SELECT arrayMap(x -> x * 2, [1, 2, 3]) AS doubled, arrayFilter(x -> x > 1, [1, 2, 3]) AS kept,
      arrayCount(x -> x > 1, [1, 2, 3]) AS counted, arrayExists(x -> x > 2, [1, 2, 3]) AS some, arrayExists(x -> x > 2, CAST([] AS INTEGER[])) AS none,
      arrayAll(x -> x > 0, [1, 2]) AS every, arrayFirst(x -> x > 1, [1, 2, 3]) AS first, arrayMap((x, i) -> x * i, [5, 6]) AS indexed,
      position('abcabc', 'c') AS pos, position('b' IN 'abc') AS pos_in, extract('user-42-x', '[0-9]+') AS digits,
      extract('user-42-x', 'user-([0-9]+)') AS group_one, extract(YEAR FROM DATE '2024-05-06') AS year,
      dateAdd(day, 2, DATE '2024-01-30') AS later, dateSub(HOUR, 1, TIMESTAMP '2024-01-01 00:30:00') AS earlier,
      date_add('minute', n, TIMESTAMP '2024-01-01 00:00:00') AS plus_n, dateDiff(day, DATE '2024-01-01', DATE '2024-03-01') AS days
      FROM numbers WHERE n = 5 FORMAT JSON`);
    const body = (await response.json()) as { data: unknown[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [{
      doubled: [2, 4, 6], kept: [2, 3], counted: 2, some: true, none: false, every: true, first: 2, indexed: [5, 12],
      pos: 3, pos_in: 2, digits: '42', group_one: '42', year: 2024,
      later: '2024-02-01 00:00:00', earlier: '2023-12-31 23:30:00', plus_n: '2024-01-01 00:05:00', days: 60,
    }]);
    const twoArrays = await sql('SELECT arrayMap((x, y) -> x + y, [1], [2])');
    assert.equal(twoArrays.status, 400);
    assert.match(((await twoArrays.json()) as { error: string }).error, /arrayMap takes a lambda and one array/);
  });

  test("a data source's delete_condition may use ClickHouse's functions too", async () => {
    const dry = await suite.tb.form('/v0/datasources/numbers/delete', { delete_condition: "multiIf(n > 23, true, n = 1, true, false) AND position(CAST(n AS VARCHAR), '4') = 0", dry_run: 'true' });
    const body = (await dry.json()) as { rows_to_be_deleted: number };
    assert.equal(dry.status, 200, JSON.stringify(body));
    assert.equal(body.rows_to_be_deleted, 2);
  });

  test('now() and now64() compare with DateTime and DateTime64 columns, in queries and in a delete_condition', async () => {
    await suite.tb.form('/v0/datasources?name=times', { schema: 'id Int32, ts DateTime, precise DateTime64(3)' });
    await suite.tb.upload('name=times&mode=append', 'csv', 't.csv', '1,2020-01-01 00:00:00,2020-01-01 00:00:00.250\n2,2099-01-01 00:00:00,2099-01-01 00:00:00.500\n');
    const response = await sql(`SELECT countIf(ts < now() - INTERVAL 1 DAY) AS past, countIf(precise > now64()) AS future,
      countIf(ts BETWEEN '2019-01-01' AND now()) AS between, max(date_diff('year', ts, now())) AS years FROM times FORMAT JSON`);
    const body = (await response.json()) as { data: Array<Record<string, number>>; meta: Array<{ name: string; type: string }> };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual({ ...body.data[0], years: body.data[0]!['years']! >= 6 }, { past: 1, future: 1, between: 1, years: true });
    const now = (await (await sql('SELECT now() AS t FORMAT JSON')).json()) as { meta: Array<{ type: string }> };
    assert.equal(now.meta[0]!.type, 'DateTime');
    const dry = await suite.tb.form('/v0/datasources/times/delete', { delete_condition: 'ts < now() - INTERVAL 1 DAY', dry_run: 'true' });
    assert.deepEqual(await dry.json(), { rows_to_be_deleted: 1 });
  });

  test('result columns of unaliased calls are named by their text, as ClickHouse names them, subqueries included; aliased and other items keep their names', async () => {
    const response = await sql(`SELECT count(*), sum(n), countIf(n  >  3), quantile(0.5)(n), uniq(n) AS distinct_n, n % 2 AS parity, lower('A')
      FROM numbers GROUP BY parity ORDER BY parity FORMAT JSON`);
    const body = (await response.json()) as { meta: Array<{ name: string }>; data: Array<Record<string, unknown>> };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.meta.map((column) => column.name), ['count()', 'sum(n)', 'countIf(n > 3)', 'quantile(0.5)(n)', 'distinct_n', 'parity', "lower('A')"]);
    assert.deepEqual(body.data[0], { 'count()': 12, 'sum(n)': 156, 'countIf(n > 3)': 11, 'quantile(0.5)(n)': 13, distinct_n: 12, parity: 0, "lower('A')": 'a' });
    const nested = (await (await sql('SELECT * FROM (SELECT count(), max(n) FROM numbers) FORMAT JSON')).json()) as { data: unknown[] };
    assert.deepEqual(nested.data, [{ 'count()': 25, 'max(n)': 25 }]);
  });

  test("ClickHouse's WITH <expression> AS <name>: the name stands for the expression in the rest of the query, beside common table expressions; a trailing SETTINGS clause is dropped", async () => {
    const response = await sql(`WITH 5 AS k, toDate('2024-01-01') AS day, k * 2 AS twice, small AS (SELECT n FROM numbers WHERE n <= k)
      SELECT count() AS c, max(n) + twice AS m, day, n % 2 AS parity FROM small GROUP BY parity ORDER BY parity FORMAT JSON`);
    const body = (await response.json()) as { data: unknown[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [{ c: 2, m: 14, day: '2024-01-01', parity: 0 }, { c: 3, m: 15, day: '2024-01-01', parity: 1 }]);
    const only = (await (await sql("WITH 'x' AS label SELECT label, upper(label) AS shout SETTINGS max_threads = 1, join_use_nulls = 1 FORMAT JSON")).json()) as { data: unknown[] };
    assert.deepEqual(only.data, [{ label: 'x', shout: 'X' }], 'a trailing SETTINGS clause is dropped');
  });

  test("strings take ClickHouse's backslash escapes: regular expressions as written for ClickHouse match, quotes and tabs escaped, unknown escapes kept", async () => {
    const query = String.raw`SELECT extract('abc123', '\\d+') AS digits, replaceRegexpAll('a.b.c', '\\.', '-') AS dashed, match('+https://x', '^\\+https://') AS matched,
      'it\'s' AS quoted, 'a\tb' AS tabbed, 'x''y' AS doubled, '\d' AS unknown, '\x41' AS hex FORMAT JSON`;
    const response = await sql(query);
    const body = (await response.json()) as { data: unknown[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [{ digits: '123', dashed: 'a-b-c', matched: true, quoted: "it's", tabbed: 'a\tb', doubled: "x'y", unknown: '\\d', hex: 'A' }]);
  });

  test('a SELECT alias named like a column stands for its expression in WHERE, GROUP BY, HAVING and ORDER BY, as in ClickHouse; joins and subqueries keep their own names', async () => {
    const grouped = await sql(`SELECT intDiv(n, 10) AS n, count() AS c FROM numbers WHERE n < 3 GROUP BY n HAVING c > 5 ORDER BY n DESC FORMAT JSON`);
    const body = (await grouped.json()) as { data: unknown[] };
    assert.equal(grouped.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [{ n: 2, c: 6 }, { n: 1, c: 10 }, { n: 0, c: 9 }]);
    const joined = await sql(`SELECT a.n * 100 AS n, (SELECT max(n) FROM numbers WHERE n < 5) AS inner_max FROM numbers a JOIN numbers b USING (n) WHERE n = 200 FORMAT JSON`);
    const joinedBody = (await joined.json()) as { data: unknown[] };
    assert.equal(joined.status, 200, JSON.stringify(joinedBody));
    assert.deepEqual(joinedBody.data, [{ n: 200, inner_max: 4 }]);
  });

  test("more of ClickHouse's meaning: countIf and sum of no rows are 0, dateDiff('week') counts Monday weeks, quantileExact's position, typed JSONExtract, lambda sorts and sums, lagInFrame, leftPad", async () => {
    const doc = `'{"tags": ["a", "b"], "n": 7, "s": "x"}'`;
    const response = await sql(`SELECT (SELECT countIf(n > 100) FROM numbers WHERE n > 1000) AS none, (SELECT sum(n) FROM numbers WHERE n > 1000) AS no_sum, dateDiff('week', toDate('2024-01-06'), toDate('2024-01-08')) AS weeks,
      (SELECT quantileExact(0.5)(n) FROM numbers WHERE n <= 4) AS median, JSONExtract(${doc}, 'tags', 'Array(String)') AS tags, JSONExtract(${doc}, 'n', 'Int64') AS n,
      JSONExtract(${doc}, 's', 'String') AS s, arraySort(x -> -x, [1, 3, 2]) AS desc_sorted, arraySum(x -> x * 2, [1, 2]) AS doubled_sum, arraySum([1, 2]) AS plain_sum,
      (SELECT list(previous ORDER BY n) FROM (SELECT n, lagInFrame(n) OVER (ORDER BY n) AS previous FROM numbers WHERE n <= 3)) AS lagged, leftPad('7', 3, '0') AS padded
      FORMAT JSON`);
    const body = (await response.json()) as { data: unknown[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [{
      none: 0, no_sum: 0, weeks: 1, median: 3, tags: ['a', 'b'], n: 7, s: 'x', desc_sorted: [3, 2, 1], doubled_sum: 6, plain_sum: 3, lagged: [null, 1, 2], padded: '007',
    }]);
    const unknownType = await sql(`SELECT JSONExtract(${doc}, 'n', 'Tuple(Int64)')`);
    assert.equal(unknownType.status, 400);
  });

  test("ClickHouse's bit aggregates, readable quantities, multiSearchAny, array push/pop/compact/intersect, extractAll, relative numbers, dateName, timeSlot, makeDate, intDivOrZero and the like", async () => {
    const response = await sql(`SELECT groupBitOr(n) AS bits_or, groupBitAnd(n) AS bits_and, (SELECT groupBitXor(n) FROM numbers WHERE n > 1000) AS no_bits,
      formatReadableQuantity(1234567) AS millions, formatReadableQuantity(12) AS units, multiSearchAny('clickhouse', ['duck', 'house']) AS any_found,
      arrayPushBack([1], 2) AS pushed, arrayPushFront([1], 0) AS fronted, arrayPopBack([1, 2, 3]) AS popped, arrayPopFront([1, 2, 3]) AS shifted,
      arrayCompact([1, 1, 2, 1]) AS compact, arraySort(arrayIntersect([1, 2, 3], [3, 2, 4])) AS common, extractAll('k=1,v=22', '=(\\\\d+)') AS groups,
      extractAll('a1b22', '[0-9]+') AS matches, toRelativeDayNum(toDate('2024-01-01')) AS day_num, toRelativeMonthNum(toDate('2024-03-01')) AS month_num,
      dateName('month', toDate('2024-01-01')) AS month_name, dateName('weekday', toDate('2024-01-01')) AS weekday, timeSlot(toDateTime('2024-01-01 10:47:00')) AS slot,
      makeDate(2024, 2, 29) AS made, makeDateTime(2024, 1, 2, 3, 4, 5) AS made_time, toLastDayOfMonth(toDate('2024-02-10')) AS last_day, intDivOrZero(7, 0) AS div_zero,
      substringUTF8('héllo', 2, 2) AS sub, parseDateTime64BestEffort('2024-01-01T10:00:00.123456Z') AS precise
      FROM numbers WHERE n IN (5, 6) FORMAT JSON`);
    const body = (await response.json()) as { data: unknown[]; meta: Array<{ name: string; type: string }> };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [{
      bits_or: 7, bits_and: 4, no_bits: 0, millions: '1.23 million', units: '12.00', any_found: true, pushed: [1, 2], fronted: [0, 1], popped: [1, 2], shifted: [2, 3],
      compact: [1, 2, 1], common: [2, 3], groups: ['1', '22'], matches: ['1', '22'], day_num: 19723, month_num: 24291, month_name: 'January', weekday: 'Monday',
      slot: '2024-01-01 10:30:00', made: '2024-02-29', made_time: '2024-01-02 03:04:05', last_day: '2024-02-29', div_zero: 0, sub: 'él', precise: '2024-01-01 10:00:00.123',
    }]);
    assert.equal(body.meta.find((column) => column.name === 'precise')?.type, 'DateTime64(3)');
  });

  test('LIMIT n BY keeps the first n rows of each group in the query\'s order, with an offset and a plain LIMIT after it', async () => {
    const rows = async (query: string) => (await queryJson(query)).data;
    assert.deepEqual(await rows('SELECT n % 2 AS parity, n FROM numbers ORDER BY parity, n DESC LIMIT 2 BY parity'),
      [{ parity: 0, n: 24 }, { parity: 0, n: 22 }, { parity: 1, n: 25 }, { parity: 1, n: 23 }]);
    assert.deepEqual(await rows('SELECT n % 2 AS parity, n FROM numbers ORDER BY parity, n DESC LIMIT 1, 1 BY parity'), [{ parity: 0, n: 22 }, { parity: 1, n: 23 }]);
    assert.deepEqual(await rows('SELECT n % 2 AS parity, n FROM numbers ORDER BY parity, n LIMIT 2 BY parity LIMIT 3'), [{ parity: 0, n: 2 }, { parity: 0, n: 4 }, { parity: 1, n: 1 }]);
    assert.deepEqual(await rows('SELECT n % 3 AS k, n % 2 AS p, count() AS c FROM numbers GROUP BY k, p ORDER BY k, c DESC, p LIMIT 1 BY k'),
      [{ k: 0, p: 0, c: 4 }, { k: 1, p: 1, c: 5 }, { k: 2, p: 0, c: 4 }]);
  });

  test('ORDER BY … WITH FILL adds the missing days, hours or numbers with zeros in the other columns, FROM/TO/STEP or the data\'s own bounds, ascending or descending', async () => {
    await suite.tb.form('/v0/datasources?name=visits&format=ndjson', { schema: 'ts DateTime `json:$.ts`, page String `json:$.page`, ms Float64 `json:$.ms`' });
    await suite.server.fetch('/v0/events?name=visits&wait=true', {
      method: 'POST', body: '{"ts": "2024-03-02 10:15:00", "page": "/", "ms": 5}\n{"ts": "2024-03-02 12:40:00", "page": "/a", "ms": 7}\n{"ts": "2024-03-04 09:00:00", "page": "/", "ms": 1}\n',
    });
    const rows = async (query: string) => (await queryJson(query)).data;
    // Dates, the data's bounds, a day apart by default.
    assert.deepEqual(await rows('SELECT toDate(ts) AS day, count() AS hits, max(page) AS last_page FROM visits GROUP BY day ORDER BY day WITH FILL'), [
      { day: '2024-03-02', hits: 2, last_page: '/a' }, { day: '2024-03-03', hits: 0, last_page: '' }, { day: '2024-03-04', hits: 1, last_page: '/' },
    ]);
    // Given bounds (TO excluded) and a LIMIT after the fill.
    assert.deepEqual((await rows("SELECT toDate(ts) AS day, count() AS hits FROM visits GROUP BY day ORDER BY day WITH FILL FROM toDate('2024-03-01') TO toDate('2024-03-06') LIMIT 4"))
      .map((row: any) => `${row.day}:${row.hits}`), ['2024-03-01:0', '2024-03-02:2', '2024-03-03:0', '2024-03-04:1']);
    // DateTimes stepped by an interval, and by a number of seconds.
    const hourly = "SELECT toStartOfHour(ts) AS hour, round(sum(ms), 1) AS total FROM visits WHERE ts < '2024-03-03' GROUP BY hour ORDER BY hour WITH FILL STEP";
    const expected = [{ hour: '2024-03-02 10:00:00', total: 5 }, { hour: '2024-03-02 11:00:00', total: 0 }, { hour: '2024-03-02 12:00:00', total: 7 }];
    assert.deepEqual(await rows(`${hourly} INTERVAL 1 HOUR`), expected);
    assert.deepEqual(await rows(`${hourly} 3600`), expected);
    // Numbers, descending (a negative step), with another sort key after the filled one; the steps
    // start again after each value, as ClickHouse takes them (6 is off the grid of 9 - 2k).
    assert.deepEqual(await rows('SELECT n * 3 AS x, 1 AS one FROM numbers WHERE n <= 3 ORDER BY x DESC WITH FILL STEP -2, one'), [
      { x: 9, one: 1 }, { x: 7, one: 0 }, { x: 6, one: 1 }, { x: 4, one: 0 }, { x: 3, one: 1 },
    ]);
    const wrongWay = await sql('SELECT n AS x FROM numbers ORDER BY x DESC WITH FILL STEP 1');
    assert.equal(wrongWay.status, 400);
    assert.match((await wrongWay.json()).error, /STEP must be negative when the order is descending/);
    const unnamed = await sql('SELECT toDate(ts) AS day, count() AS hits FROM visits GROUP BY day ORDER BY toDate(ts) WITH FILL');
    assert.equal(unnamed.status, 400);
    assert.match((await unnamed.json()).error, /WITH FILL fills a result column/);
  });

  test('ARRAY JOIN gives a row per element of a data source or subquery, named by its alias or in place of the array column; LEFT ARRAY JOIN keeps rows with empty arrays; arrayJoin() beside aggregates, named with or without AS (unnamed, a 400 that says how to write it)', async () => {
    await suite.tb.form('/v0/datasources?name=joined_tags&format=ndjson', { schema: 'id Int32 `json:$.id`, tags Array(String) `json:$.tags[:]`' });
    await suite.server.fetch('/v0/events?name=joined_tags&wait=true', { method: 'POST', body: '{"id": 1, "tags": ["a", "b"]}\n{"id": 2, "tags": ["b"]}\n{"id": 3, "tags": []}\n' });
    const rows = async (query: string) => (await queryJson(query)).data;
    assert.deepEqual(await rows('SELECT id, tag FROM joined_tags ARRAY JOIN tags AS tag ORDER BY id, tag'), [{ id: 1, tag: 'a' }, { id: 1, tag: 'b' }, { id: 2, tag: 'b' }]);
    assert.deepEqual(await rows("SELECT id, tags FROM joined_tags ARRAY JOIN tags WHERE tags != 'a' ORDER BY id"), [{ id: 1, tags: 'b' }, { id: 2, tags: 'b' }]);
    assert.deepEqual(await rows('SELECT tag, count() AS c FROM joined_tags AS t ARRAY JOIN t.tags AS tag GROUP BY tag ORDER BY tag'), [{ tag: 'a', c: 1 }, { tag: 'b', c: 2 }]);
    assert.deepEqual(await rows('SELECT id, tag FROM joined_tags LEFT ARRAY JOIN tags AS tag WHERE id >= 2 ORDER BY id'), [{ id: 2, tag: 'b' }, { id: 3, tag: null }]);
    assert.deepEqual(await rows('SELECT arrayJoin(tags) AS tag, count() AS c FROM joined_tags WHERE id < 3 GROUP BY tag ORDER BY tag'), [{ tag: 'a', c: 1 }, { tag: 'b', c: 2 }]);
    assert.deepEqual(await rows('SELECT arrayJoin(tags) tag, count() c FROM joined_tags GROUP BY tag ORDER BY tag'), [{ tag: 'a', c: 1 }, { tag: 'b', c: 2 }]);
    const unnamed = await sql('SELECT arrayJoin(tags), count() FROM joined_tags GROUP BY arrayJoin(tags)');
    assert.equal(unnamed.status, 400);
    assert.match(((await unnamed.json()) as { error: string }).error, /name each arrayJoin\(…\) in the SELECT list \(`arrayJoin\(tags\) AS tag`\)/);
    assert.deepEqual(await rows('SELECT tag FROM joined_tags ARRAY JOIN tags AS tag PREWHERE id = 2'), [{ tag: 'b' }]);
    // After a subquery, with or without its alias.
    assert.deepEqual(await rows('SELECT s.id, tag FROM (SELECT id, tags FROM joined_tags WHERE id > 1) AS s ARRAY JOIN s.tags AS tag'), [{ id: 2, tag: 'b' }]);
    assert.deepEqual(await rows('SELECT id, tags FROM (SELECT * FROM joined_tags WHERE id = 1) ARRAY JOIN tags ORDER BY tags'), [{ id: 1, tags: 'a' }, { id: 1, tags: 'b' }]);
  });

  test('queries whose rewrite would grow without bound, nest too deeply or pass ClickHouse\'s max_query_size are 400s, and the server keeps serving', async () => {
    const aliases = Array.from({ length: 12 }, (_, level) => (level === 0 ? '1 AS a0' : `(a${level - 1}+a${level - 1}+a${level - 1}+a${level - 1}) AS a${level}`));
    const zones = "'%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z%z'";
    const cases: Array<[string, RegExp]> = [
      [`WITH ${aliases.join(', ')} SELECT a11`, /too large once rewritten/],
      [`SELECT formatDateTime(formatDateTime(formatDateTime(now(), ${zones}, 'UTC'), ${zones}, 'UTC'), ${zones}, 'UTC')`, /too large once rewritten|formatDateTime/],
      [`SELECT ${'multiIf(1, 2, '.repeat(12_000)}1${')'.repeat(12_000)}`, /nests too deeply|too large/],
      [`SELECT '${'x'.repeat(262_144)}' AS long`, /longer than 262144 characters/],
    ];
    for (const [query, message] of cases) {
      const response = await suite.server.fetch('/v0/sql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q: query }) });
      const body = (await response.json()) as { error: string };
      assert.equal(response.status, 400, `${query.slice(0, 60)}: ${JSON.stringify(body).slice(0, 200)}`);
      assert.match(body.error, message);
    }
    assert.deepEqual((await (await sql('SELECT 1 AS one FORMAT JSON')).json()).data, [{ one: 1 }]);
  });

  test("ClickHouse's small syntax: groupArray(n)(x), quantileTiming, * EXCEPT, LIMIT m, n, a tuple's .1, ANY LEFT JOIN, numbers(n), INTERVAL -n, USING without brackets, PREWHERE, countIf(DISTINCT …), DateTime - DateTime in seconds", async () => {
    const rows = async (query: string) => (await queryJson(query)).data;
    assert.deepEqual(await rows('SELECT groupArray(3)(n) AS first, length(groupUniqArray(2)(n % 5)) AS distinct_two, quantileTiming(0.5)(n) AS median FROM (SELECT n FROM numbers ORDER BY n)'),
      [{ first: [1, 2, 3], distinct_two: 2, median: 13 }]);
    assert.deepEqual(await rows('SELECT * EXCEPT (amount) FROM sales WHERE id = 1'), [{ id: 1, country: 'ES' }]);
    assert.deepEqual(await rows('SELECT n FROM numbers ORDER BY n LIMIT 2, 3'), [{ n: 3 }, { n: 4 }, { n: 5 }]);
    assert.deepEqual(await rows("SELECT argMax((country, amount), id).1 AS top_country, (1, 'x').2 AS second FROM sales WHERE id < 3"), [{ top_country: 'FR', second: 'x' }]);
    assert.deepEqual(await rows('SELECT s.id, n.n FROM sales AS s ANY LEFT JOIN numbers AS n ON n.n = s.id ORDER BY s.id LIMIT 2'), [{ id: 1, n: 1 }, { id: 2, n: 2 }]);
    assert.deepEqual(await rows('SELECT sum(number) AS total, count() AS c FROM numbers(5)'), [{ total: 10, c: 5 }]);
    assert.deepEqual(await rows('SELECT min(number) AS lo, max(number) AS hi FROM numbers(10, 3)'), [{ lo: 10, hi: 12 }]);
    assert.deepEqual(await rows("SELECT toDate('2024-01-08') + INTERVAL -7 DAY AS week_before, timestampAdd(toDate('2024-01-08'), INTERVAL -1 DAY) AS day_before"),
      [{ week_before: '2024-01-01', day_before: '2024-01-07' }]);
    assert.deepEqual(await rows('SELECT count() AS c FROM sales AS s JOIN sales AS t USING id WHERE s.id < 3'), [{ c: 2 }]);
    assert.deepEqual(await rows("SELECT count() AS c FROM sales PREWHERE country = 'ES'"), [{ c: 1 }]);
    // FINAL after a data source, its alias or a join's side (ReplacingMergeTree rows are one per key already).
    for (const query of ['SELECT count() AS c FROM sales FINAL WHERE sales.id < 3', 'SELECT count() AS c FROM sales AS s FINAL WHERE s.id < 3',
      'SELECT count() AS c FROM sales s FINAL WHERE s.id < 3', 'SELECT count() AS c FROM sales FINAL JOIN sales AS t FINAL USING id WHERE t.id < 3']) {
      assert.deepEqual(await rows(query), [{ c: 2 }], query);
    }
    // DateTime - DateTime is seconds, as in ClickHouse (the web analytics template's session length).
    assert.deepEqual(await rows("SELECT toDateTime('2024-01-01 00:01:30') - toDateTime('2024-01-01 00:00:00') AS d, avg(toDateTime('2024-01-02 00:00:00') - toDateTime('2024-01-01 00:00:00')) AS a"),
      [{ d: 90, a: 86400 }]);
    assert.deepEqual(await rows("SELECT count() AS c FROM sales PREWHERE amount > 1 WHERE country != 'ES'"), [{ c: 1 }]);
    assert.deepEqual(await rows('SELECT countIf(DISTINCT n % 3, n > 20) AS d FROM numbers'), [{ d: 3 }]);
    // ClickHouse's type names in casts, which DuckDB does not know (Float64, Nullable(…), Array(…), DateTime64(3) …).
    assert.deepEqual(await rows(`SELECT CAST(n AS Float64) / 2 AS half, n::Nullable(String) AS text, CAST(['1', '2'] AS Array(UInt8)) AS numbers,
      CAST('2024-01-01 10:00:00.5' AS DateTime64(3)) AS precise, CAST(n, 'LowCardinality(String)') AS low, CAST(map('a', 1) AS Map(String, UInt64)) AS m,
      CAST(1.5 AS Decimal(10, 2)) AS d, CAST(n AS INTEGER) AS duck_type FROM numbers WHERE n = 3`),
      [{ half: 1.5, text: '3', numbers: [1, 2], precise: '2024-01-01 10:00:00.500', low: '3', m: { a: 1 }, d: 1.5, duck_type: 3 }]);
    assert.equal((await sql("SELECT CAST(1, 'Nope') FORMAT JSON")).status, 400);
    assert.deepEqual(await rows("SELECT COLUMNS('^(id|amount)$') FROM sales WHERE id = 1"), [{ id: 1, amount: 2.5 }]);
    // A NUL written as an escape is a character of the string, not the end of the query.
    assert.deepEqual(await rows("SELECT length('a\\x00b') AS n, position('a\\0b', 'b') AS at"), [{ n: 3, at: 3 }]);
    assert.deepEqual(await rows('SELECT count() AS c FROM numbers WHERE n GLOBAL IN (SELECT n FROM numbers WHERE n < 3) AND n GLOBAL NOT IN (1)'), [{ c: 1 }]);
    assert.deepEqual(await rows("SELECT 0x1F AS hex, 0b101 AS bits, tuple(1, 'a').2 AS second, map('a', 1, 'b', 2)['b'] AS b # a comment, as ClickHouse reads it\n"),
      [{ hex: 31, bits: 5, second: 'a', b: 2 }]);
  });

  test('DateTime - DateTime of columns, calls and the names given to them is a number of seconds inside the query too, as the web analytics template\'s kpis pipe uses it; Date ± INTERVAL n DAY, addDays(d, n) and dateAdd(day, n, d) are Dates', async () => {
    await suite.tb.form('/v0/datasources?name=page_hits', { schema: 'session String, timestamp DateTime, day Date' });
    await suite.tb.upload('name=page_hits&mode=append', 'csv', 'h.csv', 'a,2024-01-01 10:00:00,2024-01-01\na,2024-01-01 10:01:30,2024-01-03\nb,2024-01-01 11:00:00,2024-01-01\n');
    const rows = queryJson;
    // The kpis pipe's shape: names given in a subquery, the difference averaged and defaulted.
    const kpis = await rows(`SELECT coalesce(avg(latest_hit - first_hit), 0) AS avg_session_sec, countIf(latest_hit - first_hit > 60) AS long_sessions
      FROM (SELECT session, max(timestamp) AS latest_hit, min(timestamp) AS first_hit FROM page_hits GROUP BY session)`);
    assert.deepEqual(kpis.data, [{ avg_session_sec: 45, long_sessions: 1 }]);
    const direct = await rows("SELECT max(timestamp) - min(timestamp) AS span, p.timestamp - toStartOfHour(p.timestamp) AS into_hour FROM page_hits AS p WHERE session = 'a' GROUP BY p.timestamp ORDER BY into_hour");
    assert.deepEqual(direct.data, [{ span: 0, into_hour: 0 }, { span: 0, into_hour: 90 }]);
    assert.equal(direct.meta.find((column) => column.name === 'span')?.type, 'Int64');
    // Dates subtract to days, as in ClickHouse; a Date moved by days, weeks, months or years stays a Date.
    assert.deepEqual((await rows("SELECT max(day) - min(day) AS days FROM page_hits")).data, [{ days: 2 }]);
    const shifted = await rows(`SELECT max(day) + INTERVAL 1 MONTH AS next_month, toStartOfMonth(max(day)) - INTERVAL 1 YEAR AS year_before,
      max(timestamp) + INTERVAL 1 DAY AS a_day_later, count() AS recent FROM page_hits WHERE day >= toDate('2024-01-04') - INTERVAL 3 DAY`);
    assert.deepEqual(shifted.data, [{ next_month: '2024-02-03', year_before: '2023-01-01', a_day_later: '2024-01-02 11:00:00', recent: 3 }]);
    assert.deepEqual(shifted.meta.map((column) => column.type).slice(0, 2), ['Date', 'Date']);
    // So do the calls that move a Date by days or more; by hours it becomes a DateTime, and a DateTime stays one.
    const called = await rows(`SELECT addDays(max(day), 1) AS next_day, subtractMonths(max(day), 1) AS month_before, dateAdd(week, 1, max(day)) AS next_week,
      date_add('year', 1, max(day)) AS next_year, timestampAdd(max(day), INTERVAL 2 DAY) AS two_days, dateAdd(hour, 1, max(day)) AS an_hour_later,
      addDays(max(timestamp), 1) AS a_day_later FROM page_hits`);
    assert.deepEqual(called.data, [{
      next_day: '2024-01-04', month_before: '2023-12-03', next_week: '2024-01-10', next_year: '2025-01-03', two_days: '2024-01-05',
      an_hour_later: '2024-01-03 01:00:00', a_day_later: '2024-01-02 11:00:00',
    }]);
    assert.deepEqual(called.meta.map((column) => column.type).slice(0, 5), ['Date', 'Date', 'Date', 'Date', 'Date']);
  });

  test('a number compared with a DateTime is that many seconds since the epoch, as in ClickHouse, on either side and with any comparison', async () => {
    await suite.tb.form('/v0/datasources?name=stamps', { schema: 'id Int32, at DateTime, n Int64' });
    await suite.tb.upload('name=stamps&mode=append', 'csv', 's.csv', '1,2024-01-01 10:00:00,5\n2,2024-01-01 11:00:00,1704103200\n');
    const rows = async (query: string) => (await queryJson(query)).data;
    for (const [condition, ids] of [['at > 1704103200', [2]], ['1704103200 >= at', [1]], ['at = 1704103200', [1]], ['stamps.at <> 1704103200', [2]], ['(at <= 1704106800) AND n = 1704103200', [2]]] as const) {
      assert.deepEqual((await rows(`SELECT id FROM stamps WHERE ${condition} ORDER BY id`)).map((row) => row['id']), ids, condition);
    }
  });

  test('DateTime ± n moves the time by n seconds, as in ClickHouse: of a column, a call, a product of numbers, a number column or a WITH constant, chained, and n + DateTime; two times added are a 400 of one sentence', async () => {
    await suite.tb.form('/v0/datasources?name=arrivals', { schema: 'at DateTime, precise DateTime64(3), wait Int32, day Date' });
    await suite.tb.upload('name=arrivals&mode=append', 'csv', 'v.csv', '2024-01-01 10:00:00,2024-01-01 10:00:00.250,90,2024-01-02\n2024-01-03 12:00:00,2024-01-03 12:00:00.500,30,2024-01-04\n');
    const response = await sql(`WITH 3600 AS hour SELECT at - 3600 AS before, at + 60 * 60 * 24 AS next_day, at + wait AS waited, at - hour - 60 AS chained,
      toStartOfDay(at) + (60 + 30) AS into_day, precise + 1 AS precise_later, at + 30 - at AS seconds, day - 1 AS day_before, 60 * 2 + at AS number_first FROM arrivals ORDER BY at FORMAT JSON`);
    const body = (await response.json()) as { data: unknown[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [
      { before: '2024-01-01 09:00:00', next_day: '2024-01-02 10:00:00', waited: '2024-01-01 10:01:30', chained: '2024-01-01 08:59:00', into_day: '2024-01-01 00:01:30', precise_later: '2024-01-01 10:00:01.25', seconds: 30, day_before: '2024-01-01', number_first: '2024-01-01 10:02:00' },
      { before: '2024-01-03 11:00:00', next_day: '2024-01-04 12:00:00', waited: '2024-01-03 12:00:30', chained: '2024-01-03 10:59:00', into_day: '2024-01-03 00:01:30', precise_later: '2024-01-03 12:00:01.5', seconds: 30, day_before: '2024-01-03', number_first: '2024-01-03 12:02:00' },
    ]);
    const recent = await sql("SELECT count() AS c FROM arrivals WHERE at > toDateTime('2024-01-03 12:00:00') - 86400 FORMAT JSON");
    assert.deepEqual(((await recent.json()) as { data: unknown[] }).data, [{ c: 1 }]);
    // Two times do not add up: the error is DuckDB's sentence, without its list of every signature of +.
    const refused = await sql('SELECT now() + now()');
    assert.equal(refused.status, 400);
    assert.deepEqual(await refused.json(), { error: "No function matches the given name and argument types '+(TIMESTAMP_S, TIMESTAMP_S)'. You might need to add explicit type casts." });
  });

  test("ClickHouse's functions that give a DateTime give whole seconds, typed DateTime: toStartOfHour & co, toDateTime (cutting a fraction off), fromUnixTimestamp; a DateTime64(3) is written with its three digits", async () => {
    await suite.tb.form('/v0/datasources?name=precise', { schema: 'ts DateTime64(3)' });
    await suite.tb.upload('name=precise&mode=append', 'csv', 'p.csv', '2024-01-01 10:20:45.750\n');
    const response = await sql(`SELECT toStartOfMinute(ts) AS m, toStartOfFifteenMinutes(ts) AS q, toStartOfHour(ts) AS h, toStartOfDay(ts) AS d,
      toDateTime(ts) AS t, toDateTime('2024-01-01 10:20:45.9') AS parsed, fromUnixTimestamp(1704104445) AS u, ts, toString(ts) AS text FROM precise FORMAT JSON`);
    const body = (await response.json()) as { data: unknown[]; meta: Array<{ name: string; type: string }> };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [{
      m: '2024-01-01 10:20:00', q: '2024-01-01 10:15:00', h: '2024-01-01 10:00:00', d: '2024-01-01 00:00:00',
      t: '2024-01-01 10:20:45', parsed: '2024-01-01 10:20:45', u: '2024-01-01 10:20:45', ts: '2024-01-01 10:20:45.750', text: '2024-01-01 10:20:45.750',
    }]);
    assert.deepEqual(body.meta.map((column) => column.type), [...Array(7).fill('DateTime'), 'DateTime64(3)', 'String']);
    // toStartOfInterval counts steps from the epoch (weeks from a Monday) and gives a DateTime, or a Date for weeks and more.
    const buckets = await sql(`SELECT toStartOfInterval(ts, INTERVAL 5 HOUR) AS five_hours, toStartOfInterval(ts, toIntervalMinute(15)) AS quarter,
      toStartOfInterval(ts, INTERVAL 1 WEEK) AS week, toStartOfInterval(ts, INTERVAL 3 MONTH) AS months,
      toStartOfInterval(ts, INTERVAL 2 WEEK) AS fortnight, toStartOfInterval(toDate('2024-01-10'), INTERVAL 2 WEEK) AS later_fortnight,
      toStartOfInterval(ts, INTERVAL 7 DAY) AS seven_days FROM precise FORMAT JSON`);
    const bucketBody = (await buckets.json()) as { data: unknown[]; meta: Array<{ name: string; type: string }> };
    // Weeks count from Monday 1970-01-05 (2024-01-01 is a Monday 1,408 fortnights later plus one week); days from Thursday 1970-01-01.
    assert.deepEqual(bucketBody.data, [{
      five_hours: '2024-01-01 08:00:00', quarter: '2024-01-01 10:15:00', week: '2024-01-01', months: '2024-01-01',
      fortnight: '2023-12-25', later_fortnight: '2024-01-08', seven_days: '2023-12-28 00:00:00',
    }]);
    assert.deepEqual(bucketBody.meta.map((column) => column.type), ['DateTime', 'DateTime', 'Date', 'Date', 'Date', 'Date', 'DateTime']);
  });

  test('GROUP BY … WITH TOTALS adds a totals row over every group, its keys at their zero, beside the ordered and limited rows, in JSON, CSV and TSV', async () => {
    const json = await sql('SELECT n % 3 AS r, `n` > 20 AS big, count() AS c, sum(n) AS total FROM numbers WHERE n <= 10 GROUP BY r, big WITH TOTALS ORDER BY c DESC, r LIMIT 1 FORMAT JSON');
    const body = (await json.json()) as { data: unknown[]; totals: unknown; rows: number };
    assert.equal(json.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [{ r: 1, big: false, c: 4, total: 22 }]);
    assert.deepEqual(body.totals, { r: 0, big: false, c: 10, total: 55 });
    assert.equal(body.rows, 1);
    const csv = await sql("SELECT country, count() AS c FROM sales WHERE country != 'ES' GROUP BY country WITH TOTALS ORDER BY country FORMAT CSV");
    assert.equal(await csv.text(), '"FR",1\n"say ""hi""",1\n\n"",2\n');
    const tsv = await sql('SELECT toString(n % 2) AS parity, max(n) AS top FROM numbers GROUP BY parity WITH TOTALS ORDER BY parity FORMAT TSV');
    assert.equal(await tsv.text(), '0\t24\n1\t25\n\n\t25\n');
    // Only at the outermost level, after the keys, and not beside HAVING (ClickHouse's totals are then of the groups it keeps).
    const having = await sql('SELECT n % 2 AS parity, count() AS c FROM numbers GROUP BY parity WITH TOTALS HAVING c > 1');
    assert.equal(having.status, 400);
    assert.match(((await having.json()) as { error: string }).error, /WITH TOTALS beside HAVING is not supported/);
  });

  test('columns named like DuckDB keywords (at, end, order, left) are read as names where ClickHouse reads them so, and stay keywords elsewhere', async () => {
    await suite.tb.form('/v0/datasources?name=spans', { schema: '`at` DateTime, `end` DateTime, `left` String, `order` Int32' });
    await suite.tb.upload('name=spans&mode=append', 'csv', 's.csv', '2024-01-01 10:00:00,2024-01-01 10:00:30,ab,1\n2024-01-02 10:00:00,2024-01-02 10:02:00,cd,2\n');
    const rows = async (query: string) => (await queryJson(query)).data;
    assert.deepEqual(await rows('SELECT at, end, left, order FROM spans ORDER BY order DESC LIMIT 1'),
      [{ at: '2024-01-02 10:00:00', end: '2024-01-02 10:02:00', left: 'cd', order: 2 }]);
    assert.deepEqual(await rows(`SELECT toDate(at) AS day, end - at AS seconds, CASE WHEN order > 1 THEN left(left, 1) ELSE 'none' END AS label
      FROM spans AS s WHERE s.order > 0 AND end > at ORDER BY day`), [{ day: '2024-01-01', seconds: 30, label: 'none' }, { day: '2024-01-02', seconds: 120, label: 'c' }]);
    assert.deepEqual(await rows('SELECT max(a.order) AS desc, count() AS c FROM spans AS a LEFT JOIN spans AS b ON a.order = b.order GROUP BY a.left ORDER BY desc'),
      [{ desc: 1, c: 1 }, { desc: 2, c: 1 }]);
    // ClickHouse's quoted names: in backticks or double quotes, a doubled quote or a backslash escaping one.
    assert.deepEqual(await rows('SELECT `order`, `left` AS `the ``left``` , "end" AS "at \\"end\\"" FROM spans WHERE `end` > `at` ORDER BY `order` LIMIT 1'),
      [{ order: 1, 'the `left`': 'ab', 'at "end"': '2024-01-01 10:00:30' }]);
  });

  test('a data source named like a DuckDB keyword (semi, order) is read by its name after FROM or JOIN, as ClickHouse reads it', async () => {
    for (const name of ['semi', 'order']) {
      assert.equal((await suite.tb.form(`/v0/datasources?name=${name}`, { schema: 'id Int32' })).status, 200);
      await suite.tb.upload(`name=${name}&mode=append`, 'csv', 'k.csv', '1\n2\n');
    }
    const rows = async (query: string) => (await queryJson(query)).data;
    assert.deepEqual(await rows('SELECT count() AS n FROM semi'), [{ n: 2 }]);
    assert.deepEqual(await rows('SELECT s.id FROM semi AS s JOIN order AS o ON o.id = s.id WHERE s.id > 1'), [{ id: 2 }]);
  });

  test("a LEFT JOIN's unmatched columns, named through the side or alone, take their type's default, as in ClickHouse (its join_use_nulls is off), but a Nullable column stays NULL", async () => {
    await suite.tb.form('/v0/datasources?name=people', { schema: 'id Int32, name String, score Float64, seen DateTime, nick Nullable(String)' });
    await suite.tb.upload('name=people&mode=append', 'csv', 'p.csv', '1,ann,1.5,2024-01-01 00:00:00,a\n');
    const response = await sql(`SELECT s.id, p.name, p.score, p.seen, p.nick FROM sales AS s LEFT JOIN people AS p ON p.id = s.id ORDER BY s.id LIMIT 2 FORMAT JSON`);
    const body = (await response.json()) as { data: unknown[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [
      { id: 1, name: 'ann', score: 1.5, seen: '2024-01-01 00:00:00', nick: 'a' },
      { id: 2, name: '', score: 0, seen: '1970-01-01 00:00:00', nick: null },
    ]);
    const unmatched = (await (await sql(`SELECT count() AS c FROM sales s LEFT JOIN people p ON p.id = s.id WHERE p.name = '' FORMAT JSON`)).json()) as { data: unknown[] };
    assert.deepEqual(unmatched.data, [{ c: 2 }]);
    // Named alone, a column only the right side has is its column too, wherever it is used.
    const alone = await sql(`SELECT s.id, name, score * 2 AS double_score, now() - seen > 0 AS seen_before, nick, count(DISTINCT name) OVER () AS names
      FROM sales s LEFT JOIN people p USING id WHERE name IN ('ann', '') GROUP BY s.id, name, score, seen, nick ORDER BY s.id LIMIT 2 FORMAT JSON`);
    const aloneBody = (await alone.json()) as { data: unknown[] };
    assert.equal(alone.status, 200, JSON.stringify(aloneBody));
    assert.deepEqual(aloneBody.data, [
      { id: 1, name: 'ann', double_score: 3, seen_before: true, nick: 'a', names: 2 },
      { id: 2, name: '', double_score: 0, seen_before: true, nick: null, names: 2 },
    ]);
  });

  test("a RIGHT JOIN's unmatched sides before it and a FULL JOIN's both take their columns' defaults, as a LEFT JOIN's right side does", async () => {
    await suite.tb.form('/v0/datasources?name=outer_visits', { schema: 'id Int32, user String' });
    await suite.tb.form('/v0/datasources?name=outer_members', { schema: 'name String, age UInt8, note Nullable(String)' });
    await suite.tb.upload('name=outer_visits&mode=append', 'csv', 'v.csv', '1,ann\n2,cy\n');
    await suite.tb.upload('name=outer_members&mode=append', 'csv', 'm.csv', 'ann,30,x\nzed,50,y\n');
    const rows = async (query: string) => {
      const response = await sql(`${query} FORMAT JSON`);
      const body = (await response.json()) as { data: unknown[] };
      assert.equal(response.status, 200, JSON.stringify(body));
      return body.data;
    };
    assert.deepEqual(await rows('SELECT v.id, v.user, m.name, m.age FROM outer_visits v RIGHT JOIN outer_members m ON v.user = m.name ORDER BY m.name'), [
      { id: 1, user: 'ann', name: 'ann', age: 30 }, { id: 0, user: '', name: 'zed', age: 50 },
    ]);
    assert.deepEqual(await rows('SELECT id, user, name, age, note FROM outer_visits FULL OUTER JOIN outer_members ON user = name ORDER BY id, name'), [
      { id: 0, user: '', name: 'zed', age: 50, note: 'y' }, { id: 1, user: 'ann', name: 'ann', age: 30, note: 'x' }, { id: 2, user: 'cy', name: '', age: 0, note: null },
    ]);
  });

  test("a LEFT JOIN whose right side has a column named like the left data source or an alias leaves those names alone and still gives the column its default", async () => {
    await suite.tb.form('/v0/datasources?name=tallies', { schema: 'id Int64, sales Int32, s String' });
    await suite.tb.upload('name=tallies&mode=append', 'csv', 't.csv', '1,5,x\n');
    const rows = async (query: string) => (await queryJson(query)).data;
    assert.deepEqual(await rows('SELECT s.id, v.sales AS counted, sales FROM sales s LEFT JOIN tallies v ON s.id = v.id ORDER BY s.id LIMIT 2'),
      [{ id: 1, counted: 5, sales: 5 }, { id: 2, counted: 0, sales: 0 }]);
    assert.deepEqual(await rows('SELECT sales.id, v.s FROM sales LEFT JOIN tallies AS v USING id ORDER BY sales.id LIMIT 2'), [{ id: 1, s: 'x' }, { id: 2, s: '' }]);
  });

  test("SELECT * over joined data sources names a column an earlier side gave through its side (p.id, not id:1), gives a USING column once and a LEFT JOIN's unmatched columns their defaults", async () => {
    await suite.tb.form('/v0/datasources?name=owners', { schema: 'id Int32, name String, nick Nullable(String)' });
    await suite.tb.upload('name=owners&mode=append', 'csv', 'o.csv', '1,ann,a\n');
    await suite.tb.form('/v0/datasources?name=pets', { schema: 'id Int32, name String, owner Int32' });
    await suite.tb.upload('name=pets&mode=append', 'csv', 'p.csv', '10,rex,1\n11,tom,2\n');
    const rows = queryJson;
    const left = await rows('SELECT * FROM pets LEFT JOIN owners AS o ON o.id = pets.owner ORDER BY pets.id');
    assert.deepEqual(left.meta.map(({ name, type }) => `${name} ${type}`), ['id Int32', 'name String', 'owner Int32', 'o.id Int32', 'o.name String', 'nick Nullable(String)']);
    assert.deepEqual(left.data, [
      { id: 10, name: 'rex', owner: 1, 'o.id': 1, 'o.name': 'ann', nick: 'a' },
      { id: 11, name: 'tom', owner: 2, 'o.id': 0, 'o.name': '', nick: null },
    ]);
    // Without an alias the side is named by its data source; a USING column comes once.
    const inner = await rows('SELECT * FROM owners INNER JOIN pets ON owners.id = pets.owner');
    assert.deepEqual(inner.data, [{ id: 1, name: 'ann', nick: 'a', 'pets.id': 10, 'pets.name': 'rex', owner: 1 }]);
    const using = await rows('SELECT * FROM owners AS a JOIN owners AS b USING id');
    assert.deepEqual(using.data, [{ id: 1, name: 'ann', nick: 'a', 'b.name': 'ann', 'b.nick': 'a' }]);
  });

  test("windowFunnel and retention, with ClickHouse's levels and flags: the window's bound included, a chain restarted at level 1, ties and rows meeting two conditions, groups without a first step", async () => {
    await suite.tb.form('/v0/datasources?name=funnel_events', { schema: 'user String, ts DateTime, event String' });
    // u1 buys at the window's very end, u2 a second past it; u3 starts again at 10:30, and only that
    // chain is in time for the rest; u4's quick_buy is both a cart and a buy; u5 never views; u6's
    // view and cart share a second (the view, condition 1, counts first); u7 does something else
    // between view and cart.
    await suite.tb.upload('name=funnel_events&mode=append', 'csv', 'f.csv', [
      'u1,2024-05-01 10:00:00,view', 'u1,2024-05-01 10:30:00,cart', 'u1,2024-05-01 11:00:00,buy',
      'u2,2024-05-01 10:00:00,view', 'u2,2024-05-01 10:30:00,cart', 'u2,2024-05-01 11:00:01,buy',
      'u3,2024-05-01 09:00:00,view', 'u3,2024-05-01 10:30:00,view', 'u3,2024-05-01 10:45:00,cart', 'u3,2024-05-01 11:15:00,buy',
      'u4,2024-05-01 10:00:00,view', 'u4,2024-05-01 10:10:00,quick_buy',
      'u5,2024-05-01 10:00:00,cart', 'u5,2024-05-01 10:05:00,buy',
      'u6,2024-05-01 10:00:00,cart', 'u6,2024-05-01 10:00:00,view', 'u6,2024-05-01 12:00:00,buy',
      'u7,2024-05-01 10:00:00,view', 'u7,2024-05-01 10:01:00,other', 'u7,2024-05-01 10:02:00,cart',
    ].join('\n') + '\n');
    const rows = queryJson;
    const steps = "event = 'view', event IN ('cart', 'quick_buy'), event IN ('buy', 'quick_buy')";
    const levels = await rows(`SELECT user, windowFunnel(3600)(ts, ${steps}) AS level, windowFunnel(3600, 'strict_increase')(ts, ${steps}) AS increasing,
      windowFunnel(3600, 'strict_order')(ts, ${steps}) AS ordered, windowFunnel(3600)(toUnixTimestamp(ts), ${steps}) AS by_seconds,
      retention(${steps}) AS kept, count() AS events FROM funnel_events GROUP BY user ORDER BY user`);
    assert.deepEqual(levels.data.map(({ user, level, increasing, ordered, by_seconds, kept, events }) => [user, level, increasing, ordered, by_seconds, kept, events]), [
      ['u1', 3, 3, 3, 3, [1, 1, 1], 3],
      ['u2', 2, 2, 2, 2, [1, 1, 1], 3],
      ['u3', 3, 3, 3, 3, [1, 1, 1], 4],
      // One row meets conditions 2 and 3: at one timestamp, which strict_increase does not chain.
      ['u4', 3, 2, 3, 3, [1, 1, 1], 2],
      ['u5', 0, 0, 0, 0, [0, 0, 0], 2],
      // The cart ties with the view: condition 1 is taken first, so it chains (not with strict_increase).
      ['u6', 2, 1, 2, 2, [1, 1, 1], 3],
      // strict_order stops at the event that meets no condition.
      ['u7', 2, 2, 1, 2, [1, 1, 0], 3],
    ]);
    assert.deepEqual(levels.meta.filter((column) => ['level', 'kept'].includes(column.name)).map((column) => column.type), ['UInt8', 'Array(UInt8)']);
    // Nested in a subquery and grouped by its result, named by their text when not aliased, beside other aggregates.
    const funnel = await rows(`SELECT level, count() AS users FROM (SELECT user, windowFunnel(3600)(ts, ${steps}) AS level FROM funnel_events GROUP BY user)
      GROUP BY level ORDER BY level`);
    assert.deepEqual(funnel.data, [{ level: 0, users: 1 }, { level: 2, users: 3 }, { level: 3, users: 3 }]);
    const converted = await rows(`SELECT user, windowFunnel(3600)(ts, ${steps}) AS level FROM funnel_events GROUP BY user HAVING level = 3 AND retention(${steps})[3] = 1 ORDER BY user`);
    assert.deepEqual(converted.data, [{ user: 'u1', level: 3 }, { user: 'u3', level: 3 }, { user: 'u4', level: 3 }]);
    const named = await rows("SELECT windowFunnel(1800)(ts, event = 'view', event = 'cart'), retention(event = 'view', event = 'buy'), uniq(user) AS users FROM funnel_events WHERE user IN ('u1', 'u5')");
    assert.deepEqual(named.data, [{ "windowFunnel(1800)(ts, event = 'view', event = 'cart')": 2, "retention(event = 'view', event = 'buy')": [1, 1], users: 2 }]);
    // A group without rows, and conditions met by no row.
    assert.deepEqual((await rows(`SELECT windowFunnel(60)(ts, ${steps}) AS level, retention(${steps}) AS kept FROM funnel_events WHERE user = 'nobody'`)).data, [{ level: 0, kept: [0, 0, 0] }]);
    assert.deepEqual((await rows("SELECT windowFunnel(60)(ts, event = 'x', event = 'view') AS level, retention(event = 'x', event = 'view') AS kept FROM funnel_events")).data,
      [{ level: 0, kept: [0, 0] }]);
  });

  test("windowFunnel of a Date counts its window in days; of an integer, in its own units; strict_order's stop and allow_reentry", async () => {
    await suite.tb.form('/v0/datasources?name=funnel_days', { schema: 'user String, day Date, step UInt32, event String' });
    await suite.tb.upload('name=funnel_days&mode=append', 'csv', 'd.csv', [
      'a,2024-01-01,10,signup', 'a,2024-01-02,20,active', 'a,2024-01-09,27,paid',
      'b,2024-01-01,10,signup', 'b,2024-01-03,12,paid', 'b,2024-01-04,13,active', 'b,2024-01-05,14,paid',
    ].join('\n') + '\n');
    const rows = async (query: string) => (await queryJson(query)).data;
    const steps = "event = 'signup', event = 'active', event = 'paid'";
    // a pays 8 days after signing up: within 8 days, not 7; by step numbers, 17 after.
    // b pays before being active: strict_order stops there (at level 1), allow_reentry skips that payment.
    assert.deepEqual(await rows(`SELECT user, windowFunnel(7)(day, ${steps}) AS week, windowFunnel(8)(day, ${steps}) AS eight_days,
      windowFunnel(17)(step, ${steps}) AS by_step, windowFunnel(7, 'strict_order')(day, ${steps}) AS ordered,
      windowFunnel(7, 'strict_order', 'allow_reentry')(day, ${steps}) AS reentered FROM funnel_days GROUP BY user ORDER BY user`), [
      { user: 'a', week: 2, eight_days: 3, by_step: 3, ordered: 2, reentered: 2 },
      { user: 'b', week: 3, eight_days: 3, by_step: 3, ordered: 1, reentered: 3 },
    ]);
    assert.deepEqual(await rows("SELECT retention(day = '2024-01-01', day = '2024-01-02', day >= '2024-01-05') AS r FROM funnel_days GROUP BY user ORDER BY user"),
      [{ r: [1, 1, 1] }, { r: [1, 0, 1] }]);
  });

  test('windowFunnel modes that are not walked as ClickHouse walks them, malformed calls and the sequence aggregates are 400s naming what is wrong', async () => {
    const cases: Array<[string, RegExp]> = [
      ["SELECT windowFunnel(3600, 'strict_deduplication')(ts, event = 'view', event = 'cart') FROM funnel_events", /strict_deduplication' is not supported/],
      ["SELECT windowFunnel(3600, 'strict_once')(ts, event = 'view', event = 'cart') FROM funnel_events", /strict_once' is not supported/],
      ["SELECT windowFunnel(3600, 'strict')(ts, event = 'view') FROM funnel_events", /replaced it with strict_deduplication/],
      ["SELECT windowFunnel(3600, 'sideways')(ts, event = 'view') FROM funnel_events", /no mode 'sideways'/],
      ["SELECT windowFunnel(3600, 'allow_reentry')(ts, event = 'view') FROM funnel_events", /requires 'strict_order'/],
      ["SELECT windowFunnel(-1)(ts, event = 'view') FROM funnel_events", /window as a whole number/],
      ["SELECT windowFunnel(ts, event = 'view') FROM funnel_events", /window as a whole number/],
      ['SELECT windowFunnel(3600)(ts) FROM funnel_events', /a timestamp and at least one condition/],
      ["SELECT windowFunnel(3600)(event, event = 'view') FROM funnel_events", /timestamp, not VARCHAR/],
      ["SELECT retention(event = 'view') FROM funnel_events", /retention takes 2 to 32 conditions/],
      ["SELECT sequenceMatch('(?1)(?2)')(ts, event = 'view', event = 'cart') FROM funnel_events", /sequenceMatch is not supported/],
      ["SELECT sequenceCount('(?1).*(?2)')(ts, event = 'view', event = 'cart') FROM funnel_events", /sequenceCount is not supported/],
    ];
    for (const [query, message] of cases) {
      const response = await sql(query);
      const body = (await response.json()) as { error: string };
      assert.equal(response.status, 400, `${query}: ${JSON.stringify(body)}`);
      assert.match(body.error, message, query);
    }
  });

  test('FORMAT JSON keeps 64-bit integers exact and names ClickHouse types', async () => {
    const body = await (await sql(QUERY)).json();
    assert.deepEqual(body.meta, [{ name: 'id', type: 'Int64' }, { name: 'country', type: 'String' }, { name: 'amount', type: 'Float64' }]);
    assert.equal(body.data[2].id, '9007199254740993');
    assert.deepEqual([body.rows, body.rows_before_limit_at_least], [3, 3]);
    assert.deepEqual(Object.keys(body.statistics), ['elapsed', 'rows_read', 'bytes_read']);
  });

  test('rows_before_limit_at_least counts the rows the query gives without its outermost LIMIT and OFFSET', async () => {
    const cases: Array<[string, number, number]> = [
      ['SELECT n FROM numbers ORDER BY n LIMIT 5', 5, 25],
      ['SELECT n FROM numbers ORDER BY n DESC LIMIT 5 OFFSET 10', 5, 25],
      ['SELECT n FROM numbers WHERE n > 20 LIMIT 2', 2, 5],
      ['SELECT n % 3 AS k, count() AS c FROM numbers GROUP BY k ORDER BY k LIMIT 1', 1, 3],
      ['SELECT DISTINCT n % 4 AS k FROM numbers LIMIT 2', 2, 4],
      ['SELECT * FROM (SELECT n FROM numbers UNION ALL SELECT n FROM numbers) ORDER BY 1 LIMIT 4', 4, 50],
      // The LIMIT of a union's last SELECT is that SELECT's, as in ClickHouse: the query has none of its own.
      ['SELECT n FROM numbers UNION ALL SELECT n FROM numbers ORDER BY 1 LIMIT 4', 29, 29],
      ['WITH small AS (SELECT n FROM numbers WHERE n <= 10) SELECT * FROM small ORDER BY n LIMIT 3', 3, 10],
      ['SELECT n FROM numbers LIMIT 20%', 5, 25],
      ['SELECT n FROM numbers ORDER BY n LIMIT 100', 25, 25],
      // A LIMIT inside the query shapes the rows; only the outermost one is left out.
      ['SELECT * FROM (SELECT n FROM numbers ORDER BY n LIMIT 7) LIMIT 2', 2, 7],
      ['SELECT * FROM (SELECT n FROM numbers ORDER BY n LIMIT 7)', 7, 7],
      // Past ten million the count stops: a LIMIT over an endless result answers at once.
      ['SELECT number FROM numbers(100000000000) LIMIT 3', 3, 10_000_000],
    ];
    for (const [query, rows, before] of cases) {
      const body = await (await sql(query)).json();
      assert.deepEqual([body.rows, body.rows_before_limit_at_least], [rows, before], `${query}: ${JSON.stringify(body)}`);
    }
  });

  test('rows_before_limit_at_least counts only the rows a filtered token may read', async () => {
    const response = await suite.server.fetch(`/v0/tokens?name=low-numbers&scope=${encodeURIComponent('DATASOURCES:READ:numbers:n <= 4')}`, { method: 'POST' });
    const { token } = await response.json();
    const body = await (await suite.server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT n FROM numbers ORDER BY n LIMIT 1')}`, { token })).json();
    assert.deepEqual([body.data, body.rows_before_limit_at_least], [[{ n: 1 }], 4]);
  });

  test('meta names a list, map or tuple level Nullable only when it holds a NULL: a declared Array(String) reads back as Array(String)', async () => {
    const schema = 'id Int32 `json:$.id`, tags Array(String) `json:$.tags[:]`, scores Array(Nullable(Int32)) `json:$.scores[:]`';
    assert.equal((await suite.tb.form('/v0/datasources?name=tagged&format=ndjson', { schema })).status, 200);
    const events = await suite.server.fetch('/v0/events?name=tagged&wait=true', {
      method: 'POST', body: '{"id": 1, "tags": ["a", "b"], "scores": [1, null]}\n{"id": 2, "tags": [], "scores": [3]}\n',
    });
    assert.equal(events.status, 200);
    const cases: Array<[string, string]> = [
      ['SELECT tags FROM tagged', 'Array(String)'],
      ['SELECT scores FROM tagged', 'Array(Nullable(Int32))'],
      ["SELECT ['x', 'y'] AS v", 'Array(String)'],
      ['SELECT [1, NULL] AS v', 'Array(Nullable(Int32))'],
      ['SELECT [[1], [2, 3]] AS v', 'Array(Array(Int32))'],
      ["SELECT MAP {'k': 1} AS v", 'Map(String, Int32)'],
      ["SELECT {'a': 1, 'b': NULL} AS v", 'Tuple(a Int32, b Nullable(Int32))'],
      ['SELECT list(id ORDER BY id) AS v FROM tagged', 'Array(Int32)'],
    ];
    for (const [query, type] of cases) {
      const body = await (await sql(query)).json();
      assert.deepEqual(body.meta, [{ name: body.meta[0]?.name, type }], query);
    }
  });

  test('FORMAT Parquet is a Parquet file DuckDB reads back', async () => {
    const response = await sql(`${QUERY} FORMAT Parquet`);
    assert.equal(response.status, 200);
    const bytes = Buffer.from(await response.arrayBuffer());
    assert.equal(bytes.subarray(0, 4).toString(), 'PAR1');
    const path = `${suite.server.core.storage.spoolDir}/back.parquet`;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, bytes);
    const rows = await suite.server.core.storage.query(`SELECT count(*) AS n, sum(amount) AS total FROM read_parquet('${path}')`);
    assert.deepEqual([Number(rows[0]!['n']), rows[0]!['total']], [3, 7.5]);
  });

  test('FORMAT PrettyCompact draws a table; an unknown FORMAT is a 400', async () => {
    const text = await (await sql(`SELECT country FROM sales WHERE id < 3 ORDER BY id FORMAT PrettyCompact`)).text();
    assert.match(text, /┌─country─┐\n│ ES      │\n│ FR      │\n└─────────┘/);
    const unknown = await sql(`${QUERY} FORMAT Avro`);
    assert.equal(unknown.status, 400);
    assert.match((await unknown.json()).error, /Unknown format "Avro"/);
  });

  test('POST /v0/sql takes the query as a text body, a form or JSON {"q"}, its media type in any case and with parameters', async () => {
    for (const init of [
      { body: 'SELECT count() AS n FROM sales', headers: { 'content-type': 'text/plain' } },
      { body: 'q=SELECT+count()+AS+n+FROM+sales', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      { body: 'q=SELECT+count()+AS+n+FROM+sales', headers: { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' } },
      { body: JSON.stringify({ q: 'SELECT count() AS n FROM sales' }), headers: { 'content-type': 'application/json' } },
      { body: JSON.stringify({ q: 'SELECT count() AS n FROM sales' }), headers: { 'content-type': 'Application/JSON; charset=utf-8' } },
    ]) {
      const response = await suite.server.fetch('/v0/sql', { method: 'POST', ...init });
      assert.deepEqual((await response.json()).data, [{ n: 3 }], init.headers['content-type']);
    }
  });

  test('POST /v0/sql with a JSON q that is not a string is a 400', async () => {
    const response = await suite.server.fetch('/v0/sql', { method: 'POST', body: JSON.stringify({ q: 5 }), headers: { 'content-type': 'application/json' } });
    assert.equal(response.status, 400);
    assert.match((await response.json()).error, /must be a string/);
  });

  test('a URL import can be cancelled while it downloads, and nothing is written', async () => {
    await suite.tb.form('/v0/datasources?name=slow', { schema: 'id Int32' });
    const started = await (await suite.tb.form('/v0/datasources?mode=append&name=slow', { url: suite.files.stall('/slow.csv') })).json();
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const job = await (await suite.server.fetch(`/v0/jobs/${started.id}`)).json();
      if (job.status === 'working') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const cancelled = await (await suite.server.fetch(`/v0/jobs/${started.id}/cancel`, { method: 'POST' })).json();
    assert.ok(['cancelling', 'cancelled'].includes(cancelled.status), cancelled.status);
    const job = await suite.tb.waitForJob(started.id);
    assert.equal(job['status'], 'cancelled');
    assert.equal(job['is_cancellable'], false);
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM slow'), [{ n: 0 }]);
    const again = await suite.server.fetch(`/v0/jobs/${started.id}/cancel`, { method: 'POST' });
    assert.equal(again.status, 400);
  });

  test('a URL import is cancelled while the remote server has not answered yet, whether the table exists or is to be inferred', async () => {
    const imports = [
      { mode: 'append', name: 'slow', url: suite.files.stall('/silent.csv', { beforeAnswering: true }) },
      { mode: 'create', name: 'inferred', url: suite.files.stall('/silent-new.csv', { beforeAnswering: true }) },
    ];
    for (const fields of imports) {
      const started = await (await suite.tb.form(`/v0/datasources`, fields)).json();
      await suite.server.fetch(`/v0/jobs/${started.id}/cancel`, { method: 'POST' });
      const job = await suite.tb.waitForJob(started.id);
      assert.equal(job['status'], 'cancelled', fields.name);
    }
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM slow'), [{ n: 0 }]);
    const inferred = await suite.server.fetch('/v0/datasources/inferred');
    assert.equal(inferred.status, 404);
  });
});
