import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { coerceColumn, type CoercionOptions } from '../../../src/core/ingest/coercion.ts';
import type { DataType } from '../../../src/core/types/data-type.ts';
import { convertValues } from '../../helpers/convert-values.ts';
import { TestCore } from '../../helpers/test-server.ts';

let harness: TestCore;
before(async () => {
  harness = await TestCore.open();
});
after(() => harness.close());

const INT: DataType = { kind: 'int', bits: 32, signed: true };
const TEXT: DataType = { kind: 'string' };
const listOf = (element: DataType, elementNullable = true, size?: number): DataType => ({ kind: 'list', element, elementNullable, ...(size ? { size } : {}) });

const convert = (type: DataType, texts: Array<string | null>, options: CoercionOptions = {}) => convertValues(harness, type, texts, options);

test('a list with an element that does not convert is invalid, in JSON and in DuckDB syntax, instead of holding a NULL', async () => {
  const results = await convert(listOf(INT), ['[1, 2, 3]', '[1, "x", 3]', '[1, x, 3]', '[1, null]', '[1, NULL]', '[]', '["7", " 8 "]']);
  assert.deepEqual(results.slice(0, 1), ['[1,2,3]']);
  assert.match(results[1]!, /^invalid: column "c": value "\[1, "x", 3\]" is not a valid list/);
  assert.match(results[2]!, /^invalid: .*\[1, x, 3\]/);
  assert.deepEqual(results.slice(3), ['[1,null]', '[1,null]', '[]', '[7,8]']);
});

test('a null element of a list whose elements are not nullable is invalid', async () => {
  const results = await convert(listOf(INT, false), ['[1, null]', '[1, NULL]', '[1, 2]']);
  assert.match(results[0]!, /^invalid/);
  assert.match(results[1]!, /^invalid/);
  assert.equal(results[2], '[1,2]');
});

test('lists of lists are checked at every depth', async () => {
  const results = await convert(listOf(listOf(INT)), ['[[1, 2], [3]]', '[[1, "y"], [2]]', '[[1, 2], [3, y]]', '[[1], null]', '[[1], 5]']);
  assert.equal(results[0], '[[1,2],[3]]');
  assert.match(results[1]!, /^invalid/);
  assert.match(results[2]!, /^invalid/);
  assert.equal(results[3], '[[1],null]');
  assert.match(results[4]!, /^invalid/, 'a number where a list belongs is no list');
});

test('a fixed-size list of another length is invalid', async () => {
  const results = await convert(listOf(INT, true, 2), ['[1, 2]', '[1, 2, 3]', '[1]']);
  assert.deepEqual(results.map((result) => result?.startsWith('invalid') ? 'invalid' : result), ['[1,2]', 'invalid', 'invalid']);
});

test('a struct field that does not convert, a missing field that may not be null, or a scalar for a struct is invalid', async () => {
  const type: DataType = { kind: 'struct', fields: [{ name: 'a', type: INT, nullable: true }, { name: 'b/c', type: TEXT, nullable: false }] };
  const results = await convert(type, ['{"a": 1, "b/c": "x"}', '{"a": "q", "b/c": "x"}', '{"a": 1}', '{"b/c": "x", "extra": 1}', '5', "{a: 1, 'b/c': x}", "{a: q, 'b/c': x}"]);
  assert.equal(results[0], '{"a":1,"b/c":"x"}');
  assert.match(results[1]!, /^invalid/);
  assert.match(results[2]!, /^invalid/);
  assert.equal(results[3], '{"a":null,"b/c":"x"}');
  assert.match(results[4]!, /^invalid/);
  assert.equal(results[5], '{"a":1,"b/c":"x"}');
  assert.match(results[6]!, /^invalid/);
});

test('a map with a value or a key that does not convert, or a key twice, is invalid instead of failing the whole batch', async () => {
  const type: DataType = { kind: 'map', key: INT, value: INT, valueNullable: true };
  const results = await convert(type, ['{"1": 10, "2": null}', '{"1": "x"}', '{"x": 1}', '{"1": 1, "01": 2}', '{1=10, 2=20}', '{1=x}', '[1]']);
  assert.equal(results[0], '{"1":10,"2":null}');
  assert.match(results[1]!, /^invalid/);
  assert.match(results[2]!, /^invalid/);
  assert.match(results[3]!, /^invalid/, 'two keys that convert to the same key');
  assert.equal(results[4], '{"1":10,"2":20}');
  assert.match(results[5]!, /^invalid/);
  assert.match(results[6]!, /^invalid/);
});

