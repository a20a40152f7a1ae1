import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { openSource } from '../../../../src/core/ingest/sources/open-source.ts';
import type { ProgressListener } from '../../../../src/core/ingest/sources/source.ts';
import { isSluiceError, readAll } from './stream-helpers.ts';

const BODY = Buffer.from(randomBytes(100_000).toString('hex'));
const CSV = Buffer.from('id,name\n1,alpha\n2,beta\n'.repeat(1000));
const LARGE = Buffer.from(randomBytes(1_500_000).toString('hex'));
const LIMITS = { maxBytes: 1024 * 1024, timeoutMs: 5000, allowPrivateNetworks: true };

type Handler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

const ROUTES: Record<string, Handler> = {
  '/sized.csv': async (_request, response) => {
    response.writeHead(200, { 'content-length': BODY.length, 'content-type': 'text/csv' });
    for (let offset = 0; offset < BODY.length; offset += 20_000) {
      response.write(BODY.subarray(offset, offset + 20_000));
      await sleep(5);
    }
    response.end();
  },
  '/chunked.csv': async (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/csv' });
    for (let offset = 0; offset < BODY.length; offset += 30_000) {
      response.write(BODY.subarray(offset, offset + 30_000));
      await sleep(5);
    }
    response.end();
  },
  '/data.csv.gz': (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    response.end(gzipSync(CSV));
  },
  // Stored pre-compressed with both labels: the download undoes the encoding, and the bytes are plain CSV.
  '/encoded.csv.gz': (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/gzip', 'content-encoding': 'gzip' });
    response.end(gzipSync(CSV));
  },
  '/bomb.gz': (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    response.end(gzipSync(Buffer.alloc(32 * 1024 * 1024)));
  },
  '/huge.csv': (_request, response) => {
    response.writeHead(200, { 'content-length': 10 * 1024 * 1024 });
    response.write('id\n');
  },
  '/private.csv': (request, response) => {
    const expected = `Basic ${Buffer.from('reader:s3cret word').toString('base64')}`;
    response.writeHead(request.headers.authorization === expected ? 200 : 401);
    response.end('id\n1\n');
  },
  '/stalls-in-body.csv': (_request, response) => {
    response.writeHead(200, { 'content-length': 1000 });
    response.write('id\n1\n');
  },
  '/stalls-before-headers.csv': () => {},
  // Sends all of a body larger than the client's buffers at once and closes the connection.
  '/closes.csv': (_request, response) => {
    response.writeHead(200, { 'content-length': LARGE.length, connection: 'close' });
    response.end(LARGE);
  },
  '/moved.csv': (_request, response) => {
    response.writeHead(302, { location: 'sized.csv' }).end();
  },
  // Redirects on: /hops/<n> to /hops/<n - 1>, and /hops/0 to the file.
  '/hops': (request, response) => {
    const left = Number(new URL(request.url ?? '/', 'http://localhost').searchParams.get('n'));
    response.writeHead(301, { location: left === 0 ? '/sized.csv' : `/hops?n=${left - 1}` }).end();
  },
  // Redirects to the same file on another origin (the server by its other name).
  '/elsewhere.csv': (request, response) => {
    const port = new URL(`http://${request.headers.host}`).port;
    response.writeHead(307, { location: `http://localhost:${port}/private.csv` }).end();
  },
  '/moved-private.csv': (_request, response) => {
    response.writeHead(302, { location: '/private.csv' }).end();
  },
};

