import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Agent, request as undiciRequest } from 'undici';

export const BENCH_TOKEN = 'bench-admin-token';

/**
 * The real server as its own process (`bin/sluice.js serve`), over a fresh or a given data directory.
 * `nodeArgs`, or else `SLUICE_BENCH_NODE_ARGS`, passes Node options to it: to profile the server
 * under a benchmark's load (`--cpu-prof --cpu-prof-dir=…`), or to load a test's module hooks.
 */
export class ServerProcess {
  /** Keep-alive connections for `post`, one per concurrent client of a benchmark. */
  private readonly agent: Agent;

  /** Everything the server wrote to standard output, when started with `keepOutput`. */
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly dataDir: string,
    connections: number,
  ) {
    this.agent = new Agent({ connections });
  }

  /**
   * `env` is added to the server's environment, whose defaults are the server's own (the `info`
   * log level, one line per request). With `keepOutput`, its standard output is kept (see
   * `outputLines`); without, it is read and dropped. `connections` (64 unless given) bounds the
   * keep-alive connections `post` opens: as many as the clients that post at once.
   */
  static async start(
    env: Record<string, string> = {},
    options: { dataDir?: string; nodeArgs?: string[]; keepOutput?: boolean; connections?: number } = {},
  ): Promise<ServerProcess> {
    const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'sluice-bench-')));
    const nodeArgs = options.nodeArgs ?? process.env.SLUICE_BENCH_NODE_ARGS?.split(' ') ?? [];
    const child = spawn(process.execPath, [...nodeArgs, 'bin/sluice.js', 'serve', '--port', '0', '--data', dataDir], {
      env: { ...process.env, SLUICE_ADMIN_TOKEN: BENCH_TOKEN, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /Sluice is serving on (http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    const server = new ServerProcess(child, url, dataDir, options.connections ?? 64);
    child.stdout!.removeAllListeners('data');
    if (options.keepOutput) {
      server.output = output;
      child.stdout!.on('data', (chunk: Buffer) => (server.output += chunk.toString()));
    } else child.stdout!.resume();
    return server;
  }

  /** The lines the server has written to standard output so far (with `keepOutput`). */
  outputLines(): string[] {
    return this.output.split('\n').filter((line) => line !== '');
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** How the process ended: its exit code, or the signal that ended it; undefined while it runs. */
  get ended(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    const { exitCode: code, signalCode: signal } = this.child;
    return code === null && signal === null ? undefined : { code, signal };
  }

  /** Resolves once the process has ended by itself (see `ended`), or with undefined after `timeoutMs`. */
  async waitForEnd(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    if (this.ended) return this.ended;
    const ended = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    return this.ended;
  }

  /**
   * CPU time the server has used so far, in seconds: all its threads (`total`: the event loop,
   * libuv's pool running DuckDB's calls, DuckDB's own workers) and the event loop's thread alone
   * (`main`). Read from /proc, in the kernel's clock ticks of 1/100 s.
   */
  async cpuSeconds(): Promise<{ total: number; main: number }> {
    const ticks = async (path: string) => {
      // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
      const fields = (await readFile(path, 'utf8')).split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    };
    return { total: await ticks(`/proc/${this.pid}/stat`), main: await ticks(`/proc/${this.pid}/task/${this.pid}/stat`) };
  }

  async rssBytes(): Promise<number> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  /**
   * A POST of a small body through undici's request API, which costs the client far less CPU per
   * request than `fetch`: with the load generator on the server's cores, that leaves them to the server.
   */
  async post(path: string, body: string): Promise<number> {
    const response = await undiciRequest(this.url + path, { method: 'POST', body, headers: { authorization: `Bearer ${BENCH_TOKEN}` }, dispatcher: this.agent });
    await response.body.dump();
    return response.statusCode;
  }

  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${BENCH_TOKEN}`);
    return fetch(this.url + path, { ...init, headers });
  }

  /** `curl -F <part>=@<file>`, streamed from disk (or from generated chunks). */
  async upload(path: string, part: string, file: string | { name: string; chunks: Iterable<Buffer> }): Promise<{ status: number; body: string }> {
    const boundary = `sluice-bench-${Date.now()}`;
    const fileName = typeof file === 'string' ? basename(file) : file.name;
    return new Promise((resolve, reject) => {
      const upload = request(`${this.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' },
      }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      upload.on('error', reject);
      (async () => {
        upload.write(`--${boundary}\r\nContent-Disposition: form-data; name="${part}"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
        const chunks = typeof file === 'string' ? createReadStream(file, { highWaterMark: 1024 * 1024 }) : file.chunks;
        for await (const chunk of chunks) {
          if (!upload.write(chunk)) await new Promise((resume) => upload.once('drain', resume));
          // A loopback socket often takes a write at once, and generated chunks are at hand: without
          // a turn of the event loop here, this process's timers (an RssSampler's) would not run
          // until the whole body had been sent.
          await new Promise(setImmediate);
        }
        upload.end(`\r\n--${boundary}--\r\n`);
      })().catch(reject);
    });
  }

  /** Signals the process and resolves with its exit code (null when a signal ended it); removes the data unless kept. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', options: { keepData?: boolean } = {}): Promise<number | null> {
    const exited = this.ended ? Promise.resolve(this.child.exitCode) : new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    if (!this.ended) this.child.kill(signal);
    const code = await exited;
    await this.agent.close();
    if (!options.keepData) await rm(this.dataDir, { recursive: true, force: true });
    return code;
  }
}

/** Samples a process's resident memory every 50 ms and keeps the peak. */
export class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(server: ServerProcess) {
    this.timer = setInterval(() => {
      server.rssBytes().then((rss) => (this.peak = Math.max(this.peak, rss)), () => undefined);
    }, 50);
  }

  stop(): number {
    clearInterval(this.timer);
    return this.peak;
  }
}
