// "Acknowledged means durable": a 2xx on a write means its rows survive a kill -9 of the server; an
// error means none of them were committed (unless the dialect documents partial acceptance, as
// Feldera's pushes do). Each test starts the real server as its own process, writes, kills it with
// SIGKILL and starts it again over the same data directory. (serve.e2e.test.ts covers Tinybird's
// Events API with wait=true alone.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { ServerProcess } from '../../bench/server-process.ts';
import { FileServer } from '../helpers/file-server.ts';
import { makeDataDir } from '../helpers/test-server.ts';

type Row = Record<string, unknown>;

const serve = (dataDir: string) => ServerProcess.start({ SLUICE_LOG_LEVEL: 'error', SLUICE_ALLOW_PRIVATE_URLS: 'true' }, { dataDir });

/** Kills the server with SIGKILL (no shutdown, no checkpoint) and starts another over its data. */
async function crashAndRestart(server: ServerProcess): Promise<ServerProcess> {
  await server.stop('SIGKILL', { keepData: true });
  assert.equal(server.ended?.signal, 'SIGKILL');
  return serve(server.dataDir);
}

/** Runs `body` over a fresh data directory, removed afterwards with whatever server is left running. */
async function withDataDir(body: (dataDir: string, track: (server: ServerProcess) => ServerProcess) => Promise<void>): Promise<void> {
  const dataDir = await makeDataDir();
  const servers: ServerProcess[] = [];
  try {
    await body(dataDir, (server) => (servers.push(server), server));
  } finally {
    for (const server of servers) if (!server.ended) await server.stop('SIGKILL', { keepData: true });
    await rm(dataDir, { recursive: true, force: true });
  }
}

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const form = (fields: Record<string, string>, method = 'POST'): RequestInit => ({
  method, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(),
});

async function sql(server: ServerProcess, query: string): Promise<Row[]> {
  const response = await server.fetch(`/v0/sql?q=${encodeURIComponent(`${query} FORMAT JSON`)}`);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text).data;
}

async function catalyzed(server: ServerProcess, method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await server.fetch(path, { method, ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text), headers: response.headers };
}

async function rowsWrite(server: ServerProcess, tableId: string, query: string, rows: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await server.fetch(`/dataset-tables/${tableId}/rows?${query}`, json(rows));
  return { status: response.status, body: await response.json(), headers: response.headers };
}

async function catalyzedRows(server: ServerProcess, tableId: string, select = 'SELECT * FROM t ORDER BY id'): Promise<Row[]> {
  const { status, body } = await catalyzed(server, 'POST', '/queries', { sql: select, tables: { t: tableId }, maxRows: 10_000 });
  assert.equal(status, 200, JSON.stringify(body));
  return body.rows;
}

async function felderaRows(server: ServerProcess, pipeline: string, query: string): Promise<Row[]> {
  const response = await server.fetch(`/v0/pipelines/${pipeline}/query?format=json&sql=${encodeURIComponent(query)}`);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Row);
}

async function completionStatus(server: ServerProcess, pipeline: string, token: string): Promise<string> {
  const response = await server.fetch(`/v0/pipelines/${pipeline}/completion_status?token=${encodeURIComponent(token)}`);
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.status;
}

async function push(server: ServerProcess, pipeline: string, table: string, body: string | ReadableStream<Uint8Array>, query = 'format=json'): Promise<{ status: number; body: any }> {
  const response = await server.fetch(`/v0/pipelines/${pipeline}/ingress/${table}?${query}`, {
    method: 'POST', headers: { 'content-type': 'text/plain' }, body, ...(typeof body !== 'string' && { duplex: 'half' }),
  } as RequestInit);
  return { status: response.status, body: await response.json() };
}

/** A request body sent in parts, with a pause before each part after the first. */
function slowBody(parts: string[], pauseMs: number, hold?: Promise<void>): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream({
    async pull(controller) {
      if (index > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      if (index === parts.length) {
        await hold;
        controller.close();
        return;
      }
      controller.enqueue(new TextEncoder().encode(parts[index]!));
      index += 1;
    },
  });
}

async function waitForJob(server: ServerProcess, id: string): Promise<Row> {
  for (let attempt = 0; attempt < 400; attempt += 1) {
    const job = await (await server.fetch(`/v0/jobs/${id}`)).json();
    if (!['waiting', 'working', 'cancelling'].includes(job.status)) return job;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`job ${id} did not finish`);
}

