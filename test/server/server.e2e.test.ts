import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
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
  test('is generated at first start, stored in the data directory and kept across restarts', async () => {
    const dataDir = await makeDataDir();
    const config = loadConfig({ dataDir, port: 0, logLevel: 'silent' }, {});
    const first = await startServer(config);
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
