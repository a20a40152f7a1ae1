import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { seedTable } from '../../helpers/seed-table.ts';
import { ADMIN_TOKEN, TestServer } from '../../helpers/test-server.ts';

const int32 = { kind: 'int', bits: 32, signed: true } as const;

describe('Tinybird tokens and scope checks', () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
    await seedTable(server.core, 'default', 'events', [{ name: 'id', type: int32, nullable: false }], [['1']]);
    await seedTable(server.core, 'default', 'secrets', [{ name: 'id', type: int32, nullable: false }], [['42']]);
  });
  after(() => server.stop());

  async function createToken(query: string): Promise<{ token: string; name: string; scopes: unknown[] }> {
    const response = await server.fetch(`/v0/tokens?${query}`, { method: 'POST' });
    assert.equal(response.status, 200);
    return response.json();
  }

  const sql = (sqlText: string, token: string | null) => server.fetch(`/v0/sql?q=${encodeURIComponent(sqlText)}`, { token });

  test('a token created with a READ scope reads that data source and nothing else', async () => {
    const created = await createToken('name=reader&scope=DATASOURCES:READ:events');
    assert.deepEqual(created.scopes, [{ type: 'DATASOURCES:READ', resource: 'events' }]);
    assert.equal((await sql('SELECT count() AS n FROM events', created.token)).status, 200);
    const denied = await sql('SELECT * FROM secrets', created.token);
    assert.equal(denied.status, 403);
    assert.match((await denied.json()).error, /may not read table "secrets"/);
    const joined = await sql('SELECT * FROM events JOIN secrets USING (id)', created.token);
    assert.equal(joined.status, 403);
    // Nor does it learn which names exist: a missing data source or namespace is refused alike.
    for (const query of ['SELECT * FROM nothing_here', 'SELECT * FROM no_such_namespace.events', 'SELECT * FROM events JOIN nothing_here USING (id)']) {
      const refused = await sql(query, created.token);
      assert.equal(refused.status, 403, query);
      assert.match((await refused.json()).error, /may not read table/, query);
    }
    assert.equal((await sql('SELECT * FROM nothing_here', ADMIN_TOKEN)).status, 404);
  });

  test("a data source named by its id is refused without its name to a token with no scope on it; one with a scope reaches it by id", async () => {
    const secrets = server.core.catalog.findTable(server.core.catalog.getNamespace('default').id, 'secrets')!;
    const appender = await createToken('name=id_appender&scope=DATASOURCES:APPEND:events');
    const byId = `t_${secrets.id}`;
    const refusals = [
      server.fetch(`/v0/datasources/${byId}`, { token: appender.token }),
      server.fetch(`/v0/events?name=${byId}`, { method: 'POST', body: '{"id": 1}', token: appender.token }),
      server.fetch(`/v0/datasources?name=${byId}&mode=append&format=csv`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '1\n', token: appender.token }),
    ];
    for (const refused of await Promise.all(refusals)) {
      const text = await refused.text();
      assert.equal(refused.status, 403, text);
      assert.doesNotMatch(text, /secrets/);
    }
    const reader = await createToken('name=id_reader&scope=DATASOURCES:READ:secrets');
    const read = await server.fetch(`/v0/datasources/${byId}`, { token: reader.token });
    assert.equal(read.status, 200);
    assert.equal(((await read.json()) as { name: string }).name, 'secrets');
  });

  test('a missing or unknown token gets 403 invalid authentication token', async () => {
    for (const token of [null, 'not-a-token']) {
      const response = await sql('SELECT 1', token);
      assert.equal(response.status, 403);
      assert.deepEqual(await response.json(), { error: 'invalid authentication token' });
    }
  });

  test('the token may come in ?token= as well as in the Authorization header', async () => {
    const response = await fetch(`${server.url}/v0/sql?q=SELECT%201%20AS%20x&token=${ADMIN_TOKEN}`);
    assert.equal(response.status, 200);
  });

  test('managing tokens needs the admin scope', async () => {
    const reader = await createToken('name=reader2&scope=DATASOURCES:READ:events');
    const response = await server.fetch('/v0/tokens?name=x&scope=ADMIN', { method: 'POST', token: reader.token });
    assert.equal(response.status, 403);
  });

  test('tokens are listed without their secrets and can be deleted', async () => {
    const created = await createToken('name=temporary&scope=DATASOURCES:CREATE');
    const listed = await (await server.fetch('/v0/tokens')).json();
    const entry = listed.tokens.find((token: { name: string }) => token.name === 'temporary');
    assert.deepEqual(entry.scopes, [{ type: 'DATASOURCES:CREATE' }]);
    assert.equal(JSON.stringify(listed).includes(created.token), false);
    assert.equal((await server.fetch('/v0/tokens/temporary', { method: 'DELETE' })).status, 204);
    assert.equal((await sql('SELECT 1', created.token)).status, 403);
  });

  test('tokens are created from a JSON body too; an unknown scope, and a data source named on DATASOURCES:CREATE or ADMIN, are refused', async () => {
    const response = await server.fetch('/v0/tokens', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'json-token', scopes: [{ type: 'DATASOURCES:APPEND', resource: 'events' }] }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual((await response.json()).scopes, [{ type: 'DATASOURCES:APPEND', resource: 'events' }]);
    const bad = await server.fetch('/v0/tokens?name=bad&scope=PIPES:EVERYTHING', { method: 'POST' });
    assert.equal(bad.status, 400);
    // CREATE and ADMIN reach every data source: one named would grant more than was asked for.
    const wider = await server.fetch('/v0/tokens?name=wider&scope=DATASOURCES:CREATE:events', { method: 'POST' });
    assert.deepEqual([wider.status, (await wider.json()).error], [400, 'Invalid scope "DATASOURCES:CREATE:events": DATASOURCES:CREATE takes no data source']);
    const admin = await server.fetch('/v0/tokens', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'wider', scopes: [{ type: 'ADMIN', resource: 'events' }] }),
    });
    assert.deepEqual([admin.status, (await admin.json()).error], [400, 'Invalid scope "ADMIN:events": ADMIN takes no data source']);
  });

  test("a token's scope follows its data source: renamed, the token reads it by its new name; dropped, a new data source of the old name is not the token's", async () => {
    const form = (path: string, fields: Record<string, string>, method = 'POST') => server.fetch(path, { method, body: new URLSearchParams(fields) });
    assert.equal((await form('/v0/datasources?name=moving', { schema: 'x String' })).status, 200);
    const { token, name } = await createToken('name=mover&scope=DATASOURCES:READ:moving');
    assert.equal((await server.fetch('/v0/datasources/moving?name=moved', { method: 'PUT' })).status, 200);
    assert.equal((await sql('SELECT count() AS n FROM moved', token)).status, 200);
    const shown = await (await server.fetch(`/v0/tokens/${name}`)).json();
    assert.deepEqual(shown.scopes, [{ type: 'DATASOURCES:READ', resource: 'moved' }]);
    // A new data source under the old name is another: the token does not reach it.
    assert.equal((await form('/v0/datasources?name=moving', { schema: 'secret String' })).status, 200);
    assert.equal((await sql('SELECT * FROM moving', token)).status, 403);
    assert.equal((await server.fetch('/v0/datasources/moved', { method: 'DELETE' })).status, 204);
    assert.equal((await form('/v0/datasources?name=moved', { schema: 'secret String' })).status, 200);
    assert.equal((await sql('SELECT * FROM moved', token)).status, 403);
    assert.deepEqual((await (await server.fetch(`/v0/tokens/${name}`)).json()).scopes, []);
  });

  test('analyze and jobs refuse a token without DATASOURCES:CREATE in Tinybird\'s words', async () => {
    const appender = await createToken('name=appender&scope=DATASOURCES:APPEND:events');
    for (const [path, method] of [['/v0/analyze', 'POST'], ['/v0/jobs', 'GET']] as const) {
      const response = await server.fetch(path, { method, token: appender.token });
      assert.equal(response.status, 403, path);
      assert.deepEqual(await response.json(), { error: 'token needs scope DATASOURCES:CREATE' });
    }
  });

  test('a READ scope with a filter reads only the rows the filter holds for, from SQL, static tokens and JWTs alike, and is not told of the quarantine', async () => {
    await seedTable(server.core, 'default', 'orders', [{ name: 'user_id', type: int32, nullable: false }, { name: 'v', type: { kind: 'string' }, nullable: false }], [['1', 'mine'], ['2', 'secret']]);
    const quarantined = await server.fetch('/v0/events?name=orders&wait=true', { method: 'POST', body: '{"user_id": "not a number", "v": "bad"}' });
    assert.deepEqual(await quarantined.json(), { successful_rows: 0, quarantined_rows: 1 });
    assert.equal((await (await server.fetch('/v0/datasources/orders')).json()).quarantine_rows, 1);
    const stat = await createToken(`name=filtered&scope=${encodeURIComponent('DATASOURCES:READ:orders:user_id = 1')}`);
    assert.deepEqual(stat.scopes, [{ type: 'DATASOURCES:READ', resource: 'orders', filter: 'user_id = 1' }]);
    const body = JSON.stringify({ name: 'filtered-jwt', scopes: [{ type: 'DATASOURCES:READ', resource: 'orders', filter: 'user_id = 1' }] });
    const jwt = await (await server.fetch(`/v0/tokens?expiration_time=${Math.floor(Date.now() / 1000) + 600}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json();
    assert.deepEqual(jwt.scopes, [{ type: 'DATASOURCES:READ', resource: 'orders', filter: 'user_id = 1' }]);
    for (const token of [stat.token, jwt.token]) {
      const cases: Array<[string, unknown[]]> = [
        ['SELECT v FROM orders', [{ v: 'mine' }]],
        ["SELECT v FROM orders WHERE v = 'secret' OR true", [{ v: 'mine' }]],
        ['SELECT o.v FROM orders o JOIN orders p ON p.user_id = 2', []],
        ['SELECT v FROM (SELECT * FROM orders) WHERE user_id = 2', []],
      ];
      for (const [query, rows] of cases) {
        const response = await sql(`${query} FORMAT JSON`, token);
        assert.equal(response.status, 200, query);
        assert.deepEqual((await response.json()).data, rows, query);
      }
      const mine = await (await sql('SELECT v, count() OVER () AS n FROM orders FORMAT JSON', token)).json();
      assert.deepEqual(mine.data, [{ v: 'mine', n: 1 }]);
      // The data source's statistics count the rows the token may read, not the others.
      const shown = await (await server.fetch('/v0/datasources/orders', { token })).json();
      assert.deepEqual([shown.statistics.row_count, shown.quarantine_rows], [1, 0]);
      const listed = await (await server.fetch('/v0/datasources', { token })).json();
      assert.deepEqual(listed.datasources.map((datasource: { statistics: { row_count: number } }) => datasource.statistics.row_count), [1]);
      assert.equal((await sql('SELECT * FROM orders_quarantine', token)).status, 403);
    }
    for (const scope of ['DATASOURCES:READ:orders:nope = 1', 'DATASOURCES:READ:orders:1) OR (1 = 1', 'DATASOURCES:APPEND:orders:user_id = 1']) {
      assert.equal((await server.fetch(`/v0/tokens?name=bad-filter&scope=${encodeURIComponent(scope)}`, { method: 'POST' })).status, 400, scope);
    }
    for (const scopes of ['ADMIN', [null], [{ type: 5 }]]) {
      const response = await server.fetch('/v0/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'malformed', scopes }) });
      assert.equal(response.status, 400, JSON.stringify(scopes));
    }
  });

  test('stats() is refused, to a filtered token and to the admin alike, and does not show the hidden rows\' maximum', async () => {
    await seedTable(server.core, 'default', 'payments', [{ name: 'id', type: int32, nullable: false }, { name: 'amount', type: int32, nullable: false }], [['1', '10'], ['2', '987654']]);
    const filtered = await createToken(`name=stats-filtered&scope=${encodeURIComponent('DATASOURCES:READ:payments:id = 1')}`);
    for (const token of [filtered.token, ADMIN_TOKEN]) {
      for (const query of ['SELECT stats(amount) FROM payments', 'SELECT vector_type(amount) FROM payments']) {
        const response = await sql(query, token);
        const text = await response.text();
        assert.equal(response.status, 400, `${query}: ${text}`);
        assert.match(JSON.parse(text).error, /Function "(stats|vector_type)" is not allowed/);
        assert.equal(text.includes('987654'), false);
      }
    }
  });

  test('a query that names no data source still needs a READ scope: an APPEND-only token gets 403, a READ token 200', async () => {
    const appender = await createToken('name=append-only&scope=DATASOURCES:APPEND:events');
    for (const query of ['SELECT 1', 'SELECT count(*) FROM range(10)']) {
      const response = await sql(query, appender.token);
      assert.equal(response.status, 403, query);
      assert.deepEqual(await response.json(), { error: 'The token may not read in namespace "default": it has no read scope' });
    }
    const reader = await createToken(`name=filtered-reader&scope=${encodeURIComponent('DATASOURCES:READ:events:id = 1')}`);
    const answered = await sql('SELECT 1 AS x FORMAT JSON', reader.token);
    assert.equal(answered.status, 200);
    assert.deepEqual((await answered.json()).data, [{ x: 1 }]);
  });

  test('a JWT signed with the admin token carries its scopes', async () => {
    const key = new TextEncoder().encode(ADMIN_TOKEN);
    const jwt = await new SignJWT({ name: 'jwt-reader', scopes: [{ type: 'DATASOURCES:READ', resource: 'events' }] })
      .setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key);
    assert.equal((await sql('SELECT count() FROM events', jwt)).status, 200);
    assert.equal((await sql('SELECT * FROM secrets', jwt)).status, 403);
    const forged = await new SignJWT({ scopes: [{ type: 'ADMIN' }] }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('wrong-key'));
    assert.equal((await sql('SELECT 1', forged)).status, 403);
  });

  test('an expiration_time past 9999-12-31 is a 400 naming the bound; the last second allowed makes a working token', async () => {
    for (const expiration of ['1e20', '9000000000000000', '253402300800']) {
      const response = await server.fetch(`/v0/tokens?name=far&scope=DATASOURCES:READ:events&expiration_time=${expiration}`, { method: 'POST' });
      assert.equal(response.status, 400, expiration);
      assert.deepEqual(await response.json(), { error: 'expiration_time must be at most 253402300799 (9999-12-31T23:59:59Z)' }, expiration);
    }
    for (const expiration of ['1', 'soon', '1.5']) {
      const response = await server.fetch(`/v0/tokens?name=past&scope=DATASOURCES:READ:events&expiration_time=${expiration}`, { method: 'POST' });
      assert.equal(response.status, 400, expiration);
      assert.match((await response.json()).error, /^expiration_time must be a Unix time/, expiration);
    }
    const last = await createToken('name=last&scope=DATASOURCES:READ:events&expiration_time=253402300799');
    assert.equal((await sql('SELECT count() FROM events', last.token)).status, 200);
  });

  test("a JWT's scopes of kinds Sluice does not serve (PIPES:READ) grant nothing and leave its other scopes working; a malformed scope invalidates it", async () => {
    const key = new TextEncoder().encode(ADMIN_TOKEN);
    const sign = (scopes: unknown[]) => new SignJWT({ name: 'sdk-jwt', scopes }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key);
    const mixed = await sign([{ type: 'PIPES:READ', resource: 'top_pages' }, { type: 'DATASOURCES:READ', resource: 'events' }]);
    assert.equal((await sql('SELECT count() FROM events', mixed)).status, 200);
    assert.equal((await sql('SELECT * FROM secrets', mixed)).status, 403);
    const pipesOnly = await sign([{ type: 'PIPES:READ', resource: 'top_pages' }]);
    assert.equal((await sql('SELECT count() FROM events', pipesOnly)).status, 403);
    const malformed = await sign([{ type: 'DATASOURCES:READ', resource: 'events' }, 'PIPES:READ']);
    assert.equal((await sql('SELECT count() FROM events', malformed)).status, 403);
  });
});