async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('Tinybird Events API: rows answered 200 (wait=true) and 202 (no wait) by concurrent, group-committed requests survive a kill -9, quarantined rows too; refused requests leave nothing', async () => {
  await withDataDir(async (dataDir, track) => {
    const first = track(await serve(dataDir));
    const created = await first.fetch('/v0/datasources?name=clicks&format=ndjson', form({ schema: 'id Int64 `json:$.id`, kind String `json:$.kind`' }));
    assert.equal(created.status, 200, await created.text());
    const answers = await Promise.all(
      Array.from({ length: 40 }, async (_, request) => {
        const body = [0, 1, 2].map((row) => JSON.stringify({ id: request * 10 + row, kind: request % 2 ? 'nowait' : 'wait' })).join('\n') + '\n';
        // Every fifth request also carries a row that does not fit: quarantined, and answered as such.
        const bad = request % 5 === 0 ? `${JSON.stringify({ id: 'not a number', kind: `bad-${request}` })}\n` : '';
        const response = await first.fetch(`/v0/events?name=clicks${request % 2 ? '' : '&wait=true'}`, { method: 'POST', body: body + bad });
        return { request, status: response.status, body: await response.json() };
      }),
    );
    for (const { request, status, body } of answers) {
      assert.equal(status, request % 2 ? 202 : 200, JSON.stringify(body));
      assert.deepEqual(body, { successful_rows: 3, quarantined_rows: request % 5 === 0 ? 1 : 0 });
    }
    // Refused before anything is written: a format the Events API does not take; a body over 10 MB.
    assert.equal((await first.fetch('/v0/events?name=clicks&format=csv&wait=true', { method: 'POST', body: '{"id": 9001, "kind": "refused"}\n' })).status, 400);
    const huge = `${JSON.stringify({ id: 9002, kind: 'refused' })}\n`.repeat(11 * 1024 * 1024 / 30);
    const tooLarge = await first.fetch('/v0/events?name=clicks&wait=true', { method: 'POST', body: huge }).then((response) => response.status, () => 0);
    assert.ok(tooLarge >= 400 || tooLarge === 0, `a body over 10 MB answered ${tooLarge}`);

    const second = track(await crashAndRestart(first));
    assert.deepEqual(await sql(second, 'SELECT count() AS n, uniqExact(id) AS ids, min(id) AS lo, max(id) AS hi, countIf(kind = \'refused\') AS refused FROM clicks'), [
      { n: 120, ids: 120, lo: 0, hi: 392, refused: 0 },
    ]);
    assert.deepEqual(await sql(second, 'SELECT id FROM clicks WHERE id % 10 > 2'), []);
    assert.deepEqual(await sql(second, 'SELECT count() AS n FROM clicks_quarantine'), [{ n: 8 }]);
    // The server takes writes again after the crash.
    const again = await second.fetch('/v0/events?name=clicks&wait=true', { method: 'POST', body: '{"id": 1000, "kind": "after"}\n' });
    assert.equal(again.status, 200);
    assert.deepEqual(await sql(second, 'SELECT count() AS n FROM clicks'), [{ n: 121 }]);
  });
});

