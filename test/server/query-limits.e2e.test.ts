import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { seedTable } from '../helpers/seed-table.ts';
import { TestServer } from '../helpers/test-server.ts';

/** Runs forever for practical purposes, in one row: only an interrupt ends it. */
const ENDLESS = 'SELECT count(*) AS n FROM range(1000000000000000) t(x) WHERE x % 7 = 3';

const sql = (server: TestServer, query: string, init: RequestInit = {}) => server.fetch(`/v0/sql?q=${encodeURIComponent(query)}`, init);

describe('a query is stopped when it runs out of time', () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start({ queryTimeoutMs: 300 });
  });
  after(() => server.stop());

  test('past SLUICE_QUERY_TIMEOUT_MS it is a retryable 503 naming the limit, and the server answers the next query', async () => {
    const response = await sql(server, ENDLESS);
    assert.equal(response.status, 503);
    const body = await response.json();
    assert.match(body.error, /did not finish within the server's limit of 0\.3 s/);
    const next = await sql(server, 'SELECT 1 AS one');
    assert.equal(next.status, 200);
    assert.deepEqual((await next.json()).data, [{ one: 1 }]);
  });

  test('queries past their time free their connections, so as many again can run', async () => {
    // Four connections by default: twice as many endless queries, then a quick one.
    const answers = await Promise.all(Array.from({ length: 8 }, () => sql(server, ENDLESS).then((response) => response.status)));
    assert.deepEqual(answers, Array(8).fill(503));
    assert.equal((await sql(server, 'SELECT 1 AS one')).status, 200);
  });
});

describe('a query nobody waits for any more is stopped', () => {
  // One query connection and a time limit longer than the test's own: a query left running
  // would make the next one wait past the test's timeout.
  let server: TestServer;
  before(async () => {
    server = await TestServer.start({ queryConnections: 1, queryTimeoutMs: 600_000 });
  });
  after(() => server.stop());

  test('a client that disconnects stops its query and frees the connection for the next', { timeout: 30_000 }, async () => {
    const client = new AbortController();
    const pending = sql(server, ENDLESS, { signal: client.signal }).catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 300));
    client.abort();
    assert.ok((await pending) instanceof Error);
    const next = await sql(server, 'SELECT 2 AS two');
    assert.equal(next.status, 200);
    assert.deepEqual((await next.json()).data, [{ two: 2 }]);
  });

  test('a client that disconnects while its query waits for a connection leaves the queue', { timeout: 30_000 }, async () => {
    const first = new AbortController();
    const second = new AbortController();
    const running = sql(server, ENDLESS, { signal: first.signal }).catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const waiting = sql(server, 'SELECT 3 AS three', { signal: second.signal }).catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 200));
    second.abort();
    first.abort();
    assert.ok((await running) instanceof Error);
    assert.ok((await waiting) instanceof Error);
    const next = await sql(server, 'SELECT 4 AS four');
    assert.deepEqual((await next.json()).data, [{ four: 4 }]);
  });
});

describe('one token cannot take every query connection', () => {
  let server: TestServer;
  before(async () => {
    // Two connections, so one per token; a time limit longer than the test's own.
    server = await TestServer.start({ queryConnections: 2, queryTimeoutMs: 600_000 });
    await seedTable(server.core, 'default', 'events', [{ name: 'id', type: { kind: 'int', bits: 32, signed: true }, nullable: false }], [['1']]);
  });
  after(() => server.stop());

  test("a token's queries past SLUICE_QUERIES_PER_TOKEN wait, while another token's query runs", { timeout: 30_000 }, async () => {
    const created = await server.fetch('/v0/tokens?name=other&scope=DATASOURCES:READ:events', { method: 'POST' });
    const other = ((await created.json()) as { token: string }).token;
    const flood = new AbortController();
    const flooding = Array.from({ length: 3 }, () => sql(server, ENDLESS, { signal: flood.signal }).catch((error: Error) => error));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const answer = await server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT count(*) AS n FROM events')}`, { token: other });
    assert.equal(answer.status, 200);
    assert.deepEqual((await answer.json()).data, [{ n: 1 }]);
    flood.abort();
    for (const result of await Promise.all(flooding)) assert.ok(result instanceof Error);
  });
});

