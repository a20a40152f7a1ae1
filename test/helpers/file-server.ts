import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local HTTP server serving fixed files, for URL imports in tests. */
export class FileServer {
  private readonly stalled = new Set<import('node:http').ServerResponse>();

  private constructor(
    private readonly server: Server,
    private readonly files: Map<string, Buffer | string | 'stall' | 'silent'>,
  ) {}

  static async start(): Promise<FileServer> {
    const files = new Map<string, Buffer | string | 'stall' | 'silent'>();
    let fileServer: FileServer | undefined;
    const server = createServer((request, response) => {
      const body = files.get(request.url ?? '');
      if (body === undefined) {
        response.writeHead(404).end('not found');
        return;
      }
      if (body === 'stall' || body === 'silent') {
        // A download that never finishes: a first line and then nothing, or not even an answer.
        if (body === 'stall') response.writeHead(200, { 'content-type': 'text/csv' }).write('1\n');
        fileServer?.stalled.add(response);
        return;
      }
      response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fileServer = new FileServer(server, files);
    return fileServer;
  }

  /** A URL whose download starts and then stalls or, `beforeAnswering`, whose server never answers. */
  stall(path: string, { beforeAnswering = false } = {}): string {
    this.files.set(path, beforeAnswering ? 'silent' : 'stall');
    return this.url(path);
  }

  /** Resolves once a download has reached a stalling URL (the client's request has arrived). */
  async downloading(): Promise<void> {
    while (this.stalled.size === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Ends the stalled downloads after the line they sent, as if their files held only that. */
  release(): void {
    for (const response of this.stalled) response.end();
    this.stalled.clear();
  }

  private url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  serve(path: string, body: Buffer | string): string {
    this.files.set(path, body);
    return this.url(path);
  }

  async stop(): Promise<void> {
    for (const response of this.stalled) response.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
