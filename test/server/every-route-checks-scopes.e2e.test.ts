/**
 * Every route the server registers checks the token: asked without one, or with a wrong one, it
 * answers its dialect's 401/403 in that dialect's error shape; asked with a token that only reads,
 * its write and admin routes answer 403 and change nothing; asked with a token that reads elsewhere,
 * its read routes answer 403 too.
 *
 * The routes come from the running server (Fastify's `printRoutes`), not from this file: a route
 * registered later that the table below does not classify fails the first test, so that each new
 * route is added here, with its expected access, on purpose.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Scope } from '../../src/core/auth/scopes.ts';
import { ADMIN_TOKEN, TestServer } from '../helpers/test-server.ts';

type DialectName = 'tinybird' | 'feldera' | 'catalyzed';

/**
 * What a route needs of a token:
 * - `public`: nothing (listed with the reason);
 * - `any-token`: a valid token, whatever its scopes (listed with the reason);
 * - `list`: a valid token; answers only what the token may read;
 * - `read`: a read scope on the object;
 * - `create`: Tinybird's DATASOURCES:CREATE even to look (jobs, analyze);
 * - `write`: a create, append or drop scope on the object;
 * - `admin`: the admin scope.
 */
type Access = 'public' | 'any-token' | 'list' | 'read' | 'create' | 'write' | 'admin';

interface Req {
  path: string;
  body?: () => BodyInit;
  headers?: Record<string, string>;
}

interface RouteCase {
  dialect: DialectName | null;
  access: Access;
  /** Why a route is public or open to any token. */
  reason?: string;
  /** Requests naming objects that exist (the narrow tokens send these). */
  existing: (f: Fixture) => Req[];
  /** Requests naming objects that do not exist: authentication must still come first. */
  missing?: (f: Fixture) => Req[];
  /** For `list` routes: a fragment of the answer that shows the reader's object is listed. */
  listed?: (f: Fixture) => string;
  /** The answer is a stream that does not end (egress): its status is read and the stream cancelled. */
  streams?: boolean;
}

interface Fixture {
  jobId: string;
  completionToken: string;
  datasetId: string;
  tableId: string;
}

const PROGRAM = 'CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, customer VARCHAR);\nCREATE MATERIALIZED VIEW big AS SELECT id, customer FROM orders WHERE id > 0;';
const MISSING_ID = 'nosuchid0000000000000';

const form = (fields: Record<string, string>) => () => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_TYPE = { 'content-type': 'application/json' };
const json = (value: unknown) => () => JSON.stringify(value);
const ndjsonFile = () => {
  const data = new FormData();
  data.append('ndjson', new Blob(['{"a": 1}\n{"a": 2}\n']), 'rows.ndjson');
  return data;
};

