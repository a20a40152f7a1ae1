import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assignColumnNames, positionalColumnName, sanitizeColumnName } from '../../../../src/core/ingest/inference/index.ts';

describe('column names', () => {
  test('sanitizing keeps letters, digits and underscores and joins the rest with one underscore', () => {
    assert.equal(sanitizeColumnName('unit price ($)'), 'unit_price');
    assert.equal(sanitizeColumnName('_id'), '_id');
    assert.equal(sanitizeColumnName('Crème brûlée'), 'Creme_brulee');
    assert.equal(sanitizeColumnName('2024 total'), '_2024_total');
    assert.equal(sanitizeColumnName(' -- '), '');
  });

  test('names are unique ignoring case, and unusable ones fall back to their position', () => {
    assert.deepEqual(assignColumnNames(['id', 'ID', 'id_1', null, '!!']), ['id', 'ID_1', 'id_1_1', 'column_03', 'column_04']);
  });

  test('positional names have two digits, more past a hundred columns', () => {
    assert.equal(positionalColumnName(3, 10), 'column_03');
    assert.equal(positionalColumnName(99, 100), 'column_99');
    assert.equal(positionalColumnName(7, 101), 'column_007');
  });
});