test('closing the server stops its running queries with a retryable 503', { timeout: 30_000 }, async () => {
  const server = await TestServer.start({ queryConnections: 1, queryTimeoutMs: 600_000 });
  const pending = sql(server, ENDLESS);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await server.stop();
  const response = await pending;
  assert.equal(response.status, 503);
  assert.match((await response.json()).error, /shutting down/);
});

describe("a query's result is held in bounded memory", () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start({ resultMemoryBytes: 1024 * 1024 });
  });
  after(() => server.stop());

  test('a row larger than SLUICE_RESULT_MEMORY is a 400 that says how large it is, and the server keeps serving', async () => {
    const response = await sql(server, 'SELECT range(0, 200000) AS l');
    assert.equal(response.status, 400);
    assert.match((await response.json()).error, /A row of the result holds about 3 MB of values, more than the 1 MB/);
    assert.equal((await sql(server, 'SELECT 1 AS one')).status, 200);
  });

  test('a streamed result many times larger than SLUICE_RESULT_MEMORY arrives whole and in order', async () => {
    // 3000 rows of 1000-element lists: about 48 MB as JS values, so it is converted in many small groups.
    const response = await sql(server, 'SELECT i, range(i, i + 1000) AS l FROM range(0, 3000) t(i) ORDER BY i FORMAT JSONEachRow');
    assert.equal(response.status, 200);
    const lines = (await response.text()).trim().split('\n').map((line) => JSON.parse(line) as { i: number; l: number[] });
    assert.equal(lines.length, 3000);
    lines.forEach((line, index) => {
      assert.equal(line.i, index);
      assert.equal(line.l.length, 1000);
      assert.equal(line.l[999], index + 999);
    });
  });

  test('a bounded result (Catalyzed maxRows) holding more than SLUICE_RESULT_MEMORY is a 400 asking for fewer rows', async () => {
    const response = await server.fetch('/queries', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT range(0, 1000) AS l FROM range(0, 3000)', maxRows: 3000 }),
    });
    assert.equal(response.status, 400);
    const body = await response.json();
    assert.equal(body.code, 'QUERY_ERROR');
    assert.match(body.message, /The result's first \d+ rows hold about \d+ MB of values, more than the 1 MB .*ask for fewer rows/);
  });
});

describe('a Parquet result is bounded on disk', () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start({ maxExportBytes: 1024 * 1024 });
  });
  after(() => server.stop());

  test('past SLUICE_MAX_EXPORT_BYTES it is stopped with a 400, its file removed, and smaller ones still export', { timeout: 60_000 }, async () => {
    const response = await sql(server, 'SELECT i, md5(i::VARCHAR) AS h FROM range(0, 1000000000) t(i) FORMAT Parquet');
    assert.equal(response.status, 400);
    assert.match((await response.json()).error, /The Parquet result grew past the 1 MB the server may write for one query/);
    assert.deepEqual((await readdir(server.core.storage.spoolDir)).filter((name) => name.endsWith('.parquet')), []);
    const small = await sql(server, 'SELECT 1 AS one FORMAT Parquet');
    assert.equal(small.status, 200);
    assert.equal(Buffer.from(await small.arrayBuffer()).subarray(0, 4).toString(), 'PAR1');
    // A file written faster than the watch looks at it (a few MB in milliseconds) is measured once whole.
    const quick = await sql(server, "SELECT i, md5(i::VARCHAR) AS h FROM range(0, 200000) t(i) FORMAT Parquet");
    assert.equal(quick.status, 400);
    assert.deepEqual((await readdir(server.core.storage.spoolDir)).filter((name) => name.endsWith('.parquet')), []);
  });
});

