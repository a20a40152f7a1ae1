import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tracingChannel } from 'node:diagnostics_channel';
import { readdirSync, readlinkSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { Table as ArrowTable, tableFromJSON, tableToIPC } from 'apache-arrow';
import { Agent, Headers as UndiciHeaders, fetch as undiciFetch, type RequestInit as UndiciRequestInit, type Response as UndiciResponse } from 'undici';
import { encodeRows } from '../helpers/catalyzed-client.ts';
import { FileServer } from '../helpers/file-server.ts';
import { ADMIN_TOKEN, TestServer } from '../helpers/test-server.ts';

/**
 * A sweep for what failed and cut-off requests leave behind. Every test sends a batch of requests
 * that fail (or that the client abandons) to the real server over HTTP, and then checks that none
 * of them left anything: no spool file, no temporary table or view on any DuckDB connection, no
 * connection or query slot still lent, no change feed or snapshot still open, no file descriptor
 * more than before, and that the server still runs queries and writes at once.
 */

const KB = 1024;
const MB = 1024 * 1024;
/** The body limit of the main server: Tinybird's own cap on a raw body, so that every dialect refuses at the same size. */
const BODY_LIMIT = 8 * MB;
/** Runs forever for practical purposes, in one row: only an interrupt ends it. */
const ENDLESS = 'SELECT count(*) AS n FROM range(1000000000000000) t(x) WHERE x % 7 = 3';
/** File descriptors a batch may leave open without it being a leak (DuckDB's files, a socket closing late). */
const FD_SLACK = 8;

// ---------------------------------------------------------------------------------------------
// What a server holds, and the checks that it holds no more after a batch

/**
 * Requests whose handler has started and not yet finished, followed through Fastify's tracing
 * channel: a handler still waiting for a body its client abandoned would show here, long after
 * its socket closed. Replies taken over by their handler (egress streams) are left out: Fastify
 * says nothing when their handler returns; their change feeds are checked instead.
 */
interface HandlerStore {
  request: { method: string; url: string; headers: Record<string, string | string[] | undefined> };
  reply: object;
  async: boolean;
}
const runningHandlers = new Set<HandlerStore>();
tracingChannel<unknown, HandlerStore>('fastify.request.handler').subscribe({
  start: (store) => void runningHandlers.add(store),
  end: (store) => {
    if (!store.async) runningHandlers.delete(store);
  },
  asyncStart: () => undefined,
  asyncEnd: (store) => void runningHandlers.delete(store),
  error: () => undefined,
});

function handlersRunning(server: TestServer, since: ReadonlySet<HandlerStore> = new Set()): string[] {
  const host = new URL(server.url).host;
  return [...runningHandlers]
    .filter((store) => !since.has(store))
    .filter(({ request, reply }) => {
      const hijacked = Object.getOwnPropertySymbols(reply).find((symbol) => symbol.description === 'fastify.reply.hijacked');
      return request.headers['host'] === host && !(hijacked && (reply as Record<symbol, unknown>)[hijacked] === true);
    })
    .map(({ request }) => `${request.method} ${request.url}`);
}

/** The server's private state that a leak would show in; read, never changed. */
interface Pool {
  idle: unknown[];
  waiting: unknown[];
  open: number;
  size: number;
  lend(signal?: AbortSignal): Promise<{ connection: { runAndReadAll(sql: string): Promise<{ getRowObjects(): Array<Record<string, unknown>> }> }; release(): void }>;
}

function internals(server: TestServer) {
  const storage = server.core.storage as unknown as { readers: Pool; writers: Pool; queries: Pool; owners: { held: Map<string, number>; waiting: Map<string, unknown[]> }; snapshots: { pool: Pool } };
  const changes = server.core.changes as unknown as { feeds: Set<unknown> };
  return {
    pools: { readers: storage.readers, writers: storage.writers, queries: storage.queries, snapshots: storage.snapshots.pool },
    owners: storage.owners,
    feeds: changes.feeds,
  };
}

/**
 * Temporary tables and views, counted on every connection of every pool: DuckDB keeps temporary
 * objects per connection, so the server's own reads (`storage.query`) would never see those a
 * write left on a writer connection. Each pool lends all its connections at once, so each is
 * counted once; run it only while the server is idle.
 */
async function temporaryObjects(server: TestServer): Promise<Record<string, { tables: number; views: number }>> {
  const counts: Record<string, { tables: number; views: number }> = {};
  const sql = 'SELECT (SELECT count(*) FROM duckdb_tables() WHERE temporary)::INTEGER AS tables, (SELECT count(*) FROM duckdb_views() WHERE temporary)::INTEGER AS views';
  const [viaReads] = await server.core.storage.query(sql);
  counts['storage.query'] = { tables: Number(viaReads!['tables']), views: Number(viaReads!['views']) };
  for (const [name, pool] of Object.entries(internals(server).pools)) {
    // A connection never given back would make this wait forever: it fails instead.
    const signal = AbortSignal.timeout(5_000);
    const lent = await Promise.all(Array.from({ length: pool.size }, () => pool.lend(signal))).catch(() => assert.fail(`the ${name} pool did not lend its ${pool.size} connections within 5 s`));
    try {
      for (const [index, { connection }] of lent.entries()) {
        const [row] = (await connection.runAndReadAll(sql)).getRowObjects();
        counts[`${name}[${index}]`] = { tables: Number(row!['tables']), views: Number(row!['views']) };
      }
    } finally {
      for (const { release } of lent) release();
    }
  }
  return counts;
}

async function snapshotTables(server: TestServer): Promise<number> {
  const [row] = await server.core.storage.query("SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE database_name = 'sluice_snapshots'");
  return Number(row!['n']);
}

/** The process's open file descriptors, as what each points at. */
function openFds(): string[] {
  const targets: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      targets.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // Closed between the listing and the look.
    }
  }
  return targets;
}

/** What `after` holds that `before` did not, as a multiset. */
function added(before: string[], after: string[]): string[] {
  const left = new Map<string, number>();
  for (const target of before) left.set(target, (left.get(target) ?? 0) + 1);
  return after.filter((target) => {
    const count = left.get(target) ?? 0;
    if (count > 0) left.set(target, count - 1);
    return count === 0;
  });
}

