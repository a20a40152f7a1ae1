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