describe('a query that fails part-way through its rows', () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
  });
  after(() => server.stop());

  // DuckDB ends a streamed result that fails after its first chunks just as one read to its end.
  const FAILS_LATE = "SELECT number AS i, toInt32(if(number = 99999, 'oops', toString(number))) AS n FROM numbers(100000)";

  /** The response is an error, or breaks off: never a 200 whose whole body holds fewer rows. */
  async function failsWhole(response: Response): Promise<void> {
    if (response.status !== 200) {
      assert.equal(response.status, 400);
      assert.match(await response.text(), /Could not convert string 'oops' to INT32/);
      return;
    }
    await assert.rejects(response.text());
  }

  for (const format of ['JSON', 'CSV', 'JSONEachRow']) {
    test(`in FORMAT ${format} it fails, rather than answering the rows before the failure as the whole result`, async () => {
      await failsWhole(await sql(server, `${FAILS_LATE} FORMAT ${format}`));
      assert.equal((await sql(server, 'SELECT 1 AS one')).status, 200);
    });
  }

  test('a query with a LIMIT whose count of the rows before it fails is a 400 with the reason, not a 409 of an aborted transaction', async () => {
    const response = await sql(server, "SELECT toInt32(toString(number) || 'x') AS c, count() AS n FROM numbers(10) GROUP BY c LIMIT 3");
    assert.equal(response.status, 400);
    assert.match((await response.json()).error, /Could not convert string '\d+x' to INT32/);
  });

  test('a result read to its end still answers every row', async () => {
    const response = await sql(server, `${FAILS_LATE.replace("'oops'", "'7'")} FORMAT CSV`);
    assert.equal(response.status, 200);
    assert.equal((await response.text()).trim().split('\n').length, 100000);
  });
});

describe("an egress stream's copy of a view is stopped as a query is", () => {
  /** A pipeline whose view `endless` takes for ever to evaluate, and whose view `cheap` does not, with a row in its table. */
  const pipeline = async (server: TestServer, name: string) => {
    const program = `CREATE TABLE t (id INT NOT NULL PRIMARY KEY);
CREATE VIEW endless AS SELECT t.id, (SELECT count(*) FROM range(1000000000000000) a WHERE a.range % 7 = t.id) AS n FROM t;
CREATE VIEW cheap AS SELECT id FROM t;`;
    const put = await server.fetch(`/v0/pipelines/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ program_code: program }) });
    assert.equal(put.status, 201, await put.text());
    assert.equal((await server.fetch(`/v0/pipelines/${name}/start`, { method: 'POST' })).status, 202);
    assert.equal((await server.fetch(`/v0/pipelines/${name}/ingress/t?format=csv`, { method: 'POST', body: '3\n' })).status, 200);
  };
  const egress = (server: TestServer, name: string, view: string, init: RequestInit = {}) =>
    server.fetch(`/v0/pipelines/${name}/egress/${view}?format=json&send_snapshot=true`, { method: 'POST', ...init });

  test('past SLUICE_QUERY_TIMEOUT_MS the stream is refused with a 503 naming the limit', async () => {
    const server = await TestServer.start({ queryTimeoutMs: 300 });
    try {
      await pipeline(server, 'timed');
      const response = await egress(server, 'timed', 'endless');
      assert.equal(response.status, 503);
      assert.match((await response.json()).message, /did not finish within the server's limit of 0\.3 s/);
    } finally {
      await server.stop();
    }
  });

  test('a client that goes before its copy is done stops the copy and frees its connection; a shutdown stops one running', { timeout: 60_000 }, async () => {
    const server = await TestServer.start({ queryTimeoutMs: 600_000 });
    let stopped = false;
    try {
      await pipeline(server, 'left');
      // More abandoned copies than the snapshots' connections: one left running would hold the next stream off for ever.
      for (let round = 0; round < 3; round += 1) {
        const client = new AbortController();
        const pending = egress(server, 'left', 'endless', { signal: client.signal }).catch((error: Error) => error);
        await new Promise((resolve) => setTimeout(resolve, 300));
        client.abort();
        assert.ok((await pending) instanceof Error);
      }
      const cheap = new AbortController();
      const response = await egress(server, 'left', 'cheap', { signal: cheap.signal });
      assert.equal(response.status, 200);
      cheap.abort();
      // And one still copying when the server stops is stopped with it: the stop returns.
      const running = egress(server, 'left', 'endless').then((answer) => answer.status, (error: Error) => error);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await server.stop();
      stopped = true;
      const answer = await running;
      assert.ok(answer === 503 || answer instanceof Error, String(answer));
    } finally {
      if (!stopped) await server.stop();
    }
  });
});
