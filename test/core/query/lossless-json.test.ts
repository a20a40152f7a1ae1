import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonNumber, parseJsonLosslessly, stringifyJsonLosslessly } from '../../../src/core/query/lossless-json.ts';

test('numbers keep their exact text through a parse and back', () => {
  const text = '{"a":18446744073709551615,"b":[-1.5e+300,0.1234567890123456789],"c":"x\\"y\\u0000","d":null,"e":true}';
  const value = parseJsonLosslessly(text);
  assert.deepEqual((value as Record<string, unknown>)['a'], new JsonNumber('18446744073709551615'));
  assert.equal(stringifyJsonLosslessly(value), text);
});

test('a "__proto__" key is an ordinary key', () => {
  const value = parseJsonLosslessly('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), null);
  assert.deepEqual(Object.keys(value), ['__proto__']);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('invalid JSON, including Infinity, is refused', () => {
  for (const text of ['{"a":Infinity}', '[1,]', '{"a":1', '"\u0001"', '01']) assert.throws(() => parseJsonLosslessly(text), SyntaxError, text);
});
