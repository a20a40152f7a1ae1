import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoercionOptions } from '../../../src/core/ingest/coercion.ts';
import type { DataType } from '../../../src/core/types/data-type.ts';
import { toDuckDBType } from '../../../src/core/types/duckdb-types.ts';
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

test('a number too large for a float column (of 16, 32 or 64 bits) is invalid rather than infinity; inf itself is infinity', async () => {
  const results = await convert({ kind: 'float', bits: 32 }, ['1e40', '-1e40', '3.4e38', 'inf', '-Infinity', '1.5']);
  assert.deepEqual(invalid(results), [true, true, false, false, false, false]);
  assert.deepEqual(await convert({ kind: 'float', bits: 64 }, ['1e400', '1e300']).then(invalid), [true, false]);
  const half = await convert({ kind: 'float', bits: 16 }, ['70000', '-65505', '65504', '-1.5', 'inf']);
  assert.deepEqual(invalid(half), [true, true, false, false, false], 'a half-precision float holds up to 65504');
});

test('integerFractions: refuse takes only whole numbers for an integer column; round and truncate read fractions', async () => {
  const int: DataType = { kind: 'int', bits: 32, signed: true };
  const texts = ['7', ' -7 ', '+7', '007', '-0', '2.5', '2.0', '1e2', '0x1F', '0b11', '1_000', '1.', '.5', '99999999999'];
  const refused = await convert(int, texts, { integerFractions: 'refuse' });
  assert.deepEqual(refused.slice(0, 5), ['7', '-7', '7', '7', '0']);
  assert.deepEqual(invalid(refused.slice(5)), texts.slice(5).map(() => true));
  assert.deepEqual(await convert(int, ['2.5', '2.7'], { integerFractions: 'truncate' }), ['2', '2']);
  assert.deepEqual(await convert(int, ['2.5', '2.7']), ['3', '3']);
});

test('integerFractions: refuse gives what its rule says (digits with a sign, spaces around, in range) for texts of every shape', async () => {
  const pieces = ['', ' ', '+', '-', '0', '7', '42', '.', '5', 'e', '1', 'x', '_', 'b', '\u00a0', '٣', '9999999999'];
  const texts: string[] = [];
  for (const a of pieces) for (const b of pieces) for (const c of pieces.slice(0, 8)) texts.push(a + b + c);
  for (const type of [{ kind: 'int', bits: 8, signed: true }, { kind: 'int', bits: 64, signed: true }, { kind: 'int', bits: 64, signed: false }] as DataType[]) {
    const results = await convert(type, texts, { integerFractions: 'refuse' });
    const rule = await harness.core.storage.query(
      `SELECT CASE WHEN regexp_full_match(trim(v), '[+-]?[0-9]+') THEN CAST(TRY_CAST(trim(v) AS ${toDuckDBType(type)}) AS VARCHAR) END AS value
       FROM (SELECT unnest(texts) AS v, generate_subscripts(texts, 1) AS n FROM (SELECT CAST($1::JSON AS VARCHAR[]) AS texts)) ORDER BY n`,
      [JSON.stringify(texts)],
    );
    const expected = rule.map((row) => row['value'] as string | null);
    // A valid value's JSON is its digits; a missing or invalid one has none, as the rule gives NULL.
    const actual = results.map((result) => (result === null || result.startsWith('invalid: ') ? null : result));
    const differing = texts.filter((_, index) => expected[index] !== actual[index]);
    assert.deepEqual(differing, [], `${JSON.stringify(type)}: the fast path and the rule disagree`);
  }
});
