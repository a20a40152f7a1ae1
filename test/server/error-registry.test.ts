import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { ERROR_CODES, SluiceError, type ErrorCode } from '../../src/core/errors.ts';
import { DIALECTS } from '../../src/dialects/index.ts';

const request = { url: '/', headers: {} } as FastifyRequest;

for (const dialect of DIALECTS) {
  test(`the ${dialect.name} dialect renders every coded error with a client or server status and a message`, () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const error = new SluiceError(code, `message for ${code}`, { table: 't' });
      const rendered = dialect.renderError(error, request);
      assert.ok(rendered.status >= 400 && rendered.status < 600, `${code} → ${rendered.status}`);
      assert.equal(rendered.status >= 500, ERROR_CODES[code].status >= 500, `${code} keeps its class of status`);
      const text = typeof rendered.body === 'string' ? rendered.body : JSON.stringify(rendered.body);
      assert.ok(text.length > 0, `${code} has a body`);
    }
  });
}

test('every error code has a 4xx or 5xx status and retryable codes are the transient ones', () => {
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    assert.ok(spec.status >= 400 && spec.status < 600, code);
    if (spec.retryable) assert.ok([409, 429, 500, 503].includes(spec.status), `${code} is retryable with ${spec.status}`);
  }
});
