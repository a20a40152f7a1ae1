import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { tableFromIPC } from 'apache-arrow';
import { TestServer } from '../../helpers/test-server.ts';
import { FelderaClient, felderaError } from './feldera-fixture.ts';

const PROGRAM = `
CREATE TABLE readings (sensor VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, value DOUBLE, PRIMARY KEY (sensor, ts));
CREATE MATERIALIZED VIEW latest AS SELECT sensor, max(ts) AS ts FROM readings GROUP BY sensor;`;

describe('Feldera ad-hoc queries', () => {
  let server: TestServer;
  let client: FelderaClient;
  before(async () => {
    server = await TestServer.start();
    client = new FelderaClient(server);
    await client.pipeline('sensors', PROGRAM);
    await client.pushOk('sensors', 'readings', [
      '{"insert": {"sensor": "a", "ts": "2024-05-01T10:00:00Z", "value": 1.5}}',
      '{"insert": {"sensor": "a", "ts": "2024-05-01 10:00:01.25", "value": null}}',
      '{"insert": {"sensor": "b", "ts": "2024-05-01T12:00:00+02:00", "value": 3}}',
    ].join('\n'));
    await client.pipeline('elsewhere', 'CREATE TABLE secret (x INT);');
  });
  after(() => server.stop());

  const ORDERED = 'SELECT sensor, ts, value FROM readings ORDER BY sensor, ts';

  test('format=text is an ASCII table with empty NULL cells and timestamps as YYYY-MM-DD HH:MM:SS[.f]', async () => {
    const response = await client.query('sensors', ORDERED, 'text');
    assert.equal(response.status, 200);
    assert.equal(await response.text(), [
      '+--------+------------------------+-------+',
      '| sensor | ts                     | value |',
      '+--------+------------------------+-------+',
      '| a      | 2024-05-01 10:00:00    | 1.5   |',
      '| a      | 2024-05-01 10:00:01.25 |       |',
      '| b      | 2024-05-01 10:00:00    | 3     |',
      '+--------+------------------------+-------+',
      '',
    ].join('\n'));
  });

  test('format=json is one JSON object per line; views are queried like tables and names fold to lower case', async () => {
    assert.deepEqual(await client.rows('sensors', 'SELECT * FROM LATEST ORDER BY Sensor'), [
      { sensor: 'a', ts: '2024-05-01 10:00:01.25' },
      { sensor: 'b', ts: '2024-05-01 10:00:00' },
    ]);
  });

  test('format=parquet and format=arrow_ipc return the rows in those encodings', async () => {
    const parquet = Buffer.from(await (await client.query('sensors', ORDERED, 'parquet')).arrayBuffer());
    assert.equal(parquet.subarray(0, 4).toString(), 'PAR1');
    assert.equal(parquet.subarray(-4).toString(), 'PAR1');
    const arrow = await client.query('sensors', ORDERED, 'arrow_ipc');
    assert.equal(arrow.status, 200);
    const table = tableFromIPC(new Uint8Array(await arrow.arrayBuffer()));
    assert.equal(table.numRows, 3);
    assert.deepEqual(table.getChild('sensor')!.toArray(), ['a', 'a', 'b']);
  });

  test('format=hash is a SHA-256 of the ordered rows: equal rows hash alike, another order does not', async () => {
    const hash = async (sql: string) => (await (await client.query('sensors', sql, 'hash')).text());
    const first = await hash(ORDERED);
    assert.match(first, /^[0-9a-f]{64}$/);
    assert.equal(await hash('SELECT sensor, ts, value FROM readings ORDER BY 1, 2'), first);
    assert.notEqual(await hash('SELECT sensor, ts, value FROM readings ORDER BY sensor DESC, ts'), first);
    const expected = createHash('sha256').update('["a","2024-05-01 10:00:00",1.5]\n["a","2024-05-01 10:00:01.25",null]\n["b","2024-05-01 10:00:00",3]\n').digest('hex');
    assert.equal(first, expected);
  });

  test('a query the pipeline cannot answer is 400 AdHocQueryError', async () => {
    for (const sql of ['SELEKT 1', 'SELECT * FROM nowhere', 'SELECT nope FROM readings', 'DELETE FROM readings', 'SELECT * FROM elsewhere.secret', "SELECT * FROM read_csv('/etc/passwd')"]) {
      await felderaError(await client.query('sensors', sql), 400, 'AdHocQueryError');
    }
    await felderaError(await server.fetch('/v0/pipelines/sensors/query?format=json'), 400, 'InvalidParam');
    await felderaError(await client.query('sensors', 'SELECT 1', 'xml'), 400, 'InvalidParam');
  });

  test("INSERT writes a query's rows into a table as a push would, casting each value to its column (a fraction into an integer cut), and answers their count; views follow", async () => {
    await client.pipeline('inserts', `CREATE TABLE t (id INT NOT NULL PRIMARY KEY, name VARCHAR, seen TIMESTAMP, tags VARCHAR ARRAY);
      CREATE TABLE copy (id INT, name VARCHAR);
      CREATE TABLE "Quoted" (id INT);
      CREATE MATERIALIZED VIEW named AS SELECT id, name FROM t WHERE name IS NOT NULL;`);
    const inserted = await client.query('inserts', "INSERT INTO t VALUES (1, 'one', '2024-05-01 10:00:00', ['a', 'b']), (2, NULL, NULL, NULL);");
    assert.equal(inserted.status, 200);
    assert.deepEqual(JSON.parse(await inserted.text()), { count: 2 });
    // A column list, a keyed table upserted, numbers cast to text as the column is.
    assert.deepEqual(JSON.parse(await (await client.query('inserts', 'insert into T (ID, "name") values (2, 22)')).text()), { count: 1 });
    assert.deepEqual(await client.rows('inserts', 'SELECT id, name, seen, tags FROM t ORDER BY id'), [
      { id: 1, name: 'one', seen: '2024-05-01 10:00:00', tags: ['a', 'b'] }, { id: 2, name: '22', seen: null, tags: null },
    ]);
    assert.deepEqual(await client.rows('inserts', 'SELECT * FROM named ORDER BY id'), [{ id: 1, name: 'one' }, { id: 2, name: '22' }]);
    // From a SELECT over the pipeline's tables; the text format shows the count as a table.
    const copied = await (await client.query('inserts', 'INSERT INTO copy SELECT id, name FROM t', 'text')).text();
    assert.match(copied, /\| count \|[\s\S]*\| 2 {5}\|/);
    assert.deepEqual(await client.rows('inserts', 'SELECT * FROM copy ORDER BY id'), [{ id: 1, name: 'one' }, { id: 2, name: '22' }]);
    // A quoted table name is exact, as in a SELECT.
    assert.deepEqual(JSON.parse(await (await client.query('inserts', 'INSERT INTO "Quoted" VALUES (7)')).text()), { count: 1 });
    assert.deepEqual(await client.rows('inserts', 'SELECT * FROM "Quoted"'), [{ id: 7 }]);
    await felderaError(await client.query('inserts', 'INSERT INTO Quoted VALUES (8)'), 400, 'AdHocQueryError');
    // A fraction into an integer column is cut, as Feldera casts it, not rounded.
    assert.deepEqual(JSON.parse(await (await client.query('inserts', 'INSERT INTO "Quoted" VALUES (1.9), (-2.9), (CAST(3.7 AS DOUBLE))')).text()), { count: 3 });
    assert.deepEqual(await client.rows('inserts', 'SELECT * FROM "Quoted" ORDER BY id'), [{ id: -2 }, { id: 1 }, { id: 3 }, { id: 7 }]);
  });

  test("INSERT … SELECT puts a view's ROW (fields EXPR$0, EXPR$1) into a table's ROW column by position, as Feldera does, in arrays too, and a NULL ROW stays NULL", async () => {
    await client.pipeline('rows_in', `CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a INT, b VARCHAR, r ROW(x INT, y VARCHAR), rs ROW(x INT, y VARCHAR) ARRAY);
      CREATE MATERIALIZED VIEW v AS SELECT id, ROW(a, b) AS rr, ARRAY[ROW(a, b)] AS ra FROM t;`);
    await client.pushOk('rows_in', 't', '{"insert": {"id": 1, "a": 10, "b": "x"}}');
    for (const sql of ["INSERT INTO t SELECT id + 10, 7, 'k', rr, ra FROM v", "INSERT INTO t VALUES (5, 1, 'w', ROW(5, 'w'), NULL)", "INSERT INTO t SELECT 6, 1, 'z', NULL, NULL"]) {
      const response = await client.query('rows_in', sql);
      assert.deepEqual([response.status, JSON.parse(await response.text())], [200, { count: 1 }], sql);
    }
    assert.deepEqual(await client.rows('rows_in', 'SELECT id, r, rs FROM t WHERE id > 1 ORDER BY id'), [
      { id: 5, r: { x: 5, y: 'w' }, rs: null }, { id: 6, r: null, rs: null }, { id: 11, r: { x: 10, y: 'x' }, rs: [{ x: 10, y: 'x' }] },
    ]);
  });

  test('an INSERT that does not fit writes nothing: 400 AdHocQueryError for a missing table or column, the wrong number of values, or a value that does not convert', async () => {
    await client.pipeline('bad_inserts', 'CREATE TABLE t (id INT NOT NULL, n INT);');
    for (const sql of ['INSERT INTO nowhere VALUES (1)', 'INSERT INTO t (id, nope) VALUES (1, 2)', 'INSERT INTO t VALUES (1)', 'INSERT INTO t VALUES (1, 2, 3)',
      "INSERT INTO t VALUES (1, 2), (3, 'x')", 'INSERT INTO t VALUES (NULL, 1)', 'INSERT t VALUES (1, 2)', "INSERT INTO t SELECT * FROM read_csv('/etc/passwd')"]) {
      await felderaError(await client.query('bad_inserts', sql), 400, 'AdHocQueryError');
    }
    assert.deepEqual(await client.rows('bad_inserts', 'SELECT count(*) AS n FROM t'), [{ n: 0 }]);
  });

  test('a plain or LOCAL view is refused with 400 AdHocQueryError naming it and asking for MATERIALIZED; tables and materialized views stay queryable', async () => {
    await client.pipeline('kinds', `CREATE TABLE t (x INT);
      CREATE VIEW plain AS SELECT x FROM t;
      CREATE LOCAL VIEW helper AS SELECT x * 2 AS y FROM t;
      CREATE MATERIALIZED VIEW kept AS SELECT y FROM helper JOIN plain ON y = x * 2;`);
    await client.pushOk('kinds', 't', '{"insert": {"x": 1}}');
    for (const [sql, name] of [['SELECT * FROM plain', 'plain'], ['SELECT * FROM Helper', 'helper'], ['SELECT * FROM t JOIN plain USING (x)', 'plain'], ['SELECT (SELECT count(*) FROM helper) AS n', 'helper']] as const) {
      const { message, details } = await felderaError(await client.query('kinds', sql), 400, 'AdHocQueryError');
      assert.match(message, new RegExp(`'${name}'.*MATERIALIZED`), sql);
      assert.deepEqual(details, { name }, sql);
    }
    // A materialized view may read plain and LOCAL views; and a query's own WITH names no view.
    assert.deepEqual(await client.rows('kinds', 'SELECT * FROM kept'), [{ y: 2 }]);
    assert.deepEqual(await client.rows('kinds', 'WITH plain AS (SELECT x FROM t) SELECT * FROM plain'), [{ x: 1 }]);
    assert.deepEqual(await client.rows('kinds', 'SELECT * FROM t'), [{ x: 1 }]);
    // A token that may not read the view learns only that: 403, as for a materialized one.
    const { secret } = await server.core.tokens.create('kinds-table-reader', [{ action: 'read', namespace: 'kinds', table: 't' }]);
    await felderaError(await server.fetch(`/v0/pipelines/kinds/query?format=json&sql=${encodeURIComponent('SELECT * FROM plain')}`, { token: secret }), 403, 'InsufficientPermissions');
  });

  test('a table and views named like DuckDB keywords (semi, anti) are read by name after FROM or JOIN and qualify columns (semi.k), in views and ad-hoc queries alike', async () => {
    await client.pipeline('keywords', `CREATE TABLE semi (k INT, v VARCHAR);
      CREATE MATERIALIZED VIEW anti AS SELECT k, v FROM semi WHERE k > 1;
      CREATE MATERIALIZED VIEW joined AS SELECT semi.k, anti.v FROM semi JOIN anti ON semi.k = anti.k;`);
    await client.pushOk('keywords', 'semi', '1,a\n2,b\n', 'format=csv');
    assert.deepEqual(await client.rows('keywords', 'SELECT * FROM anti'), [{ k: 2, v: 'b' }]);
    assert.deepEqual(await client.rows('keywords', 'SELECT s.k FROM semi s JOIN joined ON s.k = joined.k'), [{ k: 2 }]);
    assert.equal((await client.rows('keywords', 'SELECT count(*) AS n FROM SEMI'))[0]!['n'], 2);
  });

  test('a view of a program reads only its own pipeline', async () => {
    const response = await client.putPipeline('peek', { program_code: 'CREATE TABLE mine (x INT);\nCREATE VIEW stolen AS SELECT * FROM elsewhere.secret;' });
    const body = (await response.json()) as { program_status: string; program_error: { sql_compilation: { messages: Array<{ message: string }> } } };
    assert.equal(body.program_status, 'SqlError');
    assert.match(body.program_error.sql_compilation.messages[0]!.message, /own namespace/);
  });

  test('a query that names no table needs a read scope on the pipeline: 403 InsufficientPermissions for a token that only pushes', async () => {
    const { secret: pusher } = await server.core.tokens.create('sensors-pusher', [{ action: 'append', namespace: 'sensors' }]);
    const { secret: reader } = await server.core.tokens.create('sensors-table-reader', [{ action: 'read', namespace: 'sensors', table: 'readings' }]);
    const query = (token: string) => server.fetch(`/v0/pipelines/sensors/query?format=json&sql=${encodeURIComponent('SELECT 1 AS x')}`, { token });
    await felderaError(await query(pusher), 403, 'InsufficientPermissions');
    const answered = await query(reader);
    assert.equal(answered.status, 200);
    assert.equal(await answered.text(), '{"x":1}\n');
  });

  test('a stopped pipeline is not queried: 503 PipelineInteractionNotDeployed', async () => {
    await client.pipeline('idle', 'CREATE TABLE t (x INT);', { start: false });
    await felderaError(await client.query('idle', 'SELECT * FROM t'), 503, 'PipelineInteractionNotDeployed');
    await felderaError(await client.query('absent', 'SELECT 1'), 404, 'UnknownPipelineName');
  });
});
