import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useTinybirdSuite } from '../../helpers/tinybird-suite.ts';

/** A Tinybird time (`YYYY-MM-DD HH:MM:SS`, UTC) as milliseconds since the epoch. */
function parseTinybirdTime(text: unknown): number {
  assert.equal(typeof text, 'string', `not a time: ${JSON.stringify(text)}`);
  assert.match(text as string, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  return Date.parse(`${(text as string).replace(' ', 'T')}Z`);
}

/** Asserts that a Tinybird time (whole seconds) falls between two instants taken around a request. */
function assertTimeBetween(text: unknown, before: number, after: number, label: string): void {
  const time = parseTinybirdTime(text);
  assert.ok(time >= Math.floor(before / 1000) * 1000 && time <= after, `${label}: ${String(text)} is not between ${new Date(before).toISOString()} and ${new Date(after).toISOString()}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Tinybird response fields hold the values the requests imply', () => {
  const suite = useTinybirdSuite();
  const json = async (response: Response) => {
    const text = await response.text();
    assert.ok(response.ok, `${response.status}: ${text}`);
    return JSON.parse(text);
  };
  const getDatasource = async (name: string) => json(await suite.server.fetch(`/v0/datasources/${name}`));

  test("a data source's created_at is the UTC time it was created; an append and a rename move updated_at and keep created_at and id", async () => {
    const before = Date.now();
    const created = (await json(await suite.tb.form('/v0/datasources?name=timed', { schema: 'id Int32' }))).datasource;
    const after = Date.now();
    assertTimeBetween(created.created_at, before, after, 'created_at');
    assert.equal(created.updated_at, created.created_at);

    await sleep(1100);
    const beforeAppend = Date.now();
    const appended = (await json(await suite.tb.upload('name=timed&mode=append', 'csv', 'a.csv', '1\n2\n'))).datasource;
    const afterAppend = Date.now();
    assert.equal(appended.created_at, created.created_at);
    assertTimeBetween(appended.updated_at, beforeAppend, afterAppend, 'updated_at after the append');
    assert.ok(parseTinybirdTime(appended.updated_at) > parseTinybirdTime(created.created_at));

    await sleep(1100);
    const beforeRename = Date.now();
    const renamed = await json(await suite.server.fetch('/v0/datasources/timed?name=timed_renamed', { method: 'PUT' }));
    const afterRename = Date.now();
    assert.deepEqual([renamed.id, renamed.name, renamed.created_at], [created.id, 'timed_renamed', created.created_at]);
    assertTimeBetween(renamed.updated_at, beforeRename, afterRename, 'updated_at after the rename');
    assert.ok(parseTinybirdTime(renamed.updated_at) > parseTinybirdTime(appended.updated_at));
    const fetched = await getDatasource('timed_renamed');
    assert.deepEqual([fetched.id, fetched.created_at, fetched.updated_at], [created.id, created.created_at, renamed.updated_at]);
  });

  test("a data source's and a job's times read back the same after a restart", async () => {
    await json(await suite.tb.form('/v0/datasources?name=lasting', { schema: 'id Int32' }));
    const url = suite.files.serve('/lasting.csv', '1\n2\n');
    const started = await json(await suite.tb.form('/v0/datasources?name=lasting&mode=append', { url }));
    const job = await suite.tb.waitForJob(started.id);
    const datasource = await getDatasource('lasting');
    await suite.server.restart();
    const datasourceAfter = await getDatasource('lasting');
    const jobAfter = await json(await suite.server.fetch(`/v0/jobs/${started.id}`));
    assert.deepEqual([datasourceAfter.created_at, datasourceAfter.updated_at], [datasource.created_at, datasource.updated_at]);
    assert.deepEqual([jobAfter.created_at, jobAfter.started_at, jobAfter.updated_at], [job['created_at'], job['started_at'], job['updated_at']]);
  });

  test('type is the format a data source was created with: csv by default, ndjson or parquet when named, ndjson from the Events API', async () => {
    await json(await suite.tb.upload('name=typed_csv_file', 'csv', 'f.csv', 'a\n1\n'));
    await json(await suite.tb.form('/v0/datasources?name=typed_csv_schema', { schema: 'a Int32' }));
    await json(await suite.tb.form('/v0/datasources?name=typed_ndjson&format=ndjson', { schema: 'a Int32 `json:$.a`' }));
    await json(await suite.tb.form('/v0/datasources?name=typed_parquet&format=parquet', { schema: 'a Int32 `json:$.a`' }));
    await json(await suite.server.fetch('/v0/events?name=typed_events&wait=true', { method: 'POST', body: '{"a": 1}\n' }));
    const types: Record<string, string> = {};
    for (const name of ['typed_csv_file', 'typed_csv_schema', 'typed_ndjson', 'typed_parquet', 'typed_events']) types[name] = (await getDatasource(name)).type;
    assert.deepEqual(types, { typed_csv_file: 'csv', typed_csv_schema: 'csv', typed_ndjson: 'ndjson', typed_parquet: 'parquet', typed_events: 'ndjson' });
  });

  test('engine shows the engine parameters a data source was created with, and a plain MergeTree without keys when none were given', async () => {
    const parameters = {
      engine: 'ReplacingMergeTree', engine_sorting_key: 'id, day', engine_partition_key: 'toYYYYMM(day)', engine_ttl: 'day + INTERVAL 30 DAY', engine_ver: 'ver',
    };
    const query = new URLSearchParams({ name: 'engined', ...parameters }).toString();
    const created = (await json(await suite.tb.form(`/v0/datasources?${query}`, { schema: 'id Int32, day Date, ver UInt32' }))).datasource;
    assert.deepEqual(created.engine, parameters);
    assert.deepEqual((await getDatasource('engined')).engine, parameters);
    const plain = (await json(await suite.tb.form('/v0/datasources?name=unengined', { schema: 'id Int32' }))).datasource;
    assert.deepEqual(plain.engine, { engine: 'MergeTree', engine_sorting_key: '', engine_partition_key: '' });
  });

  test("columns show each column's type, JSONPath, DEFAULT and nullability as the schema gave them, schema.columns is the same list, and an alter adds to both and to sql_schema", async () => {
    const schema = "id Int64 `json:$.id`, tags Array(String) `json:$.meta.tags[:]`, label Nullable(String) `json:$.label` DEFAULT 'none'";
    await json(await suite.tb.form('/v0/datasources?name=described&format=ndjson', { schema }));
    const column = (name: string, type: string, jsonpath: string | null, defaultValue: string | null, nullable: boolean) => ({
      name, type, codec: null, default_value: defaultValue, jsonpath, nullable, normalized_name: name,
    });
    const expected = [
      column('id', 'Int64', '$.id', null, false),
      // A non-Nullable Array without DEFAULT defaults to [] (docs/tinybird.md).
      column('tags', 'Array(String)', '$.meta.tags[:]', '[]', false),
      column('label', 'Nullable(String)', '$.label', "'none'", true),
    ];
    const fetched = await getDatasource('described');
    assert.deepEqual(fetched.columns, expected);
    assert.deepEqual(fetched.schema.columns, expected);

    const altered = await json(await suite.tb.form('/v0/datasources/described/alter', { schema: `${schema}, score Float64 \`json:$.score\` DEFAULT 1.5` }));
    const withScore = [...expected, column('score', 'Float64', '$.score', '1.5', false)];
    const after = await getDatasource('described');
    assert.deepEqual(altered.datasource.columns, withScore);
    assert.deepEqual(after.schema.columns, withScore);
    assert.equal(after.schema.sql_schema,
      "id Int64 `json:$.id`, tags Array(String) `json:$.meta.tags[:]` DEFAULT [], label Nullable(String) `json:$.label` DEFAULT 'none', score Float64 `json:$.score` DEFAULT 1.5");
  });

  test("a data source's quarantine_rows counts every row of its quarantine, across imports and events, as its quarantine data source counts them", async () => {
    await json(await suite.tb.form('/v0/datasources?name=guarded&format=ndjson', { schema: 'id Int32 `json:$.id`' }));
    const first = await json(await suite.tb.upload('name=guarded&mode=append&format=ndjson', 'ndjson', 'a.ndjson', '{"id": 1}\n{"id": "one"}\nnot json\n'));
    assert.deepEqual([first.quarantine_rows, first.invalid_lines], [1, 1]);
    assert.equal(first.datasource.quarantine_rows, 2);
    const events = await json(await suite.server.fetch('/v0/events?name=guarded&wait=true', { method: 'POST', body: '{"id": 2}\n{"id": 99999999999}\n{"id": null}\n' }));
    assert.deepEqual(events, { successful_rows: 1, quarantined_rows: 2 });
    const fetched = await getDatasource('guarded');
    assert.equal(fetched.quarantine_rows, 4);
    assert.equal(fetched.statistics.row_count, 2);
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM guarded_quarantine'), [{ n: 4 }]);
    assert.equal((await getDatasource('guarded_quarantine')).statistics.row_count, 4);
    assert.equal((await suite.server.fetch('/v0/datasources/guarded_quarantine/truncate', { method: 'POST' })).status, 205);
    assert.equal((await getDatasource('guarded')).quarantine_rows, 0);
  });

  test("an import's import_id is the c__import_id of the rows it quarantined, for a file and for a URL import job", async () => {
    await json(await suite.tb.form('/v0/datasources?name=traced', { schema: 'id Int32, v String' }));
    const file = await json(await suite.tb.upload('name=traced&mode=append', 'csv', 'a.csv', '1,a\nx,b\n'));
    const url = suite.files.serve('/traced.csv', '2,c\ny,d\nz,e\n');
    const started = await json(await suite.tb.form('/v0/datasources?name=traced&mode=append', { url }));
    assert.equal(started.job.import_id, started.import_id);
    const job = await suite.tb.waitForJob(started.id);
    assert.equal(job['status'], 'done', JSON.stringify(job));
    assert.equal(job['import_id'], started.import_id);
    assert.notEqual(file.import_id, started.import_id);
    assert.deepEqual(await suite.tb.sql('SELECT id, c__import_id FROM traced_quarantine ORDER BY id'), [
      { id: 'x', c__import_id: file.import_id }, { id: 'y', c__import_id: started.import_id }, { id: 'z', c__import_id: started.import_id },
    ]);
  });

  test("an import job reports the rows it wrote and quarantined, the lines it could not parse, the bytes it downloaded, and its mode, URL, data source and times", async () => {
    const created = (await json(await suite.tb.form('/v0/datasources?name=fetched&format=ndjson', { schema: 'id Int32 `json:$.id`' }))).datasource;
    const content = '{"id": 1}\n{"id": "q"}\nbroken\n{"id": 2}\n{"id": 3}\n';
    const url = suite.files.serve('/fetched.ndjson', content);
    const before = Date.now();
    const started = await json(await suite.tb.form('/v0/datasources?name=fetched&mode=append&format=ndjson', { url }));
    assert.deepEqual([started.status, started.job.status, started.job.is_cancellable, started.job.started_at], ['waiting', 'waiting', true, null]);
    const job = await suite.tb.waitForJob(started.id);
    const after = Date.now();
    assert.equal(job['status'], 'done', JSON.stringify(job));
    assert.deepEqual(job['statistics'], { bytes: Buffer.byteLength(content), row_count: 3 });
    assert.deepEqual([job['quarantine_rows'], job['invalid_lines']], [1, 1]);
    assert.deepEqual([job['kind'], job['mode'], job['url'], job['datasource'], job['is_cancellable']], ['import', 'append', url, { id: created.id, name: 'fetched' }, false]);
    assertTimeBetween(job['created_at'], before, after, 'created_at');
    assertTimeBetween(job['started_at'], before, after, 'started_at');
    assert.ok(parseTinybirdTime(job['started_at']) >= parseTinybirdTime(job['created_at']));
    assert.ok(parseTinybirdTime(job['updated_at']) >= parseTinybirdTime(job['started_at']));
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM fetched'), [{ n: 3 }]);
  });

  test('a URL import job that creates its data source names the data source it created, by the id the data source has', async () => {
    const url = suite.files.serve('/born.csv', 'a,b\n1,x\n2,y\n');
    const started = await json(await suite.tb.form('/v0/datasources?name=born', { url }));
    const job = await suite.tb.waitForJob(started.id);
    assert.equal(job['status'], 'done', JSON.stringify(job));
    const datasource = await getDatasource('born');
    assert.deepEqual(job['datasource'], { id: datasource.id, name: 'born' });
    const listed = await json(await suite.server.fetch('/v0/jobs'));
    assert.deepEqual(listed.jobs.find((entry: { id: string }) => entry.id === started.id).datasource, { id: datasource.id, name: 'born' });
  });

  test('a URL import whose download fails ends in error saying the URL and the HTTP status, and creates no data source', async () => {
    const url = suite.files.serve('/present.csv', 'a\n1\n').replace('/present.csv', '/absent.csv');
    const started = await json(await suite.tb.form('/v0/datasources?name=never_born', { url }));
    const job = await suite.tb.waitForJob(started.id);
    assert.deepEqual([job['status'], job['is_cancellable'], job['statistics']], ['error', false, { bytes: 0, row_count: 0 }]);
    assert.equal(job['error'], `Download of ${url} failed with HTTP status 404 Not Found`);
    assert.equal((await suite.server.fetch('/v0/datasources/never_born')).status, 404);
  });

  test('a delete job reports the rows it deleted, as many as the dry run counted, with its condition and data source', async () => {
    const created = (await json(await suite.tb.form('/v0/datasources?name=pruned', { schema: 'id Int32' }))).datasource;
    await json(await suite.tb.upload('name=pruned&mode=append', 'csv', 'a.csv', '1\n2\n3\n4\n5\n6\n7\n'));
    const condition = 'id % 2 = 1';
    const dry = await json(await suite.tb.form('/v0/datasources/pruned/delete', { delete_condition: condition, dry_run: 'true' }));
    assert.deepEqual(dry, { rows_to_be_deleted: 4 });
    const started = await json(await suite.tb.form('/v0/datasources/pruned/delete', { delete_condition: condition }));
    const job = await suite.tb.waitForJob(started.id);
    assert.equal(job['status'], 'done', JSON.stringify(job));
    assert.equal((job['statistics'] as { row_count: number }).row_count, dry.rows_to_be_deleted);
    assert.deepEqual([job['delete_condition'], job['delete_id'], job['datasource']], [condition, started.id, { id: created.id, name: 'pruned' }]);
    assert.equal((await getDatasource('pruned')).statistics.row_count, 3);
  });

  test("a query's statistics.elapsed is the time it took, no more than the client waited for the answer", async () => {
    await json(await suite.tb.upload('name=timed_query', 'csv', 'a.csv', 'n\n1\n2\n3\n'));
    const before = performance.now();
    const body = await json(await suite.server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT n FROM timed_query ORDER BY n FORMAT JSON')}`));
    const waited = (performance.now() - before) / 1000;
    assert.equal(typeof body.statistics.elapsed, 'number');
    assert.ok(body.statistics.elapsed > 0 && body.statistics.elapsed <= waited, `elapsed ${body.statistics.elapsed}, waited ${waited}`);
  });

  test("analyze's present_pct is the share of records holding a key, and CSV columns have neither a path nor a present_pct", async () => {
    const form = new FormData();
    form.append('ndjson', new Blob(['{"a": 1, "b": "x"}\n{"a": 2}\n{"a": 3}\n{"a": 4, "c": true}\n{"a": 5, "c": false}\n']), 'share.ndjson');
    const body = await json(await suite.server.fetch('/v0/analyze', { method: 'POST', body: form }));
    const shares = Object.fromEntries(body.analysis.columns.map((column: { name: string; present_pct: number }) => [column.name, column.present_pct]));
    assert.deepEqual(shares, { a: 1, b: 0.2, c: 0.4 });
    const csv = new FormData();
    csv.append('csv', new Blob(['a,b\n1,\n2,y\n']), 'share.csv');
    const csvBody = await json(await suite.server.fetch('/v0/analyze', { method: 'POST', body: csv }));
    assert.deepEqual(csvBody.analysis.columns.map((column: { path: unknown; present_pct: unknown }) => [column.path, column.present_pct]), [[null, null], [null, null]]);
  });

  test("analyze's dialect says a CSV file's delimiter, line ending and whether it has a header", async () => {
    const cases: Array<[string, string, { delimiter: string; has_header: boolean; newline: string }]> = [
      ['crlf.csv', 'id,name\r\n1,x\r\n2,y\r\n', { delimiter: ',', has_header: true, newline: '\r\n' }],
      ['tabs.csv', 'id\tname\n1\tx\n2\ty\n', { delimiter: '\t', has_header: true, newline: '\n' }],
      ['headless.csv', '1|x\n2|y\n3|z\n', { delimiter: '|', has_header: false, newline: '\n' }],
    ];
    for (const [fileName, content, expected] of cases) {
      const form = new FormData();
      form.append('csv', new Blob([content]), fileName);
      const body = await json(await suite.server.fetch('/v0/analyze', { method: 'POST', body: form }));
      const { delimiter, has_header: hasHeader, newline } = body.dialect;
      assert.deepEqual({ delimiter, has_header: hasHeader, newline }, expected, fileName);
    }
  });

  test('GET /v0/tokens/{name} shows the id, description and scopes the token was created with; an expiring token is a JWT whose claims are its name, scopes and expiration_time', async () => {
    const created = await json(await suite.server.fetch('/v0/tokens?name=described_token&description=for%20dashboards&scope=DATASOURCES:READ:timed&scope=DATASOURCES:APPEND:fetched', { method: 'POST' }));
    const scopes = [{ type: 'DATASOURCES:READ', resource: 'timed' }, { type: 'DATASOURCES:APPEND', resource: 'fetched' }];
    assert.deepEqual([created.name, created.description, created.scopes], ['described_token', 'for dashboards', scopes]);
    const shown = await json(await suite.server.fetch('/v0/tokens/described_token'));
    assert.deepEqual(shown, { id: created.id, name: 'described_token', description: 'for dashboards', scopes });

    const expiration = Math.floor(Date.now() / 1000) + 3600;
    const expiring = await json(await suite.server.fetch(`/v0/tokens?name=expiring&scope=DATASOURCES:READ:timed&expiration_time=${expiration}`, { method: 'POST' }));
    assert.deepEqual([expiring.name, expiring.scopes], ['expiring', [{ type: 'DATASOURCES:READ', resource: 'timed' }]]);
    const claims = JSON.parse(Buffer.from(String(expiring.token).split('.')[1]!, 'base64url').toString('utf8'));
    assert.deepEqual([claims.name, claims.scopes, claims.exp], ['expiring', [{ type: 'DATASOURCES:READ', resource: 'timed' }], expiration]);
  });
});