describe('openSource: URL downloads from a real HTTP server', () => {
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer((request, response) => {
      const route = ROUTES[new URL(request.url ?? '/', 'http://localhost').pathname];
      if (route) void route(request, response);
      else response.writeHead(404, { 'content-type': 'text/plain' }).end('no such file');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  function recordProgress(): { updates: Array<{ bytesRead: number; totalBytes?: number }>; listener: ProgressListener } {
    const updates: Array<{ bytesRead: number; totalBytes?: number }> = [];
    return { updates, listener: (update) => updates.push(update) };
  }

  function assertGrowing(updates: Array<{ bytesRead: number }>): void {
    assert.ok(updates.length > 1, `expected several progress updates, got ${updates.length}`);
    for (let index = 1; index < updates.length; index += 1) assert.ok(updates[index]!.bytesRead > updates[index - 1]!.bytesRead);
  }

  test('downloads a body with Content-Length, reporting growing progress against that total', async () => {
    const progress = recordProgress();
    const stream = await openSource({ kind: 'url', url: `${base}/sized.csv` }, LIMITS, { onProgress: progress.listener });
    assert.deepEqual(await readAll(stream), BODY);
    assertGrowing(progress.updates);
    assert.deepEqual(progress.updates.at(-1), { bytesRead: BODY.length, totalBytes: BODY.length });
  });

  test('downloads a chunked body, whose total is unknown', async () => {
    const progress = recordProgress();
    const stream = await openSource({ kind: 'url', url: `${base}/chunked.csv` }, LIMITS, { onProgress: progress.listener });
    assert.deepEqual(await readAll(stream), BODY);
    assertGrowing(progress.updates);
    assert.deepEqual(progress.updates.at(-1), { bytesRead: BODY.length, totalBytes: undefined });
  });

  test('gunzips a downloaded .gz file recognised by its magic bytes', async () => {
    assert.deepEqual(await readAll(await openSource({ kind: 'url', url: `${base}/data.csv.gz` }, LIMITS)), CSV);
  });

  test('does not gunzip twice a file that the download already decoded from its Content-Encoding', async () => {
    assert.deepEqual(await readAll(await openSource({ kind: 'url', url: `${base}/encoded.csv.gz` }, LIMITS)), CSV);
  });

  test('a downloaded gzip bomb is stopped at the limit on decompressed bytes', async () => {
    const stream = await openSource({ kind: 'url', url: `${base}/bomb.gz` }, LIMITS);
    await assert.rejects(readAll(stream), isSluiceError('PAYLOAD_TOO_LARGE', /Decompressed payload/));
  });

  test('a Content-Length over the limit is refused before the body is read', async () => {
    await assert.rejects(openSource({ kind: 'url', url: `${base}/huge.csv` }, LIMITS), isSluiceError('PAYLOAD_TOO_LARGE'));
  });

  test('a 404 fails with UNAVAILABLE naming the status and the URL', async () => {
    await assert.rejects(openSource({ kind: 'url', url: `${base}/missing.csv` }, LIMITS), (error: unknown) => {
      isSluiceError('UNAVAILABLE', /HTTP status 404 Not Found/)(error);
      assert.match((error as Error).message, /\/missing\.csv/);
      assert.deepEqual((error as { details: unknown }).details, { url: `${base}/missing.csv`, status: 404 });
      return true;
    });
  });

  test('credentials in the URL are sent as Basic authorization and kept out of messages', async () => {
    const url = `${base.replace('http://', 'http://reader:s3cret%20word@')}/private.csv`;
    assert.equal((await readAll(await openSource({ kind: 'url', url }, LIMITS))).toString(), 'id\n1\n');
    const wrong = `${base.replace('http://', 'http://reader:wrong@')}/private.csv`;
    await assert.rejects(openSource({ kind: 'url', url: wrong }, LIMITS), (error: unknown) => {
      isSluiceError('UNAVAILABLE', /401/)(error);
      assert.doesNotMatch((error as Error).message, /wrong|reader/);
      return true;
    });
  });

  test('a server that stalls mid-body fails the stream with a timeout', async () => {
    const stream = await openSource({ kind: 'url', url: `${base}/stalls-in-body.csv` }, { ...LIMITS, timeoutMs: 300 });
    await assert.rejects(readAll(stream), isSluiceError('UNAVAILABLE', /timed out after 300 ms/));
  });

  test('a server that never answers fails the open with a timeout', async () => {
    await assert.rejects(
      openSource({ kind: 'url', url: `${base}/stalls-before-headers.csv` }, { ...LIMITS, timeoutMs: 300 }),
      isSluiceError('UNAVAILABLE', /stalls-before-headers\.csv timed out after 300 ms/),
    );
  });

  test('a signal that fires before the server answers aborts the download and fails the open as cancelled', async () => {
    const controller = new AbortController();
    const opening = openSource({ kind: 'url', url: `${base}/stalls-before-headers.csv` }, LIMITS, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(opening, isSluiceError('UNAVAILABLE', /^The import was cancelled$/));
  });

  test('a signal that fires mid-body fails the stream as cancelled', async () => {
    const controller = new AbortController();
    const stream = await openSource({ kind: 'url', url: `${base}/stalls-in-body.csv` }, LIMITS, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(readAll(stream), isSluiceError('UNAVAILABLE', /^The import was cancelled$/));
  });

  test('an already fired signal opens nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(openSource({ kind: 'url', url: `${base}/sized.csv` }, LIMITS, { signal: controller.signal }), isSluiceError('UNAVAILABLE', /cancelled/));
  });

  test('a refused connection fails with UNAVAILABLE and the reason', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    await assert.rejects(openSource({ kind: 'url', url: `http://127.0.0.1:${port}/x.csv` }, LIMITS), isSluiceError('UNAVAILABLE', /ECONNREFUSED/));
  });

  test('a large body that the server sends at once before closing the connection arrives whole at a slow reader', async () => {
    // undici (Node 20's fetch) ended the process here with an assertion nothing could catch.
    const stream = await openSource({ kind: 'url', url: `${base}/closes.csv` }, { ...LIMITS, maxBytes: 8 * 1024 * 1024 });
    await sleep(300);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      await sleep(2);
    }
    assert.ok(Buffer.concat(chunks).equals(LARGE));
  });

  test('redirects are followed, relative ones too, up to five', async () => {
    assert.deepEqual(await readAll(await openSource({ kind: 'url', url: `${base}/moved.csv` }, LIMITS)), BODY);
    assert.deepEqual(await readAll(await openSource({ kind: 'url', url: `${base}/hops?n=4` }, LIMITS)), BODY);
    await assert.rejects(openSource({ kind: 'url', url: `${base}/hops?n=5` }, LIMITS), isSluiceError('UNAVAILABLE', /more than 5 redirects/));
  });

  test("credentials follow a redirect on the URL's origin, not one to another origin", async () => {
    const withCredentials = (path: string) => `${base.replace('http://', 'http://reader:s3cret%20word@')}${path}`;
    assert.equal((await readAll(await openSource({ kind: 'url', url: withCredentials('/moved-private.csv') }, LIMITS))).toString(), 'id\n1\n');
    await assert.rejects(openSource({ kind: 'url', url: withCredentials('/elsewhere.csv') }, LIMITS), isSluiceError('UNAVAILABLE', /HTTP status 401/));
  });

  test('only http and https URLs are accepted', async () => {
    for (const url of ['ftp://example.com/data.csv', 'file:///etc/passwd', 'not a url', 'data:text/csv,a']) {
      await assert.rejects(openSource({ kind: 'url', url }, LIMITS), isSluiceError('INVALID_ARGUMENT'), url);
    }
  });
});