async function eventually<T>(read: () => Promise<T> | T, done: (value: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(25);
  }
}

interface Baseline {
  /** Handlers running before the batch (left by an earlier test that failed): not this batch's. */
  handlers: ReadonlySet<HandlerStore>;
  fds: string[];
  temporary: Record<string, { tables: number; views: number }>;
  snapshots: number;
}

async function baseline(server: TestServer): Promise<Baseline> {
  return { handlers: new Set(runningHandlers), fds: openFds(), temporary: await temporaryObjects(server), snapshots: await snapshotTables(server) };
}

/** Everything a batch may have left, checked against the baseline taken before it. */
async function assertNothingLeftBehind(server: TestServer, before: Baseline): Promise<void> {
  assert.deepEqual(await eventually(() => handlersRunning(server, before.handlers), (running) => running.length === 0), [], 'request handlers still running after their clients were answered or gone');
  const spoolDir = join(server.dataDir, 'spool');
  const spool = await eventually(() => readdir(spoolDir), (names) => names.length === 0);
  assert.deepEqual(spool, [], `files left in ${spoolDir}`);
  const tempDir = join(server.dataDir, 'tmp');
  const temp = await eventually(() => readdir(tempDir).catch(() => []), (names) => names.length === 0);
  assert.deepEqual(temp, [], `files left in ${tempDir}`);

  const { pools, owners, feeds } = internals(server);
  const lent = () => Object.fromEntries(Object.entries(pools).map(([name, pool]) => [name, { lent: pool.open - pool.idle.length, waiting: pool.waiting.length }]));
  const idle = Object.fromEntries(Object.keys(pools).map((name) => [name, { lent: 0, waiting: 0 }]));
  assert.deepEqual(await eventually(lent, (value) => JSON.stringify(value) === JSON.stringify(idle)), idle, 'DuckDB connections still lent');
  assert.deepEqual(await eventually(() => [...owners.held.entries()], (held) => held.length === 0), [], 'query slots still held by their tokens');
  assert.equal(owners.waiting.size, 0, 'queries still waiting for a slot');
  assert.equal(await eventually(() => feeds.size, (size) => size === 0), 0, 'change feeds still open');

  assert.deepEqual(await temporaryObjects(server), before.temporary, 'temporary tables or views left on a connection');
  assert.equal(await snapshotTables(server), before.snapshots, 'egress snapshots left in sluice_snapshots');

  const fds = await eventually(openFds, (now) => now.length <= before.fds.length + FD_SLACK);
  assert.ok(fds.length <= before.fds.length + FD_SLACK, `open file descriptors grew from ${before.fds.length} to ${fds.length}: ${JSON.stringify(added(before.fds, fds))}`);
}

// ---------------------------------------------------------------------------------------------
// HTTP from the test's side: a client of its own per batch, so that its sockets are closed after it

class Client {
  private readonly agent = new Agent({ connections: 16 });
  constructor(private readonly server: TestServer) {}

