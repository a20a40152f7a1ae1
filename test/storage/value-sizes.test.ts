import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { hasVariableSize, measureRows } from '../../src/storage/duckdb/value-sizes.ts';

/** Measures the rows of one query's first chunk, as the query runner does. */
async function measure(sql: string, limit = Number.POSITIVE_INFINITY): Promise<number[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const result = await connection.stream(sql);
    const chunk = await result.fetchChunk();
    return [...measureRows(chunk!, result.columnTypes(), limit)];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

// A cell is 16 bytes; strings and blobs add their bytes.
test('a value of fixed size is one cell; a string adds its bytes, a NULL string none', async () => {
  assert.deepEqual(await measure("SELECT 1::BIGINT AS a, DATE '2024-01-01' AS b"), [32]);
  assert.deepEqual(await measure("SELECT x AS s FROM (VALUES ('ab'), (NULL), (repeat('x', 100))) t(x)"), [18, 16, 116]);
});

test('lists, structs, maps and arrays count every element, nested ones included', async () => {
  assert.deepEqual(await measure("SELECT ['ab', NULL, 'cdef'] AS l"), [16 + 18 + 16 + 20]);
  assert.deepEqual(await measure("SELECT {'a': repeat('x', 100), 'b': 1} AS s"), [16 + 116 + 16]);
  assert.deepEqual(await measure("SELECT MAP {'k': [1, 2, 3]} AS m"), [16 + (16 + 17 + (16 + 3 * 16))]);
  assert.deepEqual(await measure('SELECT [1, 2, 3]::INTEGER[3] AS a'), [16 + 3 * 16]);
  assert.deepEqual(await measure('SELECT [[1, 2], NULL, [3]] AS l'), [16 + (16 + 32) + 16 + (16 + 16)]);
  assert.deepEqual(await measure('SELECT x AS l FROM (VALUES ([1]), (NULL), ([1, 2, 3])) t(x)'), [32, 16, 64]);
});

test('a huge value is counted only a little past the limit', async () => {
  const [size] = await measure('SELECT [range(0, 10), range(0, 1000000), range(0, 1000000)] AS l', 1000);
  assert.ok(size! > 1000, `measured ${size}`);
  assert.ok(size! < 1000 + 16 * 1000000 + 64, `measured ${size}`);
});

test('only strings, blobs and nested types are worth measuring', async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const types = (await connection.run("SELECT 1 AS a, 'x' AS b, [1] AS c, now() AS d")).columnTypes();
  assert.deepEqual(types.map(hasVariableSize), [false, true, true, false]);
  connection.closeSync();
  instance.closeSync();
});
