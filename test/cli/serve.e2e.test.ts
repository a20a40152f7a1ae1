import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { BENCH_TOKEN, ServerProcess } from '../../bench/server-process.ts';
import { makeDataDir } from '../helpers/test-server.ts';
import { defaultProcessMemoryLimit } from '../../src/server/process-memory.ts';

/** `sluice serve` as a user runs it: its own process, flags and environment. */
const serve = (dataDir: string) => ServerProcess.start({ SLUICE_LOG_LEVEL: 'warn' }, { dataDir });

const sql = async (server: ServerProcess, query: string) => (await (await server.fetch(`/v0/sql?q=${encodeURIComponent(query)}`)).json()).data;

test('sluice serve stops cleanly on SIGTERM and SIGINT, keeping every acknowledged row', async () => {
  const dataDir = await makeDataDir();
  try {
    const first = await serve(dataDir);
    assert.deepEqual(await (await fetch(`${first.url}/health`)).json(), { status: 'ok' });
    const written = await first.fetch('/v0/events?name=cli_events&wait=true', { method: 'POST', body: '{"n": 1}\n{"n": 2}\n' });
    assert.equal(written.status, 200);
    assert.equal(await first.stop('SIGTERM', { keepData: true }), 0);

    const second = await serve(dataDir);
    assert.deepEqual(await sql(second, 'SELECT sum(n) AS total FROM cli_events'), [{ total: 3 }]);
    assert.equal(await second.stop('SIGINT', { keepData: true }), 0);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('rows acknowledged before a kill -9 are there after a restart', async () => {
  const dataDir = await makeDataDir();
  try {
    const first = await serve(dataDir);
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        first.fetch('/v0/events?name=crash_events&wait=true', { method: 'POST', body: `{"n": ${index}}\n` }).then((response) => response.status),
      ),
    );
    assert.ok(statuses.every((status) => status === 200));
    assert.notEqual(await first.stop('SIGKILL', { keepData: true }), 0);

    const second = await serve(dataDir);
    assert.deepEqual(await sql(second, 'SELECT count(*) AS n, sum(n) AS total FROM crash_events'), [{ n: 20, total: 190 }]);
    assert.equal(await second.stop('SIGTERM', { keepData: true }), 0);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('libraries only some requests need load on first use: Apache Arrow, undici and jose are not loaded at start, Arrow is with the first Arrow query', async () => {
  const logDir = await mkdtemp(join(tmpdir(), 'sluice-packages-'));
  const log = join(logDir, 'packages.log');
  const server = await ServerProcess.start(
    { SLUICE_LOG_LEVEL: 'warn', SLUICE_TEST_PACKAGE_LOG: log },
    { nodeArgs: ['--import', new URL('../helpers/record-packages.mjs', import.meta.url).href] },
  );
  const loaded = async () => (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  try {
    assert.equal((await server.fetch('/health')).status, 200);
    const atStart = await loaded();
    assert.ok(atStart.includes('fastify') && atStart.includes('@duckdb/node-api'), `the packages recorded at start: ${atStart.join(', ')}`);
    assert.deepEqual(['apache-arrow', 'undici', 'jose'].filter((name) => atStart.includes(name)), []);

    const response = await server.fetch('/queries', {
      method: 'POST', headers: { accept: 'application/vnd.apache.arrow.stream', 'content-type': 'application/json' }, body: JSON.stringify({ sql: 'SELECT 42 AS answer' }),
    });
    assert.equal(response.status, 200);
    assert.equal(tableFromIPC(new Uint8Array(await response.arrayBuffer())).getChild('answer')?.get(0), 42);
    assert.ok((await loaded()).includes('apache-arrow'));
  } finally {
    await server.stop();
    await rm(logDir, { recursive: true, force: true });
  }
});

test('at the info level each request is logged once, when answered, with its method, status, duration and id, and no token, however its name is escaped', async () => {
  const server = await ServerProcess.start({ SLUICE_LOG_LEVEL: 'info' }, { keepOutput: true });
  try {
    const answered = await fetch(`${server.url}/v0/sql?q=${encodeURIComponent('SELECT 1 AS one')}&token=${BENCH_TOKEN}`, { headers: { 'x-request-id': 'log-ok' } });
    assert.equal(answered.status, 200);
    // The token's name %-escaped is the token still, blanked as such.
    const refused = await fetch(`${server.url}/v0/sql?q=1&%74oken=wrong-secret`, { headers: { 'x-request-id': 'log-refused' } });
    assert.equal(refused.status, 403);
    // Log lines are written asynchronously: wait for both.
    const requestLines = () => server.outputLines().filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, any>).filter((line) => line.reqId?.startsWith('log-'));
    for (let waited = 0; requestLines().length < 2 && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = requestLines();
    assert.deepEqual(lines.map((line) => [line.reqId, line.msg, line.req.method, line.res.statusCode]), [['log-ok', 'request completed', 'GET', 200], ['log-refused', 'request completed', 'GET', 403]]);
    assert.ok(lines.every((line) => typeof line.responseTime === 'number' && line.level === 30));
    assert.match(lines[0]!.req.url, /^\/v0\/sql\?q=SELECT.*&token=\[redacted\]$/);
    assert.equal(lines[1]!.req.url, '/v0/sql?q=1&%74oken=[redacted]');
    assert.ok(!server.outputLines().some((line) => line.includes(BENCH_TOKEN) || line.includes('wrong-secret')), 'no token appears in the log');
  } finally {
    await server.stop();
  }
});

/** The soft "Max data size" of a process (RLIMIT_DATA), as /proc shows it: bytes, or 'unlimited'. */
const dataLimit = async (pid: number) => /^Max data size\s+(\S+)/m.exec(await readFile(`/proc/${pid}/limits`, 'utf8'))![1];

test('a query that builds a value past the process memory cap fails with a 503 saying so, and the server keeps serving reads and writes', async () => {
  const server = await ServerProcess.start({ SLUICE_LOG_LEVEL: 'warn', SLUICE_PROCESS_MEMORY_LIMIT: '1GB' });
  try {
    assert.equal(await dataLimit(server.pid), String(1024 ** 3));
    // 3,000 lists of a million BIGINTs: 24 GB asked for in one scalar call, beyond DuckDB's memory_limit
    // and its interrupts; without the cap the system's OOM killer ended the server.
    const huge = await server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT length(list_transform(range(3000), x -> range(1000000))) AS n')}`);
    assert.equal(huge.status, 503);
    assert.match((await huge.json()).error, /^Out of memory/);
    const written = await server.fetch('/v0/events?name=after_oom&wait=true', { method: 'POST', body: '{"n": 1}\n{"n": 2}\n' });
    assert.equal(written.status, 200);
    assert.deepEqual(await sql(server, 'SELECT sum(n) AS total FROM after_oom'), [{ total: 3 }]);
  } finally {
    await server.stop();
  }
});

test("a CSV load that runs out of DuckDB's memory is a retryable 503 saying so, not a 400 blaming the file, in Tinybird and Catalyzed alike", async () => {
  const server = await ServerProcess.start({ SLUICE_LOG_LEVEL: 'error', SLUICE_PROCESS_MEMORY_LIMIT: 'off', SLUICE_MEMORY_LIMIT: '24MB' });
  try {
    // 20 MB of well-formed CSV, more than DuckDB may hold while it reads it.
    const csv = `id,name,val\n${Array.from({ length: 600_000 }, (_, index) => `${index},name${index},${index / 7}`).join('\n')}\n`;
    const form = new FormData();
    form.append('csv', new Blob([csv]), 'big.csv');
    const tinybird = await server.fetch('/v0/datasources?name=big_csv&format=csv', { method: 'POST', body: form });
    assert.deepEqual([tinybird.status, (await tinybird.json()).error.startsWith('Out of memory')], [503, true]);
    const json = { 'content-type': 'application/json' };
    const { datasetId } = await (await server.fetch('/datasets', { method: 'POST', headers: json, body: JSON.stringify({ name: 'oom' }) })).json();
    const fields = [{ name: 'id', arrowType: 'int64', nullable: false }, { name: 'name', arrowType: 'utf8' }, { name: 'val', arrowType: 'float64' }];
    const { tableId } = await (await server.fetch('/dataset-tables', { method: 'POST', headers: json, body: JSON.stringify({ datasetId, tableName: 't', fields, primaryKeyColumns: ['id'] }) })).json();
    const catalyzed = await server.fetch(`/dataset-tables/${tableId}/rows?mode=append`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
    const body = await catalyzed.json();
    assert.deepEqual([catalyzed.status, body.code, body.retryable, body.message.startsWith('Out of memory')], [503, 'SERVICE_UNAVAILABLE', true, true]);
  } finally {
    await server.stop();
  }
});

test("writes racing queries that use up DuckDB's memory get a 200 or a retryable 503, never a lasting failure; a server whose engine failed exits for a restart, which has every acknowledged row", async () => {
  const dataDir = await makeDataDir();
  try {
    const server = await ServerProcess.start({ SLUICE_LOG_LEVEL: 'error', SLUICE_PROCESS_MEMORY_LIMIT: 'off', SLUICE_MEMORY_LIMIT: '64MB' }, { dataDir });
    const body = '{"n": 1}\n'.repeat(1000);
    const seeded = await server.fetch('/v0/events?name=pressed&wait=true', { method: 'POST', body });
    assert.equal(seeded.status, 200);
    let [acknowledged, unacknowledged] = [1000, 0];
    const statuses = new Set<number>();
    const until = Date.now() + 3000;
    const running = () => Date.now() < until && server.ended === undefined;
    // Each query builds 500 MB of strings with 64 MB for DuckDB: it fails, and while it runs, the
    // writes' statements, commits and rollbacks find no memory either.
    const hog = async () => {
      while (running()) await server.fetch(`/v0/sql?q=${encodeURIComponent("SELECT max(s) FROM (SELECT repeat('y', 100000) || i AS s FROM range(5000) t(i))")}`).then((response) => response.arrayBuffer(), () => undefined);
    };
    const write = async () => {
      while (running()) {
        try {
          const response = await server.fetch('/v0/events?name=pressed&wait=true', { method: 'POST', body });
          await response.arrayBuffer();
          statuses.add(response.status);
          if (response.status === 200) acknowledged += 1000;
          else unacknowledged += 1000;
        } catch {
          // The server is exiting: the request may have been written or not.
          unacknowledged += 1000;
        }
      }
    };
    await Promise.all([hog(), hog(), write(), write()]);
    assert.deepEqual([...statuses].filter((status) => status !== 200 && status !== 503), []);
    if (server.ended === undefined) {
      // Still serving: no connection was left in a failed transaction, so writes go on.
      const after = await server.fetch('/v0/events?name=pressed&wait=true', { method: 'POST', body });
      assert.equal(after.status, 200, await after.text());
      acknowledged += 1000;
      assert.equal(await server.stop('SIGTERM', { keepData: true }), 0);
    } else {
      // Exited for a restart, its engine beyond repair (75), or crashed: DuckDB 1.5 can still crash
      // on an update after cleaning up old row versions failed for want of memory, a failure no
      // statement reports (duckdb/duckdb#26019). Either way the acknowledged rows must be there.
      const ended = await server.waitForEnd(10_000);
      assert.ok(ended?.code === 75 || ended?.signal === 'SIGSEGV', `ended with ${JSON.stringify(ended)}`);
      await server.stop('SIGTERM', { keepData: true });
    }
    const restarted = await serve(dataDir);
    try {
      const [{ n }] = await sql(restarted, 'SELECT count() AS n FROM pressed');
      // A write answered 503 as its commit failed may have been applied all the same.
      assert.ok(n >= acknowledged && n <= acknowledged + unacknowledged, `${n} rows, ${acknowledged} acknowledged and ${unacknowledged} not`);
      assert.equal((await restarted.fetch('/v0/events?name=pressed&wait=true', { method: 'POST', body: '{"n": 2}\n' })).status, 200);
    } finally {
      await restarted.stop('SIGTERM', { keepData: true });
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a multipart file is imported to its last byte however its end arrives: 20 appends of 3 MB, sent in chunks by another process, each to a new data source, keep every row, the last one whole', async () => {
  const server = await ServerProcess.start({ SLUICE_LOG_LEVEL: 'warn' });
  const dir = await mkdtemp(join(tmpdir(), 'sluice-multipart-'));
  try {
    const rows = 100_000;
    let csv = 'id,s\n';
    for (let id = 0; id < rows; id += 1) csv += `${id},row-${id}-xxxxxxxxxxxxxxxx\n`;
    const file = join(dir, 'rows.csv');
    await writeFile(file, csv);
    // The multipart parser may be done with the request while the file's part still holds bytes the
    // import had no room for yet: the import used to see the file end there, and committed all but
    // its last rows with a 200 (with this file, 31 rows, within the first few uploads).
    for (let upload = 0; upload < 20; upload += 1) {
      const created = await server.fetch(`/v0/datasources?name=upload_${upload}&format=csv`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ schema: 'id Int64, s String' }).toString(),
      });
      assert.equal(created.status, 200);
      const response = await server.upload(`/v0/datasources?mode=append&name=upload_${upload}&format=csv`, 'csv', file);
      assert.equal(response.status, 200, response.body);
      const body = JSON.parse(response.body);
      assert.deepEqual([body.successful_rows, body.quarantine_rows, body.invalid_lines], [rows, 0, 0], `upload ${upload}`);
      assert.deepEqual(await sql(server, `SELECT count() AS n, countIf(s = 'row-${rows - 1}-xxxxxxxxxxxxxxxx') AS last FROM upload_${upload}`), [{ n: rows, last: 1 }]);
    }
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the process memory cap defaults to 90% of the memory available, with DuckDB\'s memory limit under it; SLUICE_PROCESS_MEMORY_LIMIT=off sets none', async () => {
  const capped = await ServerProcess.start({ SLUICE_LOG_LEVEL: 'info' }, { keepOutput: true });
  try {
    const cap = defaultProcessMemoryLimit();
    assert.equal(await dataLimit(capped.pid), String(cap));
    // Log lines are written asynchronously: wait for this one.
    const capLine = () => capped.outputLines().filter((line) => line.startsWith('{')).map((line) => JSON.parse(line)).find((line) => line.msg === 'process memory capped');
    for (let waited = 0; !capLine() && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    const logged = capLine();
    assert.equal(logged?.bytes, cap);
    const duckdbLimit = Number(/^(\d+)MiB$/.exec(logged?.duckdbMemoryLimit)?.[1]) * 1024 ** 2;
    assert.ok(duckdbLimit >= cap / 4 && duckdbLimit <= cap - 768 * 1024 ** 2, `DuckDB's limit ${logged?.duckdbMemoryLimit} under the cap of ${cap} bytes`);
  } finally {
    await capped.stop();
  }
  const uncapped = await ServerProcess.start({ SLUICE_LOG_LEVEL: 'warn', SLUICE_PROCESS_MEMORY_LIMIT: 'off' });
  try {
    assert.equal(await dataLimit(uncapped.pid), await dataLimit(process.pid));
  } finally {
    await uncapped.stop();
  }
});

test('a server whose standard output has lost its reader (sluice serve | head -1) keeps serving and stops on SIGTERM', async () => {
  const dataDir = await makeDataDir();
  // A port free now, for a server whose output, where it would say its port, no one reads.
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as AddressInfo;
      probe.close(() => resolve(free));
    });
  });
  const child = spawn(process.execPath, ['bin/sluice.js', 'serve', '--port', String(port), '--data', dataDir], { stdio: ['ignore', 'pipe', 'ignore'] });
  // The reader goes after the first line, as `head -1` does: every later write to the pipe fails.
  child.stdout!.once('data', () => child.stdout!.destroy());
  try {
    let health: Response | undefined;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline && health?.status !== 200; ) {
      // A server whose event loop is stuck takes the connection and never answers: each try has its time.
      health = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
      if (health?.status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(health?.status, 200, 'the server answered /health');
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running 15 s after SIGTERM'), 15_000))]);
    assert.equal(code, 0);
  } finally {
    child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
});
