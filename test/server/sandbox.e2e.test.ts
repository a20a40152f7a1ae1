import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seedTable } from '../helpers/seed-table.ts';
import { TestServer } from '../helpers/test-server.ts';

describe('user SQL runs read-only in the sandbox', () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
    await seedTable(server.core, 'default', 'events', [{ name: 'id', type: { kind: 'int', bits: 32, signed: true }, nullable: false }], [['1'], ['2']]);
    await writeFile(join(server.core.storage.spoolDir, 'upload.csv'), 'secret\n');
  });
  after(() => server.stop());

  const query = (sql: string) => server.fetch(`/v0/sql?q=${encodeURIComponent(sql)}`);

  test('a SELECT over a table answers its rows', async () => {
    const response = await query('SELECT count() AS n FROM events');
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.deepEqual(body.data, [{ n: 2 }]);
  });

  const attempts: Array<[string, string]> = [
    ['reading a file', "SELECT * FROM read_csv('/etc/passwd')"],
    ['reading a file by its path', "SELECT * FROM '/etc/passwd'"],
    ['reading the spool folder', `SELECT * FROM read_csv('${'SPOOL'}/upload.csv')`],
    ['listing files', "SELECT * FROM glob('/etc/*')"],
    ['copying out', "COPY (SELECT 1) TO '/tmp/out.csv'"],
    ['attaching a database', "ATTACH '/tmp/other.duckdb' AS other"],
    ['changing a setting', 'SET threads = 1'],
    ['installing an extension', 'INSTALL httpfs'],
    ['loading an extension', 'LOAD httpfs'],
    ['creating a table', 'CREATE TABLE t (a INT)'],
    ['inserting', 'INSERT INTO events VALUES (3)'],
    ['deleting', 'DELETE FROM events'],
    ['dropping', 'DROP TABLE events'],
    ['a pragma', 'PRAGMA database_list'],
    ['calling a procedure', 'CALL checkpoint()'],
    ['a second statement', 'SELECT 1; DROP TABLE events'],
    ['reading the catalog', 'SELECT * FROM sluice_meta.tokens'],
    ['reading a setting', "SELECT current_setting('threads')"],
    ['reading the environment', "SELECT getenv('HOME')"],
  ];
  for (const [what, sql] of attempts) {
    test(`${what} through the query path fails with a 4xx`, async () => {
      const response = await query(sql.replace('SPOOL', server.core.storage.spoolDir));
      assert.ok(response.status >= 400 && response.status < 500, `${sql} answered ${response.status}`);
      assert.equal(typeof (await response.json()).error, 'string');
    });
  }

  test('the server keeps serving after refused queries and events is untouched', async () => {
    const response = await query('SELECT count(*) AS n FROM events');
    assert.deepEqual((await response.json()).data, [{ n: 2 }]);
  });
});