test('Tinybird Data Sources: appends (multipart, raw body), replaces (whole, conditioned) and a URL import job done before a kill -9 are all there after it; failed imports left nothing', async () => {
  const files = await FileServer.start();
  try {
    await withDataDir(async (dataDir, track) => {
      const first = track(await serve(dataDir));
      const ok = async (response: Response) => {
        const text = await response.text();
        assert.equal(response.status, 200, text);
        return JSON.parse(text);
      };
      const upload = async (query: string, name: string, content: string) => {
        const response = await first.upload(`/v0/datasources?${query}`, 'csv', { name, chunks: [Buffer.from(content)] });
        assert.equal(response.status, 200, response.body);
        return JSON.parse(response.body);
      };
      await ok(await first.fetch('/v0/datasources?name=appended', form({ schema: 'id Int32, v String' })));
      await ok(await first.fetch('/v0/datasources?name=replaced', form({ schema: 'id Int32, v String' })));
      await ok(await first.fetch('/v0/datasources?name=conditioned', form({ schema: 'id Int32, v String' })));
      await ok(await first.fetch('/v0/datasources?name=deleted', form({ schema: 'id Int32, v String' })));
      await ok(await first.fetch('/v0/datasources?name=truncated', form({ schema: 'id Int32, v String' })));

      // Appends: concurrent multipart uploads and raw bodies (CSV and NDJSON), so that some commit together.
      const appends = await Promise.all([
        ...Array.from({ length: 6 }, (_, n) => upload('mode=append&name=appended&format=csv', `a${n}.csv`, `${n * 10 + 1},multipart\n${n * 10 + 2},multipart\n`)),
        ...Array.from({ length: 6 }, (_, n) => first.fetch('/v0/datasources?mode=append&name=appended&format=csv', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: `${100 + n},raw\n` }).then(ok)),
        first.fetch('/v0/datasources?mode=append&name=appended&format=ndjson', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '{"id": 200, "v": "ndjson"}\n{"id": 201, "v": "ndjson"}\n' }).then(ok),
      ]);
      assert.equal(appends.reduce((sum, answer) => sum + answer.successful_rows, 0), 12 + 6 + 2);

      // Replaces: the whole data source, and the rows a condition holds for.
      await upload('mode=append&name=replaced&format=csv', 'old.csv', '1,old\n2,old\n3,old\n');
      await upload('mode=replace&name=replaced&format=csv', 'new.csv', '7,new\n8,new\n');
      await upload('mode=append&name=conditioned&format=csv', 'old.csv', '100,old\n200,old\n300,old\n');
      await upload(`mode=replace&name=conditioned&format=csv&replace_condition=${encodeURIComponent('id > 150')}`, 'new.csv', '50,new\n200,new\n');

      // A URL import, followed until its job is done.
      const url = files.serve('/imported.csv', 'id,v\n1,url\n2,url\n3,url\n');
      const job = await ok(await first.fetch('/v0/datasources?mode=create&name=imported&format=csv', form({ url })));
      const jobId = job.id ?? job.job_id;
      assert.equal((await waitForJob(first, jobId))['status'], 'done');

      // A delete by condition (a job, followed until done) and a truncate.
      await upload('mode=append&name=deleted&format=csv', 'd.csv', '1,a\n2,b\n3,c\n4,d\n');
      const deletion = await first.fetch('/v0/datasources/deleted/delete', form({ delete_condition: 'id > 2' }));
      assert.equal(deletion.status, 201);
      const deleteJobId = (await deletion.json()).id;
      assert.equal((await waitForJob(first, deleteJobId))['status'], 'done');
      await upload('mode=append&name=truncated&format=csv', 't.csv', '1,a\n2,b\n');
      assert.equal((await first.fetch('/v0/datasources/truncated/truncate', { method: 'POST' })).status, 205);

      // Failed imports, which must leave nothing behind: a replace with a condition that is no
      // condition over the data source, a multipart field after the file, an append without data.
      const badCondition = await first.upload(`/v0/datasources?mode=replace&name=replaced&format=csv&replace_condition=${encodeURIComponent('no_such_column > 1')}`, 'csv', { name: 'bad.csv', chunks: [Buffer.from('9,bad\n')] });
      assert.ok(badCondition.status >= 400, badCondition.body);
      const boundary = 'crash-test-boundary';
      const fieldAfterFile = await first.fetch('/v0/datasources?name=appended&format=csv', {
        method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        body: `--${boundary}\r\nContent-Disposition: form-data; name="csv"; filename="late.csv"\r\n\r\n999,late\r\n--${boundary}\r\nContent-Disposition: form-data; name="mode"\r\n\r\nappend\r\n--${boundary}--\r\n`,
      });
      assert.ok(fieldAfterFile.status >= 400, await fieldAfterFile.text());

      const second = track(await crashAndRestart(first));
      assert.deepEqual(await sql(second, 'SELECT v, count() AS n, uniqExact(id) AS ids FROM appended GROUP BY v ORDER BY v'), [
        { v: 'multipart', n: 12, ids: 12 }, { v: 'ndjson', n: 2, ids: 2 }, { v: 'raw', n: 6, ids: 6 },
      ]);
      assert.deepEqual(await sql(second, 'SELECT id, v FROM replaced ORDER BY id'), [{ id: 7, v: 'new' }, { id: 8, v: 'new' }]);
      assert.deepEqual(await sql(second, 'SELECT id, v FROM conditioned ORDER BY id'), [{ id: 100, v: 'old' }, { id: 200, v: 'new' }]);
      assert.deepEqual(await sql(second, 'SELECT id, v FROM imported ORDER BY id'), [{ id: 1, v: 'url' }, { id: 2, v: 'url' }, { id: 3, v: 'url' }]);
      assert.deepEqual(await sql(second, 'SELECT id FROM deleted ORDER BY id'), [{ id: 1 }, { id: 2 }]);
      assert.deepEqual(await sql(second, 'SELECT count() AS n FROM truncated'), [{ n: 0 }]);
      // The jobs answered done before the crash are still done.
      for (const id of [jobId, deleteJobId]) assert.equal((await (await second.fetch(`/v0/jobs/${id}`)).json()).status, 'done');
      const listed = await (await second.fetch('/v0/datasources/appended')).json();
      assert.equal(listed.statistics?.row_count ?? listed.stats?.row_count, 20, JSON.stringify(listed));
    });
  } finally {
    await files.stop();
  }
});

