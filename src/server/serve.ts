import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import { Sluice } from '../core/sluice.ts';
import { buildApp } from './app.ts';

export interface RunningServer {
  app: FastifyInstance;
  core: Sluice;
  /** The address the server listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Stops accepting connections, finishes queued writes, checkpoints and closes the database. */
  close(): Promise<void>;
}

export async function startServer(config: Config): Promise<RunningServer> {
  const core = await Sluice.open(config);
  let app: FastifyInstance;
  try {
    app = await buildApp({ core, config });
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await core.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    app,
    core,
    url: `http://${host}:${port}`,
    close() {
      closing ??= (async () => {
        await app.close();
        await core.close();
      })();
      return closing;
    },
  };
}
