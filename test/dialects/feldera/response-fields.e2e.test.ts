import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import { EgressStream, felderaError, useFelderaSuite } from './feldera-fixture.ts';

/**
 * Values of the Feldera dialect's responses that the other Feldera tests do not check: the
 * pipeline object's versions and times, compilation results, `program_info` flags, `/stats`
 * figures, egress numbering and weights, parse-error counts and query results' contents.
 */

const PROGRAM = `CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, amount INT, customer VARCHAR) WITH ('materialized' = 'true', 'connectors' = '[]');
CREATE TABLE notes (body VARCHAR);
CREATE TABLE "Audit" (at TIMESTAMP);
CREATE MATERIALIZED VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100;
CREATE VIEW totals AS SELECT count(*) AS n, sum(amount) AS total, avg(amount) AS mean, max(customer) AS last_customer FROM orders;`;

type Pipeline = Record<string, any>;
type Stats = {
  global_metrics: Record<string, unknown>;
  inputs: Array<{ endpoint_name: string; config: { stream: string }; metrics: Record<string, unknown> }>;
};

/** Milliseconds since the epoch of an ISO-8601 time, which must be one. */
const at = (iso: unknown): number => {
  assert.equal(typeof iso, 'string');
  const time = Date.parse(iso as string);
  assert.ok(Number.isFinite(time), `not a time: ${String(iso)}`);
  return time;
};

