import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.ts';
import { Sluice } from '../../src/core/sluice.ts';
import { startServer, type RunningServer } from '../../src/server/serve.ts';

export const ADMIN_TOKEN = 'test-admin-token';

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sluice-test-'));
}

export function testConfig(dataDir: string, overrides: Partial<Config> = {}): Config {
  // Tests import URLs from local servers, so they allow the private addresses a default server refuses.
  return loadConfig({ dataDir, port: 0, host: '127.0.0.1', adminToken: ADMIN_TOKEN, logLevel: 'silent', allowPrivateUrls: true, ...overrides }, {});
}

/** The real server on an ephemeral port over a real DuckDB file in a temporary directory. */
export class TestServer {
  private constructor(
    readonly dataDir: string,
    private readonly overrides: Partial<Config>,
    private server: RunningServer,
  ) {}

  static async start(overrides: Partial<Config> = {}): Promise<TestServer> {
    const dataDir = await makeDataDir();
    return new TestServer(dataDir, overrides, await startServer(testConfig(dataDir, overrides)));
  }

  get url(): string {
    return this.server.url;
  }

  get core(): Sluice {
    return this.server.core;
  }

  /** The Fastify app serving the requests (its routes, for tests that enumerate them). */
  get app(): RunningServer['app'] {
    return this.server.app;
  }

  /** Stops the server cleanly and starts a new one over the same data directory. */
  async restart(): Promise<void> {
    await this.server.close();
    this.server = await startServer(testConfig(this.dataDir, this.overrides));
  }

  fetch(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const token = init.token === undefined ? ADMIN_TOKEN : init.token;
    if (token !== null && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    return fetch(this.url + path, { ...init, headers });
  }

  async stop(): Promise<void> {
    await this.server.close();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** The core alone over a real DuckDB file, for tests of core behaviour that no dialect exposes yet. */
export class TestCore {
  private constructor(
    readonly dataDir: string,
    public core: Sluice,
  ) {}

  static async open(overrides: Partial<Config> = {}): Promise<TestCore> {
    const dataDir = await makeDataDir();
    return new TestCore(dataDir, await Sluice.open(testConfig(dataDir, overrides)));
  }

  async reopen(): Promise<void> {
    await this.core.close();
    this.core = await Sluice.open(testConfig(this.dataDir));
  }

  async close(): Promise<void> {
    await this.core.close();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
