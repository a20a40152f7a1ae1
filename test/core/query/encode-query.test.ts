import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import { SluiceError } from '../../../src/core/errors.ts';
import { encodeQuery, RESULT_FORMATS, type ResultFormat } from '../../../src/core/query/encode-query.ts';
import { collectOutput } from '../../../src/core/query/encoders/encoder-input.ts';
import { runQuery } from '../../../src/core/query/query-runner.ts';
import { printClickHouseType } from '../../../src/core/types/clickhouse-types.ts';
import { INT32, openQueryFixture, STRING, type QueryFixture } from './query-fixture.ts';

let fixture: QueryFixture;

before(async () => {
  fixture = await openQueryFixture();
  await fixture.createTable('t', [['n', INT32], ['s', STRING]], "VALUES (1, 'a'), (2, 'b')");
});

after(async () => {
  await fixture.close();
});

const EXPECTED: Record<Exclude<ResultFormat, 'parquet' | 'arrow' | 'json' | 'hash'>, string> = {
  ndjson: '{"n":1,"s":"a"}\n{"n":2,"s":"b"}\n',
  csv: '1,"a"\n2,"b"\n',
  'csv-with-names': '"n","s"\n1,"a"\n2,"b"\n',
  tsv: '1\ta\n2\tb\n',
  'tsv-with-names': 'n\ts\n1\ta\n2\tb\n',
  'pretty-compact': '┌─n─┬─s─┐\n│ 1 │ a │\n│ 2 │ b │\n└───┴───┘\n',
  'ascii-table': '+---+---+\n| n | s |\n+---+---+\n| 1 | a |\n| 2 | b |\n+---+---+\n',
};

test('every format encodes a streamed query', async () => {
  const sql = 'SELECT n, s FROM t ORDER BY n';
  for (const format of Object.keys(RESULT_FORMATS) as ResultFormat[]) {
    const encoded = await encodeQuery(fixture.storage, await fixture.guard(sql), format, { printType: printClickHouseType });
    assert.equal(encoded.contentType, RESULT_FORMATS[format].contentType);
    assert.equal(encoded.result, null);
    const body = await collectOutput(encoded.body);
    if (format === 'json') assert.deepEqual(JSON.parse(body.toString()).data, [{ n: 1, s: 'a' }, { n: 2, s: 'b' }]);
    else if (format === 'arrow') assert.equal(tableFromIPC(body).numRows, 2);
    else if (format === 'parquet') assert.equal(body.subarray(0, 4).toString(), 'PAR1');
    else if (format === 'hash') assert.match(body.toString(), /^[0-9a-f]{64}$/);
    else assert.equal(body.toString(), EXPECTED[format], format);
  }
});

test('with maxRows the result is bounded and its counts are known before the body', async () => {
  const encoded = await encodeQuery(fixture.storage, await fixture.guard('SELECT * FROM range(10)'), 'json', { printType: printClickHouseType, maxRows: 3 });
  assert.equal(encoded.result?.rowCount, 3);
  assert.equal(encoded.result?.truncated, true);
  const body = JSON.parse((await collectOutput(encoded.body)).toString());
  assert.equal(body.rows, 3);
  assert.equal(body.rows_before_limit_at_least, 10);
});

test('a failing query rejects before any body is produced', async () => {
  for (const format of ['csv', 'arrow', 'parquet'] as const) {
    await assert.rejects(encodeQuery(fixture.storage, await fixture.guard("SELECT CAST('x' AS INTEGER) FROM t"), format), (error: unknown) => {
      assert.ok(error instanceof SluiceError && error.status === 400, `${format}: ${String(error)}`);
      return true;
    });
  }
});

test('an abandoned streamed body frees its connection', { timeout: 20_000 }, async () => {
  // The pool has 4 read connections: without the release the later queries would wait forever.
  for (let attempt = 0; attempt < 6; attempt += 1) {
    const encoded = await encodeQuery(fixture.storage, await fixture.guard('SELECT * FROM range(1000000)'), 'arrow');
    const iterator = encoded.body[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).done, false);
    await iterator.return?.();
  }
  assert.deepEqual((await runQuery(fixture.storage, await fixture.guard('SELECT count(*) FROM t'))).rows, [[2n]]);
});