test('a URL import job answered done before a kill -9 is done after it, its rows there, even while other writes keep every writer connection busy', async () => {
  // The job's final state used to be shown as soon as the work ended and saved in a transaction of
  // its own after: with the writer connections busy, a kill in between turned an import answered
  // done into one "interrupted by a server restart", its rows committed all the same.
  const files = await FileServer.start();
  try {
    for (let round = 0; round < 2; round += 1) {
      await withDataDir(async (dataDir, track) => {
        const first = track(await serve(dataDir));
        const big = Array.from({ length: 40_000 }, (_, id) => JSON.stringify({ id, s: 'x'.repeat(40) })).join('\n');
        for (let table = 0; table < 6; table += 1) {
          assert.equal((await first.fetch(`/v0/events?name=busy${table}&wait=true`, { method: 'POST', body: '{"id": 1, "s": "a"}\n' })).status, 200);
        }
        let stop = false;
        const hogs = Array.from({ length: 6 }, async (_, table) => {
          while (!stop) await first.fetch(`/v0/events?name=busy${table}`, { method: 'POST', body: big }).then((response) => response.arrayBuffer(), () => (stop = true));
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
        const url = files.serve(`/busy-${round}.csv`, 'id,v\n1,url\n2,url\n');
        const job = await (await first.fetch('/v0/datasources?mode=create&name=imported&format=csv', form({ url }))).json();
        let status: string;
        do status = (await (await first.fetch(`/v0/jobs/${job.id}`)).json()).status;
        while (status === 'waiting' || status === 'working');
        assert.equal(status, 'done');
        await first.stop('SIGKILL', { keepData: true });
        stop = true;
        await Promise.all(hogs);

        const second = track(await serve(dataDir));
        const after = await (await second.fetch(`/v0/jobs/${job.id}`)).json();
        assert.deepEqual([after.status, after.error ?? null], ['done', null]);
        assert.deepEqual(await sql(second, 'SELECT id, v FROM imported ORDER BY id'), [{ id: 1, v: 'url' }, { id: 2, v: 'url' }]);
      });
    }
  } finally {
    await files.stop();
  }
});

test('Feldera ingress: pushes answered 200, a streamed push committed in several chunks, and the good records of a push answered ParseErrors survive a kill -9; completion tokens reported complete stay complete, and later tokens are new', async () => {
  await withDataDir(async (dataDir, track) => {
    const first = track(await serve(dataDir));
    const program = 'CREATE TABLE keyed (id INT NOT NULL PRIMARY KEY, v VARCHAR);\nCREATE TABLE bag (id INT, v VARCHAR);\nCREATE MATERIALIZED VIEW counted AS SELECT count(*) AS n FROM bag;';
    const created = await first.fetch('/v0/pipelines/shop', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ program_code: program }) });
    assert.ok([200, 201].includes(created.status), await created.text());
    assert.equal((await first.fetch('/v0/pipelines/shop/start', { method: 'POST' })).status, 202);

    // Concurrent pushes, in several formats, to both tables.
    const pushes = await Promise.all([
      ...Array.from({ length: 10 }, (_, n) => push(first, 'shop', 'keyed', JSON.stringify({ insert: { id: n, v: `k${n}` } }))),
      ...Array.from({ length: 10 }, (_, n) => push(first, 'shop', 'bag', `${n},csv\n${n},csv\n`, 'format=csv')),
      push(first, 'shop', 'keyed', '{"delete": {"id": 0}}\n{"update": {"id": 1, "v": "updated"}}', 'format=json&update_format=insert_delete'),
      push(first, 'shop', 'bag', '[{"id": 100, "v": "array"}, {"id": 101, "v": "array"}]', 'format=json&update_format=raw&array=true'),
    ]);
    for (const answer of pushes) assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const tokens = pushes.map((answer) => answer.body.token as string);

    // A push whose body trickles in: committed in several chunks (one per 200 ms of waiting), then 200.
    const streamedParts = [0, 1, 2].map((part) => Array.from({ length: 5 }, (_, row) => JSON.stringify({ id: 1000 + part * 10 + row, v: 'streamed' })).join('\n') + '\n');
    const streaming = push(first, 'shop', 'bag', slowBody(streamedParts, 450), 'format=json&update_format=raw');
    const streamedCount = async () => Number((await felderaRows(first, 'shop', "SELECT count(*) AS n FROM bag WHERE v = 'streamed'"))[0]!['n']);
    await waitFor(async () => (await streamedCount()) >= 5, 'the first chunk to commit');
    assert.ok((await streamedCount()) < 15, 'the push is committed before its body ends');
    const streamed = await streaming;
    assert.equal(streamed.status, 200, JSON.stringify(streamed.body));
    tokens.push(streamed.body.token);

    // Bad records: the push answers 400 ParseErrors and keeps its good records, as documented.
    const partial = await push(first, 'shop', 'bag', '{"id": 500, "v": "good"}\n{"id": "five", "v": "bad"}\n{"id": 501, "v": "good"}\n', 'format=json&update_format=raw');
    assert.equal(partial.status, 400, JSON.stringify(partial.body));
    assert.equal(partial.body.error_code, 'ParseErrors');
    // A push to a table that is not there is refused whole.
    assert.ok((await push(first, 'shop', 'missing', '{"insert": {"id": 1}}')).status >= 400);

    for (const token of tokens) assert.equal(await completionStatus(first, 'shop', token), 'complete');
    const expectedKeyed = [{ id: 1, v: 'updated' }, ...Array.from({ length: 8 }, (_, n) => ({ id: n + 2, v: `k${n + 2}` }))];
    const bagSummary = "SELECT v, count(*) AS n, count(DISTINCT id) AS ids FROM bag GROUP BY v ORDER BY v";
    const expectedBag = [{ v: 'array', n: 2, ids: 2 }, { v: 'csv', n: 20, ids: 10 }, { v: 'good', n: 2, ids: 2 }, { v: 'streamed', n: 15, ids: 15 }];
    assert.deepEqual(await felderaRows(first, 'shop', 'SELECT * FROM keyed ORDER BY id'), expectedKeyed);
    assert.deepEqual(await felderaRows(first, 'shop', bagSummary), expectedBag);

    const second = track(await crashAndRestart(first));
    const pipeline = await (await second.fetch('/v0/pipelines/shop')).json();
    assert.equal(pipeline.deployment_status, 'Running');
    assert.deepEqual(await felderaRows(second, 'shop', 'SELECT * FROM keyed ORDER BY id'), expectedKeyed);
    assert.deepEqual(await felderaRows(second, 'shop', bagSummary), expectedBag);
    assert.deepEqual(await felderaRows(second, 'shop', 'SELECT n FROM counted'), [{ n: 39 }]);
    for (const token of tokens) assert.equal(await completionStatus(second, 'shop', token), 'complete');

    // A token issued after the restart names a later place in the commit order than any before it.
    const later = await push(second, 'shop', 'keyed', JSON.stringify({ insert: { id: 50, v: 'after' } }));
    assert.equal(later.status, 200);
    const sequenceOf = (token: string) => JSON.parse(Buffer.from(token, 'base64url').toString('utf8')).s as number;
    assert.ok(sequenceOf(later.body.token) > Math.max(...tokens.map(sequenceOf)), 'a new token is past every token answered before the crash');
    assert.equal(await completionStatus(second, 'shop', later.body.token), 'complete');
  });
});

