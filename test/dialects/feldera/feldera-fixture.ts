import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { TestServer } from '../../helpers/test-server.ts';

/** Calls of the Feldera dialect over HTTP, as its REST clients make them. */
export class FelderaClient {
  constructor(private readonly server: TestServer) {}

  putPipeline(name: string, body: Record<string, unknown>): Promise<Response> {
    return this.server.fetch(`/v0/pipelines/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  /** Creates (or replaces) a pipeline whose program must compile, and starts it unless told not to. */
  async pipeline(name: string, program: string, options: { start?: boolean } = {}): Promise<Record<string, unknown>> {
    const response = await this.putPipeline(name, { program_code: program });
    const body = (await response.json()) as Record<string, unknown>;
    assert.ok(response.status === 201 || response.status === 200, JSON.stringify(body));
    assert.equal(body['program_status'], 'Success', JSON.stringify(body['program_error']));
    if (options.start ?? true) assert.equal((await this.action(name, 'start')).status, 202);
    return body;
  }

  get(name: string): Promise<Response> {
    return this.server.fetch(`/v0/pipelines/${name}`);
  }

  action(name: string, action: string, query = ''): Promise<Response> {
    return this.server.fetch(`/v0/pipelines/${name}/${action}${query}`, { method: 'POST' });
  }

  push(pipeline: string, table: string, body: string, query = 'format=json'): Promise<Response> {
    return this.server.fetch(`/v0/pipelines/${pipeline}/ingress/${table}?${query}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
  }

  /** Pushes and expects success; returns the completion token. */
  async pushOk(pipeline: string, table: string, body: string, query = 'format=json'): Promise<string> {
    const response = await this.push(pipeline, table, body, query);
    const answer = (await response.json()) as { token?: string };
    assert.equal(response.status, 200, JSON.stringify(answer));
    assert.equal(typeof answer.token, 'string');
    return answer.token!;
  }

  query(pipeline: string, sql: string, format = 'json'): Promise<Response> {
    return this.server.fetch(`/v0/pipelines/${pipeline}/query?format=${format}&sql=${encodeURIComponent(sql)}`);
  }

  /** The rows of a query, from the `json` format (one object per line). */
  async rows(pipeline: string, sql: string): Promise<Array<Record<string, unknown>>> {
    const response = await this.query(pipeline, sql);
    const text = await response.text();
    assert.equal(response.status, 200, text);
    return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

/** A Feldera error body, checked for its shape. */
export async function felderaError(response: Response, status: number, code: string): Promise<{ message: string; error_code: string; details: Record<string, unknown> | null }> {
  const body = (await response.json()) as { message: string; error_code: string; details: Record<string, unknown> | null };
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.error_code, code, JSON.stringify(body));
  assert.equal(typeof body.message, 'string');
  assert.ok('details' in body);
  return body;
}

export interface FelderaSuite {
  server: TestServer;
  client: FelderaClient;
}

/**
 * Registers the suite's hooks: a real server and a client started before its tests (then `setup`,
 * to create pipelines and push data), the server stopped after. The returned object is filled in
 * when the tests run.
 */
export function useFelderaSuite(setup: (client: FelderaClient) => Promise<void> = async () => {}): FelderaSuite {
  const suite = {} as FelderaSuite;
  before(async () => {
    suite.server = await TestServer.start();
    suite.client = new FelderaClient(suite.server);
    await setup(suite.client);
  });
  after(() => suite.server.stop());
  return suite;
}

export type EgressChunk = { sequence_number: number; json_data?: Array<Record<string, unknown>>; text_data?: string };

/** An egress stream's chunks, read line by line as they arrive. */
export class EgressStream {
  private buffer = '';
  private readonly decoder = new TextDecoder();
  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  async chunk(): Promise<EgressChunk | null> {
    const line = await this.line();
    return line === null ? null : (JSON.parse(line) as EgressChunk);
  }

  /** The next chunk's text as sent. */
  async line(): Promise<string | null> {
    for (;;) {
      const end = this.buffer.indexOf('\r\n');
      if (end >= 0) {
        const line = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        return line;
      }
      const { done, value } = await this.reader.read();
      if (done) return null;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** Chunks until their items number `count` (heartbeats skipped). */
  async items(count: number): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    while (items.length < count) {
      const chunk = await this.chunk();
      assert.ok(chunk, `stream ended after ${JSON.stringify(items)}`);
      items.push(...(chunk.json_data ?? []));
    }
    return items;
  }

  /** Stops reading: the server sees the client go. */
  cancel(): void {
    this.reader.cancel().catch(() => {});
  }
}
