import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN, TestServer } from '../helpers/test-server.ts';
import { TinybirdClient } from '../helpers/tinybird-client.ts';
import { CatalyzedClient } from '../helpers/catalyzed-client.ts';
import { FelderaClient, felderaError } from '../dialects/feldera/feldera-fixture.ts';

/**
 * Attacks on the SQL sandbox through every place user SQL, or a fragment of it, enters over HTTP:
 * each must be refused in its dialect's error shape, and leave nothing leaked or changed.
 *
 * Not repeated here (already covered elsewhere):
 * - test/server/sandbox.e2e.test.ts: GET /v0/sql with read_csv('/etc/passwd'), FROM '/etc/passwd',
 *   read_csv of the spool, glob('/etc/*'), COPY … TO, ATTACH, SET threads, INSTALL/LOAD httpfs,
 *   CREATE/INSERT/DELETE/DROP, PRAGMA database_list, CALL checkpoint(), `SELECT 1; DROP TABLE`,
 *   sluice_meta.tokens, current_setting('threads'), getenv('HOME'); the value-size bounds and the
 *   expansion bound (toDate/repeat/lpad nesting), in queries and delete conditions.
 * - test/core/query/sql-guard.test.ts: the guard's own refusals (CTE smuggling of sqlite_master and
 *   the Kelvin-sign CTE, read_csv_auto/parquet_scan/pragma_table_info, setseed, nextval,
 *   pg_get_viewdef, json_execute_serialized_sql, current_query, sleep_ms, the transaction counters,
 *   qualified function and database names, $1), and predicate break-outs (`) UNION …`, `) GROUP BY`,
 *   `; DROP`, `/*`, `->` around denied functions).
 * - test/dialects/tinybird/tokens.e2e.test.ts: row filters through joins/subqueries/OR true/windows,
 *   the quarantine of a filtered table, `nope = 1` and `1) OR (1 = 1` filters, stats()/vector_type.
 * - test/dialects/feldera/query.e2e.test.ts: another pipeline's table in a query and in a view,
 *   DELETE and read_csv in an ad-hoc query.
 * - test/dialects/catalyzed/queries.e2e.test.ts: filter values as literals, unknown fields and ops,
 *   DELETE and read_csv in a query, qualified names, a token reading an unscoped table of its dataset.
 */

const SPOOL_MARKER = 'spool-secret-6d1f0c';
const TABLE_SECRET = 'tinybird-secret-52ab';
const PIPELINE_SECRET = 'feldera-secret-90ce';

type Body = Record<string, unknown>;

