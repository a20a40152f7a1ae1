import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Column, Table } from '../../../src/core/catalog/model.ts';
import { SluiceError } from '../../../src/core/errors.ts';
import { recordsInput, type StagedInput } from '../../../src/core/ingest/staged-input.ts';
import type { WriteRequest } from '../../../src/core/write/write-command.ts';
import { CoreFixture } from '../../helpers/core-fixture.ts';

const int32 = { kind: 'int', bits: 32, signed: true } as const;
const text = { kind: 'string' } as const;
const timestamp = { kind: 'timestamp', unit: 'us' } as const;

const COLUMNS: Column[] = [
  { name: 'id', type: int32, nullable: false },
  { name: 'name', type: text, nullable: true },
  { name: 'at', type: timestamp, nullable: true },
];

function batch(rows: Array<Array<string | null>>, columns = ['id', 'name', 'at']): StagedInput {
  return recordsInput({ columns, rows });
}

describe('core write kinds over a real DuckDB file', () => {
  let fixture: CoreFixture;
  before(async () => {
    fixture = await CoreFixture.open();
  });
  after(() => fixture.close());

  const createTable = (options: { primaryKey?: string[] } = {}) => fixture.createTable(COLUMNS, options);
  const rowsOf = (table: Table, orderBy = 'id') => fixture.rows(table, orderBy);

  function write(table: Table, request: Omit<WriteRequest, 'table' | 'onInvalid'> & { onInvalid?: WriteRequest['onInvalid'] }) {
    return fixture.core.write(fixture.admin, { onInvalid: 'reject', ...request, table: fixture.current(table) });
  }

  test('append coerces text into the column types and bumps the version', async () => {
    const table = await createTable();
    const result = await write(table, { kind: 'append', input: batch([['1', 'ann', '2024-01-02T03:04:05Z'], ['2', null, '1704164645']]) });
    assert.equal(result.rowsInserted, 2);
    assert.equal(result.version, 1);
    const rows = await rowsOf(table);
    assert.deepEqual(rows.map((row) => [row['id'], row['name'], (row['at'] as Date).toISOString()]), [
      [1, 'ann', '2024-01-02T03:04:05.000Z'],
      [2, null, '2024-01-02T03:04:05.000Z'],
    ]);
    assert.equal(fixture.core.catalog.getTableById(table.id).rowCount, 2);
  });

  test('quarantine policy stores invalid rows with column, value and reason and commits the rest', async () => {
    const table = await createTable();
    const result = await write(table, {
      kind: 'append', onInvalid: 'quarantine', importId: 'imp-1',
      input: batch([['1', 'ok', null], ['x', 'bad id', null], [null, 'missing id', 'not a time']]),
    });
    assert.equal(result.rowsInserted, 1);
    assert.equal(result.rowsQuarantined, 2);
    assert.deepEqual((await rowsOf(table)).map((row) => row['name']), ['ok']);
    const quarantine = fixture.core.catalog.quarantineOf(table)!;
    const stored = await rowsOf(quarantine, 'name');
    assert.equal(stored.length, 2);
    assert.deepEqual(stored.map((row) => [row['id'], row['name'], row['c__error_column'], row['c__import_id']]), [
      ['x', 'bad id', ['id'], 'imp-1'],
      [null, 'missing id', ['id', 'at'], 'imp-1'],
    ]);
    const messages = (stored[1]!['c__error'] as string[]).join(' | ');
    assert.match(messages, /column "id": value is missing/);
    assert.match(messages, /not nullable/);
    assert.match(messages, /"not a time" is not a valid timestamp/);
    assert.equal(fixture.core.catalog.getTableById(quarantine.id).rowCount, 2);
  });

  test('reject policy commits nothing and lists the failing row, column, value and reason', async () => {
    const table = await createTable();
    await write(table, { kind: 'append', input: batch([['1', 'kept', null]]) });
    await assert.rejects(write(table, { kind: 'append', input: batch([['2', 'fine', null], ['99999999999', 'too big', null]]) }), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, 'INVALID_ROWS');
      assert.equal(error.status, 400);
      const [first] = (error.details?.['errors'] as Array<{ row: number; columns: string[]; values: string[]; messages: string[] }>);
      assert.deepEqual([first!.row, first!.columns, first!.values], [2, ['id'], ['99999999999']]);
      assert.match(first!.messages[0]!, /99999999999/);
      return true;
    });
    assert.deepEqual((await rowsOf(table)).map((row) => row['name']), ['kept']);
    assert.equal(fixture.core.catalog.getTableById(table.id).version, 1);
  });

  test('report policy commits the valid rows and returns the errors', async () => {
    const table = await createTable();
    const result = await write(table, { kind: 'append', onInvalid: 'report', input: batch([['1', 'a', null], ['nope', 'b', null], ['3', 'c', null]]) });
    assert.equal(result.rowsInserted, 2);
    assert.equal(result.rowsInvalid, 1);
    assert.equal(result.errors[0]!.row, 2);
    assert.deepEqual((await rowsOf(table)).map((row) => row['id']), [1, 3]);
  });

  test('upsert updates rows whose key exists and inserts the rest', async () => {
    const table = await createTable({ primaryKey: ['id'] });
    await write(table, { kind: 'append', input: batch([['1', 'one', null], ['2', 'two', null]]) });
    const result = await write(table, { kind: 'upsert', input: batch([['2', 'TWO', null], ['3', 'three', null]]) });
    assert.deepEqual([result.rowsInserted, result.rowsUpdated, result.version], [1, 1, 2]);
    assert.deepEqual((await rowsOf(table)).map((row) => row['name']), ['one', 'TWO', 'three']);
  });

  test('upsert with two rows for one key is rejected whole unless the last may win', async () => {
    const table = await createTable({ primaryKey: ['id'] });
    await assert.rejects(write(table, { kind: 'upsert', input: batch([['1', 'a', null], ['1', 'b', null]]) }), { code: 'DUPLICATE_KEY_IN_BATCH' });
    assert.equal((await rowsOf(table)).length, 0);
    await write(table, { kind: 'upsert', duplicateKeys: 'last_wins', input: batch([['1', 'a', null], ['1', 'b', null]]) });
    assert.deepEqual((await rowsOf(table)).map((row) => row['name']), ['b']);
  });

  test('upsert and delete by key need a primary key', async () => {
    const table = await createTable();
    await assert.rejects(write(table, { kind: 'upsert', input: batch([['1', 'a', null]]) }), { code: 'PRIMARY_KEY_REQUIRED' });
    await assert.rejects(write(table, { kind: 'delete', input: batch([['1']], ['id']) }), { code: 'PRIMARY_KEY_REQUIRED' });
  });

  test('delete by key removes matching rows and ignores missing keys', async () => {
    const table = await createTable({ primaryKey: ['id'] });
    await write(table, { kind: 'append', input: batch([['1', 'a', null], ['2', 'b', null], ['3', 'c', null]]) });
    const result = await write(table, { kind: 'delete', input: batch([['1'], ['3'], ['42']], ['id']) });
    assert.equal(result.rowsDeleted, 2);
    assert.deepEqual((await rowsOf(table)).map((row) => row['id']), [2]);
    assert.equal(fixture.core.catalog.getTableById(table.id).rowCount, 1);
  });

  test('delete by predicate removes the rows where it holds', async () => {
    const table = await createTable();
    await write(table, { kind: 'append', input: batch([['1', 'a', null], ['2', 'b', null], ['3', 'c', null]]) });
    const result = await write(table, { kind: 'delete_where', predicate: 'id >= 2' });
    assert.equal(result.rowsDeleted, 2);
    assert.deepEqual((await rowsOf(table)).map((row) => row['id']), [1]);
  });

  test('a predicate that is not an expression over the columns is refused and deletes nothing', async () => {
    const table = await createTable();
    await write(table, { kind: 'append', input: batch([['1', 'a', null]]) });
    for (const predicate of ['1 = 1; DROP TABLE x', 'id IN (SELECT 1)', 'nosuchcolumn = 1', "id = 1) OR (1 = 1"]) {
      await assert.rejects(write(table, { kind: 'delete_where', predicate }), { code: 'INVALID_PREDICATE' }, predicate);
    }
    assert.equal((await rowsOf(table)).length, 1);
  });

  test('overwrite replaces every row in one write', async () => {
    const table = await createTable({ primaryKey: ['id'] });
    await write(table, { kind: 'append', input: batch([['1', 'old', null], ['2', 'old', null]]) });
    const result = await write(table, { kind: 'overwrite', input: batch([['2', 'new', null], ['5', 'new', null]]) });
    assert.deepEqual([result.rowsDeleted, result.rowsInserted], [2, 2]);
    assert.deepEqual((await rowsOf(table)).map((row) => [row['id'], row['name']]), [[2, 'new'], [5, 'new']]);
    assert.equal(fixture.core.catalog.getTableById(table.id).rowCount, 2);
  });

  test('a failing overwrite leaves the old rows in place', async () => {
    const table = await createTable();
    await write(table, { kind: 'append', input: batch([['1', 'old', null]]) });
    await assert.rejects(write(table, { kind: 'overwrite', input: batch([['2', 'new', null], ['bad', 'new', null]]) }), { code: 'INVALID_ROWS' });
    assert.deepEqual((await rowsOf(table)).map((row) => row['name']), ['old']);
  });

  test('replace where a predicate holds swaps only the matching rows and ignores new rows outside it', async () => {
    const table = await createTable();
    await write(table, { kind: 'append', input: batch([['1', 'old', null], ['2', 'old', null], ['3', 'old', null]]) });
    const result = await write(table, { kind: 'replace_where', predicate: 'id > 1', input: batch([['0', 'outside', null], ['2', 'new', null]]) });
    assert.deepEqual([result.rowsDeleted, result.rowsInserted], [2, 1]);
    assert.deepEqual((await rowsOf(table)).map((row) => [row['id'], row['name']]), [[1, 'old'], [2, 'new']]);
  });

  test('weighted changes insert and delete copies on a table without a key', async () => {
    const table = await createTable();
    const changes = (rows: Array<[number, string]>) => recordsInput({ columns: ['id', 'name'], rows: rows.map(([, id]) => [id, 'x']), weights: rows.map(([weight]) => weight) });
    await write(table, { kind: 'changes', input: changes([[3, '1'], [1, '2']]) });
    assert.equal((await rowsOf(table)).length, 4);
    const result = await write(table, { kind: 'changes', input: changes([[-2, '1'], [-1, '2'], [1, '2']]) });
    assert.equal(result.rowsDeleted, 2);
    assert.deepEqual((await rowsOf(table)).map((row) => row['id']), [1, 2]);
  });

  test('weighted changes on a keyed table apply in record order: insert, delete, insert again', async () => {
    const table = await createTable({ primaryKey: ['id'] });
    const result = await write(table, {
      kind: 'changes',
      input: recordsInput({ columns: ['id', 'name'], rows: [['1', 'first'], ['1', null], ['1', 'third'], ['2', 'other']], weights: [1, -1, 1, 1] }),
    });
    assert.ok(result.rowsInserted >= 2);
    assert.deepEqual((await rowsOf(table)).map((row) => [row['id'], row['name']]), [[1, 'third'], [2, 'other']]);
  });

  test('concurrent small appends to one table are committed together, each answered with its own version', async () => {
    const table = await createTable();
    const commitsBefore = fixture.core.writer.stats.commits;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, index) => write(table, { kind: 'append', input: batch([[String(index), `row ${index}`, null]]) })),
    );
    const commits = fixture.core.writer.stats.commits - commitsBefore;
    assert.ok(commits < 10, `expected few commits for 50 requests, got ${commits}`);
    assert.deepEqual(results.map((result) => result.version).sort((a, b) => a - b), Array.from({ length: 50 }, (_, index) => index + 1));
    assert.equal((await rowsOf(table)).length, 50);
  });

  test('one invalid request in a group fails alone', async () => {
    const table = await createTable();
    const outcomes = await Promise.allSettled([
      write(table, { kind: 'append', input: batch([['1', 'a', null]]) }),
      write(table, { kind: 'append', input: batch([['not a number', 'b', null]]) }),
      write(table, { kind: 'append', input: batch([['3', 'c', null]]) }),
    ]);
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual((await rowsOf(table)).map((row) => row['id']), [1, 3]);
  });

  test('a repeated idempotency key returns the first result and writes nothing', async () => {
    const table = await createTable();
    const request = { kind: 'append' as const, input: batch([['1', 'once', null]]), idempotency: { key: 'k1', requestHash: 'h1' } };
    const [first, second] = await Promise.all([write(table, request), write(table, request)]);
    const third = await write(table, request);
    assert.equal(first.replayed, false);
    assert.equal(second.replayed, true);
    assert.equal(third.version, first.version);
    assert.equal(third.writeId, first.writeId);
    assert.equal((await rowsOf(table)).length, 1);
    await assert.rejects(write(table, { ...request, idempotency: { key: 'k1', requestHash: 'other' } }), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, 'IDEMPOTENCY_CONFLICT');
      assert.equal(error.retryable, false);
      return true;
    });
  });

  test('rows, versions, idempotency keys and sequences survive a restart', async () => {
    const table = await createTable();
    const request = { kind: 'append' as const, input: batch([['7', 'durable', null]]), idempotency: { key: 'restart-key', requestHash: 'h' } };
    const first = await write(table, request);
    await fixture.reopen();
    const reopened = fixture.core.catalog.getTableById(table.id);
    assert.equal(reopened.version, first.version);
    assert.deepEqual((await rowsOf(table)).map((row) => row['name']), ['durable']);
    const replay = await write(table, request);
    assert.equal(replay.replayed, true);
    assert.equal(replay.writeId, first.writeId);
    const next = await write(table, { kind: 'append', input: batch([['8', 'next', null]]) });
    assert.ok(next.sequence > first.sequence);
    assert.equal(next.version, first.version + 1);
  });
});
