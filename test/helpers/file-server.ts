import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local HTTP server serving fixed files, for URL imports in tests. */
export class FileServer {
  private constructor(
    private readonly server: Server,
    private readonly files: Map<string, Buffer | string>,
  ) {}

  static async start(): Promise<FileServer> {
    const files = new Map<string, Buffer | string>();
    const server = createServer((request, response) => {
      const body = files.get(request.url ?? '');
      if (body === undefined) {
        response.writeHead(404).end('not found');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new FileServer(server, files);
  }

  serve(path: string, body: Buffer | string): string {
    this.files.set(path, body);
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