/** Every route, keyed `METHOD url` as Fastify registers it. HEAD routes are those Fastify adds for each GET (same handler). */
const ROUTES: Record<string, RouteCase> = {
  'GET /health': {
    dialect: null, access: 'public',
    reason: 'liveness probe for supervisors and load balancers (DESIGN.md: "GET /health → 200 without a token"); reveals only ok/failed',
    existing: () => [{ path: '/health' }],
  },

  // Tinybird
  'POST /v0/datasources': {
    dialect: 'tinybird', access: 'write',
    existing: () => [
      { path: '/v0/datasources?name=events&mode=append&format=csv', body: () => '7,seven\n', headers: { 'content-type': 'text/csv' } },
      { path: '/v0/datasources?name=events&mode=replace&format=csv&replace_condition=id%3E0', body: () => '8,eight\n', headers: { 'content-type': 'text/csv' } },
      { path: '/v0/datasources?name=brand_new', body: form({ schema: 'a Int32' }), headers: FORM },
      { path: '/v0/datasources?name=events&mode=append', body: ndjsonFile },
    ],
    missing: () => [{ path: '/v0/datasources?name=no_such_ds&mode=append&format=csv', body: () => '1,x\n', headers: { 'content-type': 'text/csv' } }],
  },
  'GET /v0/datasources': { dialect: 'tinybird', access: 'list', existing: () => [{ path: '/v0/datasources' }], listed: () => '"name":"events"' },
  'GET /v0/datasources/:name': {
    dialect: 'tinybird', access: 'read',
    existing: () => [{ path: '/v0/datasources/events' }], missing: () => [{ path: '/v0/datasources/no_such_ds' }],
  },
  'PUT /v0/datasources/:name': {
    dialect: 'tinybird', access: 'write',
    existing: () => [{ path: '/v0/datasources/events', body: form({ name: 'renamed' }), headers: FORM }],
    missing: () => [{ path: '/v0/datasources/no_such_ds', body: form({ description: 'x' }), headers: FORM }],
  },
  'DELETE /v0/datasources/:name': {
    dialect: 'tinybird', access: 'write',
    existing: () => [{ path: '/v0/datasources/events' }], missing: () => [{ path: '/v0/datasources/no_such_ds' }],
  },
  'POST /v0/datasources/:name/truncate': {
    dialect: 'tinybird', access: 'write',
    existing: () => [{ path: '/v0/datasources/events/truncate' }, { path: '/v0/datasources/events_quarantine/truncate' }],
    missing: () => [{ path: '/v0/datasources/no_such_ds/truncate' }],
  },
  'POST /v0/datasources/:name/delete': {
    dialect: 'tinybird', access: 'write',
    existing: () => [{ path: '/v0/datasources/events/delete', body: form({ delete_condition: 'id > 0' }), headers: FORM }],
    missing: () => [{ path: '/v0/datasources/no_such_ds/delete', body: form({ delete_condition: 'id > 0' }), headers: FORM }],
  },
  'POST /v0/datasources/:name/alter': {
    dialect: 'tinybird', access: 'write',
    existing: () => [{ path: '/v0/datasources/events/alter', body: form({ schema: 'id Int32, kind String, extra String' }), headers: FORM }],
    missing: () => [{ path: '/v0/datasources/no_such_ds/alter', body: form({ description: 'x' }), headers: FORM }],
  },
  'POST /v0/analyze': { dialect: 'tinybird', access: 'create', existing: () => [{ path: '/v0/analyze', body: ndjsonFile }] },
  'POST /v0/events': {
    dialect: 'tinybird', access: 'write',
    existing: () => [{ path: '/v0/events?name=events&wait=true', body: () => '{"id": 9, "kind": "nine"}\n' }],
    missing: () => [{ path: '/v0/events?name=no_such_ds&wait=true', body: () => '{"id": 9}\n' }],
  },
  'POST /v0/pipes': { dialect: 'tinybird', access: 'create', existing: () => [{ path: '/v0/pipes', body: form({ name: 'minted_pipe', sql: 'SELECT count() AS n FROM events' }), headers: FORM }] },
  'GET /v0/pipes': { dialect: 'tinybird', access: 'create', existing: () => [{ path: '/v0/pipes' }] },
  'GET /v0/pipes/:name': { dialect: 'tinybird', access: 'create', existing: () => [{ path: '/v0/pipes/kinds' }], missing: () => [{ path: '/v0/pipes/no_such_pipe' }] },
  'POST /v0/pipes/:name': {
    dialect: 'tinybird', access: 'read',
    existing: () => [{ path: '/v0/pipes/kind_counts.json', body: form({ q: 'SELECT sum(n) AS total FROM _' }), headers: FORM }],
    missing: () => [{ path: '/v0/pipes/no_such_pipe.json', body: form({ q: 'SELECT 1 FROM _' }), headers: FORM }],
  },
  'DELETE /v0/pipes/:name': { dialect: 'tinybird', access: 'create', existing: () => [{ path: '/v0/pipes/kinds' }], missing: () => [{ path: '/v0/pipes/no_such_pipe' }] },
  'GET /v0/jobs': { dialect: 'tinybird', access: 'create', existing: () => [{ path: '/v0/jobs' }] },
  'GET /v0/jobs/:id': {
    dialect: 'tinybird', access: 'create',
    existing: (f) => [{ path: `/v0/jobs/${f.jobId}` }], missing: () => [{ path: `/v0/jobs/${MISSING_ID}` }],
  },
  'POST /v0/jobs/:id/cancel': {
    dialect: 'tinybird', access: 'create',
    existing: (f) => [{ path: `/v0/jobs/${f.jobId}/cancel` }], missing: () => [{ path: `/v0/jobs/${MISSING_ID}/cancel` }],
  },
  'GET /v0/sql': { dialect: 'tinybird', access: 'read', existing: () => [{ path: `/v0/sql?q=${encodeURIComponent('SELECT count() AS n FROM events FORMAT JSON')}` }] },
  'POST /v0/sql': { dialect: 'tinybird', access: 'read', existing: () => [{ path: '/v0/sql', body: form({ q: 'SELECT count() AS n FROM events FORMAT JSON' }), headers: FORM }] },
  'POST /v0/tokens': {
    dialect: 'tinybird', access: 'admin',
    existing: () => [
      { path: '/v0/tokens?name=minted&scope=ADMIN' },
      { path: '/v0/tokens', body: json({ name: 'minted', scopes: [{ type: 'DATASOURCES:APPEND', resource: 'events' }] }), headers: JSON_TYPE },
      { path: `/v0/tokens?name=minted&scope=ADMIN&expiration_time=${Math.floor(Date.now() / 1000) + 3600}` },
    ],
  },
  'GET /v0/tokens': { dialect: 'tinybird', access: 'admin', existing: () => [{ path: '/v0/tokens' }] },
  'GET /v0/tokens/:name': {
    dialect: 'tinybird', access: 'admin',
    existing: () => [{ path: '/v0/tokens/victim' }, { path: '/v0/tokens/reader' }], missing: () => [{ path: '/v0/tokens/no_such_token' }],
  },
  'DELETE /v0/tokens/:name': {
    dialect: 'tinybird', access: 'admin',
    existing: () => [{ path: '/v0/tokens/victim' }, { path: '/v0/tokens/reader' }], missing: () => [{ path: '/v0/tokens/no_such_token' }],
  },

  // Feldera
  'GET /v0/config': {
    dialect: 'feldera', access: 'any-token',
    reason: "instance configuration (edition and version) that Feldera's Python SDK reads before anything else; no data, so any valid token may read it",
    existing: () => [{ path: '/v0/config' }],
  },
  'GET /v0/pipelines': { dialect: 'feldera', access: 'list', existing: () => [{ path: '/v0/pipelines' }], listed: () => '"name":"shop"' },
  'POST /v0/pipelines': {
    dialect: 'feldera', access: 'write',
    existing: () => [{ path: '/v0/pipelines', body: json({ name: 'newpipe', program_code: 'CREATE TABLE t (x INT);' }), headers: JSON_TYPE }],
  },
  'GET /v0/pipelines/:pipeline': {
    dialect: 'feldera', access: 'read',
    existing: () => [{ path: '/v0/pipelines/shop' }], missing: () => [{ path: '/v0/pipelines/no_such_pipeline' }],
  },
  'PUT /v0/pipelines/:pipeline': {
    dialect: 'feldera', access: 'write',
    existing: () => [
      { path: '/v0/pipelines/shop', body: json({ program_code: PROGRAM, description: 'changed' }), headers: JSON_TYPE },
      { path: '/v0/pipelines/other_new', body: json({ program_code: 'CREATE TABLE t (x INT);' }), headers: JSON_TYPE },
    ],
    missing: () => [{ path: '/v0/pipelines/no_such_pipeline', body: json({ program_code: 'CREATE TABLE t (x INT);' }), headers: JSON_TYPE }],
  },
  'PATCH /v0/pipelines/:pipeline': {
    dialect: 'feldera', access: 'write',
    existing: () => [{ path: '/v0/pipelines/shop', body: json({ description: 'changed' }), headers: JSON_TYPE }],
    missing: () => [{ path: '/v0/pipelines/no_such_pipeline', body: json({ description: 'changed' }), headers: JSON_TYPE }],
  },
  'DELETE /v0/pipelines/:pipeline': {
    dialect: 'feldera', access: 'write',
    existing: () => [{ path: '/v0/pipelines/shop' }], missing: () => [{ path: '/v0/pipelines/no_such_pipeline' }],
  },
  ...Object.fromEntries(['start', 'pause', 'resume', 'stop', 'clear'].map((action): [string, RouteCase] => [`POST /v0/pipelines/:pipeline/${action}`, {
    dialect: 'feldera', access: 'write',
    existing: () => [{ path: `/v0/pipelines/shop/${action}` }], missing: () => [{ path: `/v0/pipelines/no_such_pipeline/${action}` }],
  }])),
  'GET /v0/pipelines/:pipeline/stats': {
    dialect: 'feldera', access: 'read',
    existing: () => [{ path: '/v0/pipelines/shop/stats' }], missing: () => [{ path: '/v0/pipelines/no_such_pipeline/stats' }],
  },
  'GET /v0/pipelines/:pipeline/completion_status': {
    dialect: 'feldera', access: 'read',
    existing: (f) => [{ path: `/v0/pipelines/shop/completion_status?token=${encodeURIComponent(f.completionToken)}` }],
    missing: (f) => [{ path: `/v0/pipelines/no_such_pipeline/completion_status?token=${encodeURIComponent(f.completionToken)}` }],
  },
  'POST /v0/pipelines/:pipeline/ingress/:table': {
    dialect: 'feldera', access: 'write',
    existing: () => [
      { path: '/v0/pipelines/shop/ingress/orders?format=json&update_format=insert_delete', body: () => '{"insert": {"id": 9, "customer": "zed"}}' },
      { path: '/v0/pipelines/shop/ingress/orders?format=json&update_format=insert_delete', body: () => '{"delete": {"id": 1}}' },
      { path: '/v0/pipelines/shop/ingress/orders?format=csv', body: () => '10,yan\n' },
    ],
    missing: () => [
      { path: '/v0/pipelines/no_such_pipeline/ingress/orders?format=csv', body: () => '10,yan\n' },
      { path: '/v0/pipelines/shop/ingress/no_such_table?format=csv', body: () => '10,yan\n' },
    ],
  },
  'GET /v0/pipelines/:pipeline/query': {
    dialect: 'feldera', access: 'read',
    existing: () => [{ path: `/v0/pipelines/shop/query?format=json&sql=${encodeURIComponent('SELECT count(*) AS n FROM orders')}` }],
    missing: () => [{ path: `/v0/pipelines/no_such_pipeline/query?format=json&sql=${encodeURIComponent('SELECT 1')}` }],
  },
  'POST /v0/pipelines/:pipeline/egress/:relation': {
    dialect: 'feldera', access: 'read', streams: true,
    existing: () => [{ path: '/v0/pipelines/shop/egress/big?format=json&send_snapshot=true' }],
    missing: () => [{ path: '/v0/pipelines/no_such_pipeline/egress/big?format=json' }, { path: '/v0/pipelines/shop/egress/no_such_view?format=json' }],
  },

  // Catalyzed
  'POST /datasets': { dialect: 'catalyzed', access: 'write', existing: () => [{ path: '/datasets', body: json({ name: 'newds' }), headers: JSON_TYPE }] },
  'GET /datasets': { dialect: 'catalyzed', access: 'list', existing: () => [{ path: '/datasets' }], listed: () => '"name":"ds"' },
  'GET /datasets/:datasetId': {
    dialect: 'catalyzed', access: 'read',
    existing: (f) => [{ path: `/datasets/${f.datasetId}` }], missing: () => [{ path: `/datasets/${MISSING_ID}` }],
  },
  'PUT /datasets/:datasetId': {
    dialect: 'catalyzed', access: 'write',
    existing: (f) => [{ path: `/datasets/${f.datasetId}`, body: json({ name: 'renamed', description: 'changed' }), headers: JSON_TYPE }],
    missing: () => [{ path: `/datasets/${MISSING_ID}`, body: json({ description: 'changed' }), headers: JSON_TYPE }],
  },
  'DELETE /datasets/:datasetId': {
    dialect: 'catalyzed', access: 'write',
    existing: (f) => [{ path: `/datasets/${f.datasetId}` }], missing: () => [{ path: `/datasets/${MISSING_ID}` }],
  },
  'POST /dataset-tables': {
    dialect: 'catalyzed', access: 'write',
    existing: (f) => [{ path: '/dataset-tables', body: json({ datasetId: f.datasetId, tableName: 'newtable', fields: [{ name: 'a', arrowType: 'int32' }] }), headers: JSON_TYPE }],
    missing: () => [{ path: '/dataset-tables', body: json({ datasetId: MISSING_ID, tableName: 'newtable', fields: [{ name: 'a', arrowType: 'int32' }] }), headers: JSON_TYPE }],
  },
  'GET /dataset-tables': {
    dialect: 'catalyzed', access: 'list',
    existing: (f) => [{ path: '/dataset-tables' }, { path: `/dataset-tables?datasetId=${f.datasetId}` }], listed: () => '"tableName":"items"',
  },
  'GET /dataset-tables/:tableId': {
    dialect: 'catalyzed', access: 'read',
    existing: (f) => [{ path: `/dataset-tables/${f.tableId}` }], missing: () => [{ path: `/dataset-tables/${MISSING_ID}` }],
  },
  'GET /dataset-tables/:tableId/schema': {
    dialect: 'catalyzed', access: 'read',
    existing: (f) => [{ path: `/dataset-tables/${f.tableId}/schema` }], missing: () => [{ path: `/dataset-tables/${MISSING_ID}/schema` }],
  },
  'PUT /dataset-tables/:tableId': {
    dialect: 'catalyzed', access: 'write',
    existing: (f) => [{ path: `/dataset-tables/${f.tableId}`, body: json({ tableName: 'renamed', description: 'changed' }), headers: JSON_TYPE }],
    missing: () => [{ path: `/dataset-tables/${MISSING_ID}`, body: json({ description: 'changed' }), headers: JSON_TYPE }],
  },
  'DELETE /dataset-tables/:tableId': {
    dialect: 'catalyzed', access: 'write',
    existing: (f) => [{ path: `/dataset-tables/${f.tableId}` }], missing: () => [{ path: `/dataset-tables/${MISSING_ID}` }],
  },
  'POST /dataset-tables/:tableId/rows': {
    dialect: 'catalyzed', access: 'write',
    existing: (f) => ['append', 'upsert', 'overwrite', 'delete'].map((mode) => ({
      path: `/dataset-tables/${f.tableId}/rows?mode=${mode}`, body: json(mode === 'delete' ? [1] : [{ id: 9 }]), headers: JSON_TYPE,
    })),
    missing: () => [{ path: `/dataset-tables/${MISSING_ID}/rows?mode=append`, body: json([{ id: 9 }]), headers: JSON_TYPE }],
  },
  'POST /queries': {
    dialect: 'catalyzed', access: 'read',
    existing: (f) => [{ path: '/queries', body: json({ sql: 'SELECT count(*) AS n FROM items', tables: { items: f.tableId } }), headers: JSON_TYPE }],
    missing: () => [{ path: '/queries', body: json({ sql: 'SELECT count(*) AS n FROM items', tables: { items: MISSING_ID } }), headers: JSON_TYPE }],
  },
};

