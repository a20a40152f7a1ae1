import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitFormat } from '../../../src/dialects/tinybird/routes/sql.ts';

test('a trailing FORMAT clause is split off, whatever the spaces and a final semicolon; JSON without one', () => {
  assert.deepEqual(splitFormat('SELECT 1 FORMAT CSV'), { sql: 'SELECT 1', format: 'csv' });
  assert.deepEqual(splitFormat('  SELECT 1\n\tFORMAT   jsoneachrow ;  \n'), { sql: '  SELECT 1', format: 'ndjson' });
  assert.deepEqual(splitFormat('SELECT 1;'), { sql: 'SELECT 1', format: 'json' });
  assert.deepEqual(splitFormat("SELECT 'ends with FORMAT CSV'"), { sql: "SELECT 'ends with FORMAT CSV'", format: 'json' });
  assert.throws(() => splitFormat('SELECT 1 FORMAT Avro'), /Unknown format "Avro"/);
});

test('a FORMAT clause in a comment is not one, and a comment may follow the clause', () => {
  assert.deepEqual(splitFormat('SELECT 1 AS x -- FORMAT CSV'), { sql: 'SELECT 1 AS x', format: 'json' });
  assert.deepEqual(splitFormat('SELECT 1 AS x # FORMAT CSV'), { sql: 'SELECT 1 AS x', format: 'json' });
  assert.deepEqual(splitFormat('SELECT 1 AS x /* FORMAT CSV */'), { sql: 'SELECT 1 AS x', format: 'json' });
  assert.deepEqual(splitFormat('SELECT 1 AS x FORMAT CSV -- as a file\n'), { sql: 'SELECT 1 AS x', format: 'csv' });
  assert.deepEqual(splitFormat('SELECT 1 AS x FORMAT /* the */ TSV;'), { sql: 'SELECT 1 AS x', format: 'tsv' });
});

test('a query padded with a long run of spaces is split like any other', () => {
  const padded = `${' '.repeat(200_000)}SELECT 1${' '.repeat(200_000)}FORMAT TSV${' '.repeat(200_000)}`;
  const { sql, format } = splitFormat(padded);
  assert.equal(format, 'tsv');
  assert.equal(sql.trim(), 'SELECT 1');
});

test('a SETTINGS clause may follow the FORMAT clause, as ClickHouse allows, and stays with the query', () => {
  assert.deepEqual(splitFormat('SELECT 1 FORMAT CSV SETTINGS max_threads = 1'), { sql: 'SELECT 1 SETTINGS max_threads = 1', format: 'csv' });
  assert.deepEqual(splitFormat('SELECT 1 SETTINGS max_threads = 1 FORMAT CSV;'), { sql: 'SELECT 1 SETTINGS max_threads = 1', format: 'csv' });
  assert.throws(() => splitFormat('SELECT 1 FORMAT Avro SETTINGS max_threads = 1'), /Unknown format "Avro"/);
});