  fetch(path: string, init: UndiciRequestInit = {}): Promise<UndiciResponse> {
    const headers = new UndiciHeaders(init.headers);
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${ADMIN_TOKEN}`);
    return undiciFetch(this.server.url + path, { ...init, headers, dispatcher: this.agent, ...(init.body instanceof ReadableStream && { duplex: 'half' }) });
  }

  async json(path: string, init: UndiciRequestInit = {}): Promise<{ status: number; body: any }> {
    const response = await this.fetch(path, init);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Plain text (Tinybird's Events API).
    }
    return { status: response.status, body };
  }

  close(): Promise<void> {
    return this.agent.destroy();
  }
}

/** Runs `count` requests, `concurrency` at a time. */
async function inBatches(count: number, concurrency: number, one: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await one(next++);
  }));
}

/**
 * Reads the baseline, runs the batch through a client of its own (closed after), checks that
 * nothing was left behind and that the server still serves queries and writes.
 */
async function sweep(server: TestServer, { count, concurrency = 5 }: { count: number; concurrency?: number }, one: (client: Client, index: number) => Promise<void>): Promise<void> {
  const before = await baseline(server);
  const client = new Client(server);
  try {
    await inBatches(count, concurrency, (index) => one(client, index));
  } finally {
    await client.close();
  }
  await assertNothingLeftBehind(server, before);
  await assertServerServes(server);
}

/** The probe rows written to each server so far. */
const probes = new Map<TestServer, number>();

/** 20 queries at once and 5 writes at once, all answered within a few seconds: no pool is exhausted. */
async function assertServerServes(server: TestServer): Promise<void> {
  const client = new Client(server);
  try {
    const signal = AbortSignal.timeout(10_000);
    const queries = Array.from({ length: 20 }, (_, index) =>
      client.json(`/v0/sql?q=${encodeURIComponent(`SELECT ${index} AS i, count(*) AS n FROM range(1000) FORMAT JSON`)}`, { signal }));
    const written = probes.get(server) ?? 0;
    probes.set(server, written + 5);
    const writes = Array.from({ length: 5 }, (_, index) => client.json('/v0/events?name=probe&wait=true', { method: 'POST', body: `{"id": ${written + index}}\n`, signal }));
    const answers = await Promise.all(queries);
    assert.deepEqual(answers.map(({ status, body }) => [status, body.data]), answers.map((_, index) => [200, [{ i: index, n: 1000 }]]));
    const writeAnswers = await Promise.all(writes);
    assert.deepEqual(writeAnswers.map(({ status, body }) => [status, body]), writeAnswers.map(() => [200, { successful_rows: 1, quarantined_rows: 0 }]));
    const count = await client.json(`/v0/sql?q=${encodeURIComponent('SELECT count() AS n FROM probe FORMAT JSON')}`, { signal });
    assert.deepEqual(count.body.data, [{ n: written + 5 }]);
  } finally {
    await client.close();
  }
}

/**
 * A body that never ends by itself: `prefix`, then chunks (`next()`'s) a little apart. Once
 * `abortAfter` bytes have gone out and the server had a moment to take them, the request is
 * aborted: the client disconnects with the upload cut off.
 */
function endlessBody(next: () => Uint8Array, { prefix, abortAfter, controller }: { prefix?: Uint8Array; abortAfter?: number; controller: AbortController }): ReadableStream<Uint8Array> {
  let sent = 0;
  let first = true;
  return new ReadableStream<Uint8Array>({
    async pull(stream) {
      if (controller.signal.aborted) {
        stream.error(controller.signal.reason);
        return;
      }
      if (first && prefix) {
        first = false;
        stream.enqueue(prefix);
        sent += prefix.length;
        return;
      }
      if (abortAfter !== undefined && sent >= abortAfter) {
        await sleep(100);
        controller.abort();
        stream.error(controller.signal.reason);
        return;
      }
      await sleep(1);
      const chunk = next();
      stream.enqueue(chunk);
      sent += chunk.length;
    },
  }, { highWaterMark: 0 });
}

type Chunks = Uint8Array | (() => Uint8Array);
const chunksOf = (chunks: Chunks) => (typeof chunks === 'function' ? chunks : () => chunks);

/** Sends an endless body and aborts it after `abortAfter` bytes; the answer must never have come. */
async function cutOffUpload(client: Client, path: string, contentType: string, chunks: Chunks, prefix?: Uint8Array, abortAfter = 3 * MB): Promise<void> {
  const controller = new AbortController();
  const body = endlessBody(chunksOf(chunks), { ...(prefix && { prefix }), abortAfter, controller });
  const outcome = await client.fetch(path, { method: 'POST', headers: { 'content-type': contentType }, body, signal: controller.signal }).then(
    async (response) => `answered ${response.status}: ${await response.text()}`,
    (error: Error) => error.name,
  );
  assert.equal(outcome, 'AbortError');
}

/**
 * Sends an endless body that the server must refuse once it passes its limit: the answer comes
 * while the body is still arriving, and the client then stops sending.
 */
async function refusedEndlessUpload(client: Client, path: string, contentType: string, chunks: Chunks, prefix?: Uint8Array): Promise<{ status: number; body: any }> {
  const controller = new AbortController();
  const body = endlessBody(chunksOf(chunks), { ...(prefix && { prefix }), controller });
  const timer = setTimeout(() => controller.abort(new Error(`no answer to an endless body within 10 s: ${path}`)), 10_000);
  try {
    const response = await client.fetch(path, { method: 'POST', headers: { 'content-type': contentType }, body, signal: controller.signal });
    const text = await response.text();
    return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/**
 * A request whose Content-Length says more than the limit, sent over a raw socket: the server must
 * answer before the body comes (the test sends only its first bytes), and nothing must be spooled.
 */
function declaredTooLarge(server: TestServer, path: string, contentType: string, declared: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(server.url);
    const request = httpRequest({ host: hostname, port, path, method: 'POST', agent: false, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': contentType, 'content-length': String(declared) } });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        request.destroy();
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.setTimeout(10_000, () => request.destroy(new Error('no answer to a body declared too large')));
    request.write(Buffer.alloc(64 * KB, 0x61));
  });
}

// ---------------------------------------------------------------------------------------------
// Bodies

const ndjsonLines = (from: number, count: number) => Array.from({ length: count }, (_, index) => `{"id": ${from + index}, "name": "name-${from + index}"}\n`).join('');
const insertLines = (from: number, count: number) => Array.from({ length: count }, (_, index) => `{"insert": {"id": ${from + index}, "name": "name-${from + index}"}}\n`).join('');
const csvLines = (from: number, count: number) => Array.from({ length: count }, (_, index) => `${from + index},name-${from + index}\n`).join('');
/** 256 KB of whole lines. */
const chunkOf = (line: string) => Buffer.from(line.repeat(Math.floor((256 * KB) / line.length)));

const NDJSON_CHUNK = chunkOf('{"id": 1, "name": "a name of some length"}\n');
const CSV_CHUNK = chunkOf('1,a name of some length\n');
const ORDERS_CSV_CHUNK = chunkOf('1,a name of some length,2.5\n');
let pushedId = 0;
/** 256 KB of Feldera records in the raw update format (inserts), each of a key of its own. */
const felderaChunk = () => Buffer.from(Array.from({ length: 5_500 }, () => `{"id": ${pushedId++}, "name": "a name of some length"}\n`).join(''));
/** 256 KB of CSV records, each of a key of its own. */
const felderaCsvChunk = () => Buffer.from(Array.from({ length: 9_000 }, () => `${pushedId++},a name of some length\n`).join(''));

const BOUNDARY = 'sluice-sweep-boundary';
const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;
const multipartPrefix = (part: string, fileName: string) => Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part}"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
const multipart = (part: string, fileName: string, content: Buffer) => Buffer.concat([multipartPrefix(part, fileName), content, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);

/**
 * A gzip bomb: a few MB (less than the body limit) that expand to 2 GB of `line`, as members of
 * 64 MB each (gzip allows a file of several members, and decoders read them as one stream).
 */
function gzipBomb(line: string): Buffer {
  const unit = Buffer.from(line.repeat(Math.floor((64 * MB) / line.length)));
  const member = gzipSync(unit, { level: 9 });
  return Buffer.concat(Array.from({ length: Math.ceil((2 * 1024 * MB) / unit.length) }, () => member));
}

/** An Arrow IPC stream's schema message, and one record batch message that can follow it any number of times. */
function arrowParts(): { schema: Buffer; batch: Buffer } {
  const rows = Array.from({ length: 2000 }, (_, index) => ({ id: index, name: `a name of some length ${index}`, amount: index / 2 }));
  const one = tableFromJSON(rows);
  const single = Buffer.from(tableToIPC(one, 'stream'));
  const double = Buffer.from(tableToIPC(new ArrowTable(one.schema, [...one.batches, ...one.batches]), 'stream'));
  const batchBytes = double.length - single.length;
  // [schema][batch][end of stream marker (8 bytes)]
  return { schema: single.subarray(0, single.length - 8 - batchBytes), batch: single.subarray(single.length - 8 - batchBytes, single.length - 8) };
}

// ---------------------------------------------------------------------------------------------
// A server URL imports download from, whose answers break

class BrokenFileServer {
  private constructor(private readonly server: Server) {}

  static async start(): Promise<BrokenFileServer> {
    const server = createServer((request, response) => {
      if (request.url === '/fails.csv') {
        response.writeHead(500, { 'content-type': 'text/plain', connection: 'close' }).end('internal error');
        return;
      }
      // Announces 4 MB, sends 1 MB of rows at once, and drops the connection.
      response.writeHead(200, { 'content-type': 'text/csv', 'content-length': String(4 * MB), connection: 'close' });
      response.write(Buffer.from(`id,name\n${csvLines(0, 100_000)}`).subarray(0, MB), () => {
        setTimeout(() => response.socket?.destroy(), 20);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new BrokenFileServer(server);
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------
// The servers

let server: TestServer;
/** Servers URL imports download from: one whose answers break, one that serves files or stalls. */
let broken: BrokenFileServer;
let files: FileServer;
/** The same server with a short query time limit, for queries that run out of it. */
let hurried: TestServer;
let ordersTableId: string;
let hurriedOrdersTableId: string;

async function setUp(target: TestServer): Promise<string> {
  const client = new Client(target);
  try {
    for (const [name, schema] of [['events', 'id Int64, name String'], ['probe', 'id Int64']] as const) {
      const created = await client.json(`/v0/datasources?name=${name}&schema=${encodeURIComponent(schema)}`, { method: 'POST' });
      assert.equal(created.status, 200, JSON.stringify(created.body));
    }
    const dataset = await client.json('/datasets', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'shop' }) });
    assert.equal(dataset.status, 201, JSON.stringify(dataset.body));
    const fields = [{ name: 'id', arrowType: 'int64' }, { name: 'name', arrowType: 'utf8' }, { name: 'amount', arrowType: 'float64' }];
    const table = await client.json('/dataset-tables', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ datasetId: dataset.body.datasetId, tableName: 'orders', fields }) });
    assert.equal(table.status, 201, JSON.stringify(table.body));
    // `items` (keyed) is followed by egress streams; large pushes go to `sink`, small ones to `pushes`.
    const program = `CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR);
      CREATE TABLE pushes (id BIGINT, name VARCHAR);
      CREATE TABLE sink (id BIGINT, name VARCHAR);
      CREATE MATERIALIZED VIEW named AS SELECT id, name FROM items WHERE name IS NOT NULL;`;
    const pipeline = await client.json('/v0/pipelines/p', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ program_code: program }) });
    assert.equal(pipeline.body.program_status, 'Success', JSON.stringify(pipeline.body));
    assert.equal((await client.fetch('/v0/pipelines/p/start', { method: 'POST' })).status, 202);
    // Rows for egress snapshots and streamed results.
    const pushed = await client.json('/v0/pipelines/p/ingress/items?format=json', { method: 'POST', body: insertLines(0, 20_000) });
    assert.equal(pushed.status, 200, JSON.stringify(pushed.body));
    return table.body.tableId;
  } finally {
    await client.close();
  }
}

before(async () => {
  broken = await BrokenFileServer.start();
  files = await FileServer.start();
  server = await TestServer.start({ maxRequestBodyBytes: BODY_LIMIT, maxRowWriteBytes: BODY_LIMIT, queryTimeoutMs: 600_000 });
  hurried = await TestServer.start({ queryTimeoutMs: 300 });
  ordersTableId = await setUp(server);
  hurriedOrdersTableId = await setUp(hurried);
});

after(async () => {
  // At once: the file server's close waits for the imports' idle keep-alive connections to time out.
  await Promise.all([server?.stop(), hurried?.stop(), broken?.stop(), files?.stop()]);
});

const sqlPath = (query: string) => `/v0/sql?q=${encodeURIComponent(query)}`;
const rowsPath = (tableId = ordersTableId) => `/dataset-tables/${tableId}/rows?mode=append`;

async function count(target: TestServer, query: string): Promise<number> {
  const client = new Client(target);
  try {
    const { status, body } = await client.json(sqlPath(`${query} FORMAT JSON`));
    assert.equal(status, 200, JSON.stringify(body));
    return Number(body.data[0].n);
  } finally {
    await client.close();
  }
}

// ---------------------------------------------------------------------------------------------

describe('Tinybird: failed and cut-off imports leave nothing behind', () => {
  test('uploads cut off by their client mid-body (raw NDJSON, multipart CSV, Events API) write no row and leave no spool file', { timeout: 60_000 }, async () => {
    const rowsBefore = await count(server, 'SELECT count() AS n FROM events');
    await sweep(server, { count: 15 }, (client, index) => {
      if (index % 3 === 0) return cutOffUpload(client, '/v0/datasources?name=events&mode=append&format=ndjson', 'application/x-ndjson', NDJSON_CHUNK);
      if (index % 3 === 1) return cutOffUpload(client, '/v0/datasources?name=events&mode=append', MULTIPART_TYPE, CSV_CHUNK, multipartPrefix('csv', 'events.csv'));
      return cutOffUpload(client, '/v0/events?name=events&wait=true', 'application/x-ndjson', NDJSON_CHUNK);
    });
    assert.equal(await count(server, 'SELECT count() AS n FROM events'), rowsBefore);
  });

  test('bodies that never end are refused with a 413 once past the limit, raw or multipart', { timeout: 60_000 }, async () => {
    await sweep(server, { count: 6 }, async (client, index) => {
      const { status, body } = index % 2 === 0
        ? await refusedEndlessUpload(client, '/v0/datasources?name=events&mode=append&format=ndjson', 'application/x-ndjson', NDJSON_CHUNK)
        : await refusedEndlessUpload(client, '/v0/datasources?name=events&mode=append', MULTIPART_TYPE, CSV_CHUNK, multipartPrefix('csv', 'events.csv'));
      assert.equal(status, 413, JSON.stringify(body));
      assert.match(body.error, /larger than|too large/i);
    });
  });

  test('a body whose Content-Length is past the limit is refused with a 413 before it arrives', { timeout: 30_000 }, async () => {
    await sweep(server, { count: 50 }, async (_client, index) => {
      const path = index % 2 === 0 ? '/v0/datasources?name=events&mode=append&format=ndjson' : '/v0/events?name=events';
      const { status, body } = await declaredTooLarge(server, path, 'application/x-ndjson', 64 * MB);
      assert.equal(status, 413, body);
      assert.match(body, /larger than the limit of/);
    });
  });

  test('gzip bodies cut short or not gzip at all are a 400 and write no row', { timeout: 30_000 }, async () => {
    const gzipped = gzipSync(Buffer.from(ndjsonLines(0, 30_000)));
    const truncated = gzipped.subarray(0, Math.floor(gzipped.length / 2));
    const notGzip = Buffer.from(ndjsonLines(0, 5_000));
    const rowsBefore = await count(server, 'SELECT count() AS n FROM events');
    await sweep(server, { count: 50 }, async (client, index) => {
      const body = index % 2 === 0 ? truncated : notGzip;
      const path = index % 4 < 2 ? '/v0/datasources?name=events&mode=append&format=ndjson' : '/v0/events?name=events&wait=true';
      const { status, body: answer } = await client.json(path, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' }, body });
      assert.equal(status, 400, JSON.stringify(answer));
      assert.match(typeof answer === 'string' ? answer : answer.error, /gzip/i);
    });
    assert.equal(await count(server, 'SELECT count() AS n FROM events'), rowsBefore);
  });

  test('a gzip bomb (a few MB expanding to 2 GB) is refused with a 413 by the size limit, and writes no row', { timeout: 60_000 }, async () => {
    const bomb = gzipBomb('{"id": 1, "name": "boom"}\n');
    assert.ok(bomb.length < BODY_LIMIT, `the bomb is ${bomb.length} bytes`);
    const rowsBefore = await count(server, 'SELECT count() AS n FROM events');
    await sweep(server, { count: 6 }, async (client, index) => {
      const path = index % 3 === 0 ? '/v0/datasources?name=events&mode=append&format=ndjson' : index % 3 === 1 ? '/v0/events?name=events&wait=true' : '/v0/datasources?name=events&mode=append';
      const body = index % 3 === 2 ? multipart('ndjson', 'events.ndjson.gz', bomb) : bomb;
      const contentType = index % 3 === 2 ? MULTIPART_TYPE : 'application/x-ndjson';
      const { status, body: answer } = await client.json(path, { method: 'POST', headers: { 'content-type': contentType, ...(index % 3 !== 2 && { 'content-encoding': 'gzip' }) }, body });
      assert.equal(status, 413, JSON.stringify(answer));
      assert.match(typeof answer === 'string' ? answer : answer.error, /Decompressed payload is larger than the limit/);
    });
    assert.equal(await count(server, 'SELECT count() AS n FROM events'), rowsBefore);
  });

  test('a body that is not Parquet is a 400; malformed CSV and NDJSON lines go to the quarantine while the good rows load', { timeout: 30_000 }, async () => {
    const notParquet = Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(200 * KB, 0x42), Buffer.from('PAR1')]);
    const badCsv = Buffer.from(`${csvLines(0, 10_000)}1,"never closed\n${csvLines(0, 100)}`);
    const badNdjson = Buffer.from(`${ndjsonLines(0, 10_000)}{"id": 1, "name": \n`);
    await sweep(server, { count: 30 }, async (client, index) => {
      if (index % 3 === 0) {
        const { status, body } = await client.json('/v0/datasources?name=events&mode=append&format=parquet', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: notParquet });
        assert.equal(status, 400, JSON.stringify(body));
        assert.match(body.error, /parquet/i);
        return;
      }
      const [format, body] = index % 3 === 1 ? ['csv', badCsv] : ['ndjson', badNdjson];
      const answer = await client.json(`/v0/datasources?name=events&mode=append&format=${format}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
      // Tinybird's rule: the good rows are written, a line that does not parse is counted and kept in the quarantine.
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.successful_rows, 10_000, JSON.stringify(answer.body));
      assert.equal(answer.body.quarantine_rows + answer.body.invalid_lines, 1, JSON.stringify(answer.body));
    });
  });
});

describe('Tinybird: failed URL imports leave nothing behind', () => {

  async function failedImport(client: Client, url: string): Promise<Record<string, any>> {
    const started = await client.json(`/v0/datasources?name=events&mode=append&format=csv&url=${encodeURIComponent(url)}`, { method: 'POST' });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const id = started.body.job_id ?? started.body.id;
    for (let attempt = 0; attempt < 400; attempt += 1) {
      const job = (await client.json(`/v0/jobs/${id}`)).body;
      if (!['waiting', 'working', 'cancelling'].includes(job.status)) return job;
      await sleep(25);
    }
    assert.fail(`import job ${id} did not finish`);
  }

  test('imports whose server drops the connection midway or answers 500 fail as jobs in error, writing no row', { timeout: 60_000 }, async () => {
    const rowsBefore = await count(server, 'SELECT count() AS n FROM events');
    await sweep(server, { count: 20 }, async (client, index) => {
      const job = await failedImport(client, broken.url(index % 2 === 0 ? '/drops.csv' : '/fails.csv'));
      assert.equal(job.status, 'error', JSON.stringify(job));
      assert.match(String(job.error), index % 2 === 0 ? /^Download of http:\/\/127\.0\.0\.1:\d+\/drops\.csv failed: the connection closed before the whole body arrived/ : /^Download of http:\/\/127\.0\.0\.1:\d+\/fails\.csv failed with HTTP status 500/, JSON.stringify(job));
    });
    assert.equal(await count(server, 'SELECT count() AS n FROM events'), rowsBefore);
  });

  test('imports of a file that is cut-short gzip fail as jobs in error', { timeout: 30_000 }, async () => {
    const gzipped = gzipSync(Buffer.from(`id,name\n${csvLines(0, 50_000)}`));
    const url = files.serve('/cut.csv.gz', gzipped.subarray(0, Math.floor(gzipped.length / 2)));
    await sweep(server, { count: 20 }, async (client) => {
      const job = await failedImport(client, url);
      assert.equal(job.status, 'error', JSON.stringify(job));
      assert.match(String(job.error), /^The body is not valid gzip: unexpected end of file/, JSON.stringify(job));
    });
  });

  test('imports cancelled while their download stalls end as cancelled jobs', { timeout: 30_000 }, async () => {
    const url = files.stall('/stalls.csv');
    await sweep(server, { count: 20 }, async (client) => {
      const started = await client.json(`/v0/datasources?name=events&mode=append&format=csv&url=${encodeURIComponent(url)}`, { method: 'POST' });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const id = started.body.job_id ?? started.body.id;
      await sleep(100);
      const cancelled = await client.json(`/v0/jobs/${id}/cancel`, { method: 'POST' });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      for (let attempt = 0; attempt < 400; attempt += 1) {
        const job = (await client.json(`/v0/jobs/${id}`)).body;
        if (job.status === 'cancelled') return;
        assert.ok(['waiting', 'working', 'cancelling'].includes(job.status), JSON.stringify(job));
        await sleep(25);
      }
      assert.fail(`job ${id} was not cancelled`);
    });
  });
});

describe('Tinybird: queries stopped or abandoned leave nothing behind', () => {
  test('queries past SLUICE_QUERY_TIMEOUT_MS are a 503 each, and free their connections', { timeout: 30_000 }, async () => {
    await sweep(hurried, { count: 50, concurrency: 25 }, async (client) => {
      const { status, body } = await client.json(sqlPath(ENDLESS));
      assert.equal(status, 503, JSON.stringify(body));
      assert.match(body.error, /did not finish within the server's limit of 0\.3 s/);
    });
  });

  test('queries whose client disconnects while they run or while their result streams are stopped', { timeout: 60_000 }, async () => {
    await sweep(server, { count: 50, concurrency: 10 }, async (client, index) => {
      const controller = new AbortController();
      if (index % 2 === 0) {
        const pending = client.fetch(sqlPath(ENDLESS), { signal: controller.signal }).then((response) => `answered ${response.status}`, (error: Error) => error.name);
        await sleep(50);
        controller.abort();
        assert.equal(await pending, 'AbortError');
        return;
      }
      const response = await client.fetch(sqlPath("SELECT i, repeat('x', 200) AS s FROM range(0, 100000000) t(i) FORMAT JSONEachRow"), { signal: controller.signal });
      assert.equal(response.status, 200);
      const reader = response.body!.getReader();
      const { value } = await reader.read();
      assert.match(Buffer.from(value!).toString(), /^\{"i":0,"s":"x{200}"\}/);
      controller.abort();
      await reader.read().catch(() => undefined);
    });
  });

  test('Parquet exports whose client disconnects while the file is written or sent leave no file in the spool folder', { timeout: 60_000 }, async () => {
    await sweep(server, { count: 12, concurrency: 4 }, async (client, index) => {
      const controller = new AbortController();
      const query = sqlPath('SELECT i, md5(i::VARCHAR) AS h FROM range(0, 400000) t(i) FORMAT Parquet');
      if (index % 2 === 0) {
        // Gone while DuckDB writes the file.
        const pending = client.fetch(query, { signal: controller.signal }).then((response) => `answered ${response.status}`, (error: Error) => error.name);
        await sleep(20);
        controller.abort();
        assert.equal(await pending, 'AbortError');
        return;
      }
      const response = await client.fetch(query, { signal: controller.signal });
      assert.equal(response.status, 200);
      const reader = response.body!.getReader();
      const { value } = await reader.read();
      assert.equal(Buffer.from(value!).subarray(0, 4).toString(), 'PAR1');
      controller.abort();
      await reader.read().catch(() => undefined);
    });
  });
});

describe('Catalyzed: failed row writes leave nothing behind', () => {
  const orderRows = async () => {
    const client = new Client(server);
    try {
      const { status, body } = await client.json('/queries', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: 'SELECT count(*) AS n FROM o', tables: { o: ordersTableId } }) });
      assert.equal(status, 200, JSON.stringify(body));
      return Number(body.rows[0].n);
    } finally {
      await client.close();
    }
  };

  test('CSV and Arrow uploads cut off by their client mid-body write no row', { timeout: 60_000 }, async () => {
    const arrow = arrowParts();
    const rowsBefore = await orderRows();
    await sweep(server, { count: 6, concurrency: 3 }, (client, index) => index % 2 === 0
      ? cutOffUpload(client, rowsPath(), 'text/csv', ORDERS_CSV_CHUNK, Buffer.from('id,name,amount\n'))
      : cutOffUpload(client, rowsPath(), 'application/vnd.apache.arrow.stream', arrow.batch, arrow.schema));
    assert.equal(await orderRows(), rowsBefore);
  });

  test('bodies past SLUICE_MAX_ROW_WRITE_BYTES are refused with a 413, streamed or declared', { timeout: 60_000 }, async () => {
    await sweep(server, { count: 24 }, async (client, index) => {
      if (index % 4 === 0) {
        const { status, body } = await refusedEndlessUpload(client, rowsPath(), 'text/csv', ORDERS_CSV_CHUNK, Buffer.from('id,name,amount\n'));
        assert.equal(status, 413, JSON.stringify(body));
        return;
      }
      const { status, body } = await declaredTooLarge(server, rowsPath(), index % 2 === 0 ? 'application/json' : 'text/csv', 64 * MB);
      assert.equal(status, 413, body);
    });
  });

  test('gzip bodies cut short, not gzip, or a gzip bomb are refused (400, 400, 413) and write no row', { timeout: 60_000 }, async () => {
    const csv = Buffer.from(`id,name,amount\n${Array.from({ length: 30_000 }, (_, index) => `${index},n${index},1.5\n`).join('')}`);
    const gzipped = gzipSync(csv);
    const bomb = gzipBomb('1,boom,2.5\n');
    const rowsBefore = await orderRows();
    await sweep(server, { count: 30 }, async (client, index) => {
      const kind = index % 3;
      const body = kind === 0 ? gzipped.subarray(0, Math.floor(gzipped.length / 2)) : kind === 1 ? csv : Buffer.concat([gzipSync('id,name,amount\n'), bomb]);
      const { status, body: answer } = await client.json(rowsPath(), { method: 'POST', headers: { 'content-type': 'text/csv', 'content-encoding': 'gzip' }, body });
      assert.equal(status, kind === 2 ? 413 : 400, JSON.stringify(answer));
      assert.match(answer.message, kind === 2 ? /Decompressed payload is larger than the limit/ : /gzip/i);
    });
    assert.equal(await orderRows(), rowsBefore);
  });

  test('malformed CSV, JSON, Parquet and Arrow bodies are a 400 and write no row', { timeout: 30_000 }, async () => {
    const orders = Array.from({ length: 5_000 }, (_, index) => ({ id: index, name: `n${index}`, amount: index / 4 }));
    const csv = Buffer.from(`${(await encodeRows('csv', orders)) as string}1,"never closed,2\n`);
    const json = Buffer.from(((await encodeRows('json', orders)) as string).slice(0, -10));
    const parquet = Buffer.from((await encodeRows('parquet', orders)) as Uint8Array);
    const brokenParquet = Buffer.concat([parquet.subarray(0, parquet.length - 100), Buffer.alloc(92, 0x5a), parquet.subarray(parquet.length - 8)]);
    const arrow = Buffer.from((await encodeRows('arrow', orders)) as Uint8Array);
    const brokenArrow = Buffer.concat([arrow.subarray(0, Math.floor(arrow.length / 2)), Buffer.alloc(100 * KB, 0x7f)]);
    const bodies: Array<[string, Buffer, RegExp]> = [
      ['text/csv', csv, /unterminated quote/],
      ['application/json', json, /unexpected end of input/],
      ['application/parquet', brokenParquet, /The Parquet data could not be read/],
      ['application/vnd.apache.arrow.stream', brokenArrow, /The Arrow IPC stream is malformed/],
    ];
    const rowsBefore = await orderRows();
    await sweep(server, { count: 40 }, async (client, index) => {
      const [contentType, body, message] = bodies[index % bodies.length]!;
      const { status, body: answer } = await client.json(rowsPath(), { method: 'POST', headers: { 'content-type': contentType }, body });
      assert.equal(status, 400, `${contentType}: ${JSON.stringify(answer)}`);
      assert.equal(answer.code, 'VALIDATION_ERROR', contentType);
      assert.match(answer.message, message, contentType);
    });
    assert.equal(await orderRows(), rowsBefore);
  });