describe('user SQL stays in the sandbox, through every entry point over HTTP', () => {
  let server: TestServer;
  let tb: TinybirdClient;
  let cz: CatalyzedClient;
  let fe: FelderaClient;
  let spoolFile: string;
  let itemsId: string;
  let eventsId: string;
  let otherSecretId: string;
  let filteredToken: string;
  let shopReader: string;

  before(async () => {
    server = await TestServer.start();
    tb = new TinybirdClient(server);
    cz = new CatalyzedClient(server);
    fe = new FelderaClient(server);
    assert.equal((await tb.form('/v0/datasources?name=events', { schema: 'id Int32, v String' })).status, 200);
    assert.equal((await tb.upload('name=events&mode=append', 'csv', 'e.csv', '1,mine\n2,hidden\n')).status, 200);
    assert.equal((await tb.form('/v0/datasources?name=secrets', { schema: 'k String' })).status, 200);
    assert.equal((await tb.upload('name=secrets&mode=append', 'csv', 's.csv', `${TABLE_SECRET}\n`)).status, 200);
    spoolFile = join(server.core.storage.spoolDir, 'upload.csv');
    await writeFile(spoolFile, `${SPOOL_MARKER}\n`);
    await fe.pipeline('shop', 'CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, amount INT);');
    await fe.pushOk('shop', 'orders', '{"insert": {"id": 1, "amount": 5}}');
    await fe.pipeline('other', 'CREATE TABLE secret (x VARCHAR);\nCREATE VIEW peek AS SELECT x FROM secret;');
    await fe.pushOk('other', 'secret', `{"insert": {"x": "${PIPELINE_SECRET}"}}`);
    const dataset = await cz.createDataset('cat');
    itemsId = await cz.createTable(dataset, 'items', [{ name: 'id', arrowType: 'int64' }, { name: 'name', arrowType: 'utf8' }]);
    assert.equal((await cz.write(itemsId, 'mode=append', JSON.stringify([{ id: 1, name: 'a' }, { id: 2, name: 'b' }]), 'application/json')).status, 200);
    const catalog = server.core.catalog;
    eventsId = catalog.getTable(catalog.getNamespace('default').id, 'events').id;
    otherSecretId = catalog.getTable(catalog.getNamespace('other').id, 'secret').id;
    const filtered = await (await tb.form('/v0/tokens', { name: 'events-reader', scope: 'DATASOURCES:READ:events:id = 1' })).json();
    filteredToken = filtered.token;
    ({ secret: shopReader } = await server.core.tokens.create('shop-reader', [{ action: 'read', namespace: 'shop' }]));
  });
  after(() => server.stop());

  /** Nothing an attack could reach shows in an answer: a system file, the spool, secrets, the admin token. */
  function assertNoLeak(text: string, context: string): void {
    for (const marker of ['root:x:0:0', SPOOL_MARKER, TABLE_SECRET, PIPELINE_SECRET, ADMIN_TOKEN]) {
      assert.equal(text.includes(marker), false, `${context} leaked ${marker}: ${text.slice(0, 300)}`);
    }
  }

  /** Every table keeps its rows, the engine keeps its lock-down, and each dialect still answers. */
  async function assertIntact(): Promise<void> {
    assert.deepEqual(await tb.sql('SELECT id, v FROM events ORDER BY id'), [{ id: 1, v: 'mine' }, { id: 2, v: 'hidden' }]);
    assert.deepEqual(await tb.sql('SELECT k FROM secrets'), [{ k: TABLE_SECRET }]);
    assert.deepEqual(await fe.rows('shop', 'SELECT id, amount FROM orders'), [{ id: 1, amount: 5 }]);
    const items = await cz.query('SELECT id, name FROM t ORDER BY id', { t: itemsId });
    assert.deepEqual([items.status, items.body.rows], [200, [{ id: 1, name: 'a' }, { id: 2, name: 'b' }]]);
    const [settings] = await server.core.storage.query(
      "SELECT current_setting('enable_external_access') AS external, current_setting('lock_configuration') AS locked, current_setting('autoload_known_extensions') AS autoload",
    );
    assert.deepEqual(settings, { external: false, locked: true, autoload: false });
    const databases = await server.core.storage.query('SELECT database_name FROM duckdb_databases() WHERE NOT internal ORDER BY 1');
    assert.deepEqual(databases.map((row) => row['database_name']), ['sluice', 'sluice_snapshots'], 'no database was attached or detached');
  }

  // ── Tinybird /v0/sql ──────────────────────────────────────────────────────

  /** The same query sent the four ways the SQL API takes one: GET ?q=, and POST as a raw, JSON or form body. */
  const transports: Array<[string, (sql: string) => Promise<Response>]> = [
    ['GET ?q=', (sql) => server.fetch(`/v0/sql?q=${encodeURIComponent(sql)}`)],
    ['POST raw', (sql) => server.fetch('/v0/sql', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: sql })],
    ['POST JSON', (sql) => server.fetch('/v0/sql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q: sql }) })],
    ['POST form', (sql) => server.fetch('/v0/sql', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ q: sql }).toString() })],
  ];

  const ONLY_SELECT = /^Only SELECT queries are allowed \(WITH, DESCRIBE and SUMMARIZE of a SELECT too; a PIVOT needs an IN list\)$/;
  const denied = (name: string) => new RegExp(`^Function "${name}" is not allowed$`);
  const SPOOL = '<spool>';
  const DATA = '<data>';
  const COPY_TARGET = join(tmpdir(), `sluice-sandbox-copy-${process.pid}.csv`);
  const EXPORT_TARGET = join(tmpdir(), `sluice-sandbox-export-${process.pid}`);

  // [what, query (SPOOL and DATA stand for the spool folder and the data directory), status, error]
  const queryAttacks: Array<[string, string, number, RegExp]> = [
    // files, by every reader and where a scalar call hides them
    ['read_text of /etc/passwd', "SELECT * FROM read_text('/etc/passwd')", 400, denied('read_text')],
    ['read_blob of the spool file', `SELECT content FROM read_blob('${SPOOL}/upload.csv')`, 400, denied('read_blob')],
    ['read_parquet of the database file', `SELECT * FROM read_parquet('${DATA}/sluice.duckdb')`, 400, denied('read_parquet')],
    ['read_json_auto of the spool file', `SELECT * FROM read_json_auto('${SPOOL}/upload.csv')`, 400, denied('read_json_auto')],
    ['glob of the spool folder', `SELECT * FROM glob('${SPOOL}/*')`, 400, denied('glob')],
    ['sniff_csv', "SELECT * FROM sniff_csv('/etc/passwd')", 400, denied('sniff_csv')],
    ['parquet_metadata', "SELECT * FROM parquet_metadata('/etc/passwd')", 400, denied('parquet_metadata')],
    ['a quoted spool path as a table name', `SELECT * FROM "${SPOOL}/upload.csv"`, 404, /^Data Source ".*\/upload\.csv" does not exist$/],
    ['a file reader beside a table', "SELECT * FROM events, read_csv('/etc/passwd')", 400, denied('read_csv')],
    ['a file reader in a LATERAL join', "SELECT * FROM events JOIN LATERAL read_text('/etc/passwd') ON true", 400, denied('read_text')],
    ['a file reader in a lambda', "SELECT list_transform([1], x -> read_text('/etc/passwd'))", 400, denied('read_text')],
    ['a file reader in a list comprehension', "SELECT [x FOR x IN (SELECT content FROM read_text('/etc/passwd'))]", 400, denied('read_text')],
    ['a file reader inside an allowed table function', "SELECT * FROM json_each((SELECT content FROM read_text('/etc/passwd')))", 400, denied('read_text')],
    ['a file reader in unnest', "SELECT * FROM unnest((SELECT list(content) FROM read_text('/etc/passwd')))", 400, denied('read_text')],
    ['a file reader in QUALIFY', "SELECT * FROM events QUALIFY read_text('/etc/passwd') IS NULL", 400, denied('read_text')],
    ['a file reader under SUMMARIZE', "SUMMARIZE SELECT * FROM read_text('/etc/passwd')", 400, denied('read_text')],
    ['extension scanners', "SELECT * FROM sqlite_scan('/etc/passwd', 't')", 400, /^Table function "sqlite_scan" is not allowed; allowed: range, generate_series/],
    ['iceberg_scan', "SELECT * FROM iceberg_scan('/tmp/x')", 400, /^Table function "iceberg_scan" is not allowed/],
    // statements other than one SELECT, however they are dressed
    ['COPY to a file', `COPY events TO '${COPY_TARGET}'`, 400, ONLY_SELECT],
    ['EXPORT DATABASE', `EXPORT DATABASE '${EXPORT_TARGET}'`, 400, ONLY_SELECT],
    ['DETACH of the snapshots database', 'DETACH sluice_snapshots', 400, ONLY_SELECT],
    ['USE of another schema', 'USE sluice_meta', 400, ONLY_SELECT],
    ['RESET of a setting', 'RESET threads', 400, ONLY_SELECT],
    ['SET lock_configuration = false', 'SET lock_configuration = false', 400, ONLY_SELECT],
    ['SET enable_external_access', 'SET enable_external_access = true', 400, ONLY_SELECT],
    ['PRAGMA enable_profiling', 'PRAGMA enable_profiling', 400, ONLY_SELECT],
    ['CALL of a table function', 'CALL duckdb_settings()', 400, ONLY_SELECT],
    ['UPDATE', "UPDATE events SET v = 'x'", 400, ONLY_SELECT],
    ['a PRAGMA as a subquery', 'SELECT * FROM (PRAGMA database_list)', 400, /syntax error/],
    ['a DELETE in a CTE', 'WITH gone AS (DELETE FROM events RETURNING *) SELECT * FROM gone', 400, /^A CTE needs a SELECT$/],
    ['a SET after a CTE and a semicolon', 'WITH x AS (SELECT 1) SELECT * FROM x; SET threads = 1', 400, ONLY_SELECT],
    ['a DROP after a comment ended by a newline', 'SELECT 1 -- comment\n; DROP TABLE events', 400, ONLY_SELECT],
    ['a DROP after a dollar-quoted string', "SELECT $$'$$ FROM events; DROP TABLE events --", 400, ONLY_SELECT],
    ['a DROP after the FORMAT clause', 'SELECT 1 FORMAT JSON; DROP TABLE events', 400, /syntax error/],
    ['SHOW ALL TABLES', 'SHOW ALL TABLES', 400, /^SHOW statements are not allowed$/],
    ['a PIVOT statement without an IN list', 'PIVOT events ON v', 400, ONLY_SELECT],
    ['a PIVOT whose IN list is a query', "SELECT * FROM events PIVOT (count(*) FOR v IN (SELECT content FROM read_text('/etc/passwd')))", 400, /syntax error/],
    // settings, secrets, environment, catalog
    ['current_setting in a subquery', "SELECT (SELECT current_setting('allowed_directories'))", 400, denied('current_setting')],
    ['current_setting in a CTE', "WITH s AS (SELECT current_setting('allowed_directories') AS d) SELECT * FROM s", 400, denied('current_setting')],
    ['current_setting as a table function argument', "SELECT * FROM range(current_setting('threads')::INT)", 400, denied('current_setting')],
    ['getvariable', "SELECT getvariable('x')", 400, denied('getvariable')],
    ['duckdb_secrets()', 'SELECT * FROM duckdb_secrets()', 400, denied('duckdb_secrets')],
    ['duckdb_settings() in an IN subquery', 'SELECT * FROM range(1) t(x) WHERE x IN (FROM duckdb_settings())', 400, denied('duckdb_settings')],
    ['which_secret', "SELECT * FROM which_secret('s3://bucket/x', 's3')", 400, denied('which_secret')],
    ['duckdb_extensions()', 'SELECT * FROM duckdb_extensions()', 400, denied('duckdb_extensions')],
    ['pragma_database_size()', 'SELECT * FROM pragma_database_size()', 400, denied('pragma_database_size')],
    ['current_database()', 'SELECT current_database()', 400, denied('current_database')],
    ['checkpoint()', 'SELECT * FROM checkpoint()', 400, denied('checkpoint')],
    ['getenv in a named window', "SELECT row_number() OVER w FROM events WINDOW w AS (ORDER BY getenv('HOME'))", 400, denied('getenv')],
    ['getenv in an aggregate FILTER', "SELECT count(*) FILTER (WHERE getenv('HOME') IS NOT NULL) FROM events", 400, denied('getenv')],
    ['getenv in ORDER BY', "SELECT * FROM events ORDER BY getenv('HOME')", 400, denied('getenv')],
    ['getenv in HAVING', "SELECT 1 FROM events GROUP BY ALL HAVING getenv('HOME') IS NULL", 400, denied('getenv')],
    ['getenv in a COLUMNS lambda', "SELECT COLUMNS(c -> getenv('HOME') IS NULL) FROM events", 400, denied('getenv')],
    ['getenv in a struct', "SELECT struct_pack(a := getenv('HOME'))", 400, denied('getenv')],
    ['getenv under try()', "SELECT try(getenv('HOME'))", 400, denied('getenv')],
    ['getenv in LIKE … ESCAPE', "SELECT * FROM events WHERE v LIKE '%' ESCAPE getenv('HOME')", 400, denied('getenv')],
    ['getenv in a two-parameter lambda', "SELECT list_reduce([1, 2], (a, b) -> a + length(getenv('HOME')))", 400, denied('getenv')],
    // functions that run SQL given as a string
    ['query() over another table', 'SELECT * FROM query(\'SELECT * FROM secrets\')', 400, denied('query')],
    ['query_table() of a list', "SELECT * FROM query_table(['secrets'])", 400, denied('query_table')],
    ['sql_auto_complete as a table function', "SELECT * FROM sql_auto_complete('SELECT * FROM sluice_meta.')", 400, denied('sql_auto_complete')],
    ['sql_auto_complete as a scalar', "SELECT sql_auto_complete('SEL')", 400, denied('sql_auto_complete')],
    ['json_serialize_sql', "SELECT json_serialize_sql('SELECT 1')", 400, denied('json_serialize_sql')],
    // names written to slip past a check
    ['a denied function quoted and upper-cased', `SELECT * FROM "READ_TEXT"('/etc/passwd')`, 400, denied('read_text')],
    ['a denied function qualified by main', "SELECT main.read_text('/etc/passwd')", 400, denied('read_text')],
    ['a function of the system catalog', 'SELECT * FROM system.main.duckdb_tables()', 400, /^Function "system\.main\.duckdb_tables" is not allowed: use unqualified function names$/],
    ['a name with a doubled quote', `SELECT * FROM "re""ad_text"('/etc/passwd')`, 400, /^Table function "re"ad_text" is not allowed/],
    ['a Unicode-escaped name', `SELECT * FROM U&"\\0072ead_text"('/etc/passwd')`, 400, /unterminated quoted identifier|syntax error/],
    ['the physical data schema', 'SELECT * FROM data.events', 404, /^Namespace "data" does not exist$/],
    ['the main schema', 'SELECT * FROM main.events', 404, /^Namespace "main" does not exist$/],
    ['pg_catalog', 'SELECT * FROM pg_catalog.pg_tables', 404, /^Namespace "pg_catalog" does not exist$/],
    ['a system view without parentheses', 'SELECT * FROM duckdb_tables', 404, /^Data Source "duckdb_tables" does not exist$/],
    ['a describe of the token store', 'DESCRIBE sluice_meta.tokens', 404, /^Namespace "sluice_meta" does not exist$/],
    ['a database-qualified name', 'SELECT * FROM sluice_snapshots.main.x', 400, /^Table "sluice_snapshots\.main\.x" is not allowed: database names cannot be used$/],
    ['time travel', 'SELECT * FROM events AT (VERSION => 1)', 400, /^AT clauses \(time travel\) are not supported$/],
    ['a named parameter', 'SELECT $x', 400, /^Query parameters \(\$1, \?\) are not supported$/],
    ['a question-mark parameter', 'SELECT ?', 400, /^Query parameters \(\$1, \?\) are not supported$/],
    ['a template placeholder (no pipes are served)', 'SELECT {{ column(x) }} FROM events', 400, /syntax error/],
    // quoting left open
    ['an unterminated string', "SELECT * FROM events WHERE v = '", 400, /unterminated quoted string/],
    ['an unterminated quoted name', 'SELECT "', 400, /unterminated quoted identifier/],
    ['an unterminated comment', 'SELECT 1 /* DROP TABLE events', 400, /unterminated \/\* comment/],
  ];

  test('Tinybird /v0/sql refuses file, statement, setting, catalog and string-SQL escapes the same way over GET and every POST body, leaking nothing', async () => {
    for (const [what, written, status, message] of queryAttacks) {
      const sql = written.replaceAll(SPOOL, server.core.storage.spoolDir).replaceAll(DATA, server.dataDir);
      for (const [transport, send] of transports) {
        const response = await send(sql);
        const text = await response.text();
        assert.equal(response.status, status, `${what} (${transport}): ${text}`);
        const body = JSON.parse(text) as Body;
        assert.deepEqual(Object.keys(body), ['error'], `${what} (${transport}): ${text}`);
        assert.match(String(body['error']), message, `${what} (${transport})`);
        assertNoLeak(text, `${what} (${transport})`);
      }
    }
    assert.equal(existsSync(COPY_TARGET), false, 'COPY wrote no file');
    assert.equal(existsSync(EXPORT_TARGET), false, 'EXPORT DATABASE wrote no folder');
    await assertIntact();
  });

  test('a filtered Tinybird token reads only its rows, also through SUMMARIZE, the namespace-qualified name, WITH TOTALS and CSV', async () => {
    const sql = (query: string) => server.fetch(`/v0/sql?q=${encodeURIComponent(query)}`, { token: filteredToken });
    const summary = await (await sql('SUMMARIZE events')).json();
    assert.deepEqual(summary.data.map((row: Body) => [row['column_name'], row['min'], row['max'], row['count']]), [['id', '1', '1', 1], ['v', 'mine', 'mine', 1]]);
    assert.deepEqual((await (await sql('SELECT id, v FROM "default".events')).json()).data, [{ id: 1, v: 'mine' }]);
    const totals = await (await sql('SELECT v, count() AS n FROM events GROUP BY v WITH TOTALS')).json();
    assert.deepEqual([totals.data, totals.totals], [[{ v: 'mine', n: 1 }], { v: '', n: 1 }]);
    assert.equal(await (await sql('SELECT id, v FROM events FORMAT CSV')).text(), '1,"mine"\n');
    for (const [query, status, error] of [
      ['SELECT * FROM secrets', 403, 'The token may not read table "secrets"'],
      ["SELECT * FROM read_text('/etc/passwd')", 400, 'Function "read_text" is not allowed'],
    ] as const) {
      const response = await sql(query);
      assert.deepEqual([response.status, await response.json()], [status, { error }], query);
    }
  });

  test('GET and POST bodies too large or too deep for the parser are 4xx, and the server keeps answering', async () => {
    const deep: Array<[string, string, number, RegExp]> = [
      ['100 000 nested parentheses', `SELECT ${'('.repeat(100_000)}1${')'.repeat(100_000)}`, 400, /memory exhausted/],
      ['5 000 nested calls', `SELECT ${'abs('.repeat(5000)}1${')'.repeat(5000)}`, 400, /memory exhausted/],
      ['5 000 nested lists', `SELECT ${'['.repeat(5000)}1${']'.repeat(5000)}`, 400, /Max expression depth limit of 1000 exceeded/],
      ['2 000 nested scalar subqueries', `SELECT ${'(SELECT '.repeat(2000)}1${')'.repeat(2000)}`, 400, /grows too large once rewritten/],
      ['a sum of 200 000 terms', `SELECT ${Array(200_000).fill('1').join('+')}`, 400, /^The query is longer than 262144 characters$/],
    ];
    for (const [what, sql, status, message] of deep) {
      const response = await server.fetch('/v0/sql', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: sql });
      const body = (await response.json()) as Body;
      assert.equal(response.status, status, `${what}: ${JSON.stringify(body).slice(0, 200)}`);
      assert.match(String(body['error']), message, what);
      assert.deepEqual(await tb.sql('SELECT 1 AS one'), [{ one: 1 }], `the server answers after ${what}`);
    }
    const long = await server.fetch(`/v0/sql?q=${encodeURIComponent(`SELECT ${'('.repeat(100_000)}1${')'.repeat(100_000)}`)}`);
    assert.equal(long.status, 431);
    await long.arrayBuffer();
    await assertIntact();
  });

  // ── Feldera ad-hoc queries and programs ───────────────────────────────────

  test('Feldera ad-hoc queries refuse files, settings, statements and other namespaces as AdHocQueryError, leaking nothing', async () => {
    const attacks: Array<[string, RegExp]> = [
      ["SELECT * FROM read_text('/etc/passwd')", denied('read_text')],
      [`SELECT * FROM read_blob('${spoolFile}')`, denied('read_blob')],
      [`SELECT * FROM glob('${server.core.storage.spoolDir}/*')`, denied('glob')],
      ["SELECT getenv('HOME') AS h FROM orders", denied('getenv')],
      ['SELECT * FROM duckdb_settings()', denied('duckdb_settings')],
      ["SELECT * FROM query_table('orders')", denied('query_table')],
      ['SELECT * FROM orders; DROP TABLE orders;', ONLY_SELECT],
      ['WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d', /^A CTE needs a SELECT$/],
      [`EXPORT DATABASE '${EXPORT_TARGET}'`, ONLY_SELECT],
      ["ATTACH ':memory:' AS m", ONLY_SELECT],
      ['SET lock_configuration = false', ONLY_SELECT],
      ['SELECT * FROM sluice_meta.tokens', /^'sluice_meta\.tokens': a query reads only the pipeline's own tables and views$/],
      ['SELECT * FROM secret', /^Table or view 'secret' does not exist in pipeline 'shop'$/],
      ['SELECT * FROM peek', /^Table or view 'peek' does not exist in pipeline 'shop'$/],
    ];
    for (const [sql, message] of attacks) {
      const response = await fe.query('shop', sql);
      const text = await response.clone().text();
      const body = await felderaError(response, 400, 'AdHocQueryError');
      assert.match(body.message, message, sql);
      assertNoLeak(text, sql);
    }
    await assertIntact();
  });

  test("a token of one pipeline reads none of another's tables or views: queries and egress are 403 InsufficientPermissions", async () => {
    for (const sql of ['SELECT * FROM secret', 'SELECT * FROM peek']) {
      const response = await server.fetch(`/v0/pipelines/other/query?format=json&sql=${encodeURIComponent(sql)}`, { token: shopReader });
      const text = await response.clone().text();
      await felderaError(response, 403, 'InsufficientPermissions');
      assertNoLeak(text, sql);
    }
    const egress = await server.fetch('/v0/pipelines/other/egress/secret?format=json&send_snapshot=true', { method: 'POST', token: shopReader });
    await felderaError(egress, 403, 'InsufficientPermissions');
    // Its own pipeline answers.
    const own = await server.fetch(`/v0/pipelines/shop/query?format=json&sql=${encodeURIComponent('SELECT id FROM orders')}`, { token: shopReader });
    assert.deepEqual([own.status, await own.text()], [200, '{"id":1}\n']);
  });

  test('a Feldera program whose view or DEFAULT escapes, or that holds other statements, does not compile and changes nothing', async () => {
    const programs: Array<[string, RegExp]> = [
      ["CREATE TABLE t (x INT);\nCREATE VIEW v AS SELECT * FROM read_text('/etc/passwd');", denied('read_text')],
      [`CREATE TABLE t (x INT);\nCREATE VIEW v AS SELECT content FROM read_blob('${spoolFile}');`, denied('read_blob')],
      ["CREATE TABLE t (x INT);\nCREATE VIEW v AS SELECT current_setting('threads') AS s FROM t;", denied('current_setting')],
      ["CREATE TABLE t (x INT);\nCREATE VIEW v AS SELECT * FROM t UNION ALL SELECT * FROM query_table('t');", denied('query_table')],
      ['CREATE TABLE t (x INT);\nCREATE VIEW v AS SELECT * FROM sluice_meta.tokens;', /^A view reads only tables of its own namespace, not "sluice_meta\.tokens"$/],
      ['CREATE TABLE t (x INT);\nCREATE VIEW v AS SELECT * FROM duckdb_tables;', /^Table "duckdb_tables" does not exist$/],
      ['CREATE TABLE t (x INT);\nCREATE VIEW v AS WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d;', /^A CTE needs a SELECT$/],
      ['CREATE TABLE t (x INT);\nCREATE VIEW v AS SELECT * FROM t;\nDROP TABLE t;', /^Expected CREATE, found DROP$/],
      ['CREATE TABLE t (x INT);\nINSERT INTO t VALUES (1);', /^Expected CREATE, found INSERT$/],
      [`CREATE TABLE t (x INT);\nCOPY t TO '${COPY_TARGET}';`, /^Expected CREATE, found COPY$/],
      ["CREATE TABLE t (x INT);\nATTACH ':memory:' AS m;", /^Expected CREATE, found ATTACH$/],
      ['CREATE TABLE t (x INT);\nCREATE MACRO m(a) AS a;', /^Expected TABLE or VIEW, found MACRO$/],
      ['CREATE TABLE t (x INT);\nCREATE VIEW v AS SELECT $$; DROP TABLE t; $$ AS s;', /^Expected CREATE, found DROP$/],
      ["CREATE TABLE t (x VARCHAR DEFAULT getenv('HOME'));", denied('getenv')],
      ["CREATE TABLE t (x VARCHAR DEFAULT (SELECT k FROM secrets));", /^Subqueries are not allowed in this expression$/],
      [`CREATE TABLE t (x INT);\nCREATE VIEW v AS SELECT ${'('.repeat(50_000)}1${')'.repeat(50_000)} AS n;`, /memory exhausted/],
      [`CREATE TABLE t (x INT);\nCREATE VIEW v AS SELECT ${Array(30_000).fill('1').join('+')} AS n;`, /Max expression depth limit of 1000 exceeded/],
    ];
    for (const [index, [program, message]] of programs.entries()) {
      const name = `escape${index}`;
      const response = await fe.putPipeline(name, { program_code: program });
      const text = await response.text();
      const body = JSON.parse(text) as { program_status: string; program_error: { sql_compilation: { messages: Array<{ message: string }> } } };
      assert.equal(body.program_status, 'SqlError', `${program.slice(0, 120)}: ${text.slice(0, 300)}`);
      assert.match(body.program_error.sql_compilation.messages[0]!.message, message, program.slice(0, 120));
      assertNoLeak(text, program.slice(0, 120));
      // Nothing of the program was created: the pipeline's namespace holds no table.
      const namespace = server.core.catalog.findNamespace(name);
      assert.deepEqual(namespace ? server.core.catalog.listTables(namespace.id).map((table) => table.name) : [], [], program.slice(0, 120));
    }
    assert.equal(existsSync(COPY_TARGET), false);
    await assertIntact();
  });

  test('a Feldera table whose quoted name and column hold quotes and SQL is created under exactly that name, and nothing else runs', async () => {
    const program = 'CREATE TABLE "a""b; DROP TABLE orders; --" ("c""d; DELETE FROM orders" INT);';
    await fe.pipeline('quoted', program);
    await fe.pushOk('quoted', encodeURIComponent('"a""b; DROP TABLE orders; --"'), '{"insert": {"c\\"d; DELETE FROM orders": 7}}');
    assert.deepEqual(await fe.rows('quoted', 'SELECT * FROM "a""b; DROP TABLE orders; --"'), [{ 'c"d; DELETE FROM orders': 7 }]);
    await assertIntact();
  });

  // ── Catalyzed queries ─────────────────────────────────────────────────────

  test('Catalyzed /queries refuses escapes in its SQL as 400 QUERY_ERROR, and names outside "tables" as 400 VALIDATION_ERROR', async () => {
    const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
      [`SELECT * FROM read_text('${spoolFile}')`, {}, 'QUERY_ERROR', denied('read_text')],
      ["SELECT * FROM t, read_blob('/etc/passwd')", { t: itemsId }, 'QUERY_ERROR', denied('read_blob')],
      ["SELECT getenv('HOME') AS h", {}, 'QUERY_ERROR', denied('getenv')],
      ["SELECT * FROM t WHERE name = current_setting('allowed_directories')", { t: itemsId }, 'QUERY_ERROR', denied('current_setting')],
      ['SELECT * FROM duckdb_secrets()', {}, 'QUERY_ERROR', denied('duckdb_secrets')],
      ["SELECT * FROM query('SELECT * FROM t')", { t: itemsId }, 'QUERY_ERROR', denied('query')],
      ["SELECT sql_auto_complete('SEL')", {}, 'QUERY_ERROR', denied('sql_auto_complete')],
      ['SELECT * FROM t; DROP TABLE t', { t: itemsId }, 'QUERY_ERROR', ONLY_SELECT],
      [`EXPORT DATABASE '${EXPORT_TARGET}'`, {}, 'QUERY_ERROR', ONLY_SELECT],
      ['PRAGMA database_list', {}, 'QUERY_ERROR', ONLY_SELECT],
      ['SET threads = 1', {}, 'QUERY_ERROR', ONLY_SELECT],
      ['WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', { t: itemsId }, 'QUERY_ERROR', /^A CTE needs a SELECT$/],
      [`SELECT ${Array(30_000).fill('1').join('+')} AS n`, {}, 'QUERY_ERROR', /Max expression depth limit of 1000 exceeded/],
      [`SELECT ${'('.repeat(100_000)}1${')'.repeat(100_000)} AS n`, {}, 'QUERY_ERROR', /memory exhausted/],
      // A table is named only through "tables": not by its physical id, a schema, or an Object property.
      [`SELECT * FROM "${itemsId}"`, {}, 'VALIDATION_ERROR', /^Table ".+" is not bound: map it to a table id in "tables"$/],
      ['SELECT * FROM data.t', { t: itemsId }, 'VALIDATION_ERROR', /^Table "data\.t": name tables by the names bound in "tables"$/],
      ['SELECT * FROM sluice_meta.tokens', {}, 'VALIDATION_ERROR', /^Table "sluice_meta\.tokens": name tables by the names bound in "tables"$/],
      ['SELECT * FROM constructor', {}, 'VALIDATION_ERROR', /^Table "constructor" is not bound/],
      ['SELECT * FROM __proto__', {}, 'VALIDATION_ERROR', /^Table "__proto__" is not bound/],
      ['SELECT * FROM t', { constructor: itemsId }, 'VALIDATION_ERROR', /^Table "t" is not bound/],
    ];
    for (const [sql, tables, code, message] of cases) {
      const { status, body } = await cz.query(sql, tables);
      const context = `${sql.slice(0, 100)} ${JSON.stringify(tables)}`;
      assert.deepEqual([status, body.code, body.retryable], [400, code, false], `${context}: ${JSON.stringify(body).slice(0, 300)}`);
      assert.equal(body.error, body.message, context);
      assert.match(body.message, message, context);
      assertNoLeak(JSON.stringify(body), context);
    }
    assert.equal(existsSync(EXPORT_TARGET), false);
    await assertIntact();
  });

  test('Catalyzed filters are checked values on known columns: no field, op or value becomes SQL', async () => {
    const refused: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ field: 'id" OR 1=1 --', op: 'eq', value: 1 }, 'VALIDATION_ERROR', /^Filter field "id" OR 1=1 --" is not a column of table "items"$/],
      [{ field: 'constructor', op: 'eq', value: 1 }, 'VALIDATION_ERROR', /^Filter field "constructor" is not a column/],
      [{ field: 'id', op: 'eq', value: '1 OR 1=1' }, 'VALIDATION_ERROR', /^Filter on "id": "1 OR 1=1" is not a number$/],
      [{ field: 'id', op: 'eq', value: '1e400' }, 'VALIDATION_ERROR', /^The query holds a literal that cannot be represented/],
      [{ field: 'name', op: 'in', value: [['a']] }, 'VALIDATION_ERROR', /^Filter on "name": the value must be a string, a number or a boolean$/],
      [{ field: 'name', op: 'eq', value: { sql: "getenv('HOME')" } }, 'VALIDATION_ERROR', /^Filter on "name": the value must be a string, a number or a boolean$/],
      [{ field: 'name', op: 'constructor', value: 1 }, 'VALIDATION_ERROR', /^Unknown filter op "constructor"/],
      [{ field: 'name', op: '__proto__', value: 1 }, 'VALIDATION_ERROR', /^Unknown filter op "__proto__"/],
    ];
    for (const [filter, code, message] of refused) {
      const { status, body } = await cz.query('SELECT * FROM t', { t: { tableId: itemsId, filters: [filter] } });
      assert.deepEqual([status, body.code], [400, code], `${JSON.stringify(filter)}: ${JSON.stringify(body)}`);
      assert.match(body.message, message, JSON.stringify(filter));
    }
    // Quotes, comments, backslashes and NULs in a value are only compared: they match no row.
    for (const filter of [
      { field: 'name', op: 'eq', value: "a' OR '1'='1" },
      { field: 'name', op: 'eq', value: "a\\' OR 1=1 --" },
      { field: 'name', op: 'eq', value: 'a\u0000b' },
      { field: 'name', op: 'like', value: "%' OR getenv('HOME') IS NOT NULL OR '" },
      { field: 'name', op: 'in', value: ["a') OR (1=1", 'x'] },
      { field: 'id', op: 'eq', value: '99999999999999999999999999' },
    ]) {
      const { status, body } = await cz.query('SELECT * FROM t', { t: { tableId: itemsId, filters: [filter] } });
      assert.deepEqual([status, body.rows], [200, []], `${JSON.stringify(filter)}: ${JSON.stringify(body)}`);
    }
    await assertIntact();
  });

  test("a Catalyzed query binding another namespace's table id is 403 for a token without that scope, and a filtered token's filter still applies", async () => {
    for (const tableId of [otherSecretId, eventsId]) {
      const { status, body } = await cz.query('SELECT * FROM s', { s: tableId }, {}, shopReader);
      assert.deepEqual([status, body], [403, { error: 'FORBIDDEN', message: 'Insufficient permissions for this resource' }], tableId);
    }
    // The Tinybird token that reads events where id = 1 sees that row alone, whatever filters the query adds.
    const own = await cz.query('SELECT * FROM e', { e: eventsId }, {}, filteredToken);
    assert.deepEqual([own.status, own.body.rows], [200, [{ id: 1, v: 'mine' }]]);
    const other = await cz.query('SELECT * FROM e', { e: { tableId: eventsId, filters: [{ field: 'id', op: 'eq', value: 2 }] } }, {}, filteredToken);
    assert.deepEqual([other.status, other.body.rows], [200, []]);
    const hidden = await cz.query('SELECT * FROM s', { s: otherSecretId }, {}, filteredToken);
    assert.equal(hidden.status, 403);
    assertNoLeak(JSON.stringify(hidden.body), 'filtered token on another namespace');
  });

  // ── Tinybird conditions, row filters, DEFAULTs and schema names ───────────

  /** Conditions that must never run: each with the error the Tinybird dialect answers. */
  const conditionAttacks: Array<[string, RegExp]> = [
    ["getenv('HOME') IS NOT NULL", denied('getenv')],
    ["read_text('/etc/passwd') IS NOT NULL", denied('read_text')],
    ["v = current_setting('allowed_directories')", denied('current_setting')],
    ['id IN (SELECT id FROM secrets)', /^Subqueries are not allowed in this expression$/],
    ["v = (SELECT content FROM read_text('/etc/passwd'))", /^Subqueries are not allowed in this expression$/],
    ['id = 1; DROP TABLE events', /syntax error at or near ";"/],
    ['id = 1 /* comment left open', /unterminated \/\* comment/],
    ['"id" = 1 OR "v"" = 1', /unterminated quoted identifier/],
    ["other.secret.x = 'a'", /^Unknown column "other\.secret\.x"; columns: id, v$/],
  ];

  test('delete_condition escapes are refused with a 400 when given, dry run or not, and delete nothing', async () => {
    for (const [condition, message] of conditionAttacks) {
      for (const fields of [{ delete_condition: condition, dry_run: 'true' }, { delete_condition: condition }] as Array<Record<string, string>>) {
        const response = await tb.form('/v0/datasources/events/delete', fields);
        const body = (await response.json()) as Body;
        assert.equal(response.status, 400, `${JSON.stringify(fields)}: ${JSON.stringify(body)}`);
        assert.deepEqual(Object.keys(body), ['error']);
        assert.match(String(body['error']), message, condition);
      }
    }
    // A trailing comment cannot swallow the rest: the condition means what it says.
    assert.deepEqual(await (await tb.form('/v0/datasources/events/delete', { delete_condition: 'id = 1 --', dry_run: 'true' })).json(), { rows_to_be_deleted: 1 });
    assert.deepEqual(await (await tb.form('/v0/datasources/events/delete', { delete_condition: "v = 'x'' OR 1=1 --'", dry_run: 'true' })).json(), { rows_to_be_deleted: 0 });
    await assertIntact();
  });

  test('replace_condition escapes are refused with a 400 and replace nothing', async () => {
    for (const [condition, message] of conditionAttacks) {
      const response = await tb.upload(`name=events&mode=replace&format=csv&replace_condition=${encodeURIComponent(condition)}`, 'csv', 'r.csv', '3,new\n');
      const body = (await response.json()) as Body;
      assert.equal(response.status, 400, `${condition}: ${JSON.stringify(body)}`);
      assert.match(String(body['error']), message, condition);
    }
    await assertIntact();
  });

  test('token row filters that escape are refused when the token is made, or make every read of a later data source 403', async () => {
    for (const [filter, message] of conditionAttacks) {
      const response = await tb.form('/v0/tokens', { name: 'escaping-filter', scope: `DATASOURCES:READ:events:${filter}` });
      const body = (await response.json()) as Body;
      assert.equal(response.status, 400, `${filter}: ${JSON.stringify(body)}`);
      assert.match(String(body['error']), message, filter);
    }
    // The JSON form of a scope is checked alike.
    const json = await server.fetch('/v0/tokens', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'escaping-json', scopes: [{ type: 'DATASOURCES:READ', resource: 'events', filter: "getenv('HOME') IS NOT NULL" }] }),
    });
    assert.deepEqual([json.status, await json.json()], [400, { error: 'Function "getenv" is not allowed' }]);
    assert.equal(server.core.tokens.find('escaping-filter'), undefined);

    // A filter on a data source that does not exist yet is stored unchecked; once it exists, every read through it is refused.
    const later = await (await tb.form('/v0/tokens', { name: 'later', scope: "DATASOURCES:READ:later:read_text('/etc/passwd') IS NOT NULL" })).json();
    assert.equal((await tb.form('/v0/datasources?name=later', { schema: 'id Int32' })).status, 200);
    for (const query of ['SELECT * FROM later', 'SELECT count() FROM later']) {
      const response = await server.fetch(`/v0/sql?q=${encodeURIComponent(query)}`, { token: later.token });
      const text = await response.text();
      assert.deepEqual([response.status, JSON.parse(text)], [403, { error: 'The token\'s row filter on table "later" cannot be applied: Function "read_text" is not allowed' }], query);
      assertNoLeak(text, query);
    }
    // A filter ending in a comment is applied as written, not swallowing the rest of the query.
    const commented = await (await tb.form('/v0/tokens', { name: 'commented', scope: 'DATASOURCES:READ:events:id = 1 --' })).json();
    const rows = await server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT id, v FROM events ORDER BY id')}`, { token: commented.token });
    assert.deepEqual((await rows.json()).data, [{ id: 1, v: 'mine' }]);
  });

  test('DEFAULT expressions that escape are refused on create, and the data source is not created', async () => {
    const defaults: Array<[string, RegExp]> = [
      ["getenv('HOME')", denied('getenv')],
      ["current_setting('threads')", denied('current_setting')],
      ["read_text('/etc/passwd')", denied('read_text')],
      ['current_query()', denied('current_query')],
      ["nextval('s')", denied('nextval')],
      ['(SELECT k FROM secrets)', /^Subqueries are not allowed in this expression$/],
      [`(SELECT content FROM read_text('${SPOOL}/upload.csv'))`, /^Subqueries are not allowed in this expression$/],
      ['count(*)', /^Aggregate function "count_star" is not allowed in this expression$/],
      ['id', /^Unknown column "id"$/],
      ["'x') , y String DEFAULT ('y'", /^Unbalanced parentheses in/],
      ["'x'; DROP TABLE events; --", /syntax error at or near ";"/],
    ];
    for (const [index, [expression, message]] of defaults.entries()) {
      const name = `default_escape_${index}`;
      const response = await tb.form(`/v0/datasources?name=${name}`, { schema: `s String DEFAULT ${expression.replaceAll(SPOOL, server.core.storage.spoolDir)}` });
      const text = await response.text();
      assert.equal(response.status, 400, `${expression}: ${text}`);
      assert.match(String(JSON.parse(text).error), message, expression);
      assertNoLeak(text, expression);
      assert.equal((await server.fetch(`/v0/datasources/${name}`)).status, 404, expression);
    }
    // Added later through alter, the same DEFAULT is refused as well.
    const alter = await tb.form('/v0/datasources/events/alter', { schema: "id Int32, v String, h String DEFAULT getenv('HOME')" });
    assert.deepEqual([alter.status, await alter.json()], [400, { error: 'Function "getenv" is not allowed' }]);
    await assertIntact();
  });

  test('column names and JSONPaths holding quotes, comments and SQL are names and keys, never SQL', async () => {
    const record = JSON.stringify({ 'a"b': 'quote', "a'b": 'apostrophe', 'k"); DROP TABLE events; --': 'path', '--': 'dashes', '; DROP TABLE events': 'semicolon', 'x\\': 'backslash' });
    const schemas: Array<[string, string, Body]> = [
      ['a double quote in a name', '`a"b` String', { 'a"b': 'quote' }],
      ['an apostrophe in a name and a path', "`a'b` String `json:$.a'b`", { "a'b": 'apostrophe' }],
      ['SQL in a JSONPath key', '`x` String `json:$.k"); DROP TABLE events; --`', { x: 'path' }],
      ['a comment as a name', '`--` String', { '--': 'dashes' }],
      ['a statement as a name', '`; DROP TABLE events` String', { '; DROP TABLE events': 'semicolon' }],
      ['a key ending in a backslash', "`y` String `json:$.['x\\\\']`", { y: 'backslash' }],
    ];
    for (const [index, [what, schema, expected]] of schemas.entries()) {
      const name = `names_${index}`;
      const response = await tb.upload(`name=${name}&format=ndjson&schema=${encodeURIComponent(schema)}`, 'ndjson', 'n.ndjson', `${record}\n`);
      assert.equal(response.status, 200, `${what}: ${await response.text()}`);
      assert.deepEqual(await tb.sql(`SELECT * FROM ${name}`), [expected], what);
    }
    const path = await tb.upload(`name=bad_path&format=ndjson&schema=${encodeURIComponent("`x` String `json:$.['a''); DROP TABLE events; --']`")}`, 'ndjson', 'n.ndjson', `${record}\n`);
    assert.deepEqual([path.status, await path.json()], [400, { error: 'Invalid JSONPath "$.[\'a\'\'); DROP TABLE events; --\']": unexpected ".[\'a\'\'); DROP TABLE events; --\']"' }]);
    const version = await tb.form(`/v0/datasources?name=versioned&engine=ReplacingMergeTree&engine_sorting_key=id&engine_ver=${encodeURIComponent('x"; DROP TABLE events; --')}`, { schema: 'id Int32, v String' });
    assert.deepEqual([version.status, await version.json()], [400, { error: 'Version column "x"; DROP TABLE events; --" is not a column of the table' }]);
    const name = await tb.form(`/v0/datasources?name=${encodeURIComponent('x"; DROP TABLE events; --')}`, { schema: 'id Int32' });
    assert.equal(name.status, 400);
    assert.match((await name.json()).error, /^Invalid Data Source name/);
    await assertIntact();
  });
});