/** The route keys a GET stands for: itself and the HEAD route Fastify adds for it. */
const CLASSIFIED = Object.entries(ROUTES).flatMap(([key, route]): Array<[string, RouteCase]> =>
  key.startsWith('GET ') ? [[key, route], [`HEAD ${key.slice(4)}`, route]] : [[key, route]]);

/**
 * The routes a Fastify app serves, as `METHOD url`, read from `printRoutes`' tree (full segments,
 * one node a line, its methods in parentheses). A line of another form fails, so that a change of
 * Fastify's output cannot hide routes.
 */
function registeredRoutes(app: FastifyInstance): string[] {
  const routes: string[] = [];
  const ancestors: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    if (line.trim() === '') continue;
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([A-Z]+(?:, [A-Z]+)*)\))?$/.exec(line);
    assert.ok(match, `cannot read this line of printRoutes (has Fastify's format changed?): ${JSON.stringify(line)}`);
    ancestors.length = match[1]!.length / 4;
    ancestors.push(match[2]!);
    const url = ancestors.join('').replace(/\/{2,}/g, '/');
    for (const method of match[3]?.split(', ') ?? []) routes.push(`${method} ${url}`);
  }
  return routes;
}

/** Everything a request could change: namespaces (a pipeline's state is in its properties), tables and their versions, tokens, jobs. */
function snapshot(server: TestServer): string {
  const { catalog, tokens, jobs } = server.core;
  return JSON.stringify({
    namespaces: catalog.listNamespaces().map((namespace) => ({
      ...namespace,
      tables: catalog.listTables(namespace.id, { includeQuarantine: true, includeViews: true }),
    })),
    tokens: tokens.list(),
    jobs: jobs.list().map((job) => ({ id: job.id, status: job.status })),
  }, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
}

type Auth = { none: true } | { bearer: string } | { query: string } | { header: string };

async function send(server: TestServer, method: string, req: Req, auth: Auth, stream = false): Promise<{ status: number; contentType: string; text: string }> {
  const headers = new Headers(req.headers);
  let path = req.path;
  if ('bearer' in auth) headers.set('authorization', `Bearer ${auth.bearer}`);
  if ('header' in auth) headers.set('authorization', auth.header);
  if ('query' in auth) path += `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(auth.query)}`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 30_000);
  try {
    const response = await fetch(server.url + path, {
      method, headers, signal: controller.signal, ...(req.body && method !== 'GET' && method !== 'HEAD' && { body: req.body() }),
    });
    const contentType = response.headers.get('content-type') ?? '';
    // A stream that answered 2xx runs until the client leaves: its status is all there is to read.
    if (stream && response.ok) {
      await response.body?.cancel();
      return { status: response.status, contentType, text: '' };
    }
    return { status: response.status, contentType, text: await response.text() };
  } finally {
    clearTimeout(timer);
  }
}