test('Catalyzed row writes in every mode, with and without idempotency keys, survive a kill -9; replays after the restart answer as before and write nothing; refused writes left nothing and their keys stay free', async () => {
  await withDataDir(async (dataDir, track) => {
    const first = track(await serve(dataDir));
    const dataset = await catalyzed(first, 'POST', '/datasets', { name: 'store' });
    assert.equal(dataset.status, 201, JSON.stringify(dataset.body));
    const createTable = async (tableName: string, primaryKeyColumns?: string[]) => {
      const fields = [{ name: 'id', arrowType: 'int64' }, { name: 'name', arrowType: 'utf8' }];
      const created = await catalyzed(first, 'POST', '/dataset-tables', { datasetId: dataset.body.datasetId, tableName, fields, ...(primaryKeyColumns && { primaryKeyColumns }) });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return created.body.tableId as string;
    };
    const orders = await createTable('orders', ['id']);
    const swapped = await createTable('swapped', ['id']);
    const log = await createTable('log');

    // Writes whose answers are replayed after the crash: [table, query, rows, answer].
    const keyed: Array<{ table: string; query: string; rows: unknown; answer?: any }> = [
      { table: orders, query: 'mode=append&idempotency_key=k-append', rows: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }, { id: 3, name: 'c' }] },
      { table: orders, query: 'mode=upsert&idempotency_key=k-upsert', rows: [{ id: 2, name: 'b2' }, { id: 4, name: 'd' }] },
      { table: orders, query: 'mode=delete&idempotency_key=k-delete', rows: [3] },
      { table: swapped, query: 'mode=append&idempotency_key=k-seed', rows: [{ id: 1, name: 'old' }, { id: 2, name: 'old' }] },
      { table: swapped, query: 'mode=overwrite&idempotency_key=k-overwrite', rows: [{ id: 10, name: 'new' }, { id: 11, name: 'new' }] },
    ];
    let last: any;
    const write = async (table: string, query: string, rows: unknown) => {
      const answer = await rowsWrite(first, table, query, rows);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      if (table === orders) last = answer.body;
      return answer.body;
    };
    for (const entry of keyed.slice(0, 3)) entry.answer = await write(entry.table, entry.query, entry.rows);
    await write(orders, 'mode=append', [{ id: 5, name: 'e' }]);
    await write(orders, 'mode=upsert', [{ id: 1, name: 'a2' }]);
    await write(orders, 'mode=delete', [{ id: 5 }]);
    for (const entry of keyed.slice(3)) entry.answer = await write(entry.table, entry.query, entry.rows);
    await write(swapped, 'mode=overwrite', [{ id: 20, name: 'newer' }]);
    const swappedLast = (await catalyzed(first, 'GET', `/dataset-tables/${swapped}`)).body.version;

    // Concurrent appends to a table without a key, half of them with keys: committed in groups.
    const logKeyed = await Promise.all(Array.from({ length: 24 }, (_, n) =>
      rowsWrite(first, log, `mode=append${n % 2 ? `&idempotency_key=log-${n}` : ''}`, [{ id: n, name: `log-${n}` }])));
    for (const answer of logKeyed) assert.equal(answer.status, 200, JSON.stringify(answer.body));

    // Refused writes, none of whose rows may be committed: an append of a key already there (409),
    // a value that does not convert (400, with a key that must stay free), an upsert giving one key twice.
    const conflict = await rowsWrite(first, orders, 'mode=append', [{ id: 6, name: 'f' }, { id: 1, name: 'dup' }]);
    assert.equal(conflict.status, 409, JSON.stringify(conflict.body));
    const invalid = await rowsWrite(first, orders, 'mode=append&idempotency_key=k-bad', [{ id: 7, name: 'g' }, { id: 'eight', name: 'h' }]);
    assert.equal(invalid.status, 400, JSON.stringify(invalid.body));
    const twice = await rowsWrite(first, orders, 'mode=upsert', [{ id: 9, name: 'i' }, { id: 9, name: 'j' }]);
    assert.equal(twice.status, 400, JSON.stringify(twice.body));

    const expectedOrders = [{ id: 1, name: 'a2' }, { id: 2, name: 'b2' }, { id: 4, name: 'd' }];
    assert.deepEqual(await catalyzedRows(first, orders), expectedOrders);

    const second = track(await crashAndRestart(first));
    assert.deepEqual(await catalyzedRows(second, orders), expectedOrders);
    assert.deepEqual(await catalyzedRows(second, swapped), [{ id: 20, name: 'newer' }]);
    assert.deepEqual(await catalyzedRows(second, log, 'SELECT count(*) AS n, count(DISTINCT id) AS ids FROM t'), [{ n: 24, ids: 24 }]);
    assert.equal((await catalyzed(second, 'GET', `/dataset-tables/${orders}`)).body.version, last.dataset_version);
    assert.equal((await catalyzed(second, 'GET', `/dataset-tables/${swapped}`)).body.version, swappedLast);

    // Every key answered before the crash answers the same after it, and writes nothing.
    for (const entry of keyed) {
      const replay = await rowsWrite(second, entry.table, entry.query, entry.rows);
      assert.deepEqual([replay.status, replay.body], [200, entry.answer], entry.query);
      assert.equal(replay.headers.get('x-idempotent-replay'), 'true', entry.query);
    }
    for (const [n, answer] of logKeyed.entries()) {
      if (n % 2 === 0) continue;
      const replay = await rowsWrite(second, log, `mode=append&idempotency_key=log-${n}`, [{ id: n, name: `log-${n}` }]);
      assert.deepEqual([replay.status, replay.body], [200, answer.body], `log-${n}`);
    }
    // A key used with another request is still a conflict.
    assert.equal((await rowsWrite(second, orders, 'mode=append&idempotency_key=k-append', [{ id: 99, name: 'other' }])).status, 409);
    assert.deepEqual(await catalyzedRows(second, orders), expectedOrders);
    assert.deepEqual(await catalyzedRows(second, swapped), [{ id: 20, name: 'newer' }]);
    assert.deepEqual(await catalyzedRows(second, log, 'SELECT count(*) AS n FROM t'), [{ n: 24 }]);
    // The key of the refused write was never stored: it writes now.
    const reused = await rowsWrite(second, orders, 'mode=append&idempotency_key=k-bad', [{ id: 7, name: 'g' }]);
    assert.equal(reused.status, 200, JSON.stringify(reused.body));
    assert.equal(reused.headers.get('x-idempotent-replay'), null);
    assert.equal(reused.body.dataset_version, last.dataset_version + 1);
  });
});

