import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { inferCsv, type CsvInference } from '../../../../src/core/ingest/inference/index.ts';
import { SluiceError } from '../../../../src/core/errors.ts';
import { printClickHouseType } from '../../../../src/core/types/index.ts';
import { useStorage } from './spool-fixture.ts';

const typesOf = (inference: CsvInference): Array<[string, string]> =>
  inference.columns.map(({ name, field }) => [name, printClickHouseType(field)]);

describe('inferCsv', () => {
  const { storage, spool } = useStorage();
  const infer = async (content: string, options: Parameters<typeof inferCsv>[2] = {}) =>
    inferCsv(storage(), await spool(`f${Math.random().toString(36).slice(2)}.csv`, content), options);

  test('detects a header row and names the columns after it', async () => {
    const inference = await infer('id,name,price\n1,ann,1.5\n2,bob,2.5\n');
    assert.equal(inference.dialect.hasHeader, true);
    assert.deepEqual(typesOf(inference), [['id', 'Int32'], ['name', 'String'], ['price', 'Float64']]);
    assert.deepEqual(inference.columns.map((column) => column.sourceName), ['id', 'name', 'price']);
  });

  test('detects a missing header and names the columns column_00, column_01, …', async () => {
    const inference = await infer('1,ann,1.5\n2,bob,2.5\n');
    assert.equal(inference.dialect.hasHeader, false);
    assert.deepEqual(typesOf(inference), [['column_00', 'Int32'], ['column_01', 'String'], ['column_02', 'Float64']]);
    assert.deepEqual(inference.columns.map((column) => column.sourceName), [null, null, null]);
  });

  test('header: false reads the first row as data, header: true names columns after it', async () => {
    const withoutHeader = await infer('id,name\n1,ann\n2,bob\n', { header: false });
    assert.equal(withoutHeader.dialect.hasHeader, false);
    assert.deepEqual(typesOf(withoutHeader), [['column_00', 'String'], ['column_01', 'String']]);

    const withHeader = await infer('1,2\n3,4\n5,6\n', { header: true });
    assert.equal(withHeader.dialect.hasHeader, true);
    assert.deepEqual(typesOf(withHeader), [['_1', 'Int32'], ['_2', 'Int32']]);
    assert.deepEqual(withHeader.columns.map((column) => column.sourceName), ['1', '2']);
  });

  for (const [label, delimiter] of [['semicolon', ';'], ['tab', '\t'], ['pipe', '|']] as const) {
    test(`detects the ${label} delimiter`, async () => {
      const rows = [['id', 'city', 'score'], ['1', 'Paris', '0.5'], ['2', 'Rome', '1.25']];
      const inference = await infer(rows.map((row) => row.join(delimiter)).join('\n') + '\n');
      assert.equal(inference.dialect.delimiter, delimiter);
      assert.deepEqual(typesOf(inference), [['id', 'Int32'], ['city', 'String'], ['score', 'Float64']]);
    });
  }

  test("a line longer than DuckDB's default line size, within the ingest's line limit, is inferred like the others", async () => {
    const inference = await infer(`id,note\n1,${'x'.repeat(3 * 1024 * 1024)}\n2,short\n`);
    assert.equal(inference.dialect.hasHeader, true);
    assert.deepEqual(typesOf(inference), [['id', 'Int32'], ['note', 'String']]);
  });

  test('an explicit delimiter overrides the sniffer', async () => {
    const inference = await infer('a;b,c\n1;x,y\n3;z,w\n', { delimiter: ';' });
    assert.equal(inference.dialect.delimiter, ';');
    assert.deepEqual(typesOf(inference), [['a', 'Int32'], ['b_c', 'String']]);
  });

  test('quoted fields keep embedded delimiters, newlines and doubled quotes inside one value', async () => {
    const inference = await infer('id,note\n1,"a, b"\n2,"line one\nline two"\n3,"say ""hi"""\n4,plain\n');
    assert.deepEqual(typesOf(inference), [['id', 'Int32'], ['note', 'String']]);
    assert.equal(inference.dialect.quote, '"');
    assert.equal(inference.dialect.escape, null);
  });

  test('an explicit backslash escape is used and reported', async () => {
    const inference = await infer('id,note\n1,"say \\"hi\\""\n2,"x"\n', { escape: '\\' });
    assert.equal(inference.dialect.escape, '\\');
    assert.deepEqual(typesOf(inference), [['id', 'Int32'], ['note', 'String']]);
  });

  test('detects CRLF line endings', async () => {
    const inference = await infer('id,name\r\n1,ann\r\n2,bob\r\n');
    assert.equal(inference.dialect.newline, '\r\n');
    assert.deepEqual(typesOf(inference), [['id', 'Int32'], ['name', 'String']]);
    const explicit = await infer('id,name\r\n1,ann\r\n2,bob\r\n', { newline: '\n' });
    assert.equal(explicit.dialect.newline, '\r\n');
  });

  test('guesses ints, floats, dates, datetimes and strings, Nullable where a value is empty or missing', async () => {
    const inference = await infer(
      [
        'count,ratio,day,at,at_ms,label,maybe_count,maybe_label,tail',
        '1,0.5,2024-01-02,2024-01-02 03:04:05,2024-01-02T03:04:05.123,ann,7,x,1',
        '2,1e3,2024-02-29,2024-01-02T03:04:06,2024-01-02T03:04:06.000,bob,,,2',
        '3,-2,2024-12-31,2024-01-02 03:04:07,2024-01-02 03:04:07.5,cid,9,"",',
        '4,3.25,2025-01-01,2024-01-02 03:04:08,2024-01-02 03:04:08,dan,10,z',
      ].join('\n') + '\n',
    );
    assert.deepEqual(typesOf(inference), [
      ['count', 'Int32'],
      ['ratio', 'Float64'],
      ['day', 'Date'],
      ['at', 'DateTime'],
      ['at_ms', 'DateTime64(3)'],
      ['label', 'String'],
      ['maybe_count', 'Nullable(Int32)'],
      ['maybe_label', 'Nullable(String)'],
      ['tail', 'Nullable(Int32)'],
    ]);
  });

  test('integers beyond Int32 are Int64, beyond Int64 String (no digits lost to a float)', async () => {
    const inference = await infer('small,big,huge\n1,3000000000,99999999999999999999\n2,-3000000000,1\n');
    assert.deepEqual(typesOf(inference), [['small', 'Int32'], ['big', 'Int64'], ['huge', 'String']]);
  });

  test('booleans, times of day and non-ISO dates stay String', async () => {
    const inference = await infer('flag,clock,day\ntrue,12:30:00,02/01/2024\nfalse,13:45:00,03/01/2024\n');
    assert.deepEqual(typesOf(inference), [['flag', 'String'], ['clock', 'String'], ['day', 'String']]);
  });

  test('dates and times with a short year (15-02-24, which DuckDB reads as the year 15) stay String', async () => {
    const inference = await infer('day,moment\n03-02-24,03-02-24 10:00:05\n15-02-24,15-02-24 11:30:00\n');
    assert.deepEqual(typesOf(inference), [['day', 'String'], ['moment', 'String']]);
  });

  test('typeGuessing: false makes every column a non-nullable String', async () => {
    const inference = await infer('id,price,day\n1,1.5,2024-01-02\n2,,2024-01-03\n', { typeGuessing: false });
    assert.equal(inference.dialect.hasHeader, true);
    assert.deepEqual(typesOf(inference), [['id', 'String'], ['price', 'String'], ['day', 'String']]);
  });

  test('header names become unique identifiers, keeping the original as sourceName', async () => {
    const inference = await infer('user id,User Id,,1st,café,price ($)\n1,2,3,4,5,6\n7,8,9,10,11,12\n');
    assert.deepEqual(inference.columns.map((column) => [column.name, column.sourceName]), [
      ['user_id', 'user id'],
      ['User_Id_1', 'User Id'],
      ['column_02', ''],
      ['_1st', '1st'],
      ['cafe', 'café'],
      ['price', 'price ($)'],
    ]);
  });

  test('positional names widen past a hundred columns', async () => {
    const row = (value: number) => Array.from({ length: 101 }, (_, index) => index + value).join(',');
    const inference = await infer(`${row(0)}\n${row(1)}\n`);
    assert.equal(inference.columns.length, 101);
    assert.equal(inference.columns[0]!.name, 'column_000');
    assert.equal(inference.columns[100]!.name, 'column_100');
  });

  test('sampleRows bounds the rows checked for empties and ranges', async () => {
    const content = 'n,m\n1,1\n2,2\n3,3\n,3000000000\n';
    assert.deepEqual(typesOf(await infer(content, { sampleRows: 3 })), [['n', 'Int32'], ['m', 'Int32']]);
    assert.deepEqual(typesOf(await infer(content)), [['n', 'Nullable(Int32)'], ['m', 'Int64']]);
    // The float lies beyond the sample, so it does not make the column Float64.
    assert.deepEqual(typesOf(await infer('n\n1\n2\n3\n4\n5.5\n', { sampleRows: 3 })), [['n', 'Int32']]);
  });

  for (const [parameter, value] of [['delimiter', ';;'], ['delimiter', ''], ['escape', '\\\\'], ['newline', '\r\n'], ['newline', ';']] as const) {
    test(`${parameter} ${JSON.stringify(value)} is refused with INVALID_ARGUMENT naming the parameter`, async () => {
      await assert.rejects(infer('a,b\n1,2\n', { [parameter]: value }), (error: unknown) => {
        assert.ok(error instanceof SluiceError);
        assert.equal(error.code, 'INVALID_ARGUMENT');
        assert.deepEqual(error.details, { parameter });
        assert.match(error.message, new RegExp(parameter));
        return true;
      });
    });
  }

  test('a gzipped file named .csv.gz is read through', async () => {
    const path = await spool('zipped.csv.gz', gzipSync('id,name\n1,ann\n2,bob\n'));
    assert.deepEqual(typesOf(await inferCsv(storage(), path)), [['id', 'Int32'], ['name', 'String']]);
  });

  test('an empty file is a malformed body', async () => {
    await assert.rejects(infer(''), (error: unknown) => error instanceof SluiceError && error.code === 'MALFORMED_BODY');
  });

  test('a file outside the spool folder is refused', async () => {
    await assert.rejects(inferCsv(storage(), join(tmpdir(), 'elsewhere.csv'), {}), (error: unknown) => {
      return error instanceof SluiceError && error.code === 'INVALID_ARGUMENT';
    });
  });
});
