import { test } from 'node:test';
import { connect } from 'node:net';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, TestServer } from '../helpers/test-server.ts';
import { FelderaClient, felderaError } from '../dialects/feldera/feldera-fixture.ts';
import { FileServer } from '../helpers/file-server.ts';

/** A request body that stays open until `close`: `send` adds to it. */
function openBody(): { body: ReadableStream<Uint8Array>; send(text: string): void; close(): void } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (start) => { controller = start; } });
  return { body, send: (text) => controller.enqueue(new TextEncoder().encode(text)), close: () => controller.close() };
}

/** `promise`, or a failure naming `what` once `ms` have passed without it settling. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`${what} never happened`);
}

test('a server closing ends a Feldera push whose body is still arriving with a 503, and keeps the records it committed', { timeout: 60_000 }, async () => {
  const server = await TestServer.start();
  try {
    const client = new FelderaClient(server);
    await client.pipeline('p', 'CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR);');
    const stream = openBody();
    const push = server.fetch('/v0/pipelines/p/ingress/items?format=json', { method: 'POST', body: stream.body, duplex: 'half' } as RequestInit);
    stream.send('{"insert": {"id": 1, "name": "committed"}}\n');
    await until(async () => (await client.rows('p', 'SELECT id FROM items')).length === 1, 'the first record committed');
    // The client sends no more and never ends its body: the close must not wait for it.
    await within(server.restart(), 20_000, 'closing the server');
    const body = await felderaError(await within(push, 5_000, 'the push'), 503, 'PipelineInteractionUnreachable');
    assert.match(body.message, /shutting down/);
    assert.deepEqual(await client.rows('p', 'SELECT id, name FROM items'), [{ id: 1, name: 'committed' }]);
  } finally {
    await server.stop();
  }
});

test('a server closing ends a Tinybird append whose body is still arriving with a 503, and writes none of its rows', { timeout: 60_000 }, async () => {
  const server = await TestServer.start();
  try {
    const created = await server.fetch('/v0/datasources?name=events&schema=id%20Int64', { method: 'POST' });
    assert.equal(created.status, 200, await created.text());
    const stream = openBody();
    const append = server.fetch('/v0/datasources?name=events&mode=append&format=ndjson', { method: 'POST', body: stream.body, duplex: 'half' } as RequestInit);
    stream.send(`${Array.from({ length: 1000 }, (_, id) => JSON.stringify({ id })).join('\n')}\n`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await within(server.restart(), 20_000, 'closing the server');
    const response = await within(append, 5_000, 'the append');
    const body = (await response.json()) as { error: string };
    assert.equal(response.status, 503, JSON.stringify(body));
    assert.match(body.error, /shutting down/);
    const count = await server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT count(*) AS n FROM events FORMAT JSON')}`);
    assert.deepEqual(((await count.json()) as { data: unknown[] }).data, [{ n: 0 }]);
  } finally {
    await server.stop();
  }
});

test('many bodies streaming at once, each cancellable by the close, raise no listener-leak warning', { timeout: 60_000 }, async () => {
  const server = await TestServer.start();
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  try {
    const created = await server.fetch('/v0/datasources?name=streams&schema=id%20Int64', { method: 'POST' });
    assert.equal(created.status, 200, await created.text());
    const bodies = Array.from({ length: 15 }, () => openBody());
    const appends = bodies.map(({ body }) => server.fetch('/v0/datasources?name=streams&mode=append&format=ndjson', { method: 'POST', body, duplex: 'half' } as RequestInit));
    bodies.forEach((body, id) => body.send(`{"id": ${id}}\n`));
    await new Promise((resolve) => setTimeout(resolve, 500));
    bodies.forEach((body) => body.close());
    assert.deepEqual((await Promise.all(appends)).map((response) => response.status), bodies.map(() => 200));
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
    await server.stop();
  }
});

test('a request that arrives while the server closes is refused with a retryable 503 in its dialect\'s shape, and its connection closed', { timeout: 60_000 }, async () => {
  const server = await TestServer.start();
  try {
    // What a close does first: from then on, requests on connections still open are refused.
    await server.core.interrupt();
    const refused = async (path: string, init: RequestInit = {}) => {
      const response = await server.fetch(path, init);
      assert.equal(response.status, 503, path);
      assert.equal(response.headers.get('retry-after'), '1', path);
      assert.equal(response.headers.get('connection'), 'close', path);
      return response;
    };
    const feldera = await (await refused('/v0/pipelines')).json();
    assert.equal(feldera.error_code, 'PipelineInteractionUnreachable');
    assert.match(feldera.message, /shutting down/);
    const tinybird = await (await refused('/v0/datasources')).json();
    assert.match(tinybird.error, /shutting down/);
    const events = await refused('/v0/events?name=e', { method: 'POST', body: '{"id": 1}\n' });
    assert.match(await events.text(), /^The server is shutting down/);
    const catalyzed = await (await refused('/datasets')).json();
    assert.equal(catalyzed.retryable, true);
  } finally {
    await server.stop();
  }
});

test('stopping the server cancels a URL import still downloading: its job is cancelled, not failed', { timeout: 60_000 }, async () => {
  const files = await FileServer.start();
  const server = await TestServer.start();
  try {
    const url = files.stall('/never-ends.csv');
    const form = new URLSearchParams({ url });
    const job = await (await server.fetch('/v0/datasources?name=downloading&format=csv', { method: 'POST', body: form })).json();
    await until(async () => (await (await server.fetch(`/v0/jobs/${job.id}`)).json()).status === 'working', 'the download started');
    await within(server.restart(), 20_000, 'closing the server');
    const after = await (await server.fetch(`/v0/jobs/${job.id}`)).json();
    assert.equal(after.status, 'cancelled', JSON.stringify(after));
  } finally {
    await server.stop();
    await files.stop();
  }
});

test('a server closing answers a small body that stalled on its way with a 503 at once, rather than wait for it', { timeout: 60_000 }, async () => {
  const server = await TestServer.start();
  try {
    const { hostname, port } = new URL(server.url);
    const socket = connect(Number(port), hostname);
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    // 26 of the 1,000 bytes it announces: read whole as it arrives, the body never ends.
    socket.write(`POST /v0/events?name=stalled&wait=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Length: 1000\r\n\r\n{"id":1,"tag":"x","n":1}\n`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await within(server.restart(), 10_000, 'closing the server');
    const text = await within(answer, 5_000, 'the answer');
    assert.match(text, /^HTTP\/1\.1 503/);
    assert.match(text, /shutting down/);
    socket.destroy();
  } finally {
    await server.stop();
  }
});

test('a server closing refuses a Feldera push waiting on its paused pipeline with a 503 at once, not once the wait runs out', { timeout: 60_000 }, async () => {
  const server = await TestServer.start();
  try {
    const client = new FelderaClient(server);
    await client.pipeline('paused', 'CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY);');
    assert.equal((await client.action('paused', 'pause')).status, 202);
    const push = client.push('paused', 'items', '{"insert": {"id": 1}}');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await within(server.restart(), 10_000, 'closing the server');
    const response = await within(push, 5_000, 'the push');
    assert.ok(Date.now() - started < 10_000);
    const body = await felderaError(response, 503, 'PipelineInteractionUnreachable');
    assert.match(body.message, /shutting down: the push to pipeline 'paused', paused, was not taken/);
  } finally {
    await server.stop();
  }
});

test('a server closing breaks off a query result its client has stopped reading, rather than wait for the client', { timeout: 60_000 }, async () => {
  const server = await TestServer.start();
  try {
    const { hostname, port } = new URL(server.url);
    const socket = connect(Number(port), hostname);
    const started = new Promise<string>((resolve) => socket.once('data', (chunk) => resolve(chunk.toString())));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const query = encodeURIComponent('SELECT number, repeat(\'x\', 100) AS padding FROM numbers(2000000) FORMAT CSV');
    socket.write(`GET /v0/sql?q=${query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n\r\n`);
    assert.match(await within(started, 10_000, 'the answer'), /^HTTP\/1\.1 200/);
    // The client reads the first bytes and then nothing: the server's buffers fill and stay full.
    socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await within(server.restart(), 20_000, 'closing the server');
    let rest = '';
    socket.on('data', (chunk) => (rest += chunk.toString()));
    socket.resume();
    await within(closed, 5_000, 'the connection closing');
    // Broken off, not ended: a chunked answer that ended cleanly would end with its last, empty chunk.
    assert.doesNotMatch(rest, /\r\n0\r\n\r\n$/);
  } finally {
    await server.stop();
  }
});