test('schema changes acknowledged before a kill -9 hold after it: Tinybird create, alter, rename and drop; Catalyzed datasets and tables created, changed and dropped; a Feldera program changed', async () => {
  await withDataDir(async (dataDir, track) => {
    const first = track(await serve(dataDir));
    const ok = async (response: Response, status = 200) => {
      const text = await response.text();
      assert.equal(response.status, status, text);
      return text === '' ? null : JSON.parse(text);
    };
    // Tinybird.
    await ok(await first.fetch('/v0/datasources?name=kept', form({ schema: 'id Int32, v String' })));
    await ok(await first.fetch('/v0/datasources?mode=append&name=kept&format=csv', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '1,one\n' }));
    await ok(await first.fetch('/v0/datasources/kept/alter', form({ schema: 'id Int32, v String, extra Nullable(String)' })));
    await ok(await first.fetch('/v0/datasources?name=old_name', form({ schema: 'id Int32' })));
    await ok(await first.fetch('/v0/datasources/old_name?name=new_name', { method: 'PUT' }));
    await ok(await first.fetch('/v0/datasources?name=dropped', form({ schema: 'id Int32' })));
    await ok(await first.fetch('/v0/datasources/dropped', { method: 'DELETE' }), 204);
    // Catalyzed.
    const dataset = await catalyzed(first, 'POST', '/datasets', { name: 'catalog' });
    assert.equal(dataset.status, 201);
    const datasetId = dataset.body.datasetId;
    const fields = [{ name: 'id', arrowType: 'int64' }];
    const table = await catalyzed(first, 'POST', '/dataset-tables', { datasetId, tableName: 'grown', fields, primaryKeyColumns: ['id'] });
    assert.equal(table.status, 201);
    const grown = await catalyzed(first, 'PUT', `/dataset-tables/${table.body.tableId}`, { fields: [...fields, { name: 'note', arrowType: 'utf8' }] });
    assert.equal(grown.status, 200, JSON.stringify(grown.body));
    const gone = await catalyzed(first, 'POST', '/dataset-tables', { datasetId, tableName: 'gone', fields });
    assert.equal((await catalyzed(first, 'DELETE', `/dataset-tables/${gone.body.tableId}`)).status, 204);
    const goneDataset = await catalyzed(first, 'POST', '/datasets', { name: 'gone_dataset' });
    assert.equal((await catalyzed(first, 'DELETE', `/datasets/${goneDataset.body.datasetId}`)).status, 204);
    // Feldera: a program changed while stopped, then started again.
    const put = (program: string) => first.fetch('/v0/pipelines/p', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ program_code: program }) });
    await ok(await put('CREATE TABLE t (id INT NOT NULL PRIMARY KEY);'), 201);
    assert.equal((await first.fetch('/v0/pipelines/p/start', { method: 'POST' })).status, 202);
    assert.equal((await push(first, 'p', 't', '{"insert": {"id": 1}}')).status, 200);
    assert.equal((await first.fetch('/v0/pipelines/p/stop', { method: 'POST' })).status, 202);
    await ok(await put('CREATE TABLE t (id INT NOT NULL PRIMARY KEY);\nCREATE TABLE u (x VARCHAR);\nCREATE MATERIALIZED VIEW w AS SELECT count(*) AS n FROM t;'));
    assert.equal((await first.fetch('/v0/pipelines/p/start', { method: 'POST' })).status, 202);

    const second = track(await crashAndRestart(first));
    const kept = await (await second.fetch('/v0/datasources/kept')).json();
    assert.deepEqual(kept.columns.map((column: Row) => column['name']), ['id', 'v', 'extra']);
    assert.deepEqual(await sql(second, 'SELECT id, v, extra FROM kept'), [{ id: 1, v: 'one', extra: null }]);
    assert.equal((await second.fetch('/v0/datasources/new_name')).status, 200);
    assert.equal((await second.fetch('/v0/datasources/old_name')).status, 404);
    assert.equal((await second.fetch('/v0/datasources/dropped')).status, 404);
    const schema = await catalyzed(second, 'GET', `/dataset-tables/${table.body.tableId}/schema`);
    assert.equal(schema.status, 200, JSON.stringify(schema.body));
    assert.match(JSON.stringify(schema.body), /"note"/);
    assert.equal((await catalyzed(second, 'GET', `/dataset-tables/${gone.body.tableId}`)).status, 404);
    assert.equal((await catalyzed(second, 'GET', `/datasets/${goneDataset.body.datasetId}`)).status, 404);
    const pipeline = await (await second.fetch('/v0/pipelines/p')).json();
    assert.equal(pipeline.deployment_status, 'Running');
    assert.match(pipeline.program_code, /CREATE TABLE u/);
    assert.equal((await push(second, 'p', 'u', '{"insert": {"x": "new table"}}')).status, 200);
    assert.deepEqual(await felderaRows(second, 'p', 'SELECT n FROM w'), [{ n: 1 }]);
  });
});