const describeRequest = (method: string, req: Req, auth: string) => `${method} ${req.path} (${auth})`;

/** The dialect's answer to a request without a valid token. */
function assertUnauthenticated(dialect: DialectName, method: string, path: string, answer: { status: number; contentType: string; text: string }, what: string): void {
  const expectedStatus = dialect === 'tinybird' ? 403 : 401;
  assert.equal(answer.status, expectedStatus, `${what}: expected ${expectedStatus}, got ${answer.status} ${answer.text.slice(0, 300)}`);
  if (method === 'HEAD') return;
  if (dialect === 'tinybird' && path.startsWith('/v0/events')) {
    assert.match(answer.contentType, /^text\/plain/, what);
    assert.equal(answer.text, 'invalid authentication token', what);
  } else if (dialect === 'tinybird') {
    assert.deepEqual(JSON.parse(answer.text), { error: 'invalid authentication token' }, what);
  } else if (dialect === 'feldera') {
    assert.deepEqual(JSON.parse(answer.text), { message: 'Unauthorized: the API key is missing or invalid', error_code: 'InvalidApiKey', details: null }, what);
  } else {
    assert.deepEqual(JSON.parse(answer.text), { error: 'UNAUTHORIZED', message: 'Invalid or expired token' }, what);
  }
}

