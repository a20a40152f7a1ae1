import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../src/core/ids.ts';

test('ids are 21 characters of [0-9a-z], all different, every character about equally likely', () => {
  const ids = Array.from({ length: 20_000 }, () => newId());
  assert.ok(ids.every((id) => /^[0-9a-z]{21}$/.test(id)));
  assert.equal(new Set(ids).size, ids.length);
  const counts = new Map<string, number>();
  for (const id of ids) for (const char of id) counts.set(char, (counts.get(char) ?? 0) + 1);
  assert.equal(counts.size, 36);
  // 420,000 characters: about 11,667 each; a biased draw (say byte % 36 over all 256 values) is off by 10% or more.
  const expected = (ids.length * 21) / 36;
  for (const [char, count] of counts) assert.ok(Math.abs(count - expected) < expected * 0.05, `${char}: ${count} of about ${Math.round(expected)}`);
  assert.equal(newId(8).length, 8);
});
