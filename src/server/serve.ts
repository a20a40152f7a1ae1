import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import type { SluiceError } from '../core/errors.ts';
import { Sluice } from '../core/sluice.ts';
import { buildApp } from './app.ts';

export interface RunningServer {
  app: FastifyInstance;
  core: Sluice;
  /** The address the server listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Stops accepting connections, finishes queued writes, checkpoints and closes the database. */
  close(): Promise<void>;
  /**
   * Settles once the database engine has failed beyond repair (see `Sluice.failure`), with its
   * error: by then the server accepts no more connections and the requests it was answering are
   * answered (or FAILED_ANSWER_WAIT_MS have passed). The process should exit, to be restarted.
   */
  failed: Promise<SluiceError>;
}

/** How long a failed server waits for the requests it is answering (each fails fast) before giving up on them. */
const FAILED_ANSWER_WAIT_MS = 2000;

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
  const requests = trackRequests(app.server);
  const failed = new Promise<SluiceError>((resolve) => {
    core.failure.addEventListener('abort', () => {
      app.server.close();
      const waited = new Promise((timeUp) => setTimeout(timeUp, FAILED_ANSWER_WAIT_MS).unref());
      void Promise.race([requests.settled(), waited]).then(() => resolve(core.failure.reason as SluiceError));
    }, { once: true });
  });
  let closing: Promise<void> | undefined;
  return {
    app,
    core,
    url: `http://${host}:${port}`,
    failed,
    close() {
      closing ??= (async () => {
        // Running queries, change feeds and bodies still arriving are ended first: their clients
        // get a retryable answer, and the requests end instead of holding up the close.
        await core.interrupt();
        const closed = app.close();
        // Once the requests being answered are done, the connections left are idle in all but
        // name (a client's spare connection that never sent a request is not idle to Node):
        // they are closed rather than waited for.
        await requests.settled();
        app.server.closeAllConnections();
        await closed;
        await core.close();
      })();
      return closing;
    },
  };
}

/**
 * How long, once the server closes, an answer may wait on a client that reads none of it (a large
 * query result, an egress stream) before it is broken off: the close does not wait on such readers.
 */
const STALLED_READER_MS = 1000;

/**
 * Counts the requests being answered, so that a close can wait for them and no longer. While it
 * waits, an answer whose client took none of it for STALLED_READER_MS is broken off (destroyed: the
 * client sees a cut, never a clean end). A client still reading gets what was sent before the close
 * began: the queries and feeds behind the answers are stopped by then, and end them.
 */
function trackRequests(server: Server): { settled(): Promise<void> } {
  const answering = new Set<ServerResponse>();
  let wake: (() => void) | undefined;
  server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    answering.add(response);
    response.once('close', () => {
      answering.delete(response);
      if (answering.size === 0) wake?.();
    });
  });
  return {
    settled: () => {
      if (answering.size === 0) return Promise.resolve();
      /** What each answer waiting on its client had sent at the last look. */
      let waiting = new Map<ServerResponse, number>();
      const watch = setInterval(() => {
        const now = new Map([...answering].filter(waitsOnClient).map((response) => [response, response.socket?.bytesWritten ?? 0]));
        // Waiting at both looks with nothing more taken between them: its client is not reading.
        for (const [response, sent] of now) if (waiting.get(response) === sent) response.destroy();
        waiting = now;
      }, STALLED_READER_MS).unref();
      return new Promise<void>((resolve) => (wake = resolve)).finally(() => clearInterval(watch));
    },
  };
}

/** The answer has more written than its client has taken: its buffer is full, or it ended and is not yet flushed. */
function waitsOnClient(response: ServerResponse): boolean {
  return response.writableNeedDrain || (response.writableEnded && !response.writableFinished);
}
