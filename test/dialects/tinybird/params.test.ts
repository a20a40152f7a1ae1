import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { Params } from '../../../src/dialects/tinybird/params.ts';

const ofTarget = (url: string) => Params.ofQuery({ url } as FastifyRequest);

test('query parameters are read as URL parsing reads them: escapes, plus signs, repeats, empties and fragments', () => {
  const targets = ['/v0/events?name=a%20b&wait=true&x=1+2&scope=A&scope=B&empty=#frag=1', '/v0/events', '/v0/events?', '/v0/sql?q=SELECT%20%3F%23&token=t%C3%A9'];
  for (const target of targets) {
    const expected = new URL(target, 'http://localhost').searchParams;
    const params = ofTarget(target);
    for (const name of new Set([...expected.keys(), 'missing'])) {
      assert.deepEqual(params.all(name), expected.getAll(name).filter((value) => value !== ''), `${target}: ${name}`);
    }
  }
  const params = ofTarget('/v0/events?name=a%20b&wait=true&x=1+2#name=other');
  assert.deepEqual([params.get('name'), params.flag('wait', false), params.get('x')], ['a b', true, '1 2']);
});