test('elements convert by the same rules as columns of their type', async () => {
  const timestamps = await convert(listOf({ kind: 'timestamp', unit: 'us' }), ['["2024-01-02T03:04:05+02:00", 1700000000]']);
  assert.equal(timestamps[0], '["2024-01-02 01:04:05","2023-11-14 22:13:20"]');
  const truncated = await convert(listOf(INT), ['[1.9, "-2.5"]'], { integerFractions: 'truncate' });
  assert.equal(truncated[0], '[1,-2]');
  const json = await convert(listOf({ kind: 'json' }), ['[{"a": 1}, "s", null]']);
  assert.equal(json[0], '[{"a":1},"s",null]');
});

test('a missing nested value is not invalid in a nullable column', async () => {
  assert.deepEqual(await convert(listOf(INT), [null]), [null]);
});

test("with ClickHouse's literals, as its text formats write nested values: quoted strings with backslash escapes or doubled quotes, NULL, maps with colons, at any depth", async () => {
  const clickhouse: CoercionOptions = { nestedLiterals: 'clickhouse' };
  const texts = await convert(listOf(TEXT), [String.raw`['it\'s','back\\slash','two\nlines','tab\there','q"d','NULL']`, String.raw`['open]`, '[a, b]', '["json"]'], clickhouse);
  assert.deepEqual(texts.slice(0, 1), [JSON.stringify(["it's", 'back\\slash', 'two\nlines', 'tab\there', 'q"d', 'NULL'])]);
  assert.match(texts[1]!, /^invalid/, 'a string left open');
  assert.deepEqual(texts.slice(2), ['["a","b"]', '["json"]']);
  const numbers = await convert(listOf(INT), ['[1,NULL,-3]', "['1','x']"], clickhouse);
  assert.equal(numbers[0], '[1,null,-3]');
  assert.match(numbers[1]!, /^invalid/);
  const unsigned: DataType = { kind: 'map', key: TEXT, value: { kind: 'int', bits: 64, signed: false }, valueNullable: true };
  const maps = await convert(unsigned, ["{'a':18446744073709551615,'b':NULL}", '{a=1}', "{'a':-1}"], clickhouse);
  assert.deepEqual(maps.slice(0, 2), ['{"a":18446744073709551615,"b":null}', '{"a":1}']);
  assert.match(maps[2]!, /^invalid/);
  const nested: DataType = { kind: 'map', key: INT, value: listOf(TEXT), valueNullable: true };
  assert.deepEqual(await convert(nested, ["{1:['x'],2:[]}"], clickhouse), ['{"1":["x"],"2":[]}']);
  // A quote inside a string may also be doubled, as SQL writes it.
  assert.deepEqual(await convert(listOf(TEXT), ["['it''s','''','',' '' ']"], clickhouse), [JSON.stringify(["it's", "'", '', " ' "])]);
});

test("a type's conversion SQL grows with the type, not with the product of its parts: structs six deep, and ten structs of ten fields, convert and are checked at every depth", async () => {
  const struct = (fields: Array<[string, DataType]>, nullable = true): DataType => ({ kind: 'struct', fields: fields.map(([name, type]) => ({ name, type, nullable })) });
  let deep: DataType = INT;
  for (const name of ['f', 'e', 'd', 'c', 'b', 'a']) deep = struct([[name, deep], ['n', INT]], false);
  const wide = struct(Array.from({ length: 10 }, (_, outer) => [`g${outer}`, struct(Array.from({ length: 10 }, (_, inner) => [`f${inner}`, INT]))]));
  const row = JSON.stringify(Object.fromEntries(Array.from({ length: 10 }, (_, outer) => [`g${outer}`, Object.fromEntries(Array.from({ length: 10 }, (_, inner) => [`f${inner}`, outer * 10 + inner]))])));
  // The SQL checking a value names each part once per level (600 KB for ten structs of ten fields, 13 MB when pasted in whole).
  for (const [type, limit] of [[deep, 100_000], [wide, 1_000_000]] as const) {
    const { value, error } = coerceColumn({ name: 'c', type, nullable: true }, 'text', () => 'the type', { structMembers: { fieldNames: 'caseInsensitive', unknownMembers: 'refuse' } });
    assert.ok(value.length + error.length < limit, `${value.length + error.length} characters of SQL`);
  }
  const nested = (leaf: unknown) => JSON.stringify({ a: { b: { c: { d: { e: { f: leaf, n: 5 }, n: 4 }, n: 3 }, n: 2 }, n: 1 }, n: 0 });
  const [ok, bad, missing] = await convert(deep, [nested(6), nested('x'), JSON.stringify({ a: { b: { c: { d: { e: { n: 5 }, n: 4 }, n: 3 }, n: 2 }, n: 1 }, n: 0 })]);
  assert.equal(ok, nested(6).replaceAll(' ', ''));
  assert.match(bad!, /^invalid: column "c": value .* is not a valid/);
  assert.match(missing!, /^invalid/);
  const [whole, spoilt] = await convert(wide, [row, row.replace('"f7":37', '"f7":"x"')]);
  assert.deepEqual(JSON.parse(whole!), JSON.parse(row));
  assert.match(spoilt!, /^invalid/);
});
