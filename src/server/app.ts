import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyReply, type FastifyInstance, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { pino } from 'pino';
import type { Config } from '../config.ts';
import type { Principal } from '../core/auth/scopes.ts';
import { MAX_NAME_LENGTH } from '../core/catalog/table-ddl.ts';
import { QUARANTINE_SUFFIX } from '../core/catalog/model.ts';
import { SluiceError, toSluiceError } from '../core/errors.ts';
import type { Sluice } from '../core/sluice.ts';
import { DIALECTS } from '../dialects/index.ts';
import { parseBody } from './body.ts';
import type { Dialect } from './dialect.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Authenticates the request's token (once) and returns who it stands for. */
    principal(): Promise<Principal>;
  }
}

export interface AppOptions {
  core: Sluice;
  config: Config;
  dialects?: Dialect[];
}

/**
 * Fastify's request log as one line per request, once it is answered, rather than one as it arrives
 * and one as it is answered: on a busy server, lines written one by one cost about as much as the
 * requests themselves.
 */
class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { req: request, res: reply, responseTime: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

/** How requests, replies and errors appear in log lines; a token in a request's query string is blanked. */
const LOG_SERIALIZERS = {
  req: (request: FastifyRequest) => ({ method: request.method, url: withoutSecrets(request.url) }),
  res: (reply: FastifyReply) => ({ statusCode: reply.statusCode }),
  err: pino.stdSerializers.err,
};

/** Builds the HTTP app without listening, so that tests can start it on any port. */
export async function buildApp({ core, config, dialects = DIALECTS }: AppOptions): Promise<FastifyInstance> {
  // Log lines go to standard output asynchronously: written in batches under load, flushed at exit.
  const logger = config.logLevel === 'silent' ? undefined : pino({ level: config.logLevel, serializers: LOG_SERIALIZERS }, pino.destination({ sync: false }));
  /** The dialect serving a request's path, by its prefixes. */
  const dialectOf = (request: FastifyRequest): Dialect | undefined => dialects.find((candidate) => candidate.prefixes.some((prefix) => request.url.startsWith(prefix)));
  const app = Fastify({
    // Typed as Fastify's base logger, which pino's own type is wider than.
    ...(logger && { loggerInstance: logger as FastifyBaseLogger }),
    logController: new RequestLog(),
    genReqId: (request) => String(request.headers['x-request-id'] ?? randomUUID()),
    // A request that arrives while the server closes is refused in its dialect's shape (below), not Fastify's.
    return503OnClosing: false,
    requestIdHeader: false,
    bodyLimit: config.maxRequestBodyBytes,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PATH_PARAM_LENGTH },
    // Errors Fastify meets before routing (a path parameter past the bound, a malformed URL) are
    // answered in the dialect's shape, as every other error is.
    frameworkErrors: (error, request, reply) => {
      sendError(reply as unknown as FastifyReply, request, dialectOf(request), fromFrameworkError(error));
    },
  });

  // Large bodies are handed to handlers as streams, small ones whole (see `parseBody`).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, payload, done) => parseBody(request, payload, done, core.closingSignal));
  await app.register(multipart, { limits: { fileSize: config.maxRequestBodyBytes, fields: 100, fieldSize: 16 * 1024 * 1024 } });

