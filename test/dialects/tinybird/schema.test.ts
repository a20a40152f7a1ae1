import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSchema, printSchema } from '../../../src/dialects/tinybird/schema.ts';

test('a DEFAULT expression ends at the comma outside its brackets, braces and quotes, or at CODEC', () => {
  const columns = parseSchema(
    "a Array(Int32) DEFAULT [1, 2], m Map(String, Int32) DEFAULT map('k,1', 1), s String DEFAULT concat('x', ',') CODEC(ZSTD(1)), n Int64 DEFAULT 0 CODEC(Delta, ZSTD(1)), t String",
  );
  assert.deepEqual(columns.map((column) => [column.name, column.defaultExpression]), [
    ['a', '[1, 2]'], ['m', "map('k,1', 1)"], ['s', "concat('x', ',')"], ['n', '0'], ['t', undefined],
  ]);
  assert.equal(printSchema(columns), "a Array(Int32) DEFAULT [1, 2], m Map(String, Int32) DEFAULT map('k,1', 1), s String DEFAULT concat('x', ','), n Int64 DEFAULT 0, t String");
});

test('a word that merely ends in CODEC does not end a DEFAULT', () => {
  const [column] = parseSchema('s String DEFAULT notacodec(1)');
  assert.equal(column!.defaultExpression, 'notacodec(1)');
});
