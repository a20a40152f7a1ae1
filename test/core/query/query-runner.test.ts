import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SluiceError } from '../../../src/core/errors.ts';
import { runQuery, streamQuery } from '../../../src/core/query/query-runner.ts';
import { SqlDate, SqlDecimal, SqlInterval, SqlJson, SqlMap, SqlTime, SqlTimestamp } from '../../../src/core/query/sql-values.ts';
import { ALL_TYPES_COLUMNS, ALL_TYPES_ROWS, openQueryFixture, type QueryFixture } from './query-fixture.ts';

let fixture: QueryFixture;

before(async () => {
  fixture = await openQueryFixture();
  await fixture.createTable('all_types', ALL_TYPES_COLUMNS, ALL_TYPES_ROWS);
});

after(async () => {
  await fixture.close();
});

test('values come out exact, in their SqlValue representation', async () => {
  const result = await runQuery(fixture.storage, await fixture.guard('SELECT * FROM all_types ORDER BY i64 DESC'));
  const [row, nulls] = result.rows;
  const byName = Object.fromEntries(result.columns.map((column, index) => [column.name, row![index]]));
  assert.equal(byName['i8'], -8);
  assert.equal(byName['i64'], 9007199254740993n);
  assert.equal(byName['i128'], 170141183460469231731687303715884105727n);
  assert.equal(byName['u64'], 18446744073709551615n);
  assert.deepEqual(byName['dec'], new SqlDecimal(123456789012345678900123456789n, 10));
  assert.equal(String(byName['dec']), '12345678901234567890.0123456789');
  assert.equal(byName['f32'], 0.1);
  assert.equal(byName['s'], 'say "hi",\ntab\tit\'s');
  assert.deepEqual(byName['d'], new SqlDate(19782));
  assert.deepEqual(byName['ts'], new SqlTimestamp(1704164645123456000n));
  assert.deepEqual(byName['tags'], ['a', null]);
  assert.deepEqual(byName['point'], { x: 1, y: 'z' });
  assert.deepEqual(byName['attrs'], new SqlMap([['k', 7]]));
  assert.ok(byName['b'] instanceof Uint8Array);
  assert.deepEqual([...byName['b']], [0, 97, 98]);
  assert.equal(byName['id'], '00000000-0000-0000-0000-000000000001');
  assert.deepEqual(byName['doc'], new SqlJson('{"a":[1,2]}'));
  assert.deepEqual(nulls, [null, null, null, 42n, ...Array(15).fill(null)]);
});

test('columns carry their name (repeated names made unique), DuckDB type, model type and whether NULLs occur', async () => {
  const result = await runQuery(fixture.storage, await fixture.guard('SELECT i64, dec, tags AS t, t AS t FROM all_types, (SELECT 1 AS t)'));
  assert.deepEqual(
    result.columns.map(({ name, duckdbType, nullable }) => [name, duckdbType, nullable]),
    [['i64', 'BIGINT', false], ['dec', 'DECIMAL(38,10)', true], ['t', 'VARCHAR[]', true], ['t:1', 'INTEGER', false]],
  );
  assert.deepEqual(result.columns[1]!.type, { kind: 'decimal', precision: 38, scale: 10 });
});

test('other DuckDB types: times, time zones, nanoseconds, intervals, infinities; timestamps of milli- and nanoseconds with the digits their type declares', async () => {
  const result = await runQuery(
    fixture.storage,
    await fixture.guard(`SELECT TIME '12:34:56.5', TIMETZ '12:00:00+05:30', TIMESTAMPTZ '2024-01-01 00:00:00+02', TIMESTAMP_NS '2024-01-01 00:00:00.123456789',
      TIMESTAMP_MS '2024-01-01 00:00:00.123', INTERVAL 2 DAY, 'infinity'::TIMESTAMP, '-infinity'::DATE, 1::UNION(a INTEGER, b VARCHAR), NULL`),
  );
  assert.deepEqual(result.rows[0], [
    new SqlTime(45_296_500_000_000n),
    new SqlTime(43_200_000_000_000n, 19_800),
    new SqlTimestamp(1_704_060_000_000_000_000n),
    new SqlTimestamp(1_704_067_200_123_456_789n, true, 9),
    new SqlTimestamp(1_704_067_200_123_000_000n, true, 3),
    new SqlInterval(0, 2, 0n, '2 days'),
    new SqlTimestamp(9_223_372_036_854_775_807_000n, false),
    new SqlDate(-2_147_483_647, false),
    1,
    null,
  ]);
  assert.deepEqual(result.columns[2]!.type, { kind: 'timestamp', unit: 'us', timezone: 'UTC' });
});

