import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TinybirdApi } from '@tinybirdco/sdk';
import { ADMIN_TOKEN, TestServer } from '../../helpers/test-server.ts';

describe('the real @tinybirdco/sdk against Sluice', () => {
  let server: TestServer;
  let api: TinybirdApi;
  before(async () => {
    server = await TestServer.start();
    api = new TinybirdApi({ baseUrl: server.url, token: ADMIN_TOKEN });
    await server.fetch('/v0/datasources?name=page_views&format=ndjson', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ schema: 'pathname String `json:$.pathname`, visits Int64 `json:$.visits`' }).toString(),
    });
  });
  after(() => server.stop());

  test('ingests events with wait and reads them back with SQL', async () => {
    const result = await api.ingestBatch('page_views', [{ pathname: '/home', visits: 3 }, { pathname: '/about', visits: 1 }]);
    assert.deepEqual(result, { successful_rows: 2, quarantined_rows: 0 });
    const rows = await api.sql('SELECT pathname, visits FROM page_views ORDER BY visits DESC');
    assert.deepEqual(rows.data, [{ pathname: '/home', visits: 3 }, { pathname: '/about', visits: 1 }]);
    assert.deepEqual(rows.meta, [{ name: 'pathname', type: 'String' }, { name: 'visits', type: 'Int64' }]);
  });

  test('appends a local CSV file to a data source', async () => {
    const file = join(server.dataDir, 'page_views.csv');
    await writeFile(file, 'pathname,visits\n/pricing,7\n');
    const result = await api.appendDatasource('page_views', { file });
    assert.equal((result as unknown as { error: unknown }).error, false);
    const rows = await api.sql("SELECT visits FROM page_views WHERE pathname = '/pricing'");
    assert.deepEqual(rows.data, [{ visits: 7 }]);
  });

  test("queries a pipe's endpoint: its last node over the earlier ones, with the data sources' read scope", async () => {
    await api.ingestBatch('page_views', [{ pathname: '/docs', visits: 5 }, { pathname: '/docs', visits: 2 }]);
    const created = await server.fetch('/v0/pipes', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'top_pages', nodes: [
        { name: 'docs', sql: "SELECT * FROM page_views WHERE pathname = '/docs'" },
        { name: 'endpoint', sql: 'SELECT pathname, sum(visits) AS visits FROM docs GROUP BY pathname' },
      ] }),
    });
    assert.equal(created.status, 200, await created.clone().text());
    const result = await api.query('top_pages');
    assert.deepEqual(result.data, [{ pathname: '/docs', visits: 7 }]);
    const reader = new TinybirdApi({ baseUrl: server.url, token: (await api.createToken({ name: 'pipe-reader', scopes: [{ type: 'DATASOURCES:READ', resource: 'page_views' }] })).token });
    assert.deepEqual((await reader.query('top_pages')).data, [{ pathname: '/docs', visits: 7 }]);
    await assert.rejects(api.query('no_such_pipe'), (error: { statusCode?: number }) => error.statusCode === 404);
  });

  test('creates tokens whose scopes are enforced, static and expiring', async () => {
    const created = await api.createToken({ name: 'sdk-reader', scopes: [{ type: 'DATASOURCES:READ', resource: 'page_views' }] });
    const reader = new TinybirdApi({ baseUrl: server.url, token: created.token });
    const rows = await reader.sql('SELECT count() AS n FROM page_views');
    assert.equal(rows.data.length, 1);
    await assert.rejects(reader.ingestBatch('page_views', [{ pathname: '/x', visits: 1 }]), (error: { statusCode?: number }) => error.statusCode === 403);
    const expiring = await api.createToken({ name: 'sdk-jwt', scopes: [{ type: 'DATASOURCES:APPEND', resource: 'page_views' }] }, { expirationTime: Math.floor(Date.now() / 1000) + 600 });
    const appender = new TinybirdApi({ baseUrl: server.url, token: expiring.token });
    assert.deepEqual(await appender.ingest('page_views', { pathname: '/jwt', visits: 2 }), { successful_rows: 1, quarantined_rows: 0 });
    await assert.rejects(appender.sql('SELECT count() FROM page_views'), (error: { statusCode?: number }) => error.statusCode === 403);
  });
});