describe('scalar functions cannot build values larger than 16 Mi characters or elements', () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
    await seedTable(server.core, 'default', 'counts', [
      { name: 'n', type: { kind: 'int', bits: 64, signed: true }, nullable: false },
      { name: 's', type: { kind: 'string' }, nullable: false },
    ], [['3', 'ab'], ['100000000', 'xyz']]);
  });
  after(() => server.stop());

  const query = (sql: string) => server.fetch(`/v0/sql?q=${encodeURIComponent(`${sql} FORMAT JSON`)}`);

  // Each would build gigabytes in one call that neither the query's time limit nor DuckDB's memory limit stops.
  const tooLarge: Array<[string, string, RegExp]> = [
    ['repeat of a string', "SELECT len(repeat('x', 2000000000)) AS n", /Function repeat would build a value of 2000000000 characters or elements/],
    ['repeat of a list', 'SELECT len(repeat([1, 2, 3], 10000000)) AS n', /Function repeat would build a value of \d+ characters or elements/],
    ['repeat by a column', 'SELECT len(repeat(s, n)) AS n FROM counts', /Function repeat would build/],
    ['lpad', "SELECT len(lpad('x', 2000000000, 'y')) AS n", /Function lpad would build a value of 2000000000/],
    ['rpad', "SELECT len(rpad('x', 2000000000, 'y')) AS n", /Function rpad would build/],
    ['list_resize', 'SELECT len(list_resize([1], 200000000)) AS n', /Function list_resize would build a value of 200000000/],
    ['a scalar range', 'SELECT len(range(0, 400000000)) AS n', /Function range would build a value of 400000000/],
    ['a scalar range of one argument', 'SELECT len(range(400000000)) AS n', /Function range would build/],
    ['a scalar generate_series of timestamps', "SELECT len(generate_series(TIMESTAMP '2000-01-01', TIMESTAMP '2024-01-01', INTERVAL 1 SECOND)) AS n", /Function generate_series would build/],
    ['a scalar range in a subquery', 'SELECT * FROM (SELECT len(range(n)) AS l FROM counts)', /Function range would build a value of 100000000/],
    ['printf with a huge width', "SELECT len(printf('%2000000000d', 1)) AS n", /Function printf may not take a width or precision of more than 7 digits/],
    ['printf with a width from an argument', "SELECT len(printf('%*d', 2000000000, 1)) AS n", /Function printf may not take/],
    ['format with a width from an argument', "SELECT len(format('{:{}}', 'x', 2000000000)) AS n", /Function format may not take/],
    ['bar with a huge width', 'SELECT len(bar(1, 0, 1, 2000000000)) AS n', /Function bar would build/],
    ['printf with many widths of 7 digits each', `SELECT len(printf('${'%9999999d'.repeat(40)}', ${Array(40).fill(1).join(', ')})) AS n`, /Function printf may not take widths and precisions that add up to more than/],
    ['format with many widths', `SELECT len(format('${'{:9999999}'.repeat(5)}', 1, 2, 3, 4, 5)) AS n`, /Function format may not take widths and precisions that add up/],
    ['levenshtein of long texts', "SELECT levenshtein(repeat('a', 200000), repeat('b', 200000)) AS n", /Function levenshtein would compare 40000000000 pairs of characters/],
    ['damerau_levenshtein of long texts', "SELECT damerau_levenshtein(repeat('a', 20000), repeat('b', 20000)) AS n", /Function damerau_levenshtein would compare/],
    ['jaro_winkler_similarity of long texts', "SELECT jaro_winkler_similarity(repeat('a', 20000), repeat('b', 20000)) AS n", /Function jaro_winkler_similarity would compare/],
    ['replace of every character by a long text', "SELECT len(replace(repeat('a', 1000000), 'a', repeat('b', 1000000))) AS n", /Function replace would build a value of 1000000000000 characters or elements, more than the 16777216/],
    ['replace nested so that the size is squared twice', "SELECT len(replace(replace(repeat('a', 4000), 'a', repeat('a', 4000)), 'a', repeat('a', 4000))) AS n", /Function replace would build a value of 64000000000 characters/],
    ['replace by a column', "SELECT len(replace(repeat(s, 1000000), 'a', repeat('x', 100))) AS n FROM counts", /Function replace would build a value of 101000000 characters/],
    ['regexp_replace of every empty match', "SELECT len(regexp_replace(repeat('a', 1000000), '', repeat('b', 10000), 'g')) AS n", /Function regexp_replace would build a value of 10001010000 characters/],
    ["regexp_replace's back-references, each up to the whole text", `SELECT len(regexp_replace(repeat('ab', 1000000), 'a', '${'\\\\0'.repeat(10)}')) AS n`, /Function regexp_replace would build a value of 22000020 characters/],
    ["ClickHouse's replaceAll", "SELECT len(replaceAll(repeat('a', 1000000), 'a', repeat('b', 100))) AS n", /Function replaceall would build/],
    ["ClickHouse's replaceRegexpAll", "SELECT len(replaceRegexpAll(repeat('a', 1000000), '', repeat('b', 100))) AS n", /Function replaceregexpall would build/],
    ['arrayCumSum of a long array', 'SELECT len(arrayCumSum(range(100000))) AS n', /Function arrayCumSum takes arrays of at most 10000 elements .*, not 100000/],
    ['arrayDistinct of a long array', 'SELECT len(arrayDistinct(range(100000))) AS n', /Function arrayDistinct takes arrays of at most 10000 elements/],
  ];
  for (const [what, sql, message] of tooLarge) {
    test(`${what} past the bound fails with a 400 naming the function`, async () => {
      const response = await query(sql);
      const body = (await response.json()) as { error: string };
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(body.error, message);
    });
  }

  test('the same functions within the bound, and table functions of any length, answer as DuckDB does', async () => {
    const response = await query(`SELECT repeat('ab', 3) AS r, repeat([1, 2], 2) AS l, lpad('7', 3, '0') AS p, rpad('7', 3, '-') AS q,
      list_resize([1], 3, 0) AS z, range(0, 5) AS a, range(3) AS b, range(10, 0, -4) AS c,
      generate_series(TIMESTAMP '2024-01-01', TIMESTAMP '2024-01-03', INTERVAL 1 DAY) AS d,
      printf('%5d|%-3s|%.2f', 42, 'x', 3.14159) AS f, format('{:>4}|{}', 'x', 7) AS g, bar(5, 0, 10, 4) AS h,
      levenshtein('kitten', 'sitting') AS lv, round(jaro_winkler_similarity('martha', 'marhta'), 3) AS jw,
      len(arrayCumSum(range(10000))) AS cs, len(arrayDistinct(range(10000))) AS ds,
      replace('aaaa', 'aa', 'b') AS rp, len(replace(repeat('abc', 1000000), 'a', repeat('b', 10))) AS rl,
      len(replace(repeat('abc', 1000000), 'q', repeat('b', 100))) AS rn, regexp_replace('abc', '', '-', 'g') AS re,
      regexp_replace('aBcb', 'b', 'x', 'i') AS ri, regexp_replace('abc', '(b)', '\\\\1\\\\1\\\\0', 'g') AS rb, replaceAll('abc', 'b', 'xx') AS ra, replaceRegexpOne('abc', '.', '-') AS ro,
      (SELECT list(repeat(s, 2) ORDER BY n) FROM counts WHERE n < 10) AS k,
      (SELECT count(*) FROM range(0, 100000000) t(i) WHERE i % 50000000 = 0) AS t`);
    const body = (await response.json()) as { data: Array<Record<string, unknown>> };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [{
      r: 'ababab', l: [1, 2, 1, 2], p: '007', q: '7--', z: [1, 0, 0], a: [0, 1, 2, 3, 4], b: [0, 1, 2], c: [10, 6, 2],
      d: ['2024-01-01 00:00:00', '2024-01-02 00:00:00', '2024-01-03 00:00:00'],
      f: '   42|x  |3.14', g: '   x|7', h: '██  ', lv: 3, jw: 0.961, cs: 10000, ds: 10000, k: ['abab'], t: 2,
      rp: 'bb', rl: 12000000, rn: 3000000, re: '-a-b-c-', ri: 'axcb', rb: 'abbbc', ra: 'axxc', ro: '-bc',
    }]);
  });

  test("through Catalyzed the refusal is a 400 in Catalyzed's shape", async () => {
    const refused = await server.fetch('/queries', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: "SELECT len(replace(repeat('ab', 1000000), 'b', repeat('c', 100))) AS n" }),
    });
    const body = (await refused.json()) as { code: string; message: string };
    assert.equal(refused.status, 400, JSON.stringify(body));
    assert.equal(body.code, 'QUERY_ERROR');
    assert.match(body.message, /Function replace would build a value of 101000000 characters or elements, more than the 16777216/);
  });

  test('a row condition that would build too large a value is refused the same way', async () => {
    const response = await server.fetch('/v0/datasources/counts/delete', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `delete_condition=${encodeURIComponent("length(repeat(s, 1000000000)) > 0")}`,
    });
    const job = (await response.json()) as { job_id?: string; error?: string };
    assert.equal(response.status, 201, JSON.stringify(job));
    const done = await server.core.jobs.settle().then(() => server.core.jobs.get(job.job_id!));
    assert.equal(done.status, 'error');
    assert.match(String(done.error), /Function repeat would build/);
    const left = await query('SELECT count(*) AS n FROM counts');
    assert.deepEqual(((await left.json()) as { data: unknown[] }).data, [{ n: 2 }]);
  });
});