/** The dialect's answer to a valid token whose scopes do not allow the request. */
function assertForbidden(dialect: DialectName, method: string, path: string, answer: { status: number; contentType: string; text: string }, what: string): void {
  assert.equal(answer.status, 403, `${what}: expected 403, got ${answer.status} ${answer.text.slice(0, 300)}`);
  if (method === 'HEAD') return;
  if (dialect === 'tinybird' && path.startsWith('/v0/events')) {
    assert.match(answer.contentType, /^text\/plain/, what);
    assert.notEqual(answer.text, 'invalid authentication token', `${what}: the token was valid; the refusal must be about its scopes`);
  } else if (dialect === 'tinybird') {
    const body = JSON.parse(answer.text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['error'], what);
    assert.notEqual(body['error'], 'invalid authentication token', `${what}: the token was valid; the refusal must be about its scopes`);
  } else if (dialect === 'feldera') {
    const body = JSON.parse(answer.text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['details', 'error_code', 'message'], what);
    assert.equal(body['error_code'], 'InsufficientPermissions', what);
  } else {
    assert.deepEqual(JSON.parse(answer.text), { error: 'FORBIDDEN', message: 'Insufficient permissions for this resource' }, what);
  }
}

/** A token that reads the fixture's objects (one data source, one pipeline, one dataset table) and may do nothing else. */
const READER_SCOPES: Scope[] = [
  { action: 'read', namespace: 'default', table: 'events' },
  { action: 'read', namespace: 'shop' },
  { action: 'read', namespace: 'ds', table: 'items' },
];
/** A token that reads only other objects, of the same kinds, in other places. */
const OUTSIDER_SCOPES: Scope[] = [
  { action: 'read', namespace: 'default', table: 'other_ds' },
  { action: 'read', namespace: 'other_pipeline' },
  { action: 'read', namespace: 'other_dataset', table: 'items' },
];