test('a kill -9 while writes are in flight: every acknowledged row is there once, no more rows than were sent, a streamed push keeps the chunks seen committed, and idempotent retries after the restart write each row exactly once', async () => {
  await withDataDir(async (dataDir, track) => {
    const first = track(await serve(dataDir));
    const dataset = await catalyzed(first, 'POST', '/datasets', { name: 'inflight' });
    const created = await catalyzed(first, 'POST', '/dataset-tables', { datasetId: dataset.body.datasetId, tableName: 'keyed', fields: [{ name: 'id', arrowType: 'int64' }, { name: 'name', arrowType: 'utf8' }] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const tableId = created.body.tableId as string;
    const pipeline = await first.fetch('/v0/pipelines/live', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ program_code: 'CREATE TABLE s (id INT);' }) });
    assert.equal(pipeline.status, 201, await pipeline.text());
    assert.equal((await first.fetch('/v0/pipelines/live/start', { method: 'POST' })).status, 202);
    const stream = await first.fetch('/v0/datasources?name=stream&format=ndjson', form({ schema: 'id Int64 `json:$.id`, writer Int32 `json:$.writer`' }));
    assert.equal(stream.status, 200, await stream.text());

    // A push that streams a first chunk and then waits: once its rows are visible they are committed.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const streaming = push(first, 'live', 's', slowBody(['{"id": 1}\n{"id": 2}\n'], 10, held), 'format=json&update_format=raw').catch(() => undefined);
    await waitFor(async () => (await felderaRows(first, 'live', 'SELECT count(*) AS n FROM s'))[0]!['n'] === 2, 'the first chunk to commit');

    // Writers that keep going until the server dies: events (5 rows per request) and keyed row writes.
    let dead = false;
    const acknowledgedEvents = new Set<number>();
    let sentEvents = 0;
    const catalyzedSent: number[] = [];
    const catalyzedAcknowledged = new Set<number>();
    let next = 0;
    const eventWriter = async (writer: number) => {
      for (let request = 0; !dead; request += 1) {
        const ids = Array.from({ length: 5 }, (_, row) => (writer * 10_000 + request) * 10 + row);
        sentEvents += 5;
        try {
          const response = await first.fetch(`/v0/events?name=stream${writer % 2 ? '&wait=true' : ''}`, { method: 'POST', body: ids.map((id) => JSON.stringify({ id, writer })).join('\n') });
          await response.arrayBuffer();
          if (response.status === 200 || response.status === 202) for (const id of ids) acknowledgedEvents.add(id);
        } catch {
          return;
        }
      }
    };
    const rowWriter = async () => {
      while (!dead) {
        const id = (next += 1);
        catalyzedSent.push(id);
        try {
          const answer = await rowsWrite(first, tableId, `mode=append&idempotency_key=row-${id}`, [{ id, name: `row-${id}` }]);
          if (answer.status === 200) catalyzedAcknowledged.add(id);
        } catch {
          return;
        }
      }
    };
    const writers = Promise.all([...Array.from({ length: 6 }, (_, n) => eventWriter(n)), ...Array.from({ length: 6 }, () => rowWriter())]);
    await waitFor(async () => acknowledgedEvents.size >= 300 && catalyzedAcknowledged.size >= 30, 'some writes to be answered');
    await first.stop('SIGKILL', { keepData: true });
    dead = true;
    release();
    await writers;
    await streaming;

    const second = track(await serve(dataDir));
    assert.deepEqual(await sql(second, 'SELECT count() AS n FROM stream_quarantine'), [{ n: 0 }]);
    const events = await sql(second, 'SELECT id FROM stream');
    const ids = events.map((row) => Number(row['id']));
    assert.equal(new Set(ids).size, ids.length, 'no event row twice');
    const missing = [...acknowledgedEvents].filter((id) => !ids.includes(id));
    assert.deepEqual(missing, [], 'every acknowledged event is there');
    assert.ok(ids.length <= sentEvents, `${ids.length} rows, ${sentEvents} sent`);
    assert.deepEqual(await felderaRows(second, 'live', 'SELECT id FROM s ORDER BY id'), [{ id: 1 }, { id: 2 }]);

    const before = (await catalyzedRows(second, tableId, 'SELECT id FROM t ORDER BY id')).map((row) => Number(row['id']));
    assert.equal(new Set(before).size, before.length);
    assert.deepEqual([...catalyzedAcknowledged].filter((id) => !before.includes(id)), [], 'every acknowledged row write is there');
    // Retrying every request that was sent, with its key, writes each row exactly once: those the
    // crash committed answer as replays, the rest write now.
    for (const id of catalyzedSent) {
      const retry = await rowsWrite(second, tableId, `mode=append&idempotency_key=row-${id}`, [{ id, name: `row-${id}` }]);
      assert.equal(retry.status, 200, JSON.stringify(retry.body));
      assert.equal(retry.headers.get('x-idempotent-replay') === 'true', before.includes(id), `row ${id}`);
    }
    assert.deepEqual(await catalyzedRows(second, tableId, 'SELECT count(*) AS n, count(DISTINCT id) AS ids FROM t'), [{ n: catalyzedSent.length, ids: catalyzedSent.length }]);
  });
});
