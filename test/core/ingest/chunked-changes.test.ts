import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { physicalName } from '../../../src/core/catalog/catalog.ts';
import type { Column, Table } from '../../../src/core/catalog/model.ts';
import { ingest, type IngestCommand } from '../../../src/core/ingest/ingest.ts';
import type { UpdateFormat } from '../../../src/core/ingest/decoders/json-input.ts';
import { CoreFixture } from '../../helpers/core-fixture.ts';

const int64 = { kind: 'int', bits: 64, signed: true } as const;
const text = { kind: 'string' } as const;

const KEYED: Column[] = [
  { name: 'id', type: int64, nullable: false },
  { name: 'name', type: text, nullable: false },
  { name: 'note', type: text, nullable: true },
];

describe('change records with partial rows and groups, committed whole or in chunks', () => {
  let fixture: CoreFixture;
  before(async () => {
    fixture = await CoreFixture.open();
  });
  after(() => fixture.close());

  const createTable = (columns: Column[], primaryKey: string[] = []) => fixture.createTable(columns, { primaryKey });

  function push(table: Table, body: string | string[], options: { updateFormat?: UpdateFormat; arrays?: boolean; format?: 'json' | 'csv'; chunks?: IngestCommand['chunks'] } = {}) {
    const pieces = typeof body === 'string' ? [body] : body;
    return ingest(fixture.core, fixture.admin, {
      table: fixture.core.catalog.getTableById(table.id), kind: 'changes', onInvalid: 'report', format: options.format ?? 'json',
      source: { kind: 'stream', stream: Readable.from(pieces.map((piece) => Buffer.from(piece))) }, limits: { maxBytes: 1e9 },
      json: { updateFormat: options.updateFormat ?? 'insert_delete', arrays: options.arrays ?? false, atomicArrays: options.arrays ?? false, caseInsensitive: false, positional: false },
      csv: { header: false, lenient: true, caseInsensitive: false, delimiter: ',' },
      ...(options.chunks && { chunks: options.chunks }),
    });
  }

  const rowsOf = (table: Table) => fixture.core.storage.query(`SELECT * FROM ${physicalName(table)} ORDER BY id`);

  test('an update sets the columns it gives in the row with its key and leaves the others; a missing key is left alone; the counts are of rows changed', async () => {
    const table = await createTable(KEYED, ['id']);
    await push(table, '{"insert": {"id": 1, "name": "a", "note": "n"}}');
    const result = await push(table, '{"update": {"id": 1, "note": null}}\n{"update": {"id": 2, "name": "ghost"}}\n{"update": {"id": 1, "name": "b"}}');
    // Two updates of one row change one row.
    assert.deepEqual([result.rowsInserted, result.rowsUpdated, result.rowsInvalid], [0, 1, 0]);
    assert.deepEqual(await rowsOf(table), [{ id: 1n, name: 'b', note: null }]);
  });

  test('a delete names its row by key alone, even where other columns are NOT NULL', async () => {
    const table = await createTable(KEYED, ['id']);
    await push(table, '{"insert": {"id": 1, "name": "a"}}\n{"insert": {"id": 2, "name": "b"}}');
    const result = await push(table, '{"delete": {"id": 1}}');
    assert.deepEqual([result.rowsDeleted, result.rowsInvalid], [1, 0]);
    assert.deepEqual((await rowsOf(table)).map((row) => row['id']), [2n]);
  });

  test('several changes to a key in one batch count as the one change they leave: a row inserted and deleted counts as none, one deleted and inserted again as updated', async () => {
    const table = await createTable(KEYED, ['id']);
    await push(table, '{"insert": {"id": 1, "name": "a"}}\n{"insert": {"id": 2, "name": "b"}}');
    const result = await push(table, [
      '{"insert": {"id": 3, "name": "c"}}', '{"delete": {"id": 3}}',
      '{"delete": {"id": 1}}', '{"insert": {"id": 1, "name": "a2"}}', '{"update": {"id": 1, "note": "n"}}',
      '{"update": {"id": 2, "name": "b2"}}', '{"delete": {"id": 2}}',
    ].join('\n'));
    assert.deepEqual([result.rowsInserted, result.rowsUpdated, result.rowsDeleted, result.rowsInvalid], [0, 1, 1, 0]);
    assert.deepEqual(await rowsOf(table), [{ id: 1n, name: 'a2', note: 'n' }]);
  });

  test('an update on a table without a key is invalid', async () => {
    const table = await createTable(KEYED);
    const result = await push(table, '{"update": {"id": 1, "name": "x"}}');
    assert.equal(result.rowsInvalid, 1);
    assert.match(result.errors[0]!.messages[0]!, /needs a table with a primary key/);
  });

  test('the rows of one array, or of one debezium record, are applied together or not at all', async () => {
    const table = await createTable(KEYED, ['id']);
    const arrays = await push(table, '[{"insert": {"id": 1, "name": "a"}}, {"insert": {"id": "x", "name": "b"}}] [{"insert": {"id": 3, "name": "c"}}]', { arrays: true });
    // Only the failed record is reported, saying what it took with it.
    assert.equal(arrays.rowsInvalid, 1);
    assert.deepEqual(arrays.errors.map((error) => [error.row, error.columns]), [[2, ['id']]]);
    assert.equal(arrays.errors[0]!.messages[1], 'the 1 other change of its group (its array, or its record) not applied');
    await push(table, '{"payload": {"op": "u", "before": {"id": 3, "name": "c"}, "after": {"id": 3, "name": null}}}', { updateFormat: 'debezium' });
    assert.deepEqual(await rowsOf(table), [{ id: 3n, name: 'c', note: null }]);
  });

  test('chunked JSON is committed in several writes that keep record order, record numbers and whole arrays', async () => {
    const table = await createTable(KEYED, ['id']);
    const records = Array.from({ length: 40 }, (_, index) => `{"insert": {"id": ${index % 10}, "name": "v${index}"}}`);
    const pieces = [`[${records.slice(0, 20).join(',')}]`, '\n', `[${records.slice(20, 39).join(',')}, {"insert": {"id": "bad"}}]`, `\n[${records[39]}]`];
    const result = await push(table, pieces, { arrays: true, chunks: { bytes: 64, maxDelayMs: 60_000 } });
    assert.ok(fixture.core.catalog.getTableById(table.id).version >= 2, 'expected more than one write');
    assert.equal(result.rowsInvalid, 1);
    assert.deepEqual(result.errors.map((error) => [error.row, error.columns, error.messages.at(-1)]), [[40, ['id', 'name'], 'the 19 other changes of its group (its array, or its record) not applied']]);
    assert.deepEqual((await rowsOf(table)).map((row) => row['name']), ['v10', 'v11', 'v12', 'v13', 'v14', 'v15', 'v16', 'v17', 'v18', 'v39']);
  });

  test('chunked CSV numbers records across chunks and keeps quoted line breaks inside their record', async () => {
    const table = await createTable(KEYED, ['id']);
    const lines = Array.from({ length: 30 }, (_, index) => (index === 25 ? 'oops,x\n' : `${index},"line\nbreak ${index}",n\n`));
    const body = lines.join('');
    const pieces = Array.from({ length: Math.ceil(body.length / 25) }, (_, index) => body.slice(index * 25, index * 25 + 25));
    const result = await push(table, pieces, { format: 'csv', chunks: { bytes: 40, maxDelayMs: 60_000 } });
    assert.ok(fixture.core.catalog.getTableById(table.id).version >= 3, 'expected several writes');
    assert.deepEqual(result.errors.map((error) => [error.row, error.columns]), [[26, ['id']]]);
    const rows = await rowsOf(table);
    assert.equal(rows.length, 29);
    assert.equal(rows[7]!['name'], 'line\nbreak 7');
  });

  test('an empty chunked body is one empty write with a sequence', async () => {
    const table = await createTable(KEYED, ['id']);
    const result = await push(table, [], { chunks: { bytes: 64, maxDelayMs: 60_000 } });
    assert.equal(result.rowsInserted, 0);
    assert.ok(result.sequence > 0);
  });
});