describe('calls nested so that DuckDB would copy their arguments past a million expressions are refused', () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
    await seedTable(server.core, 'default', 'words', [{ name: 's', type: { kind: 'string' }, nullable: false }], [['ab']]);
  });
  after(() => server.stop());

  const query = (sql: string) => server.fetch(`/v0/sql?q=${encodeURIComponent(`${sql} FORMAT JSON`)}`);
  const nested = (call: (inner: string) => string, innermost: string, depth: number) =>
    Array.from({ length: depth }).reduce<string>((inner) => call(inner), innermost);

  // Each took DuckDB (or the guard) minutes of one core and then ended the server, its JavaScript heap out of room.
  const tooDeep: Array<[string, string]> = [
    ['a ClickHouse function that names its argument seven times, ten deep', `SELECT ${nested((inner) => `toDate(${inner})`, "'2024-01-01'", 10)} AS d`],
    ['repeat eighteen deep', `SELECT ${nested((inner) => `repeat(${inner}, 1)`, 's', 18)} AS r FROM words`],
    ['lpad nested in its own width', `SELECT ${nested((inner) => `lpad('x', len(${inner}), 'y')`, "'x'", 16)} AS p`],
  ];
  for (const [what, sql] of tooDeep) {
    test(`${what} is a 400 that says the query expands too far, and the server keeps serving`, async () => {
      const response = await query(sql);
      const body = (await response.json()) as { error: string };
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(body.error, /The query would expand to about [\d.e+]+ expressions, more than the 1000000 a query may/);
      assert.equal((await query('SELECT 1 AS one')).status, 200);
    });
  }

  // DuckDB binds each level again for every reading it tries: binding never ended, and it cannot be
  // stopped by the time limit or the client leaving; four such queries froze every request.
  const rebound: Array<[string, string, RegExp]> = [
    ['sixty chained lambda arrows', `SELECT ${'x -> '.repeat(60)}1`, /nest 60 deep/],
    ['forty chained JSON arrows', `SELECT '{}'::JSON ${"-> 'a' ".repeat(40)}`, /nest 40 deep/],
    ['forty nested list_transform lambdas', `SELECT ${'list_transform([1], x -> '.repeat(40)}x${')'.repeat(40)}`, /nest 40 deep/],
    ['forty nested scalar subqueries', `SELECT ${'(SELECT '.repeat(40)}1${')'.repeat(40)}`, /nest 40 deep/],
    ['thirty CTEs each reading the one before twice', `WITH c0 AS (SELECT * FROM words), ${Array.from({ length: 30 }, (_, index) => `c${index + 1} AS (SELECT * FROM c${index} a, c${index} b)`).join(', ')} SELECT count() FROM c30`, /reads its common table expressions and views [\d.e+]+ times once they are expanded, more than the 10000/],
  ];
  for (const [what, sql, message] of rebound) {
    test(`${what} is a 400 at once, not a query that binds for ever`, async () => {
      const response = await query(sql);
      const body = (await response.json()) as { error: string };
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(body.error, message);
    });
  }

  test('lambdas, JSON arrows and subqueries a few deep, and CTEs read a few times, answer as DuckDB does', async () => {
    const response = await query(`WITH a AS (SELECT s FROM words), b AS (SELECT * FROM a UNION ALL SELECT * FROM a)
      SELECT (SELECT (SELECT 1)) AS one, list_transform([1, 2], x -> list_transform([x], y -> y * 2)) AS doubled, '{"a":{"b":3}}'::JSON -> 'a' -> 'b' AS b,
      (SELECT count() FROM b) AS n FROM words LIMIT 1`);
    const body = (await response.json()) as { data: unknown[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [{ one: 1, doubled: [[2], [4]], b: 3, n: 2 }]);
  });

  test('the same calls nested a few deep answer as DuckDB does', async () => {
    const response = await query(`SELECT ${nested((inner) => `toDate(${inner})`, "'2024-01-01'", 4)} AS d,
      ${nested((inner) => `repeat(${inner}, 1)`, 's', 6)} AS r FROM words`);
    const body = (await response.json()) as { data: unknown[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data, [{ d: '2024-01-01', r: 'ab' }]);
  });

  test('a row condition nested too deeply is refused when it is given', async () => {
    const response = await server.fetch('/v0/datasources/words/delete', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `delete_condition=${encodeURIComponent(`${nested((inner) => `toDate(${inner})`, "'2024-01-01'", 10)} IS NULL`)}`,
    });
    const body = (await response.json()) as { error?: string };
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.match(String(body.error), /would expand to about/);
  });
});