  test('a write with one invalid row among thousands is rejected whole, in every format', { timeout: 30_000 }, async () => {
    const orders: Array<Record<string, unknown>> = Array.from({ length: 5_000 }, (_, index) => ({ id: index, name: `n${index}`, amount: index / 4 }));
    const bad = orders.map((row, index) => (index === 4_000 ? { ...row, amount: 'not a number' } : row));
    const bodies: Array<[string, Buffer]> = [
      ['text/csv', Buffer.from((await encodeRows('csv', bad)) as string)],
      ['application/json', Buffer.from((await encodeRows('json', bad)) as string)],
      ['application/parquet', Buffer.from((await encodeRows('parquet', bad.map((row) => ({ ...row, amount: String(row['amount']) })))) as Uint8Array)],
    ];
    const rowsBefore = await orderRows();
    await sweep(server, { count: 30 }, async (client, index) => {
      const [contentType, body] = bodies[index % bodies.length]!;
      const { status, body: answer } = await client.json(rowsPath(), { method: 'POST', headers: { 'content-type': contentType }, body });
      assert.equal(status, 400, `${contentType}: ${JSON.stringify(answer)}`);
      assert.match(JSON.stringify(answer), /not a number/, contentType);
    });
    assert.equal(await orderRows(), rowsBefore);
  });