describe('every route checks the token and its scopes', () => {
  let server: TestServer;
  let fixture: Fixture;
  let reader: string;
  let outsider: string;

  const admin = async (method: string, path: string, body?: string, headers?: Record<string, string>) => {
    const response = await server.fetch(path, { method, ...(body !== undefined && { body }), ...(headers && { headers }) });
    const text = await response.text();
    assert.ok(response.ok, `setup ${method} ${path}: ${response.status} ${text}`);
    return text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
  };

  before(async () => {
    server = await TestServer.start();
    // Tinybird: a data source with a row, and a finished job.
    await admin('POST', `/v0/datasources?name=events&schema=${encodeURIComponent('id Int32, kind String')}`);
    await admin('POST', '/v0/events?name=events&wait=true', '{"id": 1, "kind": "one"}\n');
    const job = await admin('POST', '/v0/datasources/events/delete', 'delete_condition=id%20%3D%20999', FORM);
    const jobId = String(job!['id'] ?? job!['job_id']);
    for (let tries = 0; ; tries += 1) {
      const status = (await admin('GET', `/v0/jobs/${jobId}`))!['status'];
      if (status === 'done') break;
      assert.ok(tries < 200 && status !== 'error', `the setup job ended ${String(status)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await server.core.tokens.create('victim', [{ action: 'read', namespace: 'default', table: 'events' }]);
    // A pipe materializing the data source's kinds.
    await admin('POST', '/v0/pipes', JSON.stringify({ name: 'kinds', nodes: [{ sql: 'SELECT kind, count() AS n FROM events GROUP BY kind', type: 'materialized', datasource: 'kinds_target' }] }), JSON_TYPE);
    // And an endpoint pipe counting them.
    await admin('POST', '/v0/pipes', JSON.stringify({ name: 'kind_counts', nodes: [{ sql: 'SELECT kind, count() AS n FROM events GROUP BY kind' }] }), JSON_TYPE);
    // Feldera: a running pipeline with a row, and the completion token of its push.
    await admin('PUT', '/v0/pipelines/shop', JSON.stringify({ program_code: PROGRAM }), JSON_TYPE);
    await admin('POST', '/v0/pipelines/shop/start');
    const pushed = await admin('POST', '/v0/pipelines/shop/ingress/orders?format=json&update_format=insert_delete', '{"insert": {"id": 1, "customer": "ann"}}');
    // Catalyzed: a dataset with a keyed table and a row.
    const dataset = await admin('POST', '/datasets', JSON.stringify({ name: 'ds' }), JSON_TYPE);
    const table = await admin('POST', '/dataset-tables', JSON.stringify({
      datasetId: dataset!['datasetId'], tableName: 'items', fields: [{ name: 'id', arrowType: 'int64', nullable: false }], primaryKeyColumns: ['id'],
    }), JSON_TYPE);
    await admin('POST', `/dataset-tables/${String(table!['tableId'])}/rows?mode=append`, '[{"id": 1}]', JSON_TYPE);
    fixture = { jobId, completionToken: String(pushed!['token']), datasetId: String(dataset!['datasetId']), tableId: String(table!['tableId']) };
    reader = (await server.core.tokens.create('reader', READER_SCOPES)).secret;
    outsider = (await server.core.tokens.create('outsider', OUTSIDER_SCOPES)).secret;
  });
  after(() => server?.stop());

  test('every registered route is classified in this file, and every classified route is registered', () => {
    const registered = new Set(registeredRoutes(server.app));
    const classified = new Set(CLASSIFIED.map(([key]) => key));
    const unclassified = [...registered].filter((key) => !classified.has(key));
    assert.deepEqual(unclassified, [], 'routes without an entry in ROUTES: add each, with the access it needs and requests for it, to test/server/every-route-checks-scopes.e2e.test.ts');
    const gone = [...classified].filter((key) => !registered.has(key));
    assert.deepEqual(gone, [], 'entries of ROUTES that the server does not register');
  });

  test('the routes open without a token are only the deliberately public ones, and they answer', async () => {
    const open = CLASSIFIED.filter(([, route]) => route.access === 'public' || route.access === 'any-token');
    for (const [key, route] of open) assert.ok(route.reason, `${key} is ${route.access} without a reason`);
    assert.deepEqual(CLASSIFIED.filter(([, route]) => route.access === 'public').map(([key]) => key), ['GET /health', 'HEAD /health']);
    const health = await send(server, 'GET', { path: '/health' }, { none: true });
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.text), { status: 'ok' });
    // Open to any valid token means exactly that: a token with no scope in its dialect reads it, none does not.
    const config = await send(server, 'GET', { path: '/v0/config' }, { bearer: outsider });
    assert.equal(config.status, 200, config.text);
  });

  describe('without a valid token, every non-public route answers its dialect\'s 401/403, whether the object named exists or not', () => {
    for (const [key, route] of CLASSIFIED) {
      if (route.access === 'public') continue;
      const dialect = route.dialect!;
      const method = key.split(' ')[0]!;
      test(key, async () => {
        const before = snapshot(server);
        const requests = [...route.existing(fixture), ...(route.missing?.(fixture) ?? [])];
        const auths: Array<[string, Auth]> = [
          ['no token', { none: true }],
          ['a wrong token', { bearer: 'sk_not-a-token-of-this-server' }],
          ['a JWT signed with another key', { bearer: 'eyJhbGciOiJIUzI1NiJ9.eyJzY29wZXMiOlt7InR5cGUiOiJBRE1JTiJ9XX0.c2lnbmF0dXJlLW9mLWFub3RoZXIta2V5' }],
          ['a header that is not Bearer', { header: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` }],
          // Tinybird takes ?token=; the other dialects must not, even for the admin token.
          dialect === 'tinybird' ? ['a wrong ?token=', { query: 'sk_not-a-token-of-this-server' }] : ['the admin token in ?token=, which this dialect does not take', { query: ADMIN_TOKEN }],
        ];
        for (const req of requests) {
          for (const [label, auth] of auths) {
            const answer = await send(server, method, req, auth, route.streams);
            assertUnauthenticated(dialect, method, req.path, answer, describeRequest(method, req, label));
          }
        }
        assert.equal(snapshot(server), before, `${key}: a request without a valid token changed something`);
      });
    }
  });

  /**
   * Each route's requests on the fixture's objects, sent with a scoped token: routes of the accesses
   * it `passes` answer 2xx (lists naming the fixture's objects exactly when it `seesFixture`), the
   * others 403 in the dialect's shape; nothing changes either way.
   */
  function checkEveryRouteWith(label: string, token: () => string, passes: ReadonlySet<Access>, seesFixture: boolean): void {
    for (const [key, route] of CLASSIFIED) {
      if (route.access === 'public') continue;
      const dialect = route.dialect!;
      const method = key.split(' ')[0]!;
      test(`${key} (${route.access})`, async () => {
        for (const req of route.existing(fixture)) {
          const before = snapshot(server);
          const answer = await send(server, method, req, { bearer: token() }, route.streams);
          const what = describeRequest(method, req, label);
          if (passes.has(route.access)) {
            assert.ok(answer.status >= 200 && answer.status < 300, `${what}: expected 2xx, got ${answer.status} ${answer.text.slice(0, 300)}`);
            if (route.listed && method !== 'HEAD') {
              const listed = route.listed(fixture);
              assert.equal(answer.text.includes(listed), seesFixture, `${what}: ${listed} ${seesFixture ? 'is not listed' : 'is listed, which it may not read'} in ${answer.text.slice(0, 300)}`);
            }
          } else {
            assertForbidden(dialect, method, req.path, answer, what);
          }
          assert.equal(snapshot(server), before, `${what}: changed something`);
        }
      });
    }
  }

  describe('a token that only reads (one data source, one pipeline, one dataset table) reads them, and every other route refuses it with 403 and changes nothing', () => {
    checkEveryRouteWith('read-only token', () => reader, new Set<Access>(['read', 'list', 'any-token']), true);
  });

  describe('a token that reads only elsewhere is refused a missing object as it is an existing one, so that it cannot learn which names exist', () => {
    for (const [key, route] of CLASSIFIED) {
      if (route.access === 'public' || route.access === 'list' || route.access === 'any-token' || !route.missing) continue;
      const dialect = route.dialect!;
      const method = key.split(' ')[0]!;
      test(`${key} (${route.access})`, async () => {
        for (const req of route.missing!(fixture)) {
          const before = snapshot(server);
          const answer = await send(server, method, req, { bearer: outsider }, route.streams);
          const what = describeRequest(method, req, 'token reading elsewhere, on a missing object');
          assertForbidden(dialect, method, req.path, answer, what);
          assert.equal(snapshot(server), before, `${what}: changed something`);
        }
      });
    }
  });

  describe('a token that reads only elsewhere is refused every route on these objects with 403 (lists leave them out), and changes nothing', () => {
    checkEveryRouteWith('token reading elsewhere', () => outsider, new Set<Access>(['list', 'any-token']), false);
  });
});
