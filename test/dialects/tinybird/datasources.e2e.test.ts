import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { CATALOG_SCHEMA } from '../../../src/core/catalog/migrations.ts';
import { useTinybirdSuite } from '../../helpers/tinybird-suite.ts';

const CSV = 'id,name,amount,day\n1,Al Brown,10.5,2024-01-01\n2,Bea,3,2024-01-02\n3,,7.25,2024-01-03\n';
const NDJSON_SCHEMA = 'id Int32 `json:$.id`, name String `json:$.name`';

describe('Tinybird Data Sources API, replaying the seed', () => {
  const suite = useTinybirdSuite();

  test('creating a data source from a local CSV file infers names from the header and guesses types', async () => {
    const response = await suite.tb.upload('name=my_datasource_name', 'csv', 'local_file.csv', CSV);
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.match(body.import_id, /^[0-9a-f-]{36}$/);
    assert.equal(body.datasource.name, 'my_datasource_name');
    assert.match(body.datasource.id, /^t_[0-9a-z]{21}$/);
    assert.deepEqual(body.datasource.columns.map((column: { name: string; type: string }) => [column.name, column.type]), [
      ['id', 'Int32'], ['name', 'Nullable(String)'], ['amount', 'Float64'], ['day', 'Date'],
    ]);
    assert.equal(body.error, false);
    assert.deepEqual([body.quarantine_rows, body.invalid_lines, body.successful_rows], [0, 0, 3]);
    assert.equal(body.datasource.statistics.row_count, 3);
    assert.deepEqual(await suite.tb.sql('SELECT id, name, amount FROM my_datasource_name ORDER BY id'), [
      { id: 1, name: 'Al Brown', amount: 10.5 }, { id: 2, name: 'Bea', amount: 3 }, { id: 3, name: null, amount: 7.25 },
    ]);
  });

  test('a CSV without a header gets column_00, column_01 … and type_guessing=false makes every column a String', async () => {
    const response = await suite.tb.upload('name=no_header&type_guessing=false', 'csv', 'x.csv', '1,a\n2,b\n');
    const body = await response.json();
    assert.deepEqual(body.datasource.columns.map((column: { name: string; type: string }) => [column.name, column.type]), [['column_00', 'String'], ['column_01', 'String']]);
    assert.deepEqual(await suite.tb.sql('SELECT column_00 FROM no_header ORDER BY 1'), [{ column_00: '1' }, { column_00: '2' }]);
  });

  test('a CSV without a header whose later rows leave a field empty keeps its first row as data: numbers and times are never column names', async () => {
    for (const [name, csv, expected] of [
      ['first_row_numbers', '1,2\n3,\n', [['column_00', 'Int32'], ['column_01', 'Nullable(Int32)']]],
      ['first_row_times', '2024-01-01 00:00:00,5,2024-01-01,x\n2024-01-02 10:00:00,6,,\n', [['column_00', 'DateTime'], ['column_01', 'Int32'], ['column_02', 'Nullable(Date)'], ['column_03', 'Nullable(String)']]],
    ] as const) {
      const response = await suite.tb.upload(`name=${name}`, 'csv', 'x.csv', csv);
      const body = await response.json();
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.deepEqual(body.datasource.columns.map((column: { name: string; type: string }) => [column.name, column.type]), expected, name);
      assert.equal(body.successful_rows, 2, name);
    }
    assert.deepEqual(await suite.tb.sql('SELECT column_00, column_01 FROM first_row_numbers ORDER BY column_00'), [{ column_00: 1, column_01: 2 }, { column_00: 3, column_01: null }]);
  });

  test('creating a data source from a remote CSV file answers with an import job that completes, listed by /v0/jobs and by its status and kind', async () => {
    const url = suite.files.serve('/trip+data/fhv_tripdata_2018-12.csv', CSV);
    const response = await suite.tb.form('/v0/datasources?name=remote_csv', { url });
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.job.kind, 'import');
    assert.equal(body.status, 'waiting');
    assert.equal(body.id, body.job_id);
    assert.match(body.job_url, new RegExp(`/v0/jobs/${body.id}$`));
    assert.ok(body.import_id);
    const job = await suite.tb.waitForJob(body.id);
    assert.equal(job['status'], 'done', JSON.stringify(job));
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM remote_csv'), [{ n: 3 }]);
    // Its write was logged under the job's key, in the write's own transaction, for a restart after a crash to find it done.
    const logged = await suite.server.core.storage.query(`SELECT count(*) AS n FROM ${CATALOG_SCHEMA}.write_log WHERE idempotency_key = ?`, [`job:${body.id}`]);
    assert.equal(Number(logged[0]!['n']), 1);
    const listed = await (await suite.server.fetch('/v0/jobs')).json();
    assert.ok(listed.jobs.some((entry: { id: string }) => entry.id === body.id));
    // status and kind keep the jobs of one, as `tb job ls --status done` asks.
    const ids = async (query: string) => (await (await suite.server.fetch(`/v0/jobs?${query}`)).json()).jobs.map((entry: { id: string }) => entry.id) as string[];
    assert.ok((await ids('status=done&kind=import')).includes(body.id));
    assert.ok(!(await ids('status=error')).includes(body.id));
    assert.ok(!(await ids('kind=delete_data')).includes(body.id));
  });

  test('a URL import, sent as a form or in the query, takes files past the 8 MB of a raw body, up to the server limit', async () => {
    const rows = 400_000;
    const csv = Array.from({ length: rows }, (_, index) => `${index},row-number-${index}\n`).join('');
    assert.ok(csv.length > 9 * 1024 * 1024);
    const url = suite.files.serve('/nine-megabytes.csv', csv);
    const form = await (await suite.tb.form('/v0/datasources?name=large_remote', { url })).json();
    assert.equal((await suite.tb.waitForJob(form.id))['status'], 'done');
    const query = await (await suite.server.fetch(`/v0/datasources?name=large_remote&mode=append&url=${encodeURIComponent(url)}`, { method: 'POST' })).json();
    assert.equal((await suite.tb.waitForJob(query.id))['status'], 'done');
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM large_remote'), [{ n: 2 * rows }]);
  });

  test('a URL that is not http or https is a 400 at once, and a job shows its URL without credentials', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://example.com/a.csv', 'not a url']) {
      const response = await suite.tb.form('/v0/datasources?name=never', { url });
      assert.equal(response.status, 400, url);
      assert.match((await response.json()).error, /Only http and https URLs can be imported|Invalid URL/);
    }
    const url = suite.files.serve('/credentials.csv', CSV).replace('http://', 'http://reader:s3cret@');
    const body = await (await suite.tb.form('/v0/datasources?name=with_credentials', { url })).json();
    const job = await suite.tb.waitForJob(body.id);
    assert.equal(job['status'], 'done', JSON.stringify(job));
    assert.equal(job['url'], url.replace('reader:s3cret@', ''));
    assert.doesNotMatch(JSON.stringify(await (await suite.server.fetch('/v0/jobs')).json()), /s3cret/);
  });

  test('a URL import whose parameters are wrong whatever the file is a 400 at once, not a job that fails: NDJSON without a schema, a create of an existing data source, a replace of a missing one', async () => {
    const url = suite.files.serve('/never.ndjson', '{"a": 1}\n');
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['name=no_schema&format=ndjson', {}, /requires to set parameter 'schema'/],
      ['name=no_schema&format=parquet', {}, /requires to set parameter 'schema'/],
      ['name=no_such&mode=replace&format=ndjson', {}, /Data Source "no_such" does not exist/],
      ['name=no_such&mode=append&format=ndjson', {}, /Data Source "no_such" does not exist/],
      ['name=url_checks', {}, /Data Source "url_checks" already exists/],
      ['name=url_checks&mode=append', { schema: 'a Int32' }, /The schema parameter is only valid with mode=create/],
    ];
    assert.equal((await suite.tb.form('/v0/datasources?name=url_checks', { schema: 'a Int32' })).status, 200);
    const before = (await (await suite.server.fetch('/v0/jobs')).json()).jobs.length;
    for (const [query, fields, message] of cases) {
      const response = await suite.tb.form(`/v0/datasources?${query}`, { url, ...fields });
      const body = await response.json();
      assert.equal(response.status, 400, `${query}: ${JSON.stringify(body)}`);
      assert.match(body.error, message, query);
    }
    assert.equal((await (await suite.server.fetch('/v0/jobs')).json()).jobs.length, before, 'no job was started');
  });

  test('a URL import into a data source dropped while it downloads ends as a job in error naming the data source', async () => {
    assert.equal((await suite.tb.form('/v0/datasources?name=dropped_midway', { schema: 'a Int32' })).status, 200);
    const url = suite.files.stall('/midway.csv');
    const job = await (await suite.tb.form('/v0/datasources?name=dropped_midway&mode=append', { url })).json();
    // The download has begun (its request reached the file server) before the data source is dropped.
    await suite.files.downloading();
    assert.equal((await suite.server.fetch('/v0/datasources/dropped_midway', { method: 'DELETE' })).status, 204);
    suite.files.release();
    let finished: Record<string, unknown> = {};
    for (let waited = 0; waited < 200; waited += 1) {
      finished = await (await suite.server.fetch(`/v0/jobs/${job.id}`)).json();
      if (finished['status'] === 'done' || finished['status'] === 'error') break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.equal(finished['status'], 'error');
    assert.match(String(finished['error']), /dropped_midway/);
  });

  test("a URL import the token may not make is a 403 at once, in Tinybird's words, not a job that fails: a READ token's append, an APPEND token's import into a data source it would create", async () => {
    const url = suite.files.serve('/forbidden.csv', '1\n');
    assert.equal((await suite.tb.form('/v0/datasources?name=url_guarded', { schema: 'a Int32' })).status, 200);
    const token = async (scope: string) => (await (await suite.server.fetch(`/v0/tokens?name=${scope.replaceAll(':', '_')}&scope=${scope}`, { method: 'POST' })).json()).token as string;
    const reader = await token('DATASOURCES:READ:url_guarded');
    const appender = await token('DATASOURCES:APPEND:url_missing');
    const before = (await (await suite.server.fetch('/v0/jobs')).json()).jobs.length;
    for (const [query, secret, message] of [
      ['name=url_guarded&mode=append', reader, /may not append table "url_guarded"/],
      ['name=url_elsewhere&mode=append', reader, /may not append table "url_elsewhere"/],
      ['name=url_missing&mode=append', appender, /token needs scope DATASOURCES:CREATE/],
    ] as const) {
      const response = await suite.tb.form(`/v0/datasources?${query}`, { url }, secret);
      assert.deepEqual([response.status, ((await response.json()) as { error: string }).error.match(message) !== null], [403, true], query);
    }
    assert.equal((await (await suite.server.fetch('/v0/jobs')).json()).jobs.length, before, 'no job was started');
  });

  test('an NDJSON data source is created with a URL-encoded schema of JSONPaths, from a local file and from a URL', async () => {
    const ndjson = '{ "id": 123, "name": "Al Brown"}\n{"id": 124, "name": "Bea"}\n';
    const local = await suite.tb.upload(`name=events&mode=create&format=ndjson&schema=${encodeURIComponent(NDJSON_SCHEMA)}`, 'ndjson', 'local_file.ndjson', ndjson);
    assert.equal(local.status, 200, await local.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT id, name FROM events ORDER BY id'), [{ id: 123, name: 'Al Brown' }, { id: 124, name: 'Bea' }]);
    const url = suite.files.serve('/file.json', ndjson);
    const remote = await (await suite.tb.form('/v0/datasources?name=events_remote&mode=create&format=ndjson', { schema: NDJSON_SCHEMA, url })).json();
    assert.equal((await suite.tb.waitForJob(remote.id))['status'], 'done');
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM events_remote'), [{ n: 2 }]);
  });

  test('NDJSON without a schema is refused on create', async () => {
    const response = await suite.tb.upload('name=nope&format=ndjson', 'ndjson', 'x.ndjson', '{"a":1}\n');
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { error: "mode=create with format=ndjson or format=parquet requires to set parameter 'schema'." });
  });

  test('DEFAULT values fill missing keys and a JSON column keeps the whole record', async () => {
    const schema = "id Int32 `json:$.id` DEFAULT 1, name String `json:$.name` DEFAULT 'Unknown'";
    await suite.tb.upload(`name=defaults&format=ndjson&schema=${encodeURIComponent(schema)}`, 'ndjson', 'd.ndjson', '{"id": 5}\n{"name": "x"}\n');
    assert.deepEqual(await suite.tb.sql('SELECT id, name FROM defaults ORDER BY id'), [{ id: 1, name: 'x' }, { id: 5, name: 'Unknown' }]);
    const created = await suite.tb.form('/v0/datasources', { name: 'example', format: 'ndjson', schema: 'data JSON `json:$`' });
    assert.equal(created.status, 200, await created.clone().text());
    await suite.tb.upload('name=example&mode=append&format=ndjson', 'ndjson', 'e.ndjson', '{"a": {"b": [1, 2]}}\n');
    const [row] = await suite.tb.sql<{ b: string }>("SELECT data->>'$.a.b[1]' AS b FROM example");
    assert.equal(row!.b, '2');
  });

  test('a JSONPath with [:] needs an Array column', async () => {
    const response = await suite.tb.form('/v0/datasources?name=spread&format=ndjson', { schema: 'i Int32 `json:$.i[:]`' });
    assert.equal(response.status, 400);
    assert.match((await response.json()).error, /Column "i": the JSONPath \$\.i\[:\] takes every element of an array, so the column must be an Array/);
  });

  test('a DEFAULT that is not a value of its column type, NULL in a column that is not Nullable, or longer than a FixedString, is refused on create', async () => {
    for (const [schema, reason] of [
      ["n Int32 DEFAULT 'abc'", /DEFAULT 'abc' is not a value of the column's type/],
      ['d Date DEFAULT 42.5', /DEFAULT 42.5 is not a value/],
      ['n Int32 DEFAULT NULL', /DEFAULT NULL gives NULL and the column is not nullable/],
      ['n Int32 DEFAULT 1/0', /DEFAULT 1\/0 is not a value/],
      ["c FixedString(2) DEFAULT 'abc'", /DEFAULT 'abc' is 3 bytes long, longer than the column's 2/],
      ["c FixedString(2) DEFAULT 'é€'", /DEFAULT 'é€' is 5 bytes long, longer than the column's 2/],
    ] as const) {
      const response = await suite.tb.form('/v0/datasources?name=bad_default', { schema });
      assert.equal(response.status, 400, schema);
      assert.match((await response.json()).error, reason);
    }
    const nullable = await suite.tb.form('/v0/datasources?name=null_default', { schema: 'n Nullable(Int32) DEFAULT NULL, t DateTime DEFAULT now()' });
    assert.equal(nullable.status, 200, await nullable.clone().text());
    assert.equal((await suite.server.fetch('/v0/datasources/bad_default')).status, 404);
  });

  test('a column type nested more than 8 levels deep is a 400 naming the bound and creates nothing', async () => {
    const arrays = (depth: number) => `${'Array('.repeat(depth)}Int32${')'.repeat(depth)}`;
    assert.equal((await suite.tb.form('/v0/datasources?name=deep_ok', { schema: `a ${arrays(8)}` })).status, 200);
    for (const schema of [`a ${arrays(9)}`, `a ${arrays(50_000)}`, `a ${'Nullable('.repeat(50_000)}Int32${')'.repeat(50_000)}`]) {
      const response = await suite.tb.form('/v0/datasources?name=too_deep', { schema });
      assert.equal(response.status, 400);
      const { error } = await response.json();
      assert.match(error, /^Invalid schema: column "a": Invalid type "(Array|Nullable)\(/);
      assert.ok(error.length < 500, error);
    }
    assert.match((await (await suite.tb.form('/v0/datasources?name=too_deep', { schema: `a ${arrays(9)}` })).json()).error, /nest at most 8 levels deep/);
    assert.equal((await suite.server.fetch('/v0/datasources/too_deep')).status, 404);
  });

  test('types ClickHouse refuses are a 400 naming the column: an Array, Map or Tuple inside Nullable, an Array as a Map key; and so is an unknown engine', async () => {
    for (const [schema, reason] of [
      ['a Nullable(Array(Int32))', /column "a": an Array cannot be inside Nullable/],
      ['a Array(Nullable(Array(Int32)))', /column "a": an Array cannot be inside Nullable/],
      ['a Nullable(Tuple(x Int32))', /column "a": a Tuple cannot be inside Nullable/],
      ['a Map(String, Nullable(Map(String, Int32)))', /column "a": a Map cannot be inside Nullable/],
      ['a Map(Array(Int32), Int32)', /column "a": a Map key cannot be an Array/],
    ] as const) {
      const response = await suite.tb.form('/v0/datasources?name=refused_type', { schema });
      assert.equal(response.status, 400, schema);
      assert.match((await response.json()).error, reason, schema);
    }
    const engine = await suite.tb.form('/v0/datasources?name=refused_type&engine=Nope', { schema: 'a Int32' });
    assert.equal(engine.status, 400);
    assert.match((await engine.json()).error, /Unknown engine "Nope": use one of MergeTree, ReplacingMergeTree/);
    assert.equal((await suite.server.fetch('/v0/datasources/refused_type')).status, 404);
    assert.equal((await suite.tb.form('/v0/datasources?name=allowed_type&engine=SummingMergeTree', { schema: 'a Array(Nullable(Int32)), m Map(String, Array(Int32)), n Nullable(String)' })).status, 200);
  });

  test('DEFAULTs are shown as written, and an alter that repeats them adds only the new columns', async () => {
    const schema = "a Int32, arr Array(Int32) DEFAULT [1, 2], s String DEFAULT 'x' || 'y', n Nullable(Int32) DEFAULT -1";
    assert.equal((await suite.tb.form('/v0/datasources?name=shown_defaults', { schema })).status, 200);
    const shown = await (await suite.server.fetch('/v0/datasources/shown_defaults')).json();
    assert.equal(shown.schema.sql_schema, schema);
    assert.deepEqual(shown.columns.map((column: { default_value: string | null }) => column.default_value), [null, '[1, 2]', "'x' || 'y'", '-1']);
    const altered = await suite.tb.form('/v0/datasources/shown_defaults/alter', { schema: `${schema}, z Nullable(String)` });
    assert.equal(altered.status, 200, await altered.clone().text());
    assert.deepEqual((await altered.json()).operations, ['ADD COLUMN z Nullable(String)']);
    await suite.tb.upload('mode=append&name=shown_defaults&format=csv', 'csv', 'd.csv', 'a\n7\n');
    assert.deepEqual(await suite.tb.sql('SELECT a, arr, s, n, z FROM shown_defaults'), [{ a: 7, arr: [1, 2], s: 'xy', n: -1, z: null }]);
  });

  test('alter takes the data source\'s own schema back with an Array column, and an added Array defaults to [] as on create', async () => {
    await suite.tb.form('/v0/datasources?name=with_arrays&format=ndjson', { schema: 'id Int32 `json:$.id`, arr Array(Int32) `json:$.arr[:]`' });
    await suite.server.fetch('/v0/events?name=with_arrays&wait=true', { method: 'POST', body: '{"id": 1, "arr": [7]}\n' });
    const schema = 'id Int32 `json:$.id`, arr Array(Int32) `json:$.arr[:]`, tags Array(String) `json:$.tags[:]`, n Int64 `json:$.n` DEFAULT 5';
    const altered = await suite.tb.form('/v0/datasources/with_arrays/alter', { schema });
    assert.equal(altered.status, 200, await altered.clone().text());
    const events = await suite.server.fetch('/v0/events?name=with_arrays&wait=true', { method: 'POST', body: '{"id": 2}\n' });
    assert.deepEqual(await events.json(), { successful_rows: 1, quarantined_rows: 0 });
    assert.deepEqual(await suite.tb.sql('SELECT id, arr, tags, n FROM with_arrays ORDER BY id'), [{ id: 1, arr: [7], tags: [], n: 5 }, { id: 2, arr: [], tags: [], n: 5 }]);
  });

  test('alter adds a non-Nullable column without DEFAULT to a data source with rows: its rows take the type\'s zero, as in ClickHouse', async () => {
    await suite.tb.form('/v0/datasources?name=zero_filled&format=ndjson', { schema: 'id Int32 `json:$.id`' });
    await suite.server.fetch('/v0/events?name=zero_filled&wait=true', { method: 'POST', body: '{"id": 1}\n' });
    const schema = 'id Int32 `json:$.id`, n UInt64 `json:$.n`, s String `json:$.s`, d Date `json:$.d`, t DateTime `json:$.t`, b Bool `json:$.b`, '
      + 'u UUID `json:$.u`, l Array(Int32) `json:$.l[:]`, m Map(String, Int32) `json:$.m`, f FixedString(2) `json:$.f`';
    const altered = await suite.tb.form('/v0/datasources/zero_filled/alter', { schema });
    assert.equal(altered.status, 200, await altered.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT id, n, s, d, t, b, u, l, m, length(f) AS f_bytes, f = \'\\0\\0\' AS f_nul FROM zero_filled'), [
      { id: 1, n: 0, s: '', d: '1970-01-01', t: '1970-01-01 00:00:00', b: false, u: '00000000-0000-0000-0000-000000000000', l: [], m: {}, f_bytes: 2, f_nul: true },
    ]);
    const missing = await suite.server.fetch('/v0/events?name=zero_filled&wait=true', { method: 'POST', body: '{"id": 2}\n' });
    assert.deepEqual(await missing.json(), { successful_rows: 0, quarantined_rows: 1 }, 'a new row still needs the value (the column has no DEFAULT)');
  });

  test('alter adds new columns at the end only: one placed before an existing column is a 400, as a headerless CSV would fill it with that column\'s values', async () => {
    await suite.tb.form('/v0/datasources?name=altered_middle', { schema: 'a String, b String' });
    const altered = await suite.tb.form('/v0/datasources/altered_middle/alter', { schema: 'a String, n String, b String' });
    assert.equal(altered.status, 400);
    assert.match((await altered.json()).error, /New columns can only be added at the end: "n" comes before the existing column "b"/);
    const datasource = await (await suite.server.fetch('/v0/datasources/altered_middle')).json();
    assert.deepEqual(datasource.columns.map((column: { name: string }) => column.name), ['a', 'b']);
    assert.equal((await suite.tb.form('/v0/datasources/altered_middle/alter', { schema: 'a String, b String, n String' })).status, 200);
  });

  test('multipart form fields are parameters before the file; one after the file, or a second file, is a 400 and writes nothing, and never takes the server down after an import already refused', async () => {
    await suite.tb.form('/v0/datasources?name=ordered_parts', { schema: 'id Int32, v String' });
    await suite.tb.upload('name=ordered_parts&mode=append', 'csv', 'seed.csv', '1,a\n2,b\n3,c\n');
    const post = (fields: Array<[string, string | Blob, string?]>, token?: null) => {
      const form = new FormData();
      for (const [name, value, fileName] of fields) {
        if (typeof value === 'string') form.append(name, value);
        else form.append(name, value, fileName);
      }
      return suite.server.fetch('/v0/datasources?name=ordered_parts', { method: 'POST', body: form, ...(token === null && { token }) });
    };
    const replacement = new Blob(['1,A\n']);
    const late = await post([['mode', 'replace'], ['csv', replacement, 'r.csv'], ['replace_condition', 'id < 2']]);
    assert.equal(late.status, 400);
    assert.match(((await late.json()) as { error: string }).error, /"replace_condition" comes after the file/);
    assert.deepEqual(await suite.tb.sql('SELECT id, v FROM ordered_parts ORDER BY id'), [{ id: 1, v: 'a' }, { id: 2, v: 'b' }, { id: 3, v: 'c' }]);
    // An import refused before its file ends (no token; a data source that exists) is not failed
    // again by the late field: the answer is its own, and the server goes on.
    const unauthenticated = await post([['csv', replacement, 'r.csv'], ['mode', 'append']], null);
    assert.equal(unauthenticated.status, 403);
    const exists = await post([['csv', replacement, 'r.csv'], ['mode', 'append']]);
    assert.equal(exists.status, 400);
    assert.match(((await exists.json()) as { error: string }).error, /already exists/);
    // A second file would go unread: a 400, and nothing written.
    const twoFiles = await post([['mode', 'append'], ['csv', replacement, 'r.csv'], ['csv', new Blob(['9,z\n']), 's.csv']]);
    assert.equal(twoFiles.status, 400);
    assert.match(((await twoFiles.json()) as { error: string }).error, /second file \("csv"\): send one file per request/);
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM ordered_parts'), [{ n: 3 }]);
    const early = await post([['mode', 'replace'], ['replace_condition', 'id < 2'], ['csv', replacement, 'r.csv']]);
    assert.equal(early.status, 200, await early.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT id, v FROM ordered_parts ORDER BY id'), [{ id: 1, v: 'A' }, { id: 2, v: 'b' }, { id: 3, v: 'c' }]);
  });

  test('alter with dry_run=true says the operations and checks them, but changes nothing', async () => {
    await suite.tb.form('/v0/datasources?name=dry_altered', { schema: 'id Int32' });
    assert.equal((await suite.tb.form('/v0/datasources/dry_altered/alter', { description: 'before' })).status, 200);
    const dry = await suite.tb.form('/v0/datasources/dry_altered/alter', { schema: 'id Int32, extra Nullable(String)', description: 'after', dry_run: 'true' });
    const body = (await dry.json()) as { operations: string[]; datasource: { description: string; columns: Array<{ name: string }> } };
    assert.equal(dry.status, 200, JSON.stringify(body));
    assert.deepEqual(body.operations, ['ADD COLUMN extra Nullable(String)', 'MODIFY COMMENT']);
    const current = (await (await suite.server.fetch('/v0/datasources/dry_altered')).json()) as { description: string; columns: Array<{ name: string }> };
    assert.deepEqual([current.description, current.columns.map((column) => column.name)], ['before', ['id']]);
    assert.deepEqual([body.datasource.description, body.datasource.columns.map((column) => column.name)], ['before', ['id']]);
    const invalid = await suite.tb.form('/v0/datasources/dry_altered/alter', { schema: 'extra String', dry_run: 'true' });
    assert.equal(invalid.status, 400, 'a change that would be refused is refused in a dry run too');
  });

  test('a Data Source name must be letters, digits and _, not starting with a digit, however it is created', async () => {
    for (const name of ['my-source', '1st', 'with space']) {
      const fromSchema = await suite.tb.form(`/v0/datasources?name=${encodeURIComponent(name)}`, { schema: 'a Int32' });
      assert.equal(fromSchema.status, 400, name);
      assert.match((await fromSchema.json()).error, /Invalid Data Source name/);
      const fromBody = await suite.server.fetch(`/v0/datasources?name=${encodeURIComponent(name)}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'a\n1\n' });
      assert.equal(fromBody.status, 400, name);
      const fromEvents = await suite.server.fetch(`/v0/events?name=${encodeURIComponent(name)}`, { method: 'POST', body: '{"a": 1}\n' });
      assert.equal(fromEvents.status, 400, name);
    }
    const names = (await (await suite.server.fetch('/v0/datasources')).json()).datasources.map((source: { name: string }) => source.name);
    assert.ok(!names.some((name: string) => ['my-source', '1st', 'with space'].includes(name)), names.join(', '));
  });

  test('an empty data source is created from a schema alone', async () => {
    const response = await suite.tb.form('/v0/datasources?name=stocks', { schema: 'symbol String, date Date, close Float32' });
    const body = await response.json();
    assert.equal(response.status, 200);
    assert.deepEqual(Object.keys(body), ['datasource']);
    assert.deepEqual(body.datasource.columns.map((column: { type: string }) => column.type), ['String', 'Date', 'Float32']);
    const fetched = await (await suite.server.fetch('/v0/datasources/stocks')).json();
    assert.equal(fetched.schema.sql_schema, 'symbol String, date Date, close Float32');
  });

  test("statistics.bytes is the storage a data source's rows take: none while empty, compressed blocks once a large append wrote them", async () => {
    const created = await (await suite.tb.form('/v0/datasources?name=sized', { schema: 'id Int64, label String' })).json();
    assert.equal(created.datasource.statistics.bytes, 0);
    // Rows enough for DuckDB to write full row groups into the database file with the commit.
    const lines = Array.from({ length: 300_000 }, (_, index) => `${index},label ${index % 7}`);
    const csv = `${lines.join('\n')}\n`;
    const appended = await (await suite.tb.upload('mode=append&name=sized', 'csv', 'sized.csv', csv)).json();
    const { bytes, row_count: rowCount } = appended.datasource.statistics;
    assert.equal(rowCount, 300_000);
    assert.ok(bytes > 0 && bytes < csv.length, `${bytes} bytes for a ${csv.length}-byte CSV`);
    const fetched = await (await suite.server.fetch('/v0/datasources/sized')).json();
    assert.equal(fetched.statistics.bytes, bytes);
  });

  test('appending a CSV with a header maps columns by name; without a header, by position; gzip files work', async () => {
    await suite.tb.form('/v0/datasources?name=appendable', { schema: 'id Int32, name String, amount Float64' });
    await suite.tb.upload('mode=append&name=appendable', 'csv', 'a.csv', 'amount,id,name\n1.5,1,one\n');
    await suite.tb.upload('mode=append&name=appendable', 'csv', 'b.csv', '2,two,2.5\n');
    await suite.tb.upload('mode=append&name=appendable', 'csv', 'c.csv.gz', gzipSync('3,three,3.5\n'));
    const url = suite.files.serve('/four.csv.gz', gzipSync('4,four,4.5\n'));
    const job = await (await suite.tb.form('/v0/datasources?mode=append&name=appendable', { url })).json();
    assert.equal((await suite.tb.waitForJob(job.id))['status'], 'done');
    assert.deepEqual(await suite.tb.sql('SELECT id, name, amount FROM appendable ORDER BY id'), [
      { id: 1, name: 'one', amount: 1.5 }, { id: 2, name: 'two', amount: 2.5 }, { id: 3, name: 'three', amount: 3.5 }, { id: 4, name: 'four', amount: 4.5 },
    ]);
  });

  test('concurrent first appends to a data source that does not exist yet all land: one creates it from its file, the others append theirs to it by header', async () => {
    const files = Array.from({ length: 6 }, (_, index) => (index % 2 === 0 ? `id,name\n${index},n${index}\n` : `name,id\nn${index},${index}\n`));
    const responses = await Promise.all(files.map((file, index) => suite.tb.upload('mode=append&name=raced_first', 'csv', `f${index}.csv`, file)));
    for (const response of responses) assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT id, name FROM raced_first ORDER BY id'), files.map((_, index) => ({ id: index, name: `n${index}` })));
  });

  test('a first append mixing headed and headerless files lands whichever wins; appends answered 200 stay when the append that created the data source fails', async () => {
    const mixed = ['v,id\nfirst,1\n', ...Array.from({ length: 5 }, (_, index) => `x${index},${100 + index}\n`)];
    const responses = await Promise.all(mixed.map((file, index) => suite.tb.upload('mode=append&name=raced_mixed', 'csv', `m${index}.csv`, file)));
    for (const response of responses) assert.equal(response.status, 200, await response.clone().text());
    const ids = (await suite.tb.sql<Record<string, unknown>>('SELECT * FROM raced_mixed')).map((row) => Object.values(row).map(String).join(','));
    for (let index = 0; index < 5; index += 1) assert.ok(ids.includes(`x${index},${100 + index}`), `x${index} in ${JSON.stringify(ids)}`);
    // The creating append's file fails at its last line (its lines end differently), after others have joined.
    let acknowledged = 0;
    for (let round = 0; round < 3; round += 1) {
      const name = `undone_${round}`;
      const failing = suite.tb.upload(`mode=append&name=${name}`, 'csv', 'bad.csv', `id,tag\n${Array.from({ length: 40_000 }, (_, index) => `${index},bad`).join('\n')}\n40000,bad\r\n`);
      for (let attempt = 0; attempt < 500 && (await suite.server.fetch(`/v0/datasources/${name}`)).status !== 200; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 5));
      const joiners = await Promise.all(Array.from({ length: 4 }, (_, index) => suite.tb.upload(`mode=append&name=${name}`, 'csv', `g${index}.csv`, `id,tag\n${1_000_000 + index},good\n`)));
      assert.equal((await failing).status, 400);
      const kept = joiners.filter((response) => response.status === 200).length;
      acknowledged += kept;
      if (kept > 0) assert.equal((await suite.tb.sql(`SELECT count() AS c FROM ${name} WHERE tag = 'good'`))[0]!['c'], kept);
    }
    assert.ok(acknowledged > 0, 'no append joined the creating one');
  });

  test('replace swaps all rows, or only those matching replace_condition (others in the file are ignored)', async () => {
    await suite.tb.form('/v0/datasources?name=data_source_name', { schema: 'my_partition_key Int32, v String' });
    await suite.tb.upload('mode=append&name=data_source_name', 'csv', 'a.csv', '100,old\n200,old\n300,old\n');
    const partial = await suite.tb.upload(`mode=replace&name=data_source_name&format=csv&replace_condition=${encodeURIComponent('my_partition_key > 123')}`, 'csv', 'b.csv', '50,new\n200,new\n');
    assert.equal(partial.status, 200, await partial.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT my_partition_key AS k, v FROM data_source_name ORDER BY k'), [{ k: 100, v: 'old' }, { k: 200, v: 'new' }]);
    const url = suite.files.serve('/file.csv', '7,url\n');
    const job = await (await suite.tb.form('/v0/datasources?mode=replace&name=data_source_name&format=csv', { url })).json();
    assert.equal((await suite.tb.waitForJob(job.id))['status'], 'done');
    assert.deepEqual(await suite.tb.sql('SELECT my_partition_key AS k, v FROM data_source_name'), [{ k: 7, v: 'url' }]);
    const conditioned = suite.files.serve('/cond.csv', '1,cond\n500,cond\n');
    const conditionedJob = await (await suite.tb.form('/v0/datasources?mode=replace&name=data_source_name&format=csv', { replace_condition: 'my_partition_key > 123', url: conditioned })).json();
    assert.equal((await suite.tb.waitForJob(conditionedJob.id))['status'], 'done');
    assert.deepEqual(await suite.tb.sql('SELECT my_partition_key AS k FROM data_source_name ORDER BY k'), [{ k: 7 }, { k: 500 }]);
  });

  test("a data source without a name is named after its file: a URL's path without its query string, a file name with a % as it is", async () => {
    const url = suite.files.serve('/exports/signed_rows.csv?X-Amz-Signature=abc123&X-Amz-Expires=60', 'id,v\n1,a\n');
    const job = await (await suite.tb.form('/v0/datasources?mode=create&format=csv', { url })).json();
    assert.equal((await suite.tb.waitForJob(job.id))['status'], 'done');
    assert.deepEqual(await suite.tb.sql('SELECT id, v FROM signed_rows'), [{ id: 1, v: 'a' }]);
    const percent = await suite.tb.upload('mode=create', 'csv', '100%.csv', 'id\n5\n');
    assert.equal(percent.status, 200, await percent.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT id FROM _100'), [{ id: 5 }]);
  });

  test('a data source created from a CSV file loads it with the quote and escape found for it', async () => {
    await suite.tb.upload('name=backslashed', 'csv', 'b.csv', 'id,txt\n1,"a \\"q\\" b"\n2,"plain"\n3,"x\\"y"\n');
    assert.deepEqual(await suite.tb.sql('SELECT id, txt FROM backslashed ORDER BY id'), [{ id: 1, txt: 'a "q" b' }, { id: 2, txt: 'plain' }, { id: 3, txt: 'x"y' }]);
    await suite.tb.upload('name=single_quoted', 'csv', 's.csv', "id,txt\n1,'a,b'\n2,'c,d'\n3,'e'\n");
    assert.deepEqual(await suite.tb.sql('SELECT id, txt FROM single_quoted ORDER BY id'), [{ id: 1, txt: 'a,b' }, { id: 2, txt: 'c,d' }, { id: 3, txt: 'e' }]);
  });

  test('a CSV header that names the columns in another case maps them by name rather than leaving them empty', async () => {
    await suite.tb.form('/v0/datasources?name=upper_header', { schema: 'id Nullable(Int32), name Nullable(String)' });
    await suite.tb.upload('mode=append&name=upper_header', 'csv', 'u.csv', 'NAME,ID\nalice,1\nbob,2\n');
    assert.deepEqual(await suite.tb.sql('SELECT id, name FROM upper_header ORDER BY id'), [{ id: 1, name: 'alice' }, { id: 2, name: 'bob' }]);
  });

  test('a headerless CSV line with more fields than columns is an invalid line, wherever it is, and the lines after it load', async () => {
    await suite.tb.form('/v0/datasources?name=wide_first', { schema: 'id Int32, v String' });
    const response = await suite.tb.upload('mode=append&name=wide_first', 'csv', 'w.csv', '1,a,EXTRA\n2,b\n3,c,MORE\n4,d\n');
    const body = await response.json();
    assert.deepEqual([body.invalid_lines, body.successful_rows], [2, 2]);
    assert.deepEqual(await suite.tb.sql('SELECT id, v FROM wide_first ORDER BY id'), [{ id: 2, v: 'b' }, { id: 4, v: 'd' }]);
  });

  test('an append or replace without a file, url or body is a 400 that says how to send one (of a missing data source too), and changes nothing', async () => {
    await suite.tb.form('/v0/datasources?name=no_data', { schema: 'id Int32' });
    await suite.tb.upload('mode=append&name=no_data', 'csv', 'a.csv', '1\n');
    for (const query of ['mode=append&name=no_data', 'mode=replace&name=no_data', `mode=replace&name=no_data&replace_condition=${encodeURIComponent('id > 0')}`, 'mode=append&name=no_such_data']) {
      const response = await suite.tb.form(`/v0/datasources?${query}`, {});
      assert.equal(response.status, 400, query);
      assert.match((await response.json()).error, /needs data: send a file .*, a url, or a body whose Content-Type is not application\/x-www-form-urlencoded/);
    }
    // curl --data-binary @f.csv sends the form type: the body was read as parameters, and the answer says so.
    const formTyped = await suite.server.fetch('/v0/datasources?mode=append&name=no_data', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '2\n3\n',
    });
    assert.equal(formTyped.status, 400);
    assert.match((await formTyped.json()).error, /add -H "Content-Type: text\/csv"/);
    const csvTyped = await suite.server.fetch('/v0/datasources?mode=append&name=no_data', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '2\n3\n' });
    assert.equal(csvTyped.status, 200, await csvTyped.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT id FROM no_data ORDER BY id'), [{ id: 1 }, { id: 2 }, { id: 3 }]);
  });

  test('rows that fail validation go to the quarantine data source with the column, value and reason, and the import answers 200', async () => {
    await suite.tb.form('/v0/datasources?name=strict', { schema: 'id Int32, day Date, ok UInt8' });
    const response = await suite.tb.upload('mode=append&name=strict', 'csv', 'bad.csv', '1,2024-01-01,1\nx,2024-01-01,1\n3,not-a-date,1\n4,2024-01-01,1,extra\n5,2024-01-01,300\n');
    const body = await response.json();
    assert.equal(response.status, 200);
    assert.deepEqual([body.quarantine_rows, body.invalid_lines], [3, 1]);
    assert.equal(body.error, 'There was an error with file contents: 3 rows in quarantine and 1 invalid lines.');
    const quarantined = await suite.tb.sql<{ id: string; c__error_column: string[]; c__error: string[] }>('SELECT id, c__error_column, c__error FROM strict_quarantine ORDER BY id');
    assert.equal(quarantined.length, 4);
    const x = quarantined.find((row) => row.id === 'x')!;
    assert.deepEqual(x.c__error_column, ['id']);
    assert.match(x.c__error[0]!, /column "id": value "x" is not a valid Int32/);
    assert.match(quarantined.find((row) => row.id === '5')!.c__error[0]!, /"300" is not a valid UInt8/);
    const listed = await (await suite.server.fetch('/v0/datasources')).json();
    const strict = listed.datasources.find((datasource: { name: string }) => datasource.name === 'strict');
    assert.equal(strict.quarantine_rows, 4);
    assert.ok(listed.datasources.some((datasource: { name: string }) => datasource.name === 'strict_quarantine'));
    assert.equal((await suite.server.fetch('/v0/datasources/strict_quarantine/truncate', { method: 'POST' })).status, 205);
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM strict_quarantine'), [{ n: 0 }]);
  });

  test('a Parquet file is imported with a schema of JSONPaths', async () => {
    const path = `${suite.server.core.storage.spoolDir}/fixture.parquet`;
    await suite.server.core.storage.query(`COPY (SELECT 123 AS id, 'Al Brown' AS name) TO '${path}' (FORMAT parquet)`);
    const { readFile } = await import('node:fs/promises');
    const parquet = await readFile(path);
    const response = await suite.tb.upload(`name=pq&format=parquet&schema=${encodeURIComponent(NDJSON_SCHEMA)}`, 'parquet', 'local_file.parquet', parquet);
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT id, name FROM pq'), [{ id: 123, name: 'Al Brown' }]);
    const corrupt = await suite.tb.upload('name=pq&mode=append&format=parquet', 'parquet', 'bad.parquet', Buffer.from('PAR1 garbage PAR1'));
    assert.equal(corrupt.status, 400);
    assert.match((await corrupt.json()).error, /Parquet data could not be read/);
  });

  test("without a format, a file is read by its name's ending (.ndjson, .jsonl, .parquet, gzipped or not: the SDK's csv part), else in the data source's own format", async () => {
    await suite.tb.upload(`name=guessed&format=ndjson&schema=${encodeURIComponent(NDJSON_SCHEMA)}`, 'ndjson', 'g.ndjson', '{"id": 1, "name": "a"}\n');
    const path = `${suite.server.core.storage.spoolDir}/guess.parquet`;
    await suite.server.core.storage.query(`COPY (SELECT 4 AS id, 'd' AS name) TO '${path}' (FORMAT parquet)`);
    const { readFile } = await import('node:fs/promises');
    const uploads: Array<[string, string | Buffer]> = [
      ['two.ndjson.gz', gzipSync('{"id": 2, "name": "b"}\n')], ['three.jsonl', '{"id": 3, "name": "c"}\n'], ['four.parquet.gz', gzipSync(await readFile(path))],
    ];
    for (const [fileName, content] of uploads) {
      const response = await suite.tb.upload('name=guessed&mode=append', 'csv', fileName, content);
      const body = await response.json();
      assert.deepEqual([response.status, body.error, body.invalid_lines, body.successful_rows], [200, false, 0, 1], `${fileName}: ${JSON.stringify(body)}`);
    }
    // A raw body names no file: it is read as the data source's own format.
    const raw = await suite.server.fetch('/v0/datasources?mode=append&name=guessed', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '{"id": 5, "name": "e"}\n' });
    assert.equal(raw.status, 200, await raw.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT id, name FROM guessed ORDER BY id'), ['a', 'b', 'c', 'd', 'e'].map((name, index) => ({ id: index + 1, name })));
    // A file named .csv is CSV whatever the data source was made from.
    const csv = await (await suite.tb.upload('name=guessed&mode=append', 'csv', 'six.csv', '6,f\n')).json();
    assert.equal(csv.invalid_lines, 0, JSON.stringify(csv));
  });

  test('a raw body is imported as the file, and one over the raw limit gets 413 saying to send it as multipart', async () => {
    await suite.tb.form('/v0/datasources?name=raw_body', { schema: 'id Int32' });
    const ok = await suite.server.fetch('/v0/datasources?mode=append&name=raw_body', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '1\n2\n' });
    assert.equal(ok.status, 200, await ok.clone().text());
    const big = await suite.server.fetch('/v0/datasources?mode=append&name=raw_body', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '1\n'.repeat(5_000_000) });
    assert.equal(big.status, 413);
    assert.match((await big.json()).error, /^Payload is larger than the limit of 8388608 bytes: send a larger file as multipart \(curl -F csv=@file.csv\), up to \d+ bytes$/);
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM raw_body'), [{ n: 2 }]);
  });

  test('a create whose data is refused leaves no data source behind, so that it can be sent again', async () => {
    const refused = await suite.server.fetch('/v0/datasources?mode=create&name=second_try&schema=id%20Int32', {
      method: 'POST', headers: { 'content-type': 'text/csv' }, body: '1\n'.repeat(5_000_000),
    });
    assert.equal(refused.status, 413);
    assert.equal((await suite.server.fetch('/v0/datasources/second_try')).status, 404);
    const inferred = await suite.tb.upload('mode=create&name=second_try', 'csv', 'broken.csv.gz', gzipSync('id\n1\n2\n').subarray(0, 20));
    assert.equal(inferred.status, 400, await inferred.clone().text());
    assert.equal((await suite.server.fetch('/v0/datasources/second_try')).status, 404);
    const again = await suite.server.fetch('/v0/datasources?mode=create&name=second_try&schema=id%20Int32', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '1\n2\n' });
    assert.equal(again.status, 200, await again.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM second_try'), [{ n: 2 }]);
  });

  test('malformed input gets a clear 400 and the server keeps serving', async () => {
    await suite.tb.form('/v0/datasources?name=robust', { schema: 'id Int32' });
    const truncatedGzip = gzipSync('1\n2\n3\n'.repeat(1000)).subarray(0, 40);
    const gz = await suite.tb.upload('mode=append&name=robust', 'csv', 'cut.csv.gz', truncatedGzip);
    assert.equal(gz.status, 400);
    assert.match((await gz.json()).error, /gzip/i);
    const json = await suite.tb.upload(`name=robust_json&format=ndjson&schema=${encodeURIComponent('id Int32 `json:$.id`')}`, 'ndjson', 'bad.ndjson', '{"id": 1}\n{"id": \n{"id": 3}\n');
    const body = await json.json();
    assert.equal(json.status, 200);
    assert.equal(body.invalid_lines, 1);
    assert.deepEqual(await suite.tb.sql('SELECT id FROM robust_json ORDER BY id'), [{ id: 1 }, { id: 3 }]);
    assert.equal((await suite.server.fetch('/health')).status, 200);
  });

  test('invalid modes, formats, names and schemas get the spec messages', async () => {
    const mode = await suite.tb.form('/v0/datasources?name=x&mode=upsert', { schema: 'a Int32' });
    assert.equal(mode.status, 400);
    assert.deepEqual(await mode.json(), { error: 'Invalid mode "upsert", valid modes are create, append, replace' });
    const format = await suite.tb.form('/v0/datasources?name=x&format=xml', { schema: 'a Int32' });
    assert.equal(format.status, 400);
    assert.match((await format.json()).error, /Invalid format "xml"/);
    const exists = await suite.tb.form('/v0/datasources?name=stocks', { schema: 'a Int32' });
    assert.equal(exists.status, 400);
    assert.deepEqual(await exists.json(), { error: 'Data Source "stocks" already exists, use mode=append' });
    const badType = await suite.tb.form('/v0/datasources?name=y', { schema: 'a Int33' });
    assert.equal(badType.status, 400);
    assert.match((await badType.json()).error, /Int33/);
    const nested = await suite.tb.form('/v0/datasources?name=z&format=ndjson', { schema: 'a Array(Int32) `json:$.a[:].b[:]`' });
    assert.equal(nested.status, 400);
    assert.match((await nested.json()).error, /Nested arrays are not supported/);
    const missing = await suite.tb.upload('mode=replace&name=missing', 'csv', 'a.csv', '1\n');
    assert.equal(missing.status, 400);
    const unknown = await suite.server.fetch('/v0/datasources/missing');
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), { error: 'Data Source "missing" does not exist' });
  });

  test('a body declared gzip that is not, and a multipart body cut short or without its boundary, are 400s', async () => {
    const notGzip = await suite.server.fetch('/v0/datasources?name=gz_lie', { method: 'POST', body: 'a,b\n1,x\n', headers: { 'content-type': 'text/csv', 'content-encoding': 'gzip' } });
    assert.equal(notGzip.status, 400);
    assert.match((await notGzip.json()).error, /not valid gzip/);
    const cut = '--xyz\r\nContent-Disposition: form-data; name="csv"; filename="a.csv"\r\n\r\na,b\n1,2\n';
    for (const [body, contentType] of [[cut, 'multipart/form-data; boundary=xyz'], ['garbage', 'multipart/form-data']] as const) {
      const response = await suite.server.fetch('/v0/datasources?name=mp_cut', { method: 'POST', body, headers: { 'content-type': contentType } });
      assert.equal(response.status, 400, contentType);
      assert.match((await response.json()).error, /multipart body is malformed/);
    }
    assert.equal((await suite.server.fetch('/health')).status, 200);
  });

  test('a sorting key over an Array column of a ReplacingMergeTree is a 400', async () => {
    const response = await suite.tb.form('/v0/datasources?name=nested_key&engine=ReplacingMergeTree&engine_sorting_key=a', { schema: 'a Array(Int32), b String' });
    assert.equal(response.status, 400);
    assert.match((await response.json()).error, /cannot be a list/);
  });

  test('a ReplacingMergeTree upserts by the columns its sorting key lists (also as tuple or in backticks); an expression or a Nullable key column is a 400', async () => {
    for (const [name, key] of [['rmt_tuple', 'tuple(day, id)'], ['rmt_ticks', '`day`, `id`']] as const) {
      const created = await suite.tb.form(`/v0/datasources?name=${name}&engine=ReplacingMergeTree&engine_sorting_key=${encodeURIComponent(key)}`, { schema: 'day Date, id Int32, v String' });
      assert.equal(created.status, 200, await created.clone().text());
      await suite.tb.upload(`mode=append&name=${name}`, 'csv', 'a.csv', '2024-01-01,1,a\n2024-01-02,1,b\n2024-01-02,1,c\n');
      assert.deepEqual(await suite.tb.sql(`SELECT day, id, v FROM ${name} ORDER BY day`), [{ day: '2024-01-01', id: 1, v: 'a' }, { day: '2024-01-02', id: 1, v: 'c' }], key);
    }
    for (const query of ['mode=replace&name=rmt_tuple', `mode=replace&name=rmt_tuple&replace_condition=${encodeURIComponent("day >= '2024-01-02'")}`]) {
      const replaced = await suite.tb.upload(query, 'csv', 'r.csv', '2024-01-03,2,x\n2024-01-03,2,y\n');
      assert.equal(replaced.status, 200, await replaced.clone().text());
    }
    assert.deepEqual(await suite.tb.sql('SELECT day, id, v FROM rmt_tuple ORDER BY day'), [{ day: '2024-01-03', id: 2, v: 'y' }]);
    const expression = await suite.tb.form(`/v0/datasources?name=rmt_expr&engine=ReplacingMergeTree&engine_sorting_key=${encodeURIComponent('toDate(ts), id')}`, { schema: 'ts DateTime, id Int32' });
    assert.equal(expression.status, 400);
    assert.match((await expression.json()).error, /"toDate\(ts\)" is an expression/);
    const nullable = await suite.tb.form('/v0/datasources?name=rmt_null&engine=ReplacingMergeTree&engine_sorting_key=id', { schema: 'id Nullable(Int32), v String' });
    assert.equal(nullable.status, 400);
    assert.match((await nullable.json()).error, /Sorting key column "id" of a ReplacingMergeTree cannot be Nullable/);
    const plain = await suite.tb.form(`/v0/datasources?name=mt_expr&engine=MergeTree&engine_sorting_key=${encodeURIComponent('toDate(ts), id')}&engine_partition_key=${encodeURIComponent('toYYYYMM(ts)')}`, { schema: 'ts DateTime, id Int32' });
    assert.equal(plain.status, 200, await plain.clone().text());
  });

  test('a ReplacingMergeTree with engine_ver keeps the row of each key with the greatest version, within a write and across writes, from events, files and replaces; a bad version column is a 400', async () => {
    const created = await suite.tb.form('/v0/datasources?name=versioned&engine=ReplacingMergeTree&engine_sorting_key=id&engine_ver=ver&format=ndjson', {
      schema: 'id Int32 `json:$.id`, ver UInt32 `json:$.ver`, v String `json:$.v`',
    });
    assert.equal(created.status, 200, await created.clone().text());
    const send = (body: string) => suite.server.fetch('/v0/events?name=versioned&wait=true', { method: 'POST', body });
    assert.equal((await send('{"id": 1, "ver": 5, "v": "five"}\n{"id": 1, "ver": 3, "v": "three"}\n{"id": 2, "ver": 1, "v": "one"}\n')).status, 200);
    assert.equal((await send('{"id": 1, "ver": 4, "v": "four"}\n{"id": 2, "ver": 1, "v": "one again"}\n')).status, 200);
    assert.deepEqual(await suite.tb.sql('SELECT id, ver, v FROM versioned ORDER BY id'), [{ id: 1, ver: 5, v: 'five' }, { id: 2, ver: 1, v: 'one again' }]);
    await suite.tb.upload('mode=append&name=versioned&format=ndjson', 'ndjson', 'n.ndjson', '{"id": 1, "ver": 9, "v": "nine"}\n{"id": 1, "ver": 7, "v": "seven"}\n');
    assert.deepEqual(await suite.tb.sql('SELECT id, ver, v FROM versioned WHERE id = 1'), [{ id: 1, ver: 9, v: 'nine' }]);
    await suite.tb.upload('mode=replace&name=versioned&format=ndjson', 'ndjson', 'r.ndjson', '{"id": 3, "ver": 2, "v": "two"}\n{"id": 3, "ver": 1, "v": "one"}\n');
    assert.deepEqual(await suite.tb.sql('SELECT id, ver, v FROM versioned'), [{ id: 3, ver: 2, v: 'two' }]);
    for (const [ver, schema] of [['missing', 'id Int32, v String'], ['v', 'id Int32, v String'], ['ver', 'id Int32, ver Nullable(Int32)']] as const) {
      const refused = await suite.tb.form(`/v0/datasources?name=bad_ver&engine=ReplacingMergeTree&engine_sorting_key=id&engine_ver=${ver}`, { schema });
      assert.equal(refused.status, 400, `${ver}: ${await refused.clone().text()}`);
      assert.match((await refused.json()).error, /[Vv]ersion column/);
    }
  });

  test('writes into a ReplacingMergeTree count every valid row in successful_rows, those a later or newer row of their key replaced too, as ClickHouse does', async () => {
    await suite.tb.form('/v0/datasources?name=counted&engine=ReplacingMergeTree&engine_sorting_key=id&engine_ver=ver&format=ndjson', {
      schema: 'id Int32 `json:$.id`, ver UInt32 `json:$.ver`, v String `json:$.v`',
    });
    const send = async (body: string) => (await suite.server.fetch('/v0/events?name=counted&wait=true', { method: 'POST', body })).json();
    // All valid: written straight to the table; a key twice, and a row older than the one it meets.
    assert.deepEqual(await send('{"id": 1, "ver": 2, "v": "b"}\n{"id": 1, "ver": 1, "v": "a"}\n{"id": 2, "ver": 1, "v": "c"}\n'), { successful_rows: 3, quarantined_rows: 0 });
    assert.deepEqual(await send('{"id": 1, "ver": 1, "v": "old"}\n'), { successful_rows: 1, quarantined_rows: 0 });
    // With a bad row: through the stage, which quarantines it.
    assert.deepEqual(await send('{"id": 2, "ver": 2, "v": "d"}\n{"id": 2, "ver": 3, "v": "e"}\n{"id": "bad", "ver": 1, "v": "x"}\n'), { successful_rows: 2, quarantined_rows: 1 });
    const appended = await suite.tb.upload('mode=append&name=counted&format=ndjson', 'ndjson', 'n.ndjson', '{"id": 3, "ver": 1, "v": "f"}\n{"id": 3, "ver": 1, "v": "g"}\n{"id": 3, "ver": 1, "v": "h"}\n');
    assert.equal((await appended.json()).successful_rows, 3);
    assert.deepEqual(await suite.tb.sql('SELECT id, ver, v FROM counted ORDER BY id'), [{ id: 1, ver: 2, v: 'b' }, { id: 2, ver: 3, v: 'e' }, { id: 3, ver: 1, v: 'h' }]);
  });

  test('a replace with a condition into a ReplacingMergeTree replaces the rows of a key the condition left, as later rows of a key do', async () => {
    await suite.tb.form('/v0/datasources?name=rmt_parts&engine=ReplacingMergeTree&engine_sorting_key=id&format=ndjson', {
      schema: 'id Int32 `json:$.id`, part String `json:$.part`',
    });
    await suite.server.fetch('/v0/events?name=rmt_parts&wait=true', { method: 'POST', body: '{"id": 1, "part": "a"}\n{"id": 2, "part": "a"}\n{"id": 4, "part": "b"}\n' });
    const replaced = await suite.tb.upload(`mode=replace&name=rmt_parts&format=ndjson&replace_condition=${encodeURIComponent("part = 'b'")}`, 'ndjson', 'r.ndjson',
      '{"id": 2, "part": "b"}\n{"id": 3, "part": "b"}\n{"id": 3, "part": "b"}\n{"id": 5, "part": "a"}\n');
    assert.equal(replaced.status, 200, await replaced.clone().text());
    // id 4 (part b) is replaced away; id 2 moves to part b; id 5 is outside the condition and ignored.
    assert.equal((await replaced.json()).successful_rows, 3);
    assert.deepEqual(await suite.tb.sql('SELECT id, part FROM rmt_parts ORDER BY id'), [{ id: 1, part: 'a' }, { id: 2, part: 'b' }, { id: 3, part: 'b' }]);
  });

  test('delete by condition runs as a job, with a dry run counting first', async () => {
    await suite.tb.form('/v0/datasources?name=deletable', { schema: 'id Int32' });
    await suite.tb.upload('mode=append&name=deletable', 'csv', 'a.csv', '1\n2\n3\n4\n');
    const dry = await (await suite.tb.form('/v0/datasources/deletable/delete', { delete_condition: 'id > 2', dry_run: 'true' })).json();
    assert.deepEqual(dry, { rows_to_be_deleted: 2 });
    const response = await suite.tb.form('/v0/datasources/deletable/delete', { delete_condition: 'id > 2' });
    assert.equal(response.status, 201);
    const body = await response.json();
    assert.equal(body.job.kind, 'delete_data');
    assert.equal(body.delete_id, body.id);
    assert.equal((await suite.tb.waitForJob(body.id))['status'], 'done');
    assert.deepEqual(await suite.tb.sql('SELECT id FROM deletable ORDER BY id'), [{ id: 1 }, { id: 2 }]);
    assert.equal((await suite.tb.form('/v0/datasources/deletable/delete', {})).status, 400);
    assert.equal((await suite.tb.form('/v0/datasources/deletable/delete', { delete_condition: '1=1; DROP TABLE x' })).status, 400);
  });

  test('a delete job cancelled while its condition runs is stopped: nothing is deleted, and the data source takes writes again at once', async () => {
    await suite.tb.form('/v0/datasources?name=slow_delete', { schema: 'id Int32' });
    await suite.tb.upload('mode=append&name=slow_delete', 'csv', 'a.csv', Array.from({ length: 200_000 }, (_, index) => `${index}\n`).join(''));
    // A list of 100,000 numbers summed for each row: the condition would run for minutes.
    const started = await (await suite.tb.form('/v0/datasources/slow_delete/delete', { delete_condition: 'list_sum(range(id % 3 + 100000)) < 0' })).json();
    for (let attempt = 0; attempt < 200 && (await (await suite.server.fetch(`/v0/jobs/${started.id}`)).json()).status !== 'working'; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await suite.server.fetch(`/v0/jobs/${started.id}/cancel`, { method: 'POST' })).status, 200);
    const job = await suite.tb.waitForJob(started.id);
    assert.deepEqual([job['status'], job['error']], ['cancelled', 'The job was cancelled: what it had not committed was undone']);
    assert.equal((await suite.tb.upload('mode=append&name=slow_delete', 'csv', 'b.csv', '-1\n')).status, 200);
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM slow_delete'), [{ n: 200_001 }]);
  });

  test('a denied function behind -> is refused in a delete condition, a replace condition, a DEFAULT and a row filter, while lambdas and JSON arrows on columns work', async () => {
    const created = await suite.tb.form('/v0/datasources?name=arrows', { schema: 'id Int32, payload String, arr Array(Int32) DEFAULT list_transform([1, 2], x -> x + 1)' });
    assert.equal(created.status, 200, await created.clone().text());
    await suite.tb.upload('mode=append&name=arrows', 'csv', 'a.csv', 'id,payload\n1,"{""a"": 1}"\n2,"{""a"": 2}"\n');
    assert.deepEqual(await suite.tb.sql('SELECT id, arr FROM arrows ORDER BY id'), [{ id: 1, arr: [2, 3] }, { id: 2, arr: [2, 3] }]);
    const refused = async (response: Response, name: string) => {
      const text = await response.text();
      assert.equal(response.status, 400, text);
      assert.match(JSON.parse(text).error, new RegExp(`Function "${name}" is not allowed`), text);
    };
    const sleeping = "(sleep_ms(id) -> '$') IS NULL";
    await refused(await suite.tb.form('/v0/datasources/arrows/delete', { delete_condition: sleeping, dry_run: 'true' }), 'sleep_ms');
    await refused(await suite.tb.form('/v0/datasources/arrows/delete', { delete_condition: "(pg_get_viewdef(id) -> '$') IS NULL" }), 'pg_get_viewdef');
    await refused(await suite.tb.upload(`mode=replace&name=arrows&replace_condition=${encodeURIComponent(sleeping)}`, 'csv', 'r.csv', 'id,payload\n3,x\n'), 'sleep_ms');
    await refused(await suite.tb.form('/v0/datasources?name=arrow_default', { schema: "n Nullable(String) DEFAULT current_query_id() -> '$'" }), 'current_query_id');
    await refused(await suite.server.fetch(`/v0/tokens?name=arrow_filter&scope=${encodeURIComponent(`DATASOURCES:READ:arrows:${sleeping}`)}`, { method: 'POST' }), 'sleep_ms');
    for (const condition of ["(payload -> '$.a')::INTEGER = 2", "(payload ->> 'a') = '2'", 'list_contains(list_transform([id], lambda x: x * 10), 20)', 'list_contains(list_transform([id], x -> x * 10), 20)']) {
      const dry = await suite.tb.form('/v0/datasources/arrows/delete', { delete_condition: condition, dry_run: 'true' });
      assert.deepEqual(await dry.json(), { rows_to_be_deleted: 1 }, condition);
    }
    assert.deepEqual(await suite.tb.sql('SELECT id FROM arrows ORDER BY id'), [{ id: 1 }, { id: 2 }]);
  });

  test('alter adds columns, PUT renames (onto a name taken, a 400 saying so), DELETE drops', async () => {
    await suite.tb.form('/v0/datasources?name=alterable', { schema: 'id Int32' });
    const altered = await (await suite.tb.form('/v0/datasources/alterable/alter', { schema: 'id Int32, extra Nullable(String)' })).json();
    assert.deepEqual(altered.operations, ['ADD COLUMN extra Nullable(String)']);
    const raced = await Promise.all(Array.from({ length: 4 }, () => suite.tb.form('/v0/datasources/alterable/alter', { schema: 'id Int32, extra Nullable(String), more Int64 DEFAULT 0' })));
    const operations = await Promise.all(raced.map(async (response) => [response.status, (await response.json()).operations]));
    assert.deepEqual(operations.sort(), [[200, []], [200, []], [200, []], [200, ['ADD COLUMN more Int64 DEFAULT 0']]].sort());
    const renamed = await suite.tb.form('/v0/datasources/alterable?name=renamed', {});
    assert.equal(renamed.status, 404); // POST is not a rename
    const quarantineRename = await suite.server.fetch('/v0/datasources/alterable_quarantine?name=elsewhere', { method: 'PUT' });
    assert.equal(quarantineRename.status, 400);
    assert.match((await quarantineRename.json()).error, /renamed with the table it belongs to/);
    await suite.tb.form('/v0/datasources?name=taken_name', { schema: 'id Int32' });
    const collision = await suite.server.fetch('/v0/datasources/alterable?name=taken_name', { method: 'PUT' });
    assert.deepEqual([collision.status, (await collision.json()).error], [400, 'Data Source "taken_name" already exists: rename "alterable" to another name']);
    const put = await suite.server.fetch('/v0/datasources/alterable?name=renamed', { method: 'PUT' });
    assert.equal(put.status, 200);
    assert.equal((await put.json()).name, 'renamed');
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM renamed_quarantine'), [{ n: 0 }]);
    assert.equal((await suite.server.fetch('/v0/datasources/renamed', { method: 'DELETE' })).status, 204);
    assert.equal((await suite.server.fetch('/v0/datasources/renamed')).status, 404);
  });

  test("a data source whose quarantine's name another data source has is refused with that reason, not as if it existed itself", async () => {
    await suite.tb.form('/v0/datasources?name=squatter', { schema: 'id Int32' });
    assert.equal((await suite.server.fetch('/v0/datasources/squatter?name=wanted_quarantine', { method: 'PUT' })).status, 200);
    const created = await suite.tb.form('/v0/datasources?name=wanted', { schema: 'id Int32' });
    assert.equal(created.status, 400);
    assert.match((await created.json()).error, /"wanted" needs the name "wanted_quarantine" for its quarantine, and another table has it/);
    await suite.tb.form('/v0/datasources?name=mover', { schema: 'id Int32' });
    const moved = await suite.server.fetch('/v0/datasources/mover?name=wanted', { method: 'PUT' });
    assert.equal(moved.status, 400);
    assert.match((await moved.json()).error, /"wanted" needs the name "wanted_quarantine"/);
  });
});