  test('queries past their time are a 503 and queries whose client disconnects are stopped', { timeout: 30_000 }, async () => {
    const query = (tableId: string) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: ENDLESS, tables: { o: tableId } }) });
    await sweep(hurried, { count: 50, concurrency: 25 }, async (client) => {
      const { status, body } = await client.json('/queries', query(hurriedOrdersTableId));
      assert.equal(status, 503, JSON.stringify(body));
    });
    await sweep(server, { count: 50, concurrency: 10 }, async (client) => {
      const controller = new AbortController();
      const pending = client.fetch('/queries', { ...query(ordersTableId), signal: controller.signal }).then((response) => `answered ${response.status}`, (error: Error) => error.name);
      await sleep(50);
      controller.abort();
      assert.equal(await pending, 'AbortError');
    });
  });
});

describe('Feldera: failed pushes, queries and streams leave nothing behind', () => {
  const push = (client: Client, body: string | Buffer, query = 'format=json', headers: Record<string, string> = {}, table = 'pushes') =>
    client.json(`/v0/pipelines/p/ingress/${table}?${query}`, { method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body });

  test('pushes cut off by their client mid-body end there (the chunks committed before stay), in JSON and CSV', { timeout: 60_000 }, async () => {
    await sweep(server, { count: 6, concurrency: 3 }, (client, index) => index % 2 === 0
      ? cutOffUpload(client, '/v0/pipelines/p/ingress/sink?format=json&update_format=raw', 'text/plain', felderaChunk)
      : cutOffUpload(client, '/v0/pipelines/p/ingress/sink?format=csv', 'text/csv', felderaCsvChunk));
  });

  test('pushes past the body limit are refused with a 413, streamed or declared', { timeout: 60_000 }, async () => {
    await sweep(server, { count: 12 }, async (client, index) => {
      if (index % 4 === 0) {
        const { status, body } = await refusedEndlessUpload(client, '/v0/pipelines/p/ingress/sink?format=csv', 'text/csv', felderaCsvChunk);
        assert.equal(status, 413, JSON.stringify(body));
        return;
      }
      const { status, body } = await declaredTooLarge(server, '/v0/pipelines/p/ingress/sink?format=json', 'text/plain', 64 * MB);
      assert.equal(status, 413, body);
    });
  });

  test('gzip pushes cut short, not gzip, or a gzip bomb are refused (400, 400, 413)', { timeout: 60_000 }, async () => {
    const lines = insertLines(0, 30_000);
    const gzipped = gzipSync(Buffer.from(lines));
    const bomb = gzipBomb('1,boom\n');
    await sweep(server, { count: 6 }, async (client, index) => {
      const kind = index % 3;
      const { status, body } = kind === 0
        ? await push(client, gzipped.subarray(0, Math.floor(gzipped.length / 2)), 'format=json', { 'content-encoding': 'gzip' }, 'sink')
        : kind === 1
          ? await push(client, Buffer.from(lines), 'format=json', { 'content-encoding': 'gzip' }, 'sink')
          : await push(client, bomb, 'format=csv', { 'content-encoding': 'gzip' }, 'sink');
      assert.equal(status, kind === 2 ? 413 : 400, JSON.stringify(body));
      assert.match(body.message, kind === 2 ? /Decompressed payload is larger than the limit/ : /gzip/i);
    });
  });

  test('malformed JSON and CSV pushes are a 400 ParseErrors that keeps the good records, and an array with one bad record is rejected whole', { timeout: 30_000 }, async () => {
    const malformedJson = `${insertLines(0, 3_000)}{"insert": {"id": \n`;
    const malformedCsv = `${csvLines(0, 3_000)}not a number,x\n`;
    const records = Array.from({ length: 3_000 }, (_, index) => ({ insert: { id: 1_000_000 + index, name: `array-${index}` } }));
    const badArray = JSON.stringify(records.map((record, index) => (index === 2_500 ? { insert: { id: 'not a number', name: 'x' } } : record)));
    const client = new Client(server);
    const rows = async (pattern: string) => {
      const response = await client.fetch(`/v0/pipelines/p/query?format=json&sql=${encodeURIComponent(`SELECT count(*) AS n FROM pushes WHERE name LIKE '${pattern}'`)}`);
      return JSON.parse((await response.text()).trim()).n as number;
    };
    try {
      const goodBefore = await rows('name-%');
      await sweep(server, { count: 30 }, async (pushing, index) => {
        const kind = index % 3;
        const { status, body } = kind === 0 ? await push(pushing, malformedJson) : kind === 1 ? await push(pushing, malformedCsv, 'format=csv') : await push(pushing, badArray, 'format=json&array=true');
        assert.equal(status, 400, JSON.stringify(body));
        assert.equal(body.error_code, 'ParseErrors', JSON.stringify(body));
      });
      // Feldera's rule: a push keeps its good records (3,000 in each of the 20 malformed pushes), but a top-level array applies whole or not at all.
      assert.equal(await rows('name-%'), goodBefore + 20 * 3_000);
      assert.equal(await rows('array-%'), 0);
    } finally {
      await client.close();
    }
  });

  test('ad-hoc queries past their time are a 503, and those whose client disconnects mid-result are stopped', { timeout: 60_000 }, async () => {
    await sweep(hurried, { count: 50, concurrency: 25 }, async (client) => {
      const response = await client.fetch(`/v0/pipelines/p/query?format=json&sql=${encodeURIComponent(ENDLESS)}`);
      const text = await response.text();
      assert.equal(response.status, 503, text);
    });
    await sweep(server, { count: 18, concurrency: 6 }, async (client, index) => {
      const controller = new AbortController();
      const format = ['json', 'arrow_ipc', 'parquet'][index % 3]!;
      const response = await client.fetch(`/v0/pipelines/p/query?format=${format}&sql=${encodeURIComponent("SELECT i, repeat('x', 100) AS s FROM range(0, 1000000) t(i)")}`, { signal: controller.signal });
      assert.equal(response.status, 200, format);
      const reader = response.body!.getReader();
      const { value } = await reader.read();
      assert.ok(value!.length > 0);
      controller.abort();
      await reader.read().catch(() => undefined);
    });
  });

  test('egress streams whose client disconnects close their change feed and drop their snapshot', { timeout: 30_000 }, async () => {
    await sweep(server, { count: 30, concurrency: 10 }, async (client, index) => {
      const controller = new AbortController();
      const relation = index % 2 === 0 ? 'items' : 'named';
      const response = await client.fetch(`/v0/pipelines/p/egress/${relation}?format=json&send_snapshot=true&backpressure=${index % 4 < 2}`, { method: 'POST', signal: controller.signal });
      assert.equal(response.status, 200);
      const reader = response.body!.getReader();
      let text = '';
      while (!text.includes('"insert"')) {
        const { value, done } = await reader.read();
        assert.ok(!done, `the stream ended before its snapshot: ${text}`);
        text += Buffer.from(value).toString();
      }
      controller.abort();
      await reader.read().catch(() => undefined);
    });
  });

  test('a push cut off while its chunk of 200 changes to one key commits leaves the table free for the next push', async () => {
    const client = new Client(server);
    try {
      const controller = new AbortController();
      const changes = Buffer.from('{"insert": {"id": 7, "name": "again and again"}}\n'.repeat(200));
      // The changes, then nothing: the chunk commits when its 200 ms are up, and the client leaves while it does.
      const body = new ReadableStream<Uint8Array>({ start: (stream) => stream.enqueue(changes) });
      const cutOff = client.fetch('/v0/pipelines/p/ingress/items?format=json', { method: 'POST', headers: { 'content-type': 'text/plain' }, body, signal: controller.signal }).then(
        (response) => `answered ${response.status}`,
        (error: Error) => error.name,
      );
      await sleep(400);
      controller.abort();
      assert.equal(await cutOff, 'AbortError');
      const next = await client.json('/v0/pipelines/p/ingress/items?format=json', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"insert": {"id": 8, "name": "next"}}\n' });
      assert.equal(next.status, 200, JSON.stringify(next.body));
    } finally {
      await client.close();
      // Whatever it took, the server is left idle for the others.
      await eventually(() => handlersRunning(server), (running) => running.length === 0, 30_000);
    }
  });
});
