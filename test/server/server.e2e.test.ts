import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadConfig } from '../../src/config.ts';
import { SluiceError } from '../../src/core/errors.ts';
import type { EngineHealth } from '../../src/storage/duckdb/engine-health.ts';
import { startServer } from '../../src/server/serve.ts';
import { makeDataDir, TestServer } from '../helpers/test-server.ts';

describe('the HTTP server', () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
  });
  after(() => server.stop());

  test('GET /health answers 200 {"status":"ok"} without a token', async () => {
    const response = await server.fetch('/health', { token: null });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });

  test('every response carries an X-Request-ID, echoing the one the client sent', async () => {
    const generated = await server.fetch('/health');
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const echoed = await server.fetch('/health', { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(echoed.headers.get('x-request-id'), 'abc-123');
    const failed = await server.fetch('/v0/events?name=x', { method: 'POST', body: '{}\n', token: 'wrong', headers: { 'x-request-id': 'abc-456' } });
    assert.equal(failed.status, 403);
    assert.equal(failed.headers.get('x-request-id'), 'abc-456');
    const unknown = await server.fetch('/nowhere', { headers: { 'x-request-id': 'abc-789' } });
    assert.equal(unknown.headers.get('x-request-id'), 'abc-789');
  });

  test('an unknown path outside the dialects answers 404 with a coded error', async () => {
    const response = await server.fetch('/nowhere');
    assert.equal(response.status, 404);
    assert.equal((await response.json()).code, 'NOT_FOUND');
  });

  test('a name in a path longer than any legal name is a 400 in each dialect\'s error shape, naming the bound', async () => {
    const long = 'x'.repeat(300);
    const bound = 'A name in the path is longer than 266 characters; names are at most 255';
    const tinybird = await server.fetch(`/v0/datasources/${long}`);
    assert.equal(tinybird.status, 400);
    assert.deepEqual(await tinybird.json(), { error: bound });
    const feldera = await server.fetch(`/v0/pipelines/${long}/ingress/t`, { method: 'POST', body: '{}' });
    assert.equal(feldera.status, 400);
    assert.deepEqual(await feldera.json(), { message: bound, error_code: 'InvalidParam', details: { maxLength: 255 } });
    const catalyzed = await server.fetch(`/datasets/${long}`);
    assert.equal(catalyzed.status, 400);
    assert.deepEqual(await catalyzed.json(), { error: bound, code: 'VALIDATION_ERROR', details: { maxLength: 255 }, retryable: false, message: bound });
  });

  test("a query string whose %-escapes are not UTF-8 is a 400 in each dialect's shape (decoded, two such values would read alike); UTF-8 escapes and a bare % read as sent", async () => {
    const error = 'The query string\'s %-escapes "%FF" are not UTF-8';
    const catalyzed = await server.fetch('/datasets?idempotency_key=a%FF', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "escapes"}' });
    assert.equal(catalyzed.status, 400);
    assert.deepEqual(await catalyzed.json(), { error, code: 'VALIDATION_ERROR', details: { escapes: '%FF' }, retryable: false, message: error });
    const tinybird = await server.fetch('/v0/sql?q=SELECT+1+AS+%FF');
    assert.equal(tinybird.status, 400);
    assert.deepEqual(await tinybird.json(), { error });
    const feldera = await server.fetch('/v0/pipelines?name=%C3%28');
    assert.equal(feldera.status, 400);
    assert.equal(((await feldera.json()) as { error_code: string }).error_code, 'InvalidParam');
    const readable = await server.fetch("/v0/sql?q=SELECT+'%E2%82%AC+100%'+AS+x+FORMAT+CSV");
    assert.equal(await readable.text(), '"€ 100%"\n');
  });

  test('a JSON control body (a dataset, a query, a pipeline) is read gzip-compressed as it is plain; another Content-Encoding is refused, not read as text', async () => {
    const gzipped = (value: unknown) => gzipSync(JSON.stringify(value));
    const json = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
    const dataset = await server.fetch('/datasets', { method: 'POST', headers: json, body: gzipped({ name: 'zipped' }) });
    assert.equal(dataset.status, 201, await dataset.clone().text());
    assert.equal(((await dataset.json()) as { name: string }).name, 'zipped');
    const query = await server.fetch('/queries', { method: 'POST', headers: json, body: gzipped({ sql: 'SELECT 41 + 1 AS x', tables: {} }) });
    assert.deepEqual(((await query.json()) as { rows: unknown[] }).rows, [{ x: 42 }]);
    const pipeline = await server.fetch('/v0/pipelines/zipped_program', { method: 'PUT', headers: json, body: gzipped({ program_code: 'CREATE TABLE t (x INT);' }) });
    assert.equal(pipeline.status, 201, await pipeline.clone().text());
    const brotli = await server.fetch('/datasets', { method: 'POST', headers: { ...json, 'content-encoding': 'br' }, body: JSON.stringify({ name: 'not_brotli' }) });
    assert.equal(brotli.status, 400);
    assert.match(((await brotli.json()) as { error: string }).error, /Content-Encoding "br" is not supported/);
    const bomb = await server.fetch('/queries', { method: 'POST', headers: json, body: gzipSync(' '.repeat(3 * 1024 * 1024)) });
    assert.equal(bomb.status, 413);
  });

  test('a second server on the data directory refuses to start, saying it is in use, and leaves the first one\'s spooled uploads alone', async () => {
    const inFlight = join(server.dataDir, 'spool', 'an-upload-in-flight.csv');
    await writeFile(inFlight, '1,a\n');
    // Another process: DuckDB's lock is the process's, which a second instance in this one would share.
    const second = spawnSync(process.execPath, ['bin/sluice.js', 'serve', '--port', '0', '--data', server.dataDir], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, /The data directory .* is in use by another process \(a Sluice server already serving it\?\)/);
    assert.equal(await readFile(inFlight, 'utf8'), '1,a\n');
    assert.equal((await server.fetch('/health')).status, 200);
    await rm(inFlight);
  });

  test('a data source with the longest legal name, and its quarantine, are addressed by URL; a longer name or token name is refused on creation', async () => {
    const longest = 'd'.repeat(255);
    const created = await server.fetch(`/v0/datasources?name=${longest}&schema=${encodeURIComponent('a Int32')}`, { method: 'POST' });
    assert.equal(created.status, 200, await created.clone().text());
    assert.equal((await server.fetch(`/v0/datasources/${longest}`)).status, 200);
    assert.equal((await server.fetch(`/v0/datasources/${longest}_quarantine/truncate`, { method: 'POST' })).status, 205);
    for (const path of [`/v0/datasources?name=${'d'.repeat(256)}&schema=a%20Int32`, `/v0/tokens?name=${'t'.repeat(256)}&scope=ADMIN`]) {
      const refused = await server.fetch(path, { method: 'POST' });
      assert.equal(refused.status, 400, path);
      assert.match((await refused.json()).error, /use 1 to 255 printable characters/, path);
    }
  });
});

