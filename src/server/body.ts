import { PassThrough, Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { SluiceError } from '../core/errors.ts';
import { mapStreamErrors } from '../core/ingest/sources/map-stream-errors.ts';
import { openSource } from '../core/ingest/sources/open-source.ts';
import type { IngestSource } from '../core/ingest/sources/source.ts';

/**
 * Bodies that announce this many bytes or fewer are read whole as they arrive: they are already in
 * memory, in a packet or two, and handing them on as one buffer spares a small request (one event)
 * the cost of the stream machinery that larger bodies need.
 */
export const WHOLE_BODY_BYTES = 64 * 1024;

/**
 * The app's one body parser: a request body becomes a Buffer when its Content-Length is at most
 * `WHOLE_BODY_BYTES`, a stream otherwise (nothing buffers a large body whole). A handler gets a
 * stream of its own: when one stops reading early (a refused or failed import), the socket stays
 * open and the rest of the body is drained, so the client can read the answer.
 */
export function parseBody(request: FastifyRequest, payload: Readable, done: (error: Error | null, body?: unknown) => void, closing?: AbortSignal): void {
  const length = request.headers['content-length'];
  if (length === undefined || request.headers['transfer-encoding'] !== undefined || !(Number(length) <= WHOLE_BODY_BYTES)) {
    const body = new PassThrough();
    // `pipe` passes no failure on: a body whose client disconnects before its end must fail, or its
    // reader waits for the rest forever (holding its spool file). Its reader takes the error; the
    // listener only keeps one nobody reads (a request refused before its body) from ending the process.
    body.on('error', () => undefined);
    request.raw.once('close', () => {
      if (!request.raw.complete) body.destroy(new SluiceError('MALFORMED_BODY', 'The request body was cut off before its end: the client disconnected'));
    });
    done(null, payload.pipe(body));
    return;
  }
  const chunks: Buffer[] = [];
  let settled = false;
  const finish = (error: Error | null, body?: unknown): void => {
    if (settled) return;
    settled = true;
    closing?.removeEventListener('abort', cutOff);
    done(error, body);
  };
  // A small body still arriving when the server closes (a client that stalled) is cut off with the
  // closing's error, as a streamed one is, rather than hold up the close for as long as it stalls.
  const cutOff = (): void => {
    payload.removeAllListeners('data');
    payload.resume();
    finish(closing!.reason as Error);
  };
  closing?.addEventListener('abort', cutOff, { once: true });
  payload.on('data', (chunk: Buffer) => chunks.push(chunk));
  payload.on('end', () => finish(null, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
  payload.on('error', (error) => finish(error));
}

/** The request's media type (`application/json`), in lower case as media types compare, without its parameters; '' without one. */
export function mediaTypeOf(request: FastifyRequest): string {
  return String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * The request's body as `parseBody` gave it. A multipart body is left unread by its parser, for a
 * route that reads its parts (`multipartParts`); a route that reads the body itself gets its bytes
 * as they came, as it gets any other media type's, rather than no body at all.
 */
function bodyOf(request: FastifyRequest): Readable | Buffer | undefined {
  const body = request.body as Readable | Buffer | undefined;
  return body === undefined && request.isMultipart() ? request.raw : body;
}

/** The request body as a stream (see `parseBody`). */
export function bodyStream(request: FastifyRequest): Readable | undefined {
  const body = bodyOf(request);
  return Buffer.isBuffer(body) ? Readable.from([body], { objectMode: false }) : body;
}

/** The request body as the source of an ingest, with what its headers say about it; undefined without a body. */
export function bodySource(request: FastifyRequest): IngestSource | undefined {
  const body = bodyOf(request);
  if (body === undefined) return undefined;
  const contentLength = Number(request.headers['content-length']);
  const hints = {
    contentType: String(request.headers['content-type'] ?? ''),
    contentEncoding: String(request.headers['content-encoding'] ?? ''),
    ...(Number.isSafeInteger(contentLength) && { contentLength }),
  };
  return Buffer.isBuffer(body) ? { kind: 'bytes', bytes: body, hints } : { kind: 'stream', stream: body, hints };
}

/** The source of a request without a body: no bytes. */
export const EMPTY_BODY: IngestSource = { kind: 'bytes', bytes: Buffer.alloc(0) };

/**
 * The request body as the source of an ingest that needs at least one byte besides whitespace: an
 * absent or empty body, or one of only spaces, tabs, line breaks and a byte order mark (a JSON body
 * with no value, not even `[]`), fails with MALFORMED_BODY and `message` (a stream, once it ends so).
 */
export function nonEmptyBodySource(request: FastifyRequest, message: string): IngestSource {
  const source = bodySource(request);
  if (source === undefined || (source.kind === 'bytes' && !hasContent(source.bytes, 0))) throw new SluiceError('MALFORMED_BODY', message);
  if (source.kind !== 'stream') return source;
  const body = source.stream;
  // Read through a generator: the body's errors pass on, and ending the result early ends the body.
  async function* bytes() {
    let seen = false;
    let offset = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      seen ||= hasContent(chunk, offset);
      offset += chunk.length;
      yield chunk;
    }
    if (!seen) throw new SluiceError('MALFORMED_BODY', message);
  }
  return { ...source, stream: Readable.from(bytes(), { objectMode: false }) };
}

const BYTE_ORDER_MARK = [0xef, 0xbb, 0xbf];
const BLANK_BYTES = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** Whether `chunk`, found at `offset` in a body, holds a byte other than whitespace and the body's opening byte order mark. */
function hasContent(chunk: Buffer, offset: number): boolean {
  for (let index = 0; index < chunk.length; index += 1) {
    const byte = chunk[index]!;
    if (!BLANK_BYTES.has(byte) && !(offset + index < 3 && byte === BYTE_ORDER_MARK[offset + index])) return true;
  }
  return false;
}

/**
 * Small control bodies (a JSON document, a form) are read whole, up to a limit (counted before and
 * after decompression), gunzipped when gzip; another Content-Encoding is refused, as for ingested bodies.
 */
export async function readBody(request: FastifyRequest, limitBytes: number): Promise<Buffer> {
  const source = bodySource(request);
  if (!source) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of await openSource(source, { maxBytes: limitBytes })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A JSON body read whole (undefined when there is none), by `parse` (JSON.parse unless given). */
export async function readJsonBody(request: FastifyRequest, limitBytes = 1024 * 1024, parse: (text: string) => unknown = JSON.parse): Promise<unknown> {
  const text = (await readBody(request, limitBytes)).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return parse(text);
  } catch (error) {
    throw new SluiceError('MALFORMED_BODY', `The request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Reads an `application/x-www-form-urlencoded` body; other bodies give no parameters. */
export async function readFormBody(request: FastifyRequest, limitBytes = 1024 * 1024): Promise<URLSearchParams> {
  if (mediaTypeOf(request) !== 'application/x-www-form-urlencoded') return new URLSearchParams();
  return new URLSearchParams((await readBody(request, limitBytes)).toString('utf8'));
}

/** A part of a multipart request: a field, or a file whose stream fails with MALFORMED_BODY if the body is cut short. */
export type MultipartPart =
  | { type: 'field'; fieldname: string; value: unknown }
  | { type: 'file'; fieldname: string; filename: string; mimetype: string; file: Readable; skip(): void };

/**
 * The parts of a multipart request. A malformed or truncated body (no boundary, a part cut short)
 * fails with MALFORMED_BODY, a 400, where the multipart parser raises bare errors; a file too large
 * keeps its own 413.
 */
export async function* multipartParts(request: FastifyRequest): AsyncGenerator<MultipartPart> {
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') yield { type: 'field', fieldname: part.fieldname, value: part.value };
      else {
        const file = mapStreamErrors(part.file, malformedMultipart);
        // Past the size limit the parser drops the rest of the file, which then ends only with its
        // part (never, for a body that never ends): its reader hears of the limit at once instead.
        part.file.once('limit', () => file.emit('limit'));
        // Skipping reads the rest of the part and drops it (the stream it is piped through included).
        yield { type: 'file', fieldname: part.fieldname, filename: part.filename, mimetype: part.mimetype, file, skip: () => void file.resume() };
      }
    }
  } catch (error) {
    throw malformedMultipart(error as Error);
  }
}

function malformedMultipart(error: Error): Error {
  if (error instanceof SluiceError || (error as { statusCode?: number }).statusCode !== undefined) return error;
  return new SluiceError('MALFORMED_BODY', `The multipart body is malformed: ${error.message}`, null, { cause: error });
}
