import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestServer } from '../../helpers/test-server.ts';
import { FelderaClient, felderaError } from './feldera-fixture.ts';

const PROGRAM = `-- orders and a view over them
CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, amount DECIMAL(10, 2), customer VARCHAR) WITH ('materialized' = 'true');
CREATE TABLE notes (body VARCHAR);
CREATE MATERIALIZED VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100;
CREATE LOCAL VIEW helper AS SELECT count(*) AS n FROM notes;`;

interface SqlMessage {
  start_line_number: number;
  start_column: number;
  message: string;
}

const sqlErrorOf = (pipeline: Record<string, unknown>): SqlMessage => {
  assert.equal(pipeline['program_status'], 'SqlError');
  const error = pipeline['program_error'] as { sql_compilation: { messages: SqlMessage[] } };
  return error.sql_compilation.messages[0]!;
};

describe('Feldera pipelines', () => {
  let server: TestServer;
  let client: FelderaClient;
  before(async () => {
    server = await TestServer.start();
    client = new FelderaClient(server);
  });
  after(() => server.stop());

  const tablesOf = (name: string) =>
    server.core.catalog.listTables(server.core.catalog.getNamespace(name).id, { includeViews: true }).map((table) => `${table.kind}:${table.name}`);

  test('POST creates a pipeline whose program compiles into tables and views; GET and the list show it', async () => {
    const response = await server.fetch('/v0/pipelines', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'shop', description: 'orders', program_code: PROGRAM, runtime_config: { workers: 4 } }),
    });
    assert.equal(response.status, 201);
    const created = (await response.json()) as Record<string, any>;
    assert.equal(created['name'], 'shop');
    assert.equal(created['description'], 'orders');
    assert.equal(created['program_status'], 'Success');
    assert.equal(created['deployment_status'], 'Stopped');
    assert.deepEqual(created['runtime_config'], { workers: 4 });
    assert.match(created['id'], /^[0-9a-f-]{36}$/);
    assert.deepEqual(created['program_info'].schema.inputs.map((input: { name: string }) => input.name), ['orders', 'notes']);
    assert.deepEqual(created['program_info'].schema.outputs.map((output: { name: string }) => output.name), ['big_orders']);
    assert.deepEqual(created['program_info'].schema.inputs[0].fields.map((field: { name: string; columntype: unknown }) => [field.name, field.columntype]), [
      ['id', { type: 'INTEGER', nullable: false }], ['amount', { type: 'DECIMAL', nullable: true, precision: 10, scale: 2 }], ['customer', { type: 'VARCHAR', nullable: true, precision: -1 }],
    ]);
    const fetched = (await (await client.get('shop')).json()) as Record<string, unknown>;
    assert.equal(fetched['program_code'], PROGRAM);
    const listed = (await (await server.fetch('/v0/pipelines')).json()) as Array<{ name: string }>;
    assert.ok(listed.some((pipeline) => pipeline.name === 'shop'));
  });

  test("program_info gives column types in Calcite's JSON form, as Feldera does: lengths as precision, arrays' components, maps' keys and values, rows' fields", async () => {
    const response = await client.putPipeline('typed', {
      program_code: `CREATE TABLE t (c CHAR(3), v VARCHAR(8), b VARBINARY, u BIGINT UNSIGNED, r REAL, ts TIMESTAMP NOT NULL,
        a INT ARRAY, m MAP<VARCHAR, INT>, p ROW(x INT NULL, "Y" VARCHAR), j VARIANT);`,
    });
    const created = (await response.json()) as Record<string, any>;
    const types = Object.fromEntries(created['program_info'].schema.inputs[0].fields.map((field: { name: string; columntype: unknown }) => [field.name, field.columntype]));
    assert.deepEqual(types, {
      c: { type: 'CHAR', nullable: true, precision: 3 },
      v: { type: 'VARCHAR', nullable: true, precision: 8 },
      b: { type: 'VARBINARY', nullable: true, precision: -1 },
      u: { type: 'UBIGINT', nullable: true },
      r: { type: 'REAL', nullable: true },
      ts: { type: 'TIMESTAMP', nullable: false, precision: 0 },
      a: { type: 'ARRAY', nullable: true, component: { type: 'INTEGER', nullable: true } },
      m: { type: 'MAP', nullable: true, key: { type: 'VARCHAR', nullable: false, precision: -1 }, value: { type: 'INTEGER', nullable: true } },
      p: { type: 'STRUCT', nullable: true, fields: [
        { name: 'x', case_sensitive: false, columntype: { type: 'INTEGER', nullable: true } },
        { name: 'Y', case_sensitive: true, columntype: { type: 'VARCHAR', nullable: false, precision: -1 } },
      ] },
      j: { type: 'VARIANT', nullable: true },
    });
  });

  test('a name already taken is 409 DuplicateName, also by another dialect’s namespace, which the message names as such; an unknown one is 404', async () => {
    await client.pipeline('dup', PROGRAM, { start: false });
    const body = (name: string) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, program_code: '' }) });
    assert.equal((await felderaError(await server.fetch('/v0/pipelines', body('dup')), 409, 'DuplicateName')).message, "A pipeline named 'dup' already exists");
    // The Tinybird workspace's name is no pipeline's, and the answer says so, as a GET of it is a 404.
    const taken = await felderaError(await server.fetch('/v0/pipelines', body('default')), 409, 'DuplicateName');
    assert.match(taken.message, /^The name 'default' is taken by another dialect's namespace/);
    await felderaError(await server.fetch('/v0/pipelines', body('bad name!')), 400, 'InvalidParam');
    await felderaError(await client.get('missing'), 404, 'UnknownPipelineName');
    await felderaError(await client.get('default'), 404, 'UnknownPipelineName');
  });

  test('concurrent PUTs of a new pipeline create it once and replace it after: one 201, the others 200', async () => {
    const responses = await Promise.all(Array.from({ length: 4 }, (_, index) => client.putPipeline('raced', { description: `d${index}`, program_code: 'CREATE TABLE t (a INT);' })));
    assert.deepEqual(responses.map((response) => response.status).sort(), [200, 200, 200, 201]);
  });

  test('a program that does not compile is SqlError at its line and column, and creates nothing', async () => {
    const cases: Array<[string, number, number, RegExp]> = [
      ['CREATE TABLE t (\n  id INT,\n  at TIMESTAMPZ\n);', 3, 6, /Unknown type "TIMESTAMPZ"/],
      ['CREATE TABLE t (id INT, "ID" INT);', 1, 25, /differs from column "id" only in case/],
      ['CREATE TABLE t (id INT);\nCREATE VIEW v AS\n  SELECT id FORM t;', 3, 18, /syntax error/],
      ['CREATE TABLE t (id INT);\n\nCREATE VIEW v AS SELECT nope FROM t;', 3, 1, /nope/],
      ['CREATE TABLE t (id INT);\nCREATE VIEW v AS SELECT * FROM elsewhere;', 2, 1, /elsewhere/],
      ['CREATE TABLE t (id INT) /* never closed', 1, 25, /Unterminated comment/],
      ['CREATE TABLE t (id INT PRIMARY KEY, v INT CHECK (v > 0));', 1, 43, /CHECK is not supported/],
      ['CREATE TABLE t (id INT PRIMARY KEY, v INT DEFAULT);', 1, 50, /DEFAULT needs an expression/],
      ['CREATE TABLE t (id INT PRIMARY KEY, v INT DEFAULT id + 1);', 1, 1, /DEFAULT|column|constant/i],
    ];
    for (const [index, [program, line, column, message]] of cases.entries()) {
      const response = await client.putPipeline(`broken${index}`, { program_code: program });
      assert.equal(response.status, 201);
      const error = sqlErrorOf((await response.json()) as Record<string, unknown>);
      assert.deepEqual([error.start_line_number, error.start_column], [line, column], `${program}: ${error.message}`);
      assert.match(error.message, message);
      assert.deepEqual(tablesOf(`broken${index}`), [], program);
    }
  });

  test('a column DEFAULT fills values a push leaves out, LATENESS and WATERMARK are accepted, and a changed DEFAULT is a changed table', async () => {
    const program = (fallback: string) => `CREATE TABLE t (
      id INT NOT NULL PRIMARY KEY,
      status VARCHAR NOT NULL DEFAULT ${fallback},
      ts TIMESTAMP LATENESS INTERVAL '1' HOUR WATERMARK INTERVAL '1' MINUTE,
      n INT DEFAULT 2 + 3 NOT NULL
    );`;
    await client.pipeline('defaults', program("'new'"));
    await client.pushOk('defaults', 't', '{"insert": {"id": 1, "ts": "2024-05-01 10:00:00"}}\n{"insert": {"id": 2, "status": "done", "n": 7}}');
    assert.deepEqual(await client.rows('defaults', 'SELECT id, status, n FROM t ORDER BY id'), [{ id: 1, status: 'new', n: 5 }, { id: 2, status: 'done', n: 7 }]);
    assert.equal((await client.action('defaults', 'stop')).status, 202);
    const changed = await client.putPipeline('defaults', { program_code: program("'open'") });
    assert.equal(changed.status, 200);
    assert.equal((await client.action('defaults', 'start')).status, 202);
    assert.deepEqual(await client.rows('defaults', 'SELECT id FROM t'), []);
  });

  test("a DEFAULT may hold commas inside brackets (ARRAY[1, 2]), and a view's WITH options are accepted, as in Feldera's programs", async () => {
    await client.pipeline('with_options', `CREATE TABLE t (id INT NOT NULL PRIMARY KEY, tags INT ARRAY DEFAULT ARRAY[1, 2], note VARCHAR DEFAULT 'n');
      CREATE MATERIALIZED VIEW v WITH ('emit_final' = 'id') AS SELECT id, tags, note FROM t;`);
    await client.pushOk('with_options', 't', '{"insert": {"id": 1}}');
    assert.deepEqual(await client.rows('with_options', 'SELECT * FROM v'), [{ id: 1, tags: [1, 2], note: 'n' }]);
  });

  test("program_info says a view's column is NOT NULL when its query shows it: a NOT NULL column over inner joins, a count, a constant, a cast of one, a CASE of them (not under ROLLUP)", async () => {
    const created = await client.pipeline('nullness', `
      CREATE TABLE a (id INT NOT NULL PRIMARY KEY, name VARCHAR);
      CREATE TABLE b (id INT NOT NULL PRIMARY KEY, a_id INT NOT NULL);
      CREATE VIEW joined AS SELECT a.id, b.a_id, name, CAST(b.id AS BIGINT) AS wide, 1 AS one, NULL AS nothing, a.id + 1 AS next,
          CASE WHEN name IS NULL THEN 0 ELSE b.id END AS chosen, CASE WHEN b.id > 1 THEN b.id END AS some_ids
        FROM a JOIN b ON a.id = b.a_id;
      CREATE VIEW outer_joined AS SELECT a.id, b.id AS b_id FROM a LEFT JOIN b ON a.id = b.a_id;
      CREATE VIEW counted AS SELECT a_id, count(*) AS n, max(id) AS top FROM b GROUP BY a_id;
      CREATE VIEW every_column AS SELECT * FROM a;
      CREATE VIEW rolled_up AS SELECT a_id, count(*) AS n FROM b GROUP BY ROLLUP (a_id);`, { start: false });
    const nullability = (view: string) => {
      const output = (created['program_info'] as { schema: { outputs: Array<{ name: string; fields: Array<{ name: string; columntype: { nullable: boolean } }> }> } })
        .schema.outputs.find((candidate) => candidate.name === view)!;
      return Object.fromEntries(output.fields.map((field) => [field.name, field.columntype.nullable]));
    };
    assert.deepEqual(nullability('joined'), { id: false, a_id: false, name: true, wide: false, one: false, nothing: true, next: true, chosen: false, some_ids: true });
    assert.deepEqual(nullability('outer_joined'), { id: true, b_id: true });
    assert.deepEqual(nullability('counted'), { a_id: false, n: false, top: true });
    assert.deepEqual(nullability('every_column'), { id: false, name: true });
    assert.deepEqual(nullability('rolled_up'), { a_id: true, n: false });
  });

  test('a primary key over a nested type is SqlError, not a storage failure', async () => {
    const response = await client.putPipeline('nested_key', { program_code: 'CREATE TABLE t (a INT ARRAY NOT NULL PRIMARY KEY);' });
    const body = await response.json();
    assert.equal(body.program_status, 'SqlError');
    assert.match(JSON.stringify(body.program_error), /cannot be a list: keys must be of scalar types/);
  });

  test('a column type nested more than 8 levels deep is SqlError naming the bound, not a storage failure', async () => {
    const ok = await (await client.putPipeline('deep_ok', { program_code: `CREATE TABLE t (a INT${' ARRAY'.repeat(8)});` })).json();
    assert.equal(ok.program_status, 'Success');
    for (const type of [`INT${' ARRAY'.repeat(9)}`, `INT${' ARRAY'.repeat(100_000)}`, `${'MAP<INT, '.repeat(100_000)}INT${'>'.repeat(100_000)}`, `${'ROW(x '.repeat(9)}INT${')'.repeat(9)}`]) {
      const body = await (await client.putPipeline('too_deep', { program_code: `CREATE TABLE t (a ${type});` })).json();
      assert.match(sqlErrorOf(body).message, /lists, maps and structs (may )?nest (at most 8|\d+) levels deep/);
    }
  });

  // DuckDB binds a view again at each reference to it, so each view reading the one before it four
  // times asks for 4ⁿ bindings: eight such views held the compile (and the server's shutdown) for ever.
  test('views each reading the one before several times are SqlError once they would bind too often, and a short chain compiles', async () => {
    const chain = (length: number) => ['CREATE TABLE t (a INT);', 'CREATE VIEW v0 AS SELECT a FROM t;', ...Array.from({ length }, (_, index) =>
      `CREATE VIEW v${index + 1} AS SELECT x.a FROM v${index} x WHERE x.a IN (SELECT a FROM v${index}) AND EXISTS (SELECT 1 FROM v${index} y, v${index} z);`)].join('\n');
    const refused = await (await client.putPipeline('view_chain', { program_code: chain(8) })).json();
    assert.match(sqlErrorOf(refused).message, /reads its common table expressions and views [\d.e+]+ times once they are expanded, more than the 10000/);
    const compiled = await (await client.putPipeline('view_chain', { program_code: chain(3) })).json();
    assert.equal(compiled.program_status, 'Success', JSON.stringify(compiled.program_error));
  });

  test('a pipeline whose program does not compile cannot start', async () => {
    await client.putPipeline('unstartable', { program_code: 'CREATE TABLE t (x NOPE);' });
    await felderaError(await client.action('unstartable', 'start'), 400, 'IllegalPipelineAction');
  });

  test('replacing the program keeps unchanged tables with their rows, recreates changed ones and rebuilds the views', async () => {
    await client.pipeline('evolve', PROGRAM);
    await client.pushOk('evolve', 'orders', '1,250,ann\n2,50,bob\n', 'format=csv');
    await client.pushOk('evolve', 'notes', 'hello\n', 'format=csv');
    assert.equal((await client.action('evolve', 'stop')).status, 202);
    const changed = PROGRAM.replace('CREATE TABLE notes (body VARCHAR);', 'CREATE TABLE notes (body VARCHAR, author VARCHAR);')
      .replace("WITH ('materialized' = 'true')", "WITH ('materialized' = 'false')")
      + '\nCREATE MATERIALIZED VIEW by_customer AS SELECT customer, sum(amount) AS total FROM orders GROUP BY customer;';
    const replaced = (await (await client.putPipeline('evolve', { program_code: changed })).json()) as Record<string, unknown>;
    assert.equal(replaced['program_status'], 'Success');
    assert.equal(replaced['program_version'], 2);
    assert.equal((await client.action('evolve', 'start')).status, 202);
    assert.deepEqual(await client.rows('evolve', 'SELECT id FROM big_orders'), [{ id: 1 }]);
    assert.deepEqual(await client.rows('evolve', 'SELECT * FROM by_customer ORDER BY customer'), [{ customer: 'ann', total: 250 }, { customer: 'bob', total: 50 }]);
    assert.deepEqual(await client.rows('evolve', 'SELECT * FROM notes'), []);
    const orders = server.core.catalog.findTable(server.core.catalog.getNamespace('evolve').id, 'orders')!;
    assert.deepEqual(orders.properties['with'], { materialized: 'false' });
  });

  test('a replacement that does not compile leaves the previous tables, rows and views in place', async () => {
    await client.pipeline('keep', PROGRAM);
    await client.pushOk('keep', 'orders', '7,700,cy\n', 'format=csv');
    await client.action('keep', 'stop');
    const before = tablesOf('keep');
    const failed = (await (await client.putPipeline('keep', { program_code: `${PROGRAM}\nCREATE VIEW broken AS SELECT missing FROM orders;` })).json()) as Record<string, unknown>;
    assert.match(sqlErrorOf(failed).message, /missing/);
    assert.deepEqual(tablesOf('keep'), before);
    await client.pipeline('keep', PROGRAM);
    assert.deepEqual(await client.rows('keep', 'SELECT * FROM big_orders'), [{ id: 7, amount: 700 }]);
  });

  test('a PUT or POST without program_code is a 400 InvalidParam and leaves the pipeline, its tables and rows as they were', async () => {
    await client.pipeline('guarded', PROGRAM);
    await client.pushOk('guarded', 'orders', '3,300,dee\n', 'format=csv');
    await client.action('guarded', 'stop');
    assert.match((await felderaError(await client.putPipeline('guarded', { description: 'only the description' }), 400, 'InvalidParam')).message, /program_code/);
    const post = await server.fetch('/v0/pipelines', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'nocode' }) });
    await felderaError(post, 400, 'InvalidParam');
    assert.equal((await client.get('nocode')).status, 404);
    assert.equal(((await (await client.get('guarded')).json()) as Record<string, unknown>)['program_code'], PROGRAM);
    await client.action('guarded', 'start');
    assert.deepEqual(await client.rows('guarded', 'SELECT id FROM orders'), [{ id: 3 }]);
  });

  test('the program and the name change only while stopped; other fields any time; a change of nothing keeps the version', async () => {
    await client.pipeline('live', PROGRAM);
    const patch = (name: string, body: unknown) => server.fetch(`/v0/pipelines/${name}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await felderaError(await patch('live', { program_code: 'CREATE TABLE x (y INT);' }), 400, 'IllegalPipelineAction');
    await felderaError(await patch('live', { name: 'renamed' }), 400, 'IllegalPipelineAction');
    const described = (await (await patch('live', { description: 'now described' })).json()) as Record<string, unknown>;
    assert.deepEqual([described['description'], described['version'], described['program_code']], ['now described', 2, PROGRAM]);
    // A request that changes nothing leaves the version as it is, as in Feldera.
    for (const body of [{}, { description: 'now described' }, { program_code: PROGRAM }]) {
      assert.equal(((await (await patch('live', body)).json()) as Record<string, unknown>)['version'], 2, JSON.stringify(body));
    }
    await client.action('live', 'stop');
    const renamed = (await (await patch('live', { name: 'renamed' })).json()) as Record<string, unknown>;
    assert.equal(renamed['name'], 'renamed');
    await felderaError(await client.get('live'), 404, 'UnknownPipelineName');
    await felderaError(await patch('renamed', { runtime_config: 'not an object' }), 400, 'InvalidParam');
  });

  test("what Feldera's Python SDK reads: /v0/config, storage_status from first start until cleared, the resources and runtime statuses", async () => {
    const config = (await (await server.fetch('/v0/config')).json()) as Record<string, unknown>;
    assert.equal(config['edition'], 'Open source');
    assert.match(String(config['version']), /^\d+\.\d+\.\d+/);
    assert.equal((await server.fetch('/v0/config', { token: null })).status, 401);
    await client.pipeline('sdk', PROGRAM, { start: false });
    const fields = async () => (await (await client.get('sdk')).json()) as Record<string, unknown>;
    const pick = (pipeline: Record<string, unknown>) => [pipeline['storage_status'], pipeline['deployment_resources_status'], pipeline['deployment_runtime_status'], pipeline['deployment_desired_status']];
    assert.deepEqual(pick(await fields()), ['Cleared', 'Stopped', null, 'Stopped']);
    await client.action('sdk', 'start');
    assert.deepEqual(pick(await fields()), ['InUse', 'Provisioned', 'Running', 'Running']);
    await client.action('sdk', 'pause');
    assert.deepEqual(pick(await fields()), ['InUse', 'Provisioned', 'Paused', 'Paused']);
    await client.action('sdk', 'stop');
    assert.deepEqual(pick(await fields()), ['InUse', 'Stopped', null, 'Stopped']);
    assert.equal((await client.action('sdk', 'clear')).status, 202);
    assert.deepEqual(pick(await fields()), ['Cleared', 'Stopped', null, 'Stopped']);
  });

  test('/stats counts the records each table took in during the current run, and its parse errors; a start begins a new run; a stopped pipeline has none', async () => {
    await client.pipeline('counted', PROGRAM);
    await client.pushOk('counted', 'orders', '1,250,ann\n2,50,bob\n', 'format=csv');
    await felderaError(await server.fetch('/v0/pipelines/counted/ingress/orders?format=json&update_format=raw', { method: 'POST', body: '{"id": 3, "amount": 5}\n{"id": "x"}' }), 400, 'ParseErrors');
    const stats = async () => (await (await server.fetch('/v0/pipelines/counted/stats')).json()) as { global_metrics: Record<string, unknown>; inputs: Array<{ config: { stream: string }; metrics: Record<string, unknown> }> };
    const first = await stats();
    assert.deepEqual([first.global_metrics['state'], first.global_metrics['total_input_records'], first.global_metrics['total_processed_records']], ['Running', 3, 3]);
    const orders = first.inputs.find((input) => input.config.stream === 'orders')!;
    assert.deepEqual([orders.metrics['total_records'], orders.metrics['num_parse_errors']], [3, 1]);
    assert.deepEqual(first.inputs.map((input) => input.config.stream).sort(), ['notes', 'orders']);
    await client.action('counted', 'stop');
    await felderaError(await server.fetch('/v0/pipelines/counted/stats'), 503, 'PipelineInteractionNotDeployed');
    await client.action('counted', 'start');
    const second = await stats();
    assert.equal(second.global_metrics['total_input_records'], 0);
    assert.notEqual(second.global_metrics['incarnation_uuid'], first.global_metrics['incarnation_uuid']);
  });

  test('start, pause, resume and stop move the deployment status; illegal moves are refused', async () => {
    await client.pipeline('cycle', PROGRAM, { start: false });
    const status = async () => ((await (await client.get('cycle')).json()) as Record<string, unknown>)['deployment_status'];
    await felderaError(await client.action('cycle', 'pause'), 400, 'IllegalPipelineAction');
    await felderaError(await client.action('cycle', 'resume'), 400, 'IllegalPipelineAction');
    for (const [action, expected] of [['start?initial=paused', 'Paused'], ['resume', 'Running'], ['pause', 'Paused'], ['stop?force=true', 'Stopped'], ['start', 'Running'], ['start', 'Running']] as const) {
      const [name, query] = action.split('?');
      assert.equal((await client.action('cycle', name!, query ? `?${query}` : '')).status, 202);
      assert.equal(await status(), expected, action);
    }
    await felderaError(await client.action('cycle', 'start', '?initial=sideways'), 400, 'InvalidParam');
  });

  test('start on a started pipeline answers 202 and leaves it as it is, paused or running, as in Feldera, where resume runs a paused one; a start into another initial status than it was started into is 400 InitialImmutableUnlessStopped until it stops', async () => {
    await client.pipeline('restarted', PROGRAM, { start: false });
    const fields = async () => {
      const pipeline = (await (await client.get('restarted')).json()) as Record<string, unknown>;
      return [pipeline['deployment_status'], pipeline['deployment_initial']];
    };
    assert.deepEqual(await fields(), ['Stopped', null]);
    assert.equal((await client.action('restarted', 'start')).status, 202);
    assert.equal((await client.action('restarted', 'pause')).status, 202);
    assert.equal((await client.action('restarted', 'start')).status, 202);
    assert.deepEqual(await fields(), ['Paused', 'Running']);
    assert.equal((await client.action('restarted', 'start', '?initial=running')).status, 202);
    assert.deepEqual(await fields(), ['Paused', 'Running']);
    const refused = await felderaError(await client.action('restarted', 'start', '?initial=paused'), 400, 'InitialImmutableUnlessStopped');
    assert.match(refused.message, /started running/);
    assert.equal((await client.action('restarted', 'resume')).status, 202);
    assert.deepEqual(await fields(), ['Running', 'Running']);
    assert.equal((await client.action('restarted', 'stop', '?force=true')).status, 202);
    assert.deepEqual(await fields(), ['Stopped', null]);
    assert.equal((await client.action('restarted', 'start', '?initial=paused')).status, 202);
    assert.equal((await client.action('restarted', 'resume')).status, 202);
    await felderaError(await client.action('restarted', 'start'), 400, 'InitialImmutableUnlessStopped');
    assert.deepEqual(await fields(), ['Running', 'Paused']);
  });

  test('clear empties the tables of a stopped pipeline and keeps its program; refused while running', async () => {
    await client.pipeline('wipe', PROGRAM);
    await client.pushOk('wipe', 'orders', '1,500,ann\n', 'format=csv');
    await felderaError(await client.action('wipe', 'clear'), 400, 'IllegalPipelineAction');
    await client.action('wipe', 'stop');
    assert.equal((await client.action('wipe', 'clear')).status, 202);
    await client.action('wipe', 'start');
    assert.deepEqual(await client.rows('wipe', 'SELECT * FROM orders'), []);
    assert.deepEqual(await client.rows('wipe', 'SELECT * FROM big_orders'), []);
  });

  test('DELETE removes a stopped pipeline with its tables; refused while running', async () => {
    await client.pipeline('doomed', PROGRAM);
    await felderaError(await server.fetch('/v0/pipelines/doomed', { method: 'DELETE' }), 400, 'IllegalPipelineAction');
    await client.action('doomed', 'stop');
    assert.equal((await server.fetch('/v0/pipelines/doomed', { method: 'DELETE' })).status, 200);
    await felderaError(await client.get('doomed'), 404, 'UnknownPipelineName');
    assert.equal(server.core.catalog.findNamespace('doomed'), undefined);
  });

  test('requests need a valid Bearer token, and a token acts only within its scopes', async () => {
    await client.pipeline('guarded', PROGRAM);
    await felderaError(await server.fetch('/v0/pipelines/guarded', { token: null }), 401, 'InvalidApiKey');
    await felderaError(await server.fetch('/v0/pipelines/guarded', { token: 'wrong' }), 401, 'InvalidApiKey');
    const { secret: reader } = await server.core.tokens.create('guarded-reader', [{ action: 'read', namespace: 'guarded' }]);
    const { secret: outsider } = await server.core.tokens.create('outsider', [{ action: 'read', namespace: 'elsewhere' }]);
    assert.equal((await server.fetch('/v0/pipelines/guarded', { token: reader })).status, 200);
    assert.equal((await server.fetch('/v0/pipelines/guarded/query?sql=SELECT%201', { token: reader })).status, 200);
    await felderaError(await server.fetch('/v0/pipelines/guarded/ingress/notes', { method: 'POST', body: 'x\n', token: reader }), 403, 'InsufficientPermissions');
    await felderaError(await server.fetch('/v0/pipelines/guarded/stop', { method: 'POST', token: reader }), 403, 'InsufficientPermissions');
    await felderaError(await server.fetch('/v0/pipelines/guarded', { token: outsider }), 403, 'InsufficientPermissions');
    const listed = (await (await server.fetch('/v0/pipelines', { token: outsider })).json()) as unknown[];
    assert.deepEqual(listed, []);
  });
});

describe('Feldera pipelines across a restart', () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
  });
  after(() => server.stop());

  test('the program, its rows and the deployment status survive a restart', async () => {
    const client = new FelderaClient(server);
    await client.pipeline('running', PROGRAM);
    await client.pipeline('paused', PROGRAM);
    await client.action('paused', 'pause');
    await client.pushOk('running', 'orders', '1,150,ann\n', 'format=csv');
    await server.restart();
    const statusOf = async (name: string) => ((await (await client.get(name)).json()) as Record<string, unknown>)['deployment_status'];
    assert.equal(await statusOf('running'), 'Running');
    assert.equal(await statusOf('paused'), 'Paused');
    await client.pushOk('running', 'orders', '2,250,bob\n', 'format=csv');
    assert.deepEqual(await client.rows('running', 'SELECT id FROM big_orders ORDER BY id'), [{ id: 1 }, { id: 2 }]);
  });

  test('a program whose compile a stop cut off (saved, still Pending) is compiled at start, and the pipeline can start', async () => {
    const client = new FelderaClient(server);
    await client.pipeline('cut_off', PROGRAM, { start: false });
    // What a PUT of a new program leaves when the server is killed between saving it and compiling it.
    const namespace = server.core.catalog.findNamespace('cut_off')!;
    const state = namespace.properties['feldera'] as Record<string, unknown>;
    const program = 'CREATE TABLE fresh (id INT NOT NULL PRIMARY KEY, note VARCHAR);';
    await server.core.catalog.updateNamespace(namespace.id, { properties: { feldera: { ...state, program_code: program, program_status: 'Pending' } } });
    await server.restart();
    const pipeline = (await (await client.get('cut_off')).json()) as Record<string, unknown>;
    assert.equal(pipeline['program_status'], 'Success');
    assert.equal((await client.action('cut_off', 'start')).status, 202);
    await client.pushOk('cut_off', 'fresh', '{"insert": {"id": 1, "note": "compiled"}}');
    assert.deepEqual(await client.rows('cut_off', 'SELECT * FROM fresh'), [{ id: 1, note: 'compiled' }]);
  });
});