describe('the admin token', () => {
  test('is generated at first start, stored in the data directory (made readable by its owner alone) and kept across restarts', async () => {
    const parent = await makeDataDir();
    const dataDir = join(parent, 'fresh');
    const config = loadConfig({ dataDir, port: 0, logLevel: 'silent' }, {});
    const first = await startServer(config);
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
    const generated = first.core.generatedAdminToken;
    await first.close();
    assert.ok(generated && generated.length >= 40);
    assert.equal((await readFile(join(dataDir, 'admin-token'), 'utf8')).trim(), generated);
    const second = await startServer(config);
    try {
      assert.equal(second.core.generatedAdminToken, undefined);
      const principal = await second.core.authenticate(generated);
      assert.deepEqual(principal.scopes, [{ action: 'admin' }]);
      await assert.rejects(second.core.authenticate('wrong'), { code: 'UNAUTHENTICATED' });
    } finally {
      await second.close();
    }
  });
});

describe('a server whose database engine failed beyond repair', () => {
  test('answers a /health request it was receiving 503 with the failure, refuses work with a retryable 503, takes no new connection and settles `failed`', async () => {
    const dataDir = await makeDataDir();
    const server = await startServer(loadConfig({ dataDir, port: 0, logLevel: 'silent' }, {}));
    const { hostname, port } = new URL(server.url);
    // Requests under way when the engine fails are answered; idle connections are closed with the server.
    const request = (path: string, method = 'GET', body = '') => {
      const socket = connect(Number(port), hostname);
      const sent = new Promise((resolve) => socket.write(`${method} ${path} HTTP/1.1\r\nHost: sluice\r\nAuthorization: Bearer ${server.core.generatedAdminToken}\r\n`, resolve));
      const answer = new Promise<string>((resolve, reject) => {
        let text = '';
        socket.on('data', (chunk) => (text += chunk)).on('end', () => resolve(text)).on('error', reject);
      });
      return { sent, answer, finish: () => socket.write(`Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`) };
    };
    try {
      const health = request('/health');
      const write = request('/v0/events?name=clicks&wait=true', 'POST', '{"id": 1}\n');
      // The server is in this process: once the bytes are sent, a turn of its event loop reads them.
      await Promise.all([health.sent, write.sent]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      // What DuckDB's failure to roll back would do, without making DuckDB fail.
      const failure = new SluiceError('STORAGE_FAILED', 'The database engine failed and the server must restart to recover (as this test says)');
      (server.core.storage as unknown as { health: EngineHealth }).health.note(failure);
      health.finish();
      write.finish();
      const answered = await health.answer;
      assert.match(answered, /^HTTP\/1.1 503 /);
      assert.deepEqual(JSON.parse(answered.slice(answered.indexOf('\r\n\r\n') + 4)), { status: 'failed', error: failure.message });
      const refused = await write.answer;
      assert.match(refused, /^HTTP\/1.1 503 /);
      assert.ok(refused.endsWith(`\r\n\r\n${failure.message}`), refused);
      assert.equal(await server.failed, failure);
      await assert.rejects(fetch(`${server.url}/health`), 'a new connection is refused');
    } finally {
      // Closing cannot checkpoint a failed engine: the process would exit here and restart.
      await server.close().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
