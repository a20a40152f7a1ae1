import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { SluiceError } from '../core/errors.ts';

/**
 * Request bodies reach handlers as streams (the app registers no buffering parsers). Small
 * control bodies (a JSON document, a form) are read whole here, up to a limit.
 */
export function bodyStream(request: FastifyRequest): Readable | undefined {
  return request.body as Readable | undefined;
}

export async function readBody(request: FastifyRequest, limitBytes: number): Promise<Buffer> {
  const stream = bodyStream(request);
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) {
      stream.destroy();
      throw new SluiceError('PAYLOAD_TOO_LARGE', `The request body is larger than ${limitBytes} bytes`, { limitBytes });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJsonBody(request: FastifyRequest, limitBytes = 1024 * 1024): Promise<unknown> {
  const text = (await readBody(request, limitBytes)).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SluiceError('MALFORMED_BODY', `The request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Reads an `application/x-www-form-urlencoded` body; other bodies give no parameters. */
export async function readFormBody(request: FastifyRequest, limitBytes = 1024 * 1024): Promise<URLSearchParams> {
  const contentType = String(request.headers['content-type'] ?? '');
  if (!contentType.startsWith('application/x-www-form-urlencoded')) return new URLSearchParams();
  return new URLSearchParams((await readBody(request, limitBytes)).toString('utf8'));
}
