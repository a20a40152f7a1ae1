import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoercionOptions } from '../../../src/core/ingest/coercion.ts';
import type { DataType } from '../../../src/core/types/data-type.ts';
import { convertValues } from '../../helpers/convert-values.ts';
import { TestCore } from '../../helpers/test-server.ts';

let harness: TestCore;
before(async () => {
  harness = await TestCore.open();
});
after(() => harness.close());

const convert = (type: DataType, texts: Array<string | null>, options: CoercionOptions = {}) => convertValues(harness, type, texts, options);
const invalid = (results: Array<string | null>) => results.map((result) => result?.startsWith('invalid: ') ?? false);

test('a date is a date or the day of a timestamp text; a bare number is invalid rather than read as epoch seconds', async () => {
  const results = await convert({ kind: 'date' }, ['2024-05-01', ' 2024-05-01 ', '2024-05-01T23:30:00Z', '2024-05-01 10:00:00', '20240501', '19000', '1714557600', '-5']);
  assert.deepEqual(results.slice(0, 4), ['"2024-05-01"', '"2024-05-01"', '"2024-05-01"', '"2024-05-01"']);
  assert.deepEqual(invalid(results.slice(4)), [true, true, true, true]);
});

test('a number too large for a float column is invalid rather than infinity; inf itself is infinity', async () => {
  const results = await convert({ kind: 'float', bits: 32 }, ['1e40', '-1e40', '3.4e38', 'inf', '-Infinity', '1.5']);
  assert.deepEqual(invalid(results), [true, true, false, false, false, false]);
  assert.deepEqual(await convert({ kind: 'float', bits: 64 }, ['1e400', '1e300']).then(invalid), [true, false]);
});

test('integerFractions: refuse takes only whole numbers for an integer column; round and truncate read fractions', async () => {
  const int: DataType = { kind: 'int', bits: 32, signed: true };
  const texts = ['7', ' -7 ', '+7', '2.5', '2.0', '1e2', '99999999999'];
  assert.deepEqual(invalid(await convert(int, texts, { integerFractions: 'refuse' })), [false, false, false, true, true, true, true]);
  assert.deepEqual(await convert(int, ['2.5', '2.7'], { integerFractions: 'truncate' }), ['2', '2']);
  assert.deepEqual(await convert(int, ['2.5', '2.7']), ['3', '3']);
});
