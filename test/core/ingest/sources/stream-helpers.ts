import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { SluiceError, type ErrorCode } from '../../../../src/core/errors.ts';

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An `assert.rejects` validator: a SluiceError with this code (and message). */
export function isSluiceError(code: ErrorCode, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof SluiceError, `expected a SluiceError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  };
}