/** Asserts that `time` lies in [from, to] (milliseconds), allowing for the ISO form's whole milliseconds. */
const within = (time: number, from: number, to: number, what: string) => {
  assert.ok(time >= from - 1 && time <= to + 1, `${what}: ${new Date(time).toISOString()} not within ${new Date(from).toISOString()} … ${new Date(to).toISOString()}`);
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Feldera response fields', () => {
  const suite = useFelderaSuite();

  const fetchPipeline = async (name: string): Promise<Pipeline> => {
    const response = await suite.client.get(name);
    assert.equal(response.status, 200);
    return (await response.json()) as Pipeline;
  };
  const patch = (name: string, body: unknown) =>
    suite.server.fetch(`/v0/pipelines/${name}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const stats = async (name: string): Promise<Stats> => {
    const response = await suite.server.fetch(`/v0/pipelines/${name}/stats`);
    const body = (await response.json()) as Stats;
    assert.equal(response.status, 200, JSON.stringify(body));
    return body;
  };
  const inputOf = (body: Stats, table: string) => {
    const input = body.inputs.find((candidate) => candidate.config.stream === table);
    assert.ok(input, `no input for ${table} in ${JSON.stringify(body.inputs)}`);
    return input.metrics;
  };

  test('a new pipeline is at version 1 and program version 1, created (and Stopped since) during the request that made it', async () => {
    const from = Date.now();
    const response = await suite.server.fetch('/v0/pipelines', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'fresh', program_code: PROGRAM }),
    });
    const to = Date.now();
    assert.equal(response.status, 201);
    const created = (await response.json()) as Pipeline;
    assert.deepEqual([created['version'], created['program_version'], created['deployment_status']], [1, 1, 'Stopped']);
    within(at(created['created_at']), from, to, 'created_at');
    within(at(created['deployment_status_since']), from, to, 'deployment_status_since');
    within(at(created['program_status_since']), from, to, 'program_status_since');
    // The list shows the same object as GET.
    const listed = ((await (await suite.server.fetch('/v0/pipelines')).json()) as Pipeline[]).find((pipeline) => pipeline['name'] === 'fresh');
    assert.deepEqual(listed, await fetchPipeline('fresh'));
    assert.deepEqual(listed, created);
  });

  test('version counts each change of the fields and program_version each change of the program; lifecycle actions change neither, and id and created_at stay', async () => {
    const created = await suite.client.pipeline('versioned', PROGRAM, { start: false });
    const compiledAt = at(created['program_status_since']);
    await sleep(5);
    // The same program again: the fields were set, the program did not change, nothing is recompiled.
    const same = (await (await suite.client.putPipeline('versioned', { program_code: PROGRAM, description: 'd' })).json()) as Pipeline;
    assert.deepEqual([same['version'], same['program_version'], at(same['program_status_since'])], [2, 1, compiledAt]);
    const described = (await (await patch('versioned', { description: 'again' })).json()) as Pipeline;
    assert.deepEqual([described['version'], described['program_version']], [3, 1]);
    for (const action of ['start', 'pause', 'resume', 'stop', 'clear']) assert.equal((await suite.client.action('versioned', action)).status, 202, action);
    const afterActions = await fetchPipeline('versioned');
    assert.deepEqual([afterActions['version'], afterActions['program_version']], [3, 1]);
    const from = Date.now();
    const changed = (await (await suite.client.putPipeline('versioned', { program_code: `${PROGRAM}\nCREATE TABLE extra (x INT);` })).json()) as Pipeline;
    const to = Date.now();
    assert.deepEqual([changed['version'], changed['program_version'], changed['program_status']], [4, 2, 'Success']);
    within(at(changed['program_status_since']), from, to, 'program_status_since after a recompilation');
    assert.deepEqual([changed['id'], changed['created_at']], [created['id'], created['created_at']]);
  });

  test('PUT sets the optional fields it leaves out back to their defaults; PATCH keeps them', async () => {
    await suite.client.putPipeline('reset', { program_code: PROGRAM, description: 'first', runtime_config: { workers: 8 }, program_config: { profile: 'optimized' } });
    const patched = (await (await patch('reset', { description: 'second' })).json()) as Pipeline;
    assert.deepEqual([patched['description'], patched['runtime_config'], patched['program_config']], ['second', { workers: 8 }, { profile: 'optimized' }]);
    const replaced = (await (await suite.client.putPipeline('reset', { program_code: PROGRAM })).json()) as Pipeline;
    assert.deepEqual([replaced['description'], replaced['runtime_config'], replaced['program_config']], ['', {}, {}]);
    assert.deepEqual([(await fetchPipeline('reset'))['description'], (await fetchPipeline('reset'))['runtime_config']], ['', {}]);
  });

  test('deployment_status_since is the time of the last move, not of a start that changes nothing; the desired, resources and runtime times follow it', async () => {
    await suite.client.pipeline('timed', PROGRAM, { start: false });
    const sinceFields = ['deployment_desired_status_since', 'deployment_resources_status_since', 'deployment_resources_desired_status_since', 'deployment_runtime_status_since', 'deployment_runtime_desired_status_since'];
    for (const action of ['start', 'pause', 'stop']) {
      await sleep(5);
      const from = Date.now();
      assert.equal((await suite.client.action('timed', action)).status, 202);
      const to = Date.now();
      const pipeline = await fetchPipeline('timed');
      within(at(pipeline['deployment_status_since']), from, to, `deployment_status_since after ${action}`);
      const runtime = action === 'stop' ? null : pipeline['deployment_status_since'];
      assert.deepEqual(sinceFields.map((field) => pipeline[field]), [pipeline['deployment_status_since'], pipeline['deployment_status_since'], pipeline['deployment_status_since'], runtime, runtime], action);
    }
    assert.equal((await suite.client.action('timed', 'start')).status, 202);
    const started = (await fetchPipeline('timed'))['deployment_status_since'];
    await sleep(5);
    assert.equal((await suite.client.action('timed', 'start')).status, 202);
    assert.equal((await fetchPipeline('timed'))['deployment_status_since'], started);
  });

  test('a compiled program reports sql_compilation with exit code 0 and no messages; one that does not compile exit code 1, its one message, and no program_info', async () => {
    const good = await suite.client.pipeline('compiles', PROGRAM, { start: false });
    assert.deepEqual(good['program_error'], { sql_compilation: { exit_code: 0, messages: [] }, rust_compilation: null, system_error: null });
    const bad = (await (await suite.client.putPipeline('fails', { program_code: 'CREATE TABLE t (\n  id INT,\n  v NOPE\n);' })).json()) as Pipeline;
    assert.equal(bad['program_status'], 'SqlError');
    assert.equal(bad['program_info'], null);
    const compilation = bad['program_error'].sql_compilation as { exit_code: number; messages: Array<Record<string, unknown>> };
    assert.equal(compilation.exit_code, 1);
    assert.equal(compilation.messages.length, 1);
    const [message] = compilation.messages;
    assert.deepEqual([message!['start_line_number'], message!['start_column'], message!['end_line_number'], message!['warning']], [3, 5, 3, false]);
    // The unknown type, NOPE, is underlined.
    assert.equal(message!['end_column'], 8);
    assert.equal(message!['snippet'], '3 |   v NOPE\n        ^^^^\n');
  });

  test("program_info marks as materialized the tables WITH ('materialized' = 'true') and the MATERIALIZED views only, gives each table's WITH properties, and a quoted name as case-sensitive", async () => {
    const created = (await suite.client.pipeline('flags', PROGRAM, { start: false })) as Pipeline;
    const schema = created['program_info'].schema as { inputs: Pipeline[]; outputs: Pipeline[] };
    const flags = (relations: Pipeline[]) => relations.map((relation) => [relation['name'], relation['materialized'], relation['case_sensitive'], relation['properties']]);
    assert.deepEqual(flags(schema.inputs), [
      ['orders', true, false, { materialized: 'true', connectors: '[]' }],
      ['notes', false, false, {}],
      ['Audit', false, true, {}],
    ]);
    assert.deepEqual(flags(schema.outputs), [['big_orders', true, false, {}], ['totals', false, false, {}]]);
  });

  test("program_info gives a view's computed columns as Calcite type names: a count is BIGINT, a sum of integers DECIMAL with precision 38 and scale 0, an average of integers INTEGER", async () => {
    // Materialized, so that its rows can be queried.
    const created = (await suite.client.pipeline('aggregates', PROGRAM.replace('CREATE VIEW totals', 'CREATE MATERIALIZED VIEW totals'), { start: false })) as Pipeline;
    const totals = (created['program_info'].schema.outputs as Pipeline[]).find((output) => output['name'] === 'totals')!;
    const types = Object.fromEntries((totals['fields'] as Pipeline[]).map((field) => [field['name'], field['columntype']]));
    assert.deepEqual(types, {
      n: { type: 'BIGINT', nullable: false },
      total: { type: 'DECIMAL', nullable: true, precision: 38, scale: 0 },
      mean: { type: 'INTEGER', nullable: true },
      last_customer: { type: 'VARCHAR', nullable: true, precision: -1 },
    });
    // The sum is read back as the whole number it is, the average cut to one (100.5 is 100).
    assert.equal((await suite.client.action('aggregates', 'start')).status, 202);
    await suite.client.pushOk('aggregates', 'orders', '1,150,ann\n2,51,bob\n', 'format=csv');
    assert.deepEqual(await suite.client.rows('aggregates', 'SELECT * FROM totals'), [{ n: 2, total: 201, mean: 100, last_customer: 'bob' }]);
  });

  test('/stats of a paused pipeline says Paused in the same run, counts a forced push, and dates the run from its start', async () => {
    await suite.client.pipeline('statsrun', PROGRAM, { start: false });
    const from = Date.now();
    assert.equal((await suite.client.action('statsrun', 'start')).status, 202);
    const to = Date.now();
    const token = await suite.client.pushOk('statsrun', 'notes', 'a\nb\n', 'format=csv');
    const running = await stats('statsrun');
    const runningRead = Date.now();
    assert.ok((running.global_metrics['start_time'] as number) >= Math.floor(from / 1000) && (running.global_metrics['start_time'] as number) <= Math.floor(to / 1000), String(running.global_metrics['start_time']));
    const uptime = running.global_metrics['uptime_msecs'] as number;
    assert.ok(uptime >= 0 && uptime <= runningRead - from, `uptime ${uptime} beyond the ${runningRead - from} ms since the start`);
    assert.equal((await suite.client.action('statsrun', 'pause')).status, 202);
    await suite.client.pushOk('statsrun', 'notes', 'c\n', 'format=csv&force=true');
    await sleep(20);
    const paused = await stats('statsrun');
    assert.deepEqual(
      [paused.global_metrics['state'], paused.global_metrics['incarnation_uuid'], paused.global_metrics['start_time'], paused.global_metrics['total_input_records'], inputOf(paused, 'notes')['total_records']],
      ['Paused', running.global_metrics['incarnation_uuid'], running.global_metrics['start_time'], 3, 3],
    );
    assert.ok((paused.global_metrics['uptime_msecs'] as number) >= uptime + 20, 'uptime grows');
    // Every record taken in is processed and complete: nothing is left buffered, and HTTP inputs never end.
    const status = await (await suite.server.fetch(`/v0/pipelines/statsrun/completion_status?token=${encodeURIComponent(token)}`)).json();
    assert.deepEqual(status, { status: 'complete', step: null });
    assert.deepEqual(
      [paused.global_metrics['total_processed_records'], paused.global_metrics['total_completed_records'], paused.global_metrics['buffered_input_records'], paused.global_metrics['pipeline_complete']],
      [3, 3, 0, false],
    );
    assert.deepEqual(paused.inputs.map((input) => [input.config.stream, input.metrics['buffered_records'], input.metrics['end_of_input']]), [['orders', 0, false], ['notes', 0, false], ['Audit', 0, false]]);
  });

  test('/stats counts each record a push took in, whatever it changed: a record superseded, a delete or an update of a missing key, and a weighted record count one each', async () => {
    await suite.client.pipeline('counting', PROGRAM);
    await suite.client.pushOk('counting', 'orders', [
      '{"insert": {"id": 1, "amount": 10}}',
      '{"insert": {"id": 1, "amount": 20}}',
      '{"delete": {"id": 9}}',
      '{"update": {"id": 8, "amount": 5}}',
      '{"update": {"id": 1, "customer": "ann"}}',
    ].join('\n'));
    await suite.client.pushOk('counting', 'notes', '{"weight": 3, "data": {"body": "x"}}\n{"weight": -1, "data": {"body": "x"}}\n', 'format=json&update_format=weighted');
    const body = await stats('counting');
    assert.deepEqual(
      [inputOf(body, 'orders')['total_records'], inputOf(body, 'notes')['total_records'], body.global_metrics['total_input_records']],
      [5, 2, 7],
    );
  });

  test('a pipeline left running across a restart begins a new run: a new incarnation, dated from the restart, with no records counted', async () => {
    await suite.client.pipeline('survivor', PROGRAM);
    await suite.client.pushOk('survivor', 'notes', 'a\n', 'format=csv');
    const before = await stats('survivor');
    assert.equal(before.global_metrics['total_input_records'], 1);
    const from = Date.now();
    await suite.server.restart();
    const afterRestart = await stats('survivor');
    assert.notEqual(afterRestart.global_metrics['incarnation_uuid'], before.global_metrics['incarnation_uuid']);
    assert.ok((afterRestart.global_metrics['start_time'] as number) >= Math.floor(from / 1000));
    assert.deepEqual([afterRestart.global_metrics['state'], afterRestart.global_metrics['total_input_records'], inputOf(afterRestart, 'notes')['total_records']], ['Running', 0, 0]);
  });

  test('egress numbers its chunks one by one from 0, and after 3 s of silence sends a heartbeat with only the next number', async () => {
    await suite.client.pipeline('beats', PROGRAM);
    const response = await suite.server.fetch('/v0/pipelines/beats/egress/notes?format=json', { method: 'POST' });
    assert.equal(response.status, 200);
    const lines = new EgressStream(response.body!.getReader());
    try {
      await suite.client.pushOk('beats', 'notes', 'a\n', 'format=csv');
      assert.equal(await lines.line(), '{"sequence_number":0,"json_data":[{"insert":{"body":"a"}}]}');
      await suite.client.pushOk('beats', 'notes', 'b\n', 'format=csv');
      assert.equal(await lines.line(), '{"sequence_number":1,"json_data":[{"insert":{"body":"b"}}]}');
      const silentFrom = Date.now();
      assert.equal(await lines.line(), '{"sequence_number":2}');
      const silence = Date.now() - silentFrom;
      assert.ok(silence >= 2500 && silence < 6000, `heartbeat after ${silence} ms`);
      await suite.client.pushOk('beats', 'notes', 'c\n', 'format=csv');
      assert.equal(await lines.line(), '{"sequence_number":3,"json_data":[{"insert":{"body":"c"}}]}');
    } finally {
      lines.cancel();
    }
  });

  test('egress of a table without a key sends each copy of a repeated row, and a deleted copy with weight -1 in CSV and as a delete in JSON', async () => {
    await suite.client.pipeline('copies', PROGRAM);
    const open = async (format: string) => {
      const response = await suite.server.fetch(`/v0/pipelines/copies/egress/notes?format=${format}`, { method: 'POST' });
      assert.equal(response.status, 200);
      return new EgressStream(response.body!.getReader());
    };
    const csv = await open('csv');
    const json = await open('json');
    try {
      await suite.client.pushOk('copies', 'notes', 'x\nx\ny\n', 'format=csv');
      await suite.client.pushOk('copies', 'notes', '{"delete": {"body": "x"}}');
      await suite.client.pushOk('copies', 'notes', '{"weight": -1, "data": {"body": "y"}}', 'format=json&update_format=weighted');
      const csvChunks = [JSON.parse((await csv.line())!), JSON.parse((await csv.line())!), JSON.parse((await csv.line())!)];
      assert.deepEqual(csvChunks.map((chunk) => [chunk.sequence_number, chunk.text_data.split('\n').filter(Boolean).sort()]), [
        [0, ['x,1', 'x,1', 'y,1']],
        [1, ['x,-1']],
        [2, ['y,-1']],
      ]);
      const jsonChunks = [JSON.parse((await json.line())!), JSON.parse((await json.line())!), JSON.parse((await json.line())!)];
      const sorted = (items: Array<Record<string, unknown>>) => items.map((item) => JSON.stringify(item)).sort().map((item) => JSON.parse(item));
      assert.deepEqual(jsonChunks.map((chunk) => [chunk.sequence_number, sorted(chunk.json_data)]), [
        [0, [{ insert: { body: 'x' } }, { insert: { body: 'x' } }, { insert: { body: 'y' } }]],
        [1, [{ delete: { body: 'x' } }]],
        [2, [{ delete: { body: 'y' } }]],
      ]);
      assert.deepEqual(await suite.client.rows('copies', 'SELECT body FROM notes'), [{ body: 'x' }]);
    } finally {
      csv.cancel();
      json.cancel();
    }
  });

  test('a push with more than 1000 bad records lists the first 1000 and counts every one in num_errors and the message, keeping the good records', async () => {
    await suite.client.pipeline('many_errors', PROGRAM);
    const records = Array.from({ length: 1205 }, (_, index) => (index % 6 === 0 ? `{"insert": {"id": ${index}, "amount": 1}}` : `{"insert": {"id": ${index}, "amount": "bad${index}"}}`));
    const bad = records.filter((record) => record.includes('bad')).length;
    assert.ok(bad > 1000);
    const error = await felderaError(await suite.client.push('many_errors', 'orders', records.join('\n')), 400, 'ParseErrors');
    const details = error.details as { num_errors: number; errors: Array<{ event_number: number; invalid_text: string }> };
    assert.equal(details.num_errors, bad);
    assert.equal(details.errors.length, 1000);
    assert.deepEqual(details.errors.slice(0, 2).map((entry) => [entry.event_number, entry.invalid_text]), [[2, 'bad1'], [3, 'bad2']]);
    assert.match(error.message, new RegExp(`\\(${bad} errors\\)`));
    assert.match(error.message, new RegExp(`and ${bad - 10} more$`));
    assert.deepEqual(await suite.client.rows('many_errors', 'SELECT count(*) AS n FROM orders'), [{ n: records.length - bad }]);
    const counted = inputOf(await stats('many_errors'), 'orders');
    assert.deepEqual([counted['total_records'], counted['num_parse_errors']], [records.length - bad, bad]);
  });

  test('format=parquet and format=arrow_ipc carry the rows as pushed: every column, NULLs and timestamps', async () => {
    await suite.client.pipeline('encoded', PROGRAM);
    await suite.client.pushOk('encoded', 'orders', '1,150,ann\n2,,\n3,20,"cy, jr"\n', 'format=csv');
    await suite.client.pushOk('encoded', '%22Audit%22', '{"insert": {"at": "2024-05-01T10:00:00.5Z"}}');
    const sql = 'SELECT o.id, o.amount, o.customer, a."at" FROM orders o, "Audit" a ORDER BY o.id';
    const expected = [
      { id: 1, amount: 150, customer: 'ann', at: '2024-05-01 10:00:00.5' },
      { id: 2, amount: null, customer: null, at: '2024-05-01 10:00:00.5' },
      { id: 3, amount: 20, customer: 'cy, jr', at: '2024-05-01 10:00:00.5' },
    ];
    assert.deepEqual(await suite.client.rows('encoded', sql), expected);

    const parquet = await suite.client.query('encoded', sql, 'parquet');
    assert.equal(parquet.status, 200);
    const path = join(suite.server.dataDir, 'answer.parquet');
    await writeFile(path, Buffer.from(await parquet.arrayBuffer()));
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(`SELECT id, amount, customer, strftime("at", '%Y-%m-%d %H:%M:%S.%g') AS "at" FROM read_parquet('${path}')`);
      assert.deepEqual(reader.getRowObjectsJS().map((row) => ({ ...row, at: String(row['at']).replace(/0+$/, '') })), expected);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }

    const arrow = await suite.client.query('encoded', sql, 'arrow_ipc');
    assert.equal(arrow.status, 200);
    const table = tableFromIPC(new Uint8Array(await arrow.arrayBuffer()));
    assert.deepEqual(table.schema.fields.map((field) => field.name), ['id', 'amount', 'customer', 'at']);
    assert.deepEqual([...table.getChild('id')!.toArray()], [1, 2, 3]);
    assert.deepEqual([...table.getChild('amount')!].map((value) => value ?? null), [150, null, 20]);
    assert.deepEqual([...table.getChild('customer')!], ['ann', null, 'cy, jr']);
    const times = [...table.getChild('at')!].map((value) => Number(value));
    assert.deepEqual(times.map((value) => new Date(value).toISOString()), Array(3).fill('2024-05-01T10:00:00.500Z'));
  });

  test('each 404 names, in its message and details, the pipeline and the table or view that were not found', async () => {
    await suite.client.pipeline('named', PROGRAM);
    const pipeline = await felderaError(await suite.client.get('nowhere'), 404, 'UnknownPipelineName');
    assert.deepEqual(pipeline.details, { pipeline_name: 'nowhere' });
    assert.match(pipeline.message, /'nowhere'/);
    const input = await felderaError(await suite.client.push('named', 'big_orders', '{}'), 404, 'UnknownInputStream');
    assert.deepEqual(input.details, { pipeline_name: 'named', table_name: 'big_orders' });
    assert.match(input.message, /'big_orders'/);
    const output = await felderaError(await suite.server.fetch('/v0/pipelines/named/egress/Missing', { method: 'POST' }), 404, 'UnknownOutputStream');
    assert.deepEqual(output.details, { pipeline_name: 'named', stream_name: 'Missing' });
    assert.match(output.message, /'Missing'/);
  });
});