  // Set as the request arrives, in a callback hook: no promise per request, and error answers keep it.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-ID', request.id);
    const badEscape = malformedQueryEscape(request.url);
    if (badEscape !== undefined) {
      // Decoded, such a value would hold U+FFFD in place of its bytes: two different values would read alike.
      return sendError(reply, request, dialectOf(request), new SluiceError('INVALID_ARGUMENT', `The query string's %-escapes "${badEscape}" are not UTF-8`, { escapes: badEscape }));
    }
    if (!core.closing) return done();
    // Closing: a new request (on a connection kept alive) is refused, retryable, and the connection closed.
    reply.header('connection', 'close');
    sendError(reply, request, dialectOf(request), new SluiceError('UNAVAILABLE', 'The server is shutting down: retry once it is back'));
  });

  // A server whose database engine failed answers 503 until it is restarted (see `Sluice.failure`).
  app.get('/health', async (_request, reply) => {
    if (!core.failure.aborted) return { status: 'ok' };
    return reply.status(503).send({ status: 'failed', error: (core.failure.reason as SluiceError).message });
  });

  for (const dialect of dialects) {
    dialect.configure?.(core);
    await app.register(async (scope) => {
      scope.decorateRequest('principal', function principal(this: FastifyRequest) {
        return authenticate(core, this, dialect);
      });
      scope.setErrorHandler(async (error: FastifyError, request, reply) => {
        discardUnreadBody(request);
        const sluiceError = fromHttpError(error);
        // A 503 says the server cannot serve the request now (a pipeline not running, memory or
        // connections short): worth a warning, not a stack trace. Other 5xx are faults.
        if (sluiceError.status === 503) request.log.warn({ code: sluiceError.code, message: sluiceError.message }, 'request refused for now');
        else if (sluiceError.status >= 500) request.log.error({ err: error }, 'request failed');
        return sendError(reply, request, dialect, sluiceError);
      });
      await dialect.routes(scope, core);
    });
  }

  app.setNotFoundHandler(async (request, reply) =>
    sendError(reply, request, dialectOf(request), new SluiceError('NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}`)),
  );

  return app;
}

/** Answers `error` in `dialect`'s shape, or in Sluice's own (`{error, code}`) on a path no dialect serves. */
function sendError(reply: FastifyReply, request: FastifyRequest, dialect: Dialect | undefined, error: SluiceError): FastifyReply {
  if (!dialect) return reply.status(error.status).send({ error: error.message, code: error.code });
  const rendered = dialect.renderError(error, request);
  // A retryable refusal (a 429 or 5xx as the dialect answers it) says when to try again.
  const retryLater = error.retryable && (rendered.status === 429 || rendered.status >= 500);
  reply.status(rendered.status).headers({ ...(retryLater && { 'retry-after': '1' }), ...rendered.headers });
  if (rendered.contentType) reply.type(rendered.contentType);
  return reply.send(rendered.body);
}

/**
 * A request refused before its body was read (too large, bad token …) still has bytes on the way;
 * reading and dropping them lets the client finish sending and read the answer instead of seeing
 * its connection reset.
 */
function discardUnreadBody(request: FastifyRequest): void {
  if (request.raw.readableEnded) return;
  request.raw.unpipe();
  request.raw.resume();
}

async function authenticate(core: Sluice, request: FastifyRequest, dialect: Dialect): Promise<Principal> {
  const cached = (request as FastifyRequest & { cachedPrincipal?: Principal }).cachedPrincipal;
  if (cached) return cached;
  const principal = { ...(await core.authenticate(tokenOf(request, dialect.allowQueryToken))), dialect: dialect.name };
  (request as FastifyRequest & { cachedPrincipal?: Principal }).cachedPrincipal = principal;
  return principal;
}

function tokenOf(request: FastifyRequest, allowQueryToken: boolean): string | undefined {
  if (allowQueryToken) {
    const queryToken = (request.query as Record<string, unknown> | undefined)?.['token'];
    if (typeof queryToken === 'string' && queryToken !== '') return queryToken;
  }
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  return match?.[1]?.trim();
}

/**
 * A request URL fit for the log: a token passed in the query string (the Tinybird dialect allows
 * it) is blanked, its name read as the server reads it (`%74oken` is `token` too).
 */
function withoutSecrets(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) return url;
  const pairs = url.slice(query + 1).split('&').map((pair) => {
    const equals = pair.indexOf('=');
    const name = equals < 0 ? pair : pair.slice(0, equals);
    return decodedName(name).toLowerCase() === 'token' ? `${name}=[redacted]` : pair;
  });
  return `${url.slice(0, query + 1)}${pairs.join('&')}`;
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
}

/** The first run of %-escapes in a URL's query string whose bytes are not UTF-8 (`%FF`); undefined when there is none. */
function malformedQueryEscape(url: string): string | undefined {
  const query = url.indexOf('?');
  if (query < 0 || !url.includes('%', query)) return undefined;
  for (const [run] of url.slice(query + 1).matchAll(/(?:%[0-9A-Fa-f]{2})+/g)) {
    try {
      STRICT_UTF8.decode(Buffer.from(run.replaceAll('%', ''), 'hex'));
    } catch {
      return run;
    }
  }
  return undefined;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The longest path parameter routed: every legal name (MAX_NAME_LENGTH) with its quarantine's
 * suffix fits, so any table a dialect can create can be addressed. Fastify's own default is 100.
 */
const MAX_PATH_PARAM_LENGTH = MAX_NAME_LENGTH + QUARANTINE_SUFFIX.length;

function fromFrameworkError(error: FastifyError): SluiceError {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return new SluiceError('INVALID_NAME', `A name in the path is longer than ${MAX_PATH_PARAM_LENGTH} characters; names are at most ${MAX_NAME_LENGTH}`, { maxLength: MAX_NAME_LENGTH }, { cause: error });
  }
  if (error.code === 'FST_ERR_BAD_URL') return new SluiceError('INVALID_ARGUMENT', 'The URL is malformed (a bad %-escape in the path)', null, { cause: error });
  return fromHttpError(error);
}

/** Errors raised by Fastify itself (body too large, malformed multipart …) as coded errors. */
function fromHttpError(error: FastifyError | SluiceError): SluiceError {
  if (error instanceof SluiceError) return error;
  if (error.statusCode === 413 || error.code === 'FST_REQ_FILE_TOO_LARGE') {
    return new SluiceError('PAYLOAD_TOO_LARGE', 'The request body is too large', null, { cause: error });
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new SluiceError('INVALID_ARGUMENT', error.message, null, { cause: error });
  }
  return toSluiceError(error);
}