test('maxRows truncates, sets truncated and stops reading early', async () => {
  const result = await runQuery(fixture.storage, await fixture.guard('SELECT * FROM range(100000) t(x)'), { maxRows: 10 });
  assert.equal(result.rowCount, 10);
  assert.equal(result.rows.length, 10);
  assert.deepEqual(result.rows.at(-1), [9n]);
  assert.equal(result.truncated, true);
  assert.ok(result.rowsBeforeLimit > 10 && result.rowsBeforeLimit < 100000, `read ${result.rowsBeforeLimit} rows`);
});

test('a result of exactly maxRows rows is not truncated', async () => {
  const result = await runQuery(fixture.storage, await fixture.guard('SELECT * FROM range(10)'), { maxRows: 10 });
  assert.equal(result.truncated, false);
  assert.equal(result.rowsBeforeLimit, 10);
  assert.equal(result.statistics.rowsRead, 0);
  assert.ok(result.statistics.elapsedSeconds >= 0);
});

test('streamQuery yields every row in chunks', async () => {
  const stream = await streamQuery(fixture.storage, await fixture.guard('SELECT x FROM range(5000) t(x)'));
  assert.deepEqual(stream.columns.map((column) => [column.name, column.duckdbType, column.nullable]), [['x', 'BIGINT', true]]);
  const sizes: number[] = [];
  let sum = 0n;
  for await (const batch of stream.batches) {
    sizes.push(batch.length);
    for (const [value] of batch) sum += value as bigint;
  }
  assert.ok(sizes.length > 1);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 5000);
  assert.equal(sum, 12497500n);
});

test('a stream left early, or closed unread, gives its connection back', { timeout: 20_000 }, async () => {
  // The pool has 4 read connections: a leak would make the later queries wait forever.
  for (let attempt = 0; attempt < 6; attempt += 1) {
    const stream = await streamQuery(fixture.storage, await fixture.guard('SELECT * FROM range(100000)'));
    for await (const batch of stream.batches) {
      assert.ok(batch.length > 0);
      break;
    }
    await (await streamQuery(fixture.storage, await fixture.guard('SELECT 1'))).close();
  }
  assert.deepEqual((await runQuery(fixture.storage, await fixture.guard('SELECT 42'))).rows, [[42]]);
});

test('a query over its time limit is stopped with RESOURCE_EXHAUSTED', { timeout: 20_000 }, async () => {
  const guarded = await fixture.guard('SELECT count(*) FROM range(1000000000000) a(x) WHERE x % 7 = 3');
  await assert.rejects(runQuery(fixture.storage, guarded, { timeoutMs: 100 }), (error: unknown) => {
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, 'RESOURCE_EXHAUSTED');
    return true;
  });
  assert.deepEqual((await runQuery(fixture.storage, await fixture.guard('SELECT 1'))).rows, [[1]]);
});

test('a stream stopped between batches fails its next batch instead of ending as if whole', { timeout: 20_000 }, async () => {
  // DuckDB answers the next fetch of an interrupted stream with an empty chunk: read naively, a
  // result cut by its time limit would look complete.
  const stream = await streamQuery(fixture.storage, await fixture.guard('SELECT * FROM range(1000000)'), { timeoutMs: 200 });
  const batches = stream.batches[Symbol.asyncIterator]();
  assert.equal((await batches.next()).done, false);
  await new Promise((resolve) => setTimeout(resolve, 400));
  await assert.rejects(batches.next(), (error: unknown) => {
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, 'RESOURCE_EXHAUSTED');
    return true;
  });
  assert.deepEqual((await runQuery(fixture.storage, await fixture.guard('SELECT 5'))).rows, [[5]]);
});

test('errors while binding are coded 4xx errors', async () => {
  await assert.rejects(runQuery(fixture.storage, await fixture.guard('SELECT no_such_column FROM all_types')), (error: unknown) => {
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, 'QUERY_FAILED');
    assert.equal(error.status, 400);
    return true;
  });
});
