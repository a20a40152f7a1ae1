import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useTinybirdSuite } from '../../helpers/tinybird-suite.ts';

describe('Tinybird materialized views (pipes)', () => {
  const suite = useTinybirdSuite();
  const json = (path: string, body: unknown, token?: string) =>
    suite.server.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...(token !== undefined && { token }) });
  const events = (name: string, rows: unknown[]) =>
    suite.server.fetch(`/v0/events?name=${name}&wait=true`, { method: 'POST', body: rows.map((row) => JSON.stringify(row)).join('\n') });
  /** Creates a pipe materializing `sql` into `target`, expecting success. */
  const materialize = async (pipe: string, sql: string, target: string) => {
    const response = await json('/v0/pipes', { name: pipe, nodes: [{ name: `${pipe}_node`, sql, type: 'materialized', datasource: target }] });
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    return body;
  };
  const sales = async (name: string) => {
    assert.equal((await suite.tb.form(`/v0/datasources?name=${name}`, { schema: 'id Int64, country String, amount Float64' })).status, 200);
    assert.equal((await events(name, [{ id: 1, country: 'ES', amount: 2.5 }, { id: 2, country: 'FR', amount: 4 }, { id: 3, country: 'ES', amount: 1 }])).status, 200);
  };

  test("a materialized view's target equals its SQL over the source after events, appends, a delete job, a replace and a truncate", async () => {
    await sales('orders');
    const created = await materialize('by_country', 'SELECT country, count() AS n, sum(amount) AS total FROM orders GROUP BY country', 'country_totals');
    assert.equal(created.type, 'materialized');
    assert.deepEqual(created.nodes.map((node: Record<string, unknown>) => [node['name'], node['node_type'], node['materialized'], node['dependencies']]),
      [['by_country_node', 'materialized', 'country_totals', ['orders']]]);
    const totals = () => suite.tb.sql('SELECT country, n, total FROM country_totals ORDER BY country');
    const expected = () => suite.tb.sql('SELECT country, count() AS n, sum(amount) AS total FROM orders GROUP BY country ORDER BY country');
    assert.deepEqual(await totals(), [{ country: 'ES', n: 2, total: 3.5 }, { country: 'FR', n: 1, total: 4 }]);
    await events('orders', [{ id: 4, country: 'DE', amount: 7 }]);
    await suite.tb.upload('name=orders&mode=append', 'csv', 'o.csv', '5,FR,1\n');
    assert.deepEqual(await totals(), await expected());
    assert.deepEqual((await totals()).length, 3);
    const deleted = await (await suite.tb.form('/v0/datasources/orders/delete', { delete_condition: "country = 'FR'" })).json();
    assert.equal((await suite.tb.waitForJob(deleted.job_id)).status, 'done');
    assert.deepEqual(await totals(), [{ country: 'DE', n: 1, total: 7 }, { country: 'ES', n: 2, total: 3.5 }]);
    assert.equal((await suite.tb.upload('name=orders&mode=replace', 'csv', 'o.csv', '9,PT,5\n')).status, 200);
    assert.deepEqual(await totals(), [{ country: 'PT', n: 1, total: 5 }]);
    assert.equal((await suite.server.fetch('/v0/datasources/orders/truncate', { method: 'POST' })).status, 205);
    assert.deepEqual(await totals(), []);
  });

  test('a replace cascades through a chain of materialized views A → B → C', async () => {
    await sales('chain_a');
    await materialize('a_to_b', 'SELECT country, sum(amount) AS total FROM chain_a GROUP BY country', 'chain_b');
    await materialize('b_to_c', 'SELECT count() AS countries, sum(total) AS total FROM chain_b', 'chain_c');
    assert.deepEqual(await suite.tb.sql('SELECT * FROM chain_c'), [{ countries: 2, total: 7.5 }]);
    await suite.tb.upload('name=chain_a&mode=replace', 'csv', 'a.csv', '1,PT,1\n2,IT,2\n3,GR,3\n');
    assert.deepEqual(await suite.tb.sql('SELECT * FROM chain_c'), [{ countries: 3, total: 6 }]);
  });

  test("materializing into an existing empty data source keeps its columns, types and READ tokens, the node's values cast to them", async () => {
    await sales('typed_source');
    assert.equal((await suite.tb.form('/v0/datasources?name=typed_target', { schema: 'country LowCardinality(String), n UInt32' })).status, 200);
    const { token } = await (await suite.server.fetch('/v0/tokens?name=typed_reader&scope=DATASOURCES:READ:typed_target', { method: 'POST' })).json();
    await materialize('typed', 'SELECT country, count() AS n, max(id) AS ignored FROM typed_source GROUP BY country', 'typed_target');
    const described = await (await suite.server.fetch('/v0/datasources/typed_target')).json();
    assert.deepEqual(described.columns.map((column: { name: string; type: string }) => [column.name, column.type]), [['country', 'LowCardinality(String)'], ['n', 'UInt32']]);
    assert.equal(described.statistics.row_count, 2);
    const read = await suite.server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT * FROM typed_target ORDER BY country FORMAT JSON')}`, { token });
    const body = await read.json();
    assert.equal(read.status, 200, JSON.stringify(body));
    assert.deepEqual([body.meta, body.data], [[{ name: 'country', type: 'String' }, { name: 'n', type: 'UInt32' }], [{ country: 'ES', n: 2 }, { country: 'FR', n: 1 }]]);
    // The token reads the target, not the source.
    assert.equal((await suite.server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT * FROM typed_source')}`, { token })).status, 403);
  });

  test('a target holding rows, lacking a column the node must give, or already materialized into is refused, and nothing is created', async () => {
    await sales('guarded_source');
    assert.equal((await suite.tb.form('/v0/datasources?name=holding', { schema: 'country String' })).status, 200);
    await events('holding', [{ country: 'XX' }]);
    assert.equal((await suite.tb.form('/v0/datasources?name=wider', { schema: 'country String, missing Int32' })).status, 200);
    await materialize('first', 'SELECT DISTINCT country FROM guarded_source', 'taken');
    const cases: Array<[string, number, RegExp]> = [
      ['holding', 400, /holds rows/], ['wider', 400, /gives no column "missing"/], ['taken', 400, /already the target of pipe "first"/],
    ];
    for (const [target, status, message] of cases) {
      const response = await json('/v0/pipes', { name: `into_${target}`, nodes: [{ sql: 'SELECT DISTINCT country FROM guarded_source', type: 'materialized', datasource: target }] });
      const body = await response.json();
      assert.equal(response.status, status, target);
      assert.match(body.error, message, target);
      assert.equal((await suite.server.fetch(`/v0/pipes/into_${target}`)).status, 404, target);
    }
    assert.deepEqual(await suite.tb.sql('SELECT country FROM holding'), [{ country: 'XX' }]);
    assert.deepEqual((await (await suite.server.fetch('/v0/datasources/wider')).json()).columns.length, 2);
  });

  test("the target is listed with the data sources and its source's used_by names the pipe (and endpoints reading it); it is not written to; a pipe's source and a target another pipe reads are not dropped (409)", async () => {
    await sales('watched');
    await materialize('watch', 'SELECT country, count() AS n FROM watched GROUP BY country', 'watch_target');
    await materialize('watch_more', 'SELECT sum(n) AS n FROM watch_target', 'watch_total');
    const listed = (await (await suite.server.fetch('/v0/datasources')).json()).datasources.map((datasource: { name: string }) => datasource.name);
    assert.ok(listed.includes('watch_target') && listed.includes('watch_total'), listed.join());
    // An endpoint reading it is a user too (a CTE of its name is not), but does not keep it from being dropped, as in Tinybird.
    assert.equal((await json('/v0/pipes', { name: 'watch_endpoint', nodes: [{ name: 'spain', sql: "SELECT * FROM watched WHERE country = 'ES'" }, { sql: 'SELECT count() AS n FROM spain' }] })).status, 200);
    assert.equal((await json('/v0/pipes', { name: 'watch_shadow', nodes: [{ sql: 'WITH watched AS (SELECT 1 AS x) SELECT * FROM watched' }] })).status, 200);
    // A node named like it stands for it in the nodes after, not in those before, which read it.
    assert.equal((await json('/v0/pipes', { name: 'watch_renamed', nodes: [{ name: 'first', sql: 'SELECT * FROM watched' }, { name: 'watched', sql: 'SELECT * FROM first' }, { sql: 'SELECT count() AS n FROM watched' }] })).status, 200);
    assert.equal((await json('/v0/pipes', { name: 'watch_node', nodes: [{ name: 'watched', sql: 'SELECT 1 AS x' }, { sql: 'SELECT * FROM watched' }] })).status, 200);
    const pipeIds = Object.fromEntries((await (await suite.server.fetch('/v0/pipes')).json()).pipes.map((pipe: { id: string; name: string }) => [pipe.name, pipe.id]));
    assert.deepEqual((await (await suite.server.fetch('/v0/datasources/watched')).json()).used_by, [
      { id: pipeIds['watch'], name: 'watch' }, { id: pipeIds['watch_endpoint'], name: 'watch_endpoint' }, { id: pipeIds['watch_renamed'], name: 'watch_renamed' },
    ]);
    const refusals = [
      await events('watch_target', [{ country: 'XX', n: 1 }]),
      await suite.tb.upload('name=watch_target&mode=append', 'csv', 't.csv', 'XX,1\n'),
      await suite.server.fetch('/v0/datasources/watch_target/truncate', { method: 'POST' }),
      await suite.tb.form('/v0/datasources/watch_target/delete', { delete_condition: '1 = 1' }),
      await suite.tb.form('/v0/datasources/watch_target/alter', { schema: 'country String, n Int64, extra String' }),
    ];
    for (const response of refusals) assert.equal(response.status, 400, await response.text());
    assert.deepEqual(await suite.tb.sql('SELECT sum(n) AS n FROM watch_target'), [{ n: 3 }]);
    const dropSource = await suite.server.fetch('/v0/datasources/watched', { method: 'DELETE' });
    assert.equal(dropSource.status, 409);
    assert.match((await dropSource.json()).error, /used by pipe "watch"/);
    const dropPipe = await suite.server.fetch('/v0/pipes/watch', { method: 'DELETE' });
    assert.equal(dropPipe.status, 409);
    assert.match((await dropPipe.json()).error, /"watch_target" is used by pipe "watch_more"/);
    // Deleting the pipes drops their targets, the last first; the source is free again.
    assert.equal((await suite.server.fetch('/v0/pipes/watch_more', { method: 'DELETE' })).status, 204);
    assert.equal((await suite.server.fetch('/v0/pipes/watch', { method: 'DELETE' })).status, 204);
    assert.equal((await suite.server.fetch('/v0/datasources/watch_target')).status, 404);
    assert.deepEqual((await (await suite.server.fetch('/v0/datasources/watched')).json()).used_by, [
      { id: pipeIds['watch_endpoint'], name: 'watch_endpoint' }, { id: pipeIds['watch_renamed'], name: 'watch_renamed' },
    ]);
    assert.equal((await suite.server.fetch('/v0/datasources/watched', { method: 'DELETE' })).status, 204);
  });

  test('pipes are made from name and sql (a node named <pipe>_0) or JSON nodes, listed, read by name or id, deleted, and kept across a restart', async () => {
    await sales('listed_source');
    const plain = await suite.tb.form('/v0/pipes', { name: 'plain', sql: 'SELECT count() AS n FROM listed_source' });
    const plainBody = await plain.json();
    assert.equal(plain.status, 200, JSON.stringify(plainBody));
    assert.deepEqual([plainBody.type, plainBody.nodes[0].name, plainBody.nodes[0].node_type, plainBody.nodes[0].materialized], ['endpoint', 'plain_0', 'standard', null]);
    const formed = await suite.tb.form('/v0/pipes', { name: 'formed', sql: 'SELECT country FROM listed_source', type: 'materialized', datasource: 'formed_target' });
    assert.equal(formed.status, 200);
    await suite.server.restart();
    const names = (await (await suite.server.fetch('/v0/pipes')).json()).pipes.map((pipe: { name: string }) => pipe.name);
    assert.ok(names.includes('plain') && names.includes('formed'), names.join());
    const byId = await (await suite.server.fetch(`/v0/pipes/${plainBody.id}`)).json();
    assert.equal(byId.name, 'plain');
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM formed_target'), [{ n: 3 }]);
    assert.equal((await suite.server.fetch('/v0/pipes/plain', { method: 'DELETE' })).status, 204);
    assert.equal((await suite.server.fetch('/v0/pipes/plain')).status, 404);
  });

  test("a pipe's endpoint runs its last node over the earlier ones (by name, a WITH of its own too) in JSON, CSV with names, NDJSON or Parquet; a materialized pipe has none", async () => {
    await sales('served');
    const created = await json('/v0/pipes', { name: 'served_top', nodes: [
      { name: 'big', sql: 'SELECT * FROM served WHERE amount > 1' },
      { name: 'shown', sql: 'WITH 10 AS scale SELECT country, sum(amount) * scale AS total FROM big GROUP BY country ORDER BY country' },
    ] });
    const pipe = await created.json();
    assert.deepEqual([created.status, pipe.type, pipe.endpoint], [200, 'endpoint', pipe.nodes[1].id]);
    const body = await (await suite.server.fetch('/v0/pipes/served_top.json')).json();
    assert.deepEqual([body.meta, body.data, body.rows], [[{ name: 'country', type: 'String' }, { name: 'total', type: 'Float64' }], [{ country: 'ES', total: 25 }, { country: 'FR', total: 40 }], 2]);
    assert.equal(await (await suite.server.fetch('/v0/pipes/served_top.csv')).text(), '"country","total"\n"ES",25\n"FR",40\n');
    assert.equal(await (await suite.server.fetch('/v0/pipes/served_top.ndjson')).text(), '{"country":"ES","total":25}\n{"country":"FR","total":40}\n');
    const parquet = await suite.server.fetch('/v0/pipes/served_top.parquet');
    assert.equal(Buffer.from(await parquet.arrayBuffer()).subarray(0, 4).toString(), 'PAR1');
    await materialize('served_mv', 'SELECT count() AS n FROM served', 'served_count');
    const none = await suite.server.fetch('/v0/pipes/served_mv.json');
    assert.equal(none.status, 400);
    assert.match((await none.json()).error, /has no endpoint: .* materializes into Data Source "served_count"/);
    const { token } = await (await suite.server.fetch('/v0/tokens?name=elsewhere&scope=DATASOURCES:READ:served_count', { method: 'POST' })).json();
    assert.equal((await suite.server.fetch('/v0/pipes/served_top.json', { token })).status, 403);
  });

  test("a target's values: one that does not fit its column is NULL (its DEFAULT or zero where not Nullable) and the target stays readable; its columns, types and DEFAULTs are the data source's, fixed when it is made", async () => {
    assert.equal((await suite.tb.form('/v0/datasources?name=fit_source', { schema: 'id Int32, price Float64, label Nullable(String)' })).status, 200);
    await events('fit_source', [{ id: 1, price: 9.5, label: 'a' }, { id: -5, price: 12345678.9, label: null }]);
    assert.equal((await suite.tb.form('/v0/datasources?name=fit_target', { schema: "id UInt8, price Decimal(5, 2), label String DEFAULT 'none', at DateTime64(3)" })).status, 200);
    await materialize('fit', "SELECT id, price, label, toDateTime64('2024-01-01 00:00:00.5', 3) AS at FROM fit_source", 'fit_target');
    const body = await (await suite.server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT * FROM fit_target ORDER BY id FORMAT JSON')}`)).json();
    assert.deepEqual(body.data, [
      { id: 0, price: 0, label: 'none', at: '2024-01-01 00:00:00.500' },
      { id: 1, price: 9.5, label: 'a', at: '2024-01-01 00:00:00.500' },
    ]);
    assert.deepEqual(body.meta.map((column: { type: string }) => column.type), ['UInt8', 'Decimal(5, 2)', 'String', 'DateTime64(3)']);
    const described = await (await suite.server.fetch('/v0/datasources/fit_target')).json();
    assert.deepEqual(described.columns.map((column: { default_value: string | null }) => column.default_value), [null, null, "'none'", null]);
    // A SELECT * target keeps the columns it had: one added to the source later is not its.
    await materialize('star', 'SELECT * FROM fit_source', 'star_target');
    assert.equal((await suite.tb.form('/v0/datasources/fit_source/alter', { schema: 'id Int32, price Float64, label Nullable(String), extra Nullable(Int32)' })).status, 200);
    assert.deepEqual(Object.keys((await suite.tb.sql('SELECT * FROM star_target LIMIT 1'))[0]!), ['id', 'price', 'label']);
    assert.deepEqual((await (await suite.server.fetch('/v0/datasources/star_target')).json()).columns.length, 3);
  });

  test("a listing does not count a target's rows (that runs its query): it gives null, and the data source asked for by name counts them", async () => {
    await sales('counted_source');
    await materialize('counted', 'SELECT country FROM counted_source', 'counted_target');
    const listed = (await (await suite.server.fetch('/v0/datasources')).json()).datasources.find((datasource: { name: string }) => datasource.name === 'counted_target');
    assert.equal(listed.statistics.row_count, null);
    assert.equal((await (await suite.server.fetch('/v0/datasources/counted_target')).json()).statistics.row_count, 3);
  });

  test("writes to a target are 400s naming its pipe, URL imports and events included; a keyed data source is not a target; an endpoint needs a read scope", async () => {
    await sales('written_source');
    await materialize('written', 'SELECT country, count() AS n FROM written_source GROUP BY country', 'written_target');
    const url = suite.files.serve('/written.csv', 'XX,1\n');
    const attempts = [
      await events('written_target', [{ country: 'XX', n: 1 }]),
      await suite.tb.form('/v0/datasources?name=written_target&mode=append', { url }),
      await suite.tb.upload('name=written_target&mode=append', 'csv', 'w.csv', 'XX,1\n'),
    ];
    for (const response of attempts) {
      assert.equal(response.status, 400);
      assert.match(await response.text(), /is the materialized view of pipe \\?"written\\?"/);
    }
    assert.equal((await suite.tb.form('/v0/datasources?name=keyed_target', { schema: 'country String, n UInt64', engine: 'ReplacingMergeTree', engine_sorting_key: 'country' })).status, 200);
    const keyed = await json('/v0/pipes', { name: 'keyed', nodes: [{ sql: 'SELECT country, count() AS n FROM written_source GROUP BY country', type: 'materialized', datasource: 'keyed_target' }] });
    assert.equal(keyed.status, 400);
    assert.match((await keyed.json()).error, /is keyed/);
    await json('/v0/pipes', { name: 'written_endpoint', nodes: [{ sql: 'SELECT count() AS n FROM written_source' }] });
    const { token } = await (await suite.server.fetch('/v0/tokens?name=appender&scope=DATASOURCES:APPEND:written_source', { method: 'POST' })).json();
    for (const path of ['/v0/pipes/written_endpoint.json', '/v0/pipes/written.json', '/v0/pipes/nowhere.json']) {
      assert.equal((await suite.server.fetch(path, { token })).status, 403, path);
    }
  });

  test("an earlier node may end in a comment or a semicolon and the last open with a comment; an endpoint's SQL is checked when the pipe is made; concurrent creates of one name make one pipe", async () => {
    await sales('noted_source');
    const created = await json('/v0/pipes', { name: 'noted', nodes: [
      { name: 'first', sql: 'SELECT country FROM noted_source -- the countries' }, { name: 'second', sql: 'SELECT DISTINCT country FROM first;' },
      { sql: '-- the count\nWITH 2 AS two SELECT count() * two AS n FROM second' },
    ] });
    assert.equal(created.status, 200, await created.clone().text());
    assert.deepEqual((await (await suite.server.fetch('/v0/pipes/noted.json')).json()).data, [{ n: 4 }]);
    for (const [sql, message] of [['SELEC garbage', /syntax error/], ['SELECT * FROM nothing_here', /nothing_here/]] as const) {
      const refused = await json('/v0/pipes', { name: 'unchecked', nodes: [{ sql }] });
      assert.equal(refused.status, 400, sql);
      assert.match((await refused.json()).error, message);
    }
    assert.equal((await suite.server.fetch('/v0/pipes/unchecked')).status, 404);
    const racing = await Promise.all(Array.from({ length: 10 }, () => json('/v0/pipes', { name: 'raced', nodes: [{ sql: 'SELECT 1 AS a' }] })));
    assert.deepEqual(racing.map((response) => response.status).sort(), [200, ...Array(9).fill(400)]);
    const named = (await (await suite.server.fetch('/v0/pipes')).json()).pipes.filter((pipe: { name: string }) => pipe.name === 'raced');
    assert.equal(named.length, 1);
  });

  test('a data source made a target keeps its id and creation time, and is refused while its quarantine holds rows', async () => {
    await sales('kept_source');
    assert.equal((await suite.tb.form('/v0/datasources?name=kept_target', { schema: 'country String, n UInt64' })).status, 200);
    const before = await (await suite.server.fetch('/v0/datasources/kept_target')).json();
    const pipe = await materialize('kept', 'SELECT country, count() AS n FROM kept_source GROUP BY country', 'kept_target');
    assert.equal(pipe.materialized_datasource, before.id);
    const after = await (await suite.server.fetch(`/v0/datasources/${before.id}`)).json();
    assert.deepEqual([after.name, after.created_at, after.statistics.row_count], ['kept_target', before.created_at, 2]);
    assert.equal((await suite.tb.form('/v0/datasources?name=quarantined_target', { schema: 'country String, n UInt32' })).status, 200);
    assert.equal((await suite.tb.upload('name=quarantined_target&mode=append', 'csv', 'q.csv', 'ES,not a number\n')).status, 200);
    const refused = await json('/v0/pipes', { name: 'quarantined', nodes: [{ sql: 'SELECT country, count() AS n FROM kept_source GROUP BY country', type: 'materialized', datasource: 'quarantined_target' }] });
    assert.equal(refused.status, 400);
    assert.match((await refused.json()).error, /has 1 rows in "quarantined_target_quarantine", which would go with it/);
    assert.equal((await suite.server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT count() AS n FROM quarantined_target_quarantine FORMAT JSON')}`).then((response) => response.json())).data[0].n, 1);
  });

  test('a node ending in ; materializes; a DateTime DEFAULT now() stands in for a value that does not fit; a FixedString is padded, and a longer value is its default', async () => {
    assert.equal((await suite.tb.form('/v0/datasources?name=stamped_source', { schema: 'code String, at String' })).status, 200);
    assert.equal((await events('stamped_source', [{ code: 'ab', at: '2024-01-02 03:04:05' }, { code: 'abcdef', at: 'not a time' }])).status, 200);
    assert.equal((await suite.tb.form('/v0/datasources?name=stamped_target', { schema: 'code FixedString(3), at DateTime DEFAULT now()' })).status, 200);
    await materialize('stamped', 'SELECT code, at FROM stamped_source;', 'stamped_target');
    const read = await suite.server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT hex(code) AS code, at > toDateTime(\'2025-01-01 00:00:00\') AS now_filled, at FROM stamped_target ORDER BY code FORMAT JSON')}`);
    const body = await read.json();
    assert.equal(read.status, 200, JSON.stringify(body));
    assert.deepEqual(body.data.map((row: { code: string; now_filled: unknown }) => [row.code, Boolean(row.now_filled)]), [['000000', true], ['616200', false]]);
    assert.equal(body.data[1].at, '2024-01-02 03:04:05');
  });

  test("a target's integer column drops a Float64's fraction and its String column writes it as ClickHouse's cast does", async () => {
    assert.equal((await suite.tb.form('/v0/datasources?name=cast_source', { schema: 'amount Float64' })).status, 200);
    assert.equal((await events('cast_source', [{ amount: 1.5 }, { amount: -2.5 }, { amount: 3 }])).status, 200);
    assert.equal((await suite.tb.form('/v0/datasources?name=cast_target', { schema: 'whole Int32, written String' })).status, 200);
    await materialize('cast_pipe', 'SELECT amount AS whole, amount AS written FROM cast_source', 'cast_target');
    const body = await (await suite.server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT * FROM cast_target ORDER BY whole FORMAT JSON')}`)).json();
    assert.deepEqual(body.data, [{ whole: -2, written: '-2.5' }, { whole: 1, written: '1.5' }, { whole: 3, written: '3' }]);
  });

  test('a pipe named like another pipe\'s id does not take its place: names are found first', async () => {
    const first = await (await json('/v0/pipes', { name: 'by_id', nodes: [{ sql: 'SELECT 1 AS answer' }] })).json();
    assert.equal((await json('/v0/pipes', { name: first.id, nodes: [{ sql: 'SELECT 42 AS answer' }] })).status, 400);
    assert.equal((await (await suite.server.fetch(`/v0/pipes/${first.id}`)).json()).name, 'by_id');
    assert.deepEqual((await (await suite.server.fetch(`/v0/pipes/${first.id}.json`)).json()).data, [{ answer: 1 }]);
  });

  test('a token that reads only another data source learns nothing of a pipe: one it may not read and none at all are the same 403', async () => {
    await sales('secret_source');
    assert.equal((await suite.tb.form('/v0/datasources?name=other_source', { schema: 'x Int32' })).status, 200);
    await materialize('secret_mv', 'SELECT country, count() AS n FROM secret_source GROUP BY country', 'secret_target');
    await json('/v0/pipes', { name: 'secret_endpoint', nodes: [{ sql: 'SELECT count() AS n FROM secret_source' }] });
    const { token } = await (await suite.server.fetch('/v0/tokens?name=other_reader&scope=DATASOURCES:READ:other_source', { method: 'POST' })).json();
    const answers = await Promise.all(['secret_mv', 'secret_endpoint', 'no_such_pipe'].map(async (name) => {
      const response = await suite.server.fetch(`/v0/pipes/${name}.json`, { token });
      return [response.status, (await response.json()).error];
    }));
    assert.deepEqual(answers, ['secret_mv', 'secret_endpoint', 'no_such_pipe'].map((name) => [403, `The token may not read pipe "${name}"`]));
    const { token: targetReader } = await (await suite.server.fetch('/v0/tokens?name=target_reader&scope=DATASOURCES:READ:secret_target', { method: 'POST' })).json();
    const told = await suite.server.fetch('/v0/pipes/secret_mv.json', { token: targetReader });
    assert.equal(told.status, 400);
    assert.match((await told.json()).error, /materializes into Data Source "secret_target"/);
  });

  test('the SQL API reads a pipe by name as its endpoint, a pipe reading another pipe too; a CTE or data source of that name is read instead, and the sources need a read scope', async () => {
    await sales('piped_source');
    assert.equal((await json('/v0/pipes', { name: 'spanish_totals', nodes: [{ name: 'spain', sql: "SELECT * FROM piped_source WHERE country = 'ES'" }, { sql: 'SELECT country, sum(amount) AS total FROM spain GROUP BY country' }] })).status, 200);
    assert.equal((await json('/v0/pipes', { name: 'doubled', nodes: [{ sql: 'SELECT country, total * 2 AS twice FROM spanish_totals' }] })).status, 200);
    const query = async (sql: string, token?: string) => {
      const response = await suite.server.fetch(`/v0/sql?q=${encodeURIComponent(`${sql} FORMAT JSON`)}`, token === undefined ? {} : { token });
      return [response.status, (await response.json()).data ?? null];
    };
    assert.deepEqual(await query('SELECT * FROM spanish_totals'), [200, [{ country: 'ES', total: 3.5 }]]);
    assert.deepEqual(await query('WITH 10 AS ten SELECT d.twice * ten AS n FROM doubled AS d JOIN spanish_totals USING (country)'), [200, [{ n: 70 }]]);
    assert.deepEqual((await (await suite.server.fetch('/v0/pipes/doubled.json')).json()).data, [{ country: 'ES', twice: 7 }]);
    assert.deepEqual(await query('WITH spanish_totals AS (SELECT 1 AS own) SELECT * FROM spanish_totals'), [200, [{ own: 1 }]]);
    const { token } = await (await suite.server.fetch('/v0/tokens?name=piped_outsider&scope=DATASOURCES:READ:kept_source', { method: 'POST' })).json();
    assert.deepEqual(await query('SELECT * FROM spanish_totals', token), [403, null]);
  });

  test("an endpoint's q is a query over its result as _ and its nodes by name, by GET or POST (a form or JSON); the SQL API's pipeline= reads the same; a materialized pipe's _ is its target", async () => {
    await sales('over_source');
    assert.equal((await json('/v0/pipes', { name: 'over', nodes: [
      { name: 'spain', sql: "SELECT * FROM over_source WHERE country = 'ES'" }, { name: 'totals', sql: 'SELECT country, sum(amount) AS total FROM spain GROUP BY country' },
    ] })).status, 200);
    const endpoint = async (q: string, init: RequestInit = {}) => {
      const response = await suite.server.fetch(init.method === 'POST' ? '/v0/pipes/over.json' : `/v0/pipes/over.json?q=${encodeURIComponent(q)}`, init);
      const body = await response.json();
      return [response.status, body.data ?? body.error];
    };
    assert.deepEqual(await endpoint('SELECT count() AS n FROM _'), [200, [{ n: 1 }]]);
    assert.deepEqual(await endpoint('SELECT id FROM spain ORDER BY id'), [200, [{ id: 1 }, { id: 3 }]]);
    assert.deepEqual(await endpoint('SELECT total * 2 AS twice FROM _ JOIN spain USING (country) ORDER BY id'), [200, [{ twice: 7 }, { twice: 7 }]]);
    assert.deepEqual(await endpoint('', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `q=${encodeURIComponent('SELECT total FROM _')}` }), [200, [{ total: 3.5 }]]);
    assert.deepEqual(await endpoint('', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q: 'SELECT max(id) AS top FROM spain' }) }), [200, [{ top: 3 }]]);
    assert.deepEqual(await endpoint('', { method: 'POST' }), [200, [{ country: 'ES', total: 3.5 }]]);
    const sql = async (q: string, pipeline: string) => {
      const response = await suite.server.fetch(`/v0/sql?q=${encodeURIComponent(q)}&pipeline=${pipeline}`);
      const body = await response.json();
      return [response.status, body.data ?? body.error];
    };
    assert.deepEqual(await sql('SELECT total FROM _', 'over'), [200, [{ total: 3.5 }]]);
    assert.deepEqual(await sql('SELECT count() AS n FROM spain', 'over'), [200, [{ n: 2 }]]);
    assert.deepEqual(await sql('SELECT 1 FROM _', 'missing_pipe'), [404, 'Pipe "missing_pipe" does not exist']);
    await materialize('over_mv', 'SELECT country, count() AS n FROM over_source GROUP BY country', 'over_target');
    assert.deepEqual(await sql('SELECT n FROM _ ORDER BY country', 'over_mv'), [200, [{ n: 2 }, { n: 1 }]]);
    // A node it does not name is not run, and a token must read what the query does.
    const { token } = await (await suite.server.fetch('/v0/tokens?name=over_outsider&scope=DATASOURCES:READ:over_target', { method: 'POST' })).json();
    assert.equal((await suite.server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT count() AS n FROM _ FORMAT JSON')}&pipeline=over`, { token })).status, 403);
    assert.equal((await suite.server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT n FROM _ FORMAT JSON')}&pipeline=over_mv`, { token })).status, 200);
  });

  test('a pipe request that does not fit is a 400 naming the problem (a name taken by a pipe or data source too), and managing pipes needs DATASOURCES:CREATE', async () => {
    await sales('checked_source');
    const cases: Array<[unknown, number, RegExp]> = [
      [{ nodes: [{ sql: 'SELECT 1' }] }, 400, /name parameter is required/],
      [{ name: 'no_nodes', nodes: [] }, 400, /at least one node/],
      [{ name: 'no_sql', nodes: [{ name: 'n' }] }, 400, /needs its sql/],
      [{ name: 'templated', nodes: [{ sql: "SELECT * FROM checked_source WHERE country = {{String(c, 'ES')}}" }] }, 400, /Templates/],
      [{ name: 'odd_type', nodes: [{ sql: 'SELECT 1', type: 'copy' }] }, 400, /Unsupported node type "copy"/],
      [{ name: 'no_target', nodes: [{ sql: 'SELECT 1', type: 'materialized' }] }, 400, /needs the datasource/],
      [{ name: 'two', nodes: [{ name: 'a', sql: 'SELECT 1' }, { name: 'a', sql: 'SELECT 2' }] }, 400, /Two nodes are named "a"/],
      [{ name: 'early', nodes: [{ sql: 'SELECT 1 AS a', type: 'materialized', datasource: 'early_target' }, { sql: 'SELECT 2' }] }, 400, /only the last node may be materialized/],
      [{ name: 'selfnamed', nodes: [{ sql: 'SELECT 1 AS a', type: 'materialized', datasource: 'selfnamed' }] }, 400, /of its own name/],
      [{ name: 'bad-name', nodes: [{ sql: 'SELECT 1' }] }, 400, /Invalid Pipe name/],
      [{ name: 'checked_source', nodes: [{ sql: 'SELECT 1' }] }, 400, /already a Data Source named "checked_source"/],
      [{ name: 'unknown_source', nodes: [{ sql: 'SELECT * FROM nowhere', type: 'materialized', datasource: 'unknown_target' }] }, 400, /Data Source "nowhere" does not exist/],
      [{ name: 'unknown_endpoint', nodes: [{ sql: 'SELECT * FROM nowhere' }] }, 400, /Data Source "nowhere" does not exist/],
    ];
    for (const [body, status, message] of cases) {
      const response = await json('/v0/pipes', body);
      const answer = await response.json();
      assert.equal(response.status, status, JSON.stringify(body));
      assert.match(answer.error, message, JSON.stringify(body));
    }
    assert.equal((await json('/v0/pipes', { name: 'dup', nodes: [{ sql: 'SELECT 1' }] })).status, 200);
    const again = await json('/v0/pipes', { name: 'dup', nodes: [{ sql: 'SELECT 1' }] });
    assert.deepEqual([again.status, (await again.json()).error], [400, 'Pipe "dup" already exists']);
    const { token } = await (await suite.server.fetch('/v0/tokens?name=pipe_reader&scope=DATASOURCES:READ:checked_source', { method: 'POST' })).json();
    for (const [method, path] of [['GET', '/v0/pipes'], ['GET', '/v0/pipes/dup'], ['DELETE', '/v0/pipes/dup'], ['POST', '/v0/pipes?name=x&sql=SELECT%201']]) {
      assert.equal((await suite.server.fetch(path!, { method: method!, token })).status, 403, `${method} ${path}`);
    }
  });
});
