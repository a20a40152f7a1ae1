import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { analyzeNdjson, type JsonAnalysis } from '../../../../src/core/ingest/inference/index.ts';
import { SluiceError } from '../../../../src/core/errors.ts';
import { printClickHouseType } from '../../../../src/core/types/index.ts';
import { useStorage } from './spool-fixture.ts';

const describeColumns = (analysis: JsonAnalysis): Array<[string, string, string]> =>
  analysis.columns.map(({ path, name, field }) => [path, name, printClickHouseType(field)]);

describe('analyzeNdjson', () => {
  const { storage, spool } = useStorage();
  const analyze = async (records: unknown[] | string, options: { sampleRows?: number } = {}) => {
    const content = typeof records === 'string' ? records : records.map((record) => JSON.stringify(record)).join('\n') + '\n';
    return analyzeNdjson(storage(), await spool(`f${Math.random().toString(36).slice(2)}.ndjson`, content), options);
  };

  test("reproduces the analyze example of Tinybird's documentation", async () => {
    const analysis = await analyze([
      { a_nested_array: { nested_array: [1, 2, 3] }, an_array: [1, 2, 3], field: 'test', nested: { nested_field: 'bla' } },
    ]);
    assert.deepEqual(
      analysis.columns.map(({ path, name, field, presentPct }) => ({ path, recommended_type: printClickHouseType(field), present_pct: presentPct, name })),
      [
        { path: '$.a_nested_array.nested_array[:]', recommended_type: 'Array(Int16)', present_pct: 3, name: 'a_nested_array_nested_array' },
        { path: '$.an_array[:]', recommended_type: 'Array(Int16)', present_pct: 3, name: 'an_array' },
        { path: '$.field', recommended_type: 'String', present_pct: 1, name: 'field' },
        { path: '$.nested.nested_field', recommended_type: 'String', present_pct: 1, name: 'nested_nested_field' },
      ],
    );
  });

  test('nested objects flatten into one column per leaf, named after the whole path', async () => {
    const analysis = await analyze([
      { user: { id: 7, address: { city: 'Paris', zip: '75001' } }, at: '2024-01-02T03:04:05Z' },
      { user: { id: 8, address: { city: 'Rome', zip: '00118' } }, at: '2024-01-03T03:04:05Z' },
    ]);
    assert.deepEqual(describeColumns(analysis), [
      ['$.user.id', 'user_id', 'Int16'],
      ['$.user.address.city', 'user_address_city', 'String'],
      ['$.user.address.zip', 'user_address_zip', 'String'],
      ['$.at', 'at', 'DateTime'],
    ]);
  });

  test('arrays of objects become one Array column per member, Nullable elements where a member is missing', async () => {
    const analysis = await analyze([{ items: [{ sku: 'a', qty: 1, tags: ['x', 'y'] }, { sku: 'b' }] }, { items: [{ sku: 'c', qty: 2 }] }]);
    assert.deepEqual(
      analysis.columns.map(({ path, name, field, presentPct }) => [path, name, printClickHouseType(field), presentPct]),
      [
        ['$.items[:].sku', 'items_sku', 'Array(String)', 1.5],
        ['$.items[:].qty', 'items_qty', 'Array(Nullable(Int16))', 1],
        // A JSONPath holds one [:] at most: a nested array is kept as its JSON text.
        ['$.items[:].tags', 'items_tags', 'Array(Nullable(String))', 0.5],
      ],
    );
  });

  test('arrays of arrays and arrays with nulls', async () => {
    const analysis = await analyze([{ matrix: [[1, 2], [3]], sparse: [1, null, 3], empty: [] }]);
    assert.deepEqual(describeColumns(analysis), [
      ['$.matrix[:]', 'matrix', 'Array(String)'],
      ['$.sparse[:]', 'sparse', 'Array(Nullable(Int16))'],
    ]);
  });

  test('keys that are not identifiers use bracket paths and sanitized names', async () => {
    const analysis = await analyze([{ 'a.b': 1, 'user-id': 'u1', "it's": true, nested: { 'x y': 2.5 } }]);
    assert.deepEqual(describeColumns(analysis), [
      ["$.['a.b']", 'a_b', 'Int16'],
      ["$.['user-id']", 'user_id', 'String'],
      ["$.['it\\'s']", 'it_s', 'Bool'],
      ["$.nested.['x y']", 'nested_x_y', 'Float64'],
    ]);
  });

  test('types seen across records widen: Int16 → Int32 → Int64 → Float64, Date → DateTime, mixed families → String', async () => {
    const analysis = await analyze([
      { small: 1, medium: 1, large: 1, ratio: 1, mixed: 1, day: '2024-01-02', moment: '2024-01-02', flag: true, odd_flag: true },
      { small: -5, medium: 40000, large: 3000000000, ratio: 1.5, mixed: 'one', day: '2024-02-29', moment: '2024-01-02 03:04:05.123', flag: false, odd_flag: 1 },
    ]);
    assert.deepEqual(describeColumns(analysis), [
      ['$.small', 'small', 'Int16'],
      ['$.medium', 'medium', 'Int32'],
      ['$.large', 'large', 'Int64'],
      ['$.ratio', 'ratio', 'Float64'],
      ['$.mixed', 'mixed', 'String'],
      ['$.day', 'day', 'Date'],
      ['$.moment', 'moment', 'DateTime64(3)'],
      ['$.flag', 'flag', 'Bool'],
      ['$.odd_flag', 'odd_flag', 'String'],
    ]);
  });

  test('strings that only look like dates stay String', async () => {
    const analysis = await analyze([{ a: '2024-02-30', b: '2024-01-02T25:00:00', c: '02/01/2024', d: '' }]);
    assert.deepEqual(describeColumns(analysis).map(([, , type]) => type), ['String', 'String', 'String', 'String']);
  });

  test('presentPct is the share of records holding a path; missing or null values make it Nullable', async () => {
    const analysis = await analyze([
      { always: 1, sometimes: 'x', nullish: null },
      { always: 2, nullish: 'y' },
      { always: 3, nullish: 'z' },
      { always: 4, nullish: 'w' },
    ]);
    assert.deepEqual(
      analysis.columns.map(({ path, field, presentPct }) => [path, printClickHouseType(field), presentPct]),
      [
        ['$.always', 'Int16', 1],
        ['$.sometimes', 'Nullable(String)', 0.25],
        ['$.nullish', 'Nullable(String)', 1],
      ],
    );
  });

  test('a path only ever null where other records hold an object is not a column of its own', async () => {
    const analysis = await analyze([{ meta: null }, { meta: { source: 'web' } }]);
    assert.deepEqual(describeColumns(analysis), [['$.meta.source', 'meta_source', 'Nullable(String)']]);
  });

  test('sampleRows bounds the records analyzed; lines that are not JSON objects are skipped', async () => {
    const content = '{"a":1}\nnot json\n[1,2]\n{"a":2}\n{"a":3,"late":true}\n';
    assert.deepEqual(describeColumns(await analyze(content, { sampleRows: 3 })), [['$.a', 'a', 'Int16']]);
    const all = await analyze(content);
    assert.deepEqual(all.columns.map(({ path, presentPct }) => [path, presentPct]), [['$.a', 1], ['$.late', 0.33]]);
  });

  test('a byte order mark before the first record and CRLF line ends are read through, as ingestion reads them', async () => {
    const analysis = await analyze('\ufeff{"id":1,"tags":["a"]}\r\n{"id":2}\r\n');
    assert.deepEqual(analysis.columns.map(({ path, presentPct }) => [path, presentPct]), [['$.id', 1], ['$.tags[:]', 0.5]]);
  });

  test('a gzipped file named .ndjson.gz is read through', async () => {
    const path = await spool('zipped.ndjson.gz', gzipSync('{"id":1}\n{"id":2}\n'));
    assert.deepEqual(describeColumns(await analyzeNdjson(storage(), path)), [['$.id', 'id', 'Int16']]);
  });

  test('a file without any JSON object is a malformed body', async () => {
    await assert.rejects(analyze('id,name\n1,ann\n'), (error: unknown) => error instanceof SluiceError && error.code === 'MALFORMED_BODY');
  });
});
