import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QUARANTINE_COLUMNS, type Column, type Table } from '../../../src/core/catalog/model.ts';
import { csvInput } from '../../../src/core/ingest/decoders/csv-input.ts';
import { jsonInput, jsonTextsInMemory } from '../../../src/core/ingest/decoders/json-input.ts';
import type { StagedInput } from '../../../src/core/ingest/staged-input.ts';
import type { InvalidRowPolicy, WriteRequest } from '../../../src/core/write/write-command.ts';
import { executeRun } from '../../../src/core/write/write-executor.ts';
import { CoreFixture } from '../../helpers/core-fixture.ts';

const int64 = { kind: 'int', bits: 64, signed: true } as const;
const text = { kind: 'string' } as const;
const timestamp = { kind: 'timestamp', unit: 'us' } as const;
const COLUMNS: Column[] = [
  { name: 'id', type: int64, nullable: false },
  { name: 'name', type: text, nullable: true },
  { name: 'at', type: timestamp, nullable: true },
];

/**
 * A lone upsert whose rows are all valid is written in one statement from its reader; anything
 * else (an invalid row, a repeated key under 'reject') runs through the stage. Either way the
 * result, the rows and the quarantine are exactly what the stage alone gives.
 */
describe('upserts written straight to the table, and their fallback to the stage', () => {
  let fixture: CoreFixture;
  before(async () => {
    fixture = await CoreFixture.open();
  });
  after(() => fixture.close());

  const stats = () => ({ ...fixture.core.writer.stats });
  let files = 0;

  async function csv(content: string): Promise<StagedInput> {
    files += 1;
    const path = join(fixture.core.storage.spoolDir, `upsert-${files}.csv`);
    await writeFile(path, content);
    return csvInput(path, COLUMNS, { header: true, caseInsensitive: false, lenient: false });
  }

  const json = (...lines: string[]) => jsonInput(jsonTextsInMemory(lines.map((line, index) => ({ text: line, index: index + 1 }))), COLUMNS, {
    format: 'raw', caseInsensitive: false, positional: false,
  });

  const request = (table: Table, input: StagedInput, onInvalid: InvalidRowPolicy, duplicateKeys: 'reject' | 'last_wins'): WriteRequest => ({
    table: fixture.current(table), kind: 'upsert', input, onInvalid, duplicateKeys, importId: 'imp',
  });

  async function seeded(): Promise<Table> {
    const table = await fixture.createTable(COLUMNS, { primaryKey: ['id'] });
    await fixture.core.write(fixture.admin, { table: fixture.current(table), kind: 'append', input: await csv('id,name,at\n1,one,\n2,two,\n3,three,\n'), onInvalid: 'reject' });
    return table;
  }

  const contents = async (table: Table) =>
    (await fixture.rows(table, 'id')).map((row) => [row['id'], row['name'], row['at'] === null ? null : (row['at'] as Date).toISOString()]);
  const quarantine = async (table: Table) =>
    (await fixture.rows(fixture.core.catalog.quarantineOf(table)!, 'id')).map((row) => [row['id'], row['name'], row['at'], row[QUARANTINE_COLUMNS.errors]]);

  /** The same upsert through the stage alone, on a table seeded alike: what the direct path must match. */
  async function staged(input: StagedInput, onInvalid: InvalidRowPolicy, duplicateKeys: 'reject' | 'last_wins') {
    const table = await seeded();
    const outcome = await fixture.core.storage
      .transaction((tx) => executeRun(tx, fixture.core.catalog, [request(table, input, onInvalid, duplicateKeys)], { direct: false }))
      .then(([effect]) => effect!, (error: unknown) => error as Error);
    return { table, outcome };
  }

  test('a clean CSV upsert goes straight to the table, with the counts of the stage', async () => {
    const content = 'id,name,at\n2,deux,2024-01-01T00:00:00Z\n4,four,1704067200\n1,un,\n';
    const table = await seeded();
    const before = stats();
    const result = await fixture.core.write(fixture.admin, request(table, await csv(content), 'quarantine', 'last_wins'));
    assert.equal(stats().directWrites, before.directWrites + 1);
    assert.equal(stats().directMisses, before.directMisses);
    assert.deepEqual([result.rowsInserted, result.rowsUpdated, result.rowsQuarantined, result.rowsInvalid], [1, 2, 0, 0]);
    const reference = await staged(await csv(content), 'quarantine', 'last_wins');
    assert.ok(!(reference.outcome instanceof Error));
    assert.deepEqual([reference.outcome.rowsInserted, reference.outcome.rowsUpdated], [1, 2]);
    assert.deepEqual(await contents(table), await contents(reference.table));
    assert.deepEqual(await contents(table), [
      [1n, 'un', null], [2n, 'deux', '2024-01-01T00:00:00.000Z'], [3n, 'three', null], [4n, 'four', '2024-01-01T00:00:00.000Z'],
    ]);
    assert.equal(fixture.current(table).rowCount, 4);
  });

  test("'last_wins': the last record of a key wins, straight to the table", async () => {
    const table = await seeded();
    const before = stats();
    const result = await fixture.core.write(fixture.admin, request(table, json('{"id": 1, "name": "a"}', '{"id": 5, "name": "b"}', '{"id": 1, "name": "c"}', '{"id": 5, "name": "d"}', '{"id": 1, "name": "e"}'), 'quarantine', 'last_wins'));
    assert.equal(stats().directWrites, before.directWrites + 1);
    assert.deepEqual([result.rowsInserted, result.rowsUpdated], [1, 1]);
    assert.deepEqual(await contents(table), [[1n, 'e', null], [2n, 'two', null], [3n, 'three', null], [5n, 'd', null]]);
  });

  test("'reject': a key given twice (after coercion) fails the write with the stage's message", async () => {
    const table = await seeded();
    const before = stats();
    await assert.rejects(
      fixture.core.write(fixture.admin, request(table, await csv('id,name,at\n7,a,\n 7 ,b,\n8,c,\n'), 'reject', 'reject')),
      (error: Error & { code?: string }) => error.code === 'DUPLICATE_KEY_IN_BATCH' && error.message === 'The request has more than one row for the key (7)',
    );
    assert.equal(stats().directMisses, before.directMisses + 1);
    assert.deepEqual(await contents(table), [[1n, 'one', null], [2n, 'two', null], [3n, 'three', null]]);
    const reference = await staged(await csv('id,name,at\n7,a,\n 7 ,b,\n8,c,\n'), 'reject', 'reject');
    assert.ok(reference.outcome instanceof Error);
  });

  test("'reject' without repeated keys goes straight to the table", async () => {
    const table = await seeded();
    const before = stats();
    const result = await fixture.core.write(fixture.admin, request(table, await csv('id,name,at\n3,trois,\n9,nine,\n'), 'reject', 'reject'));
    assert.equal(stats().directWrites, before.directWrites + 1);
    assert.deepEqual([result.rowsInserted, result.rowsUpdated], [1, 1]);
  });

  test('an invalid row sends the upsert through the stage: quarantine, messages and row numbers as ever', async () => {
    const content = 'id,name,at\n1,uno,\nx,bad,\n4,four,never\n5,five,\n';
    const table = await seeded();
    const before = stats();
    const result = await fixture.core.write(fixture.admin, request(table, await csv(content), 'quarantine', 'last_wins'));
    assert.equal(stats().directMisses, before.directMisses + 1);
    assert.deepEqual([result.rowsInserted, result.rowsUpdated, result.rowsQuarantined, result.rowsInvalid], [1, 1, 2, 2]);
    assert.deepEqual(result.errors.map((error) => [error.row, error.messages]), [
      [2, ['column "id": value "x" is not a valid int']],
      [3, ['column "at": value "never" is not a valid timestamp']],
    ]);
    const reference = await staged(await csv(content), 'quarantine', 'last_wins');
    assert.ok(!(reference.outcome instanceof Error));
    assert.deepEqual(result.errors, reference.outcome.errors);
    assert.deepEqual(await contents(table), await contents(reference.table));
    assert.deepEqual(await quarantine(table), [['4', 'four', 'never', ['column "at": value "never" is not a valid timestamp']], ['x', 'bad', null, ['column "id": value "x" is not a valid int']]]);
  });

  test("an invalid record is found even when a later record of its key would win", async () => {
    const table = await seeded();
    const before = stats();
    const result = await fixture.core.write(fixture.admin, request(table, json('{"id": 6, "at": "soon"}', '{"id": 6, "name": "ok"}'), 'quarantine', 'last_wins'));
    assert.equal(stats().directMisses, before.directMisses + 1);
    assert.deepEqual([result.rowsInserted, result.rowsUpdated, result.rowsQuarantined], [1, 0, 1]);
    assert.deepEqual(result.errors.map((error) => [error.row, error.messages]), [[1, ['column "at": value "soon" is not a valid timestamp']]]);
    assert.deepEqual((await contents(table)).at(-1), [6n, 'ok', null]);
  });

  test("under 'reject' an invalid row rejects the request before any duplicate check, as the stage does", async () => {
    const table = await seeded();
    await assert.rejects(
      fixture.core.write(fixture.admin, request(table, json('{"id": 1}', '{"id": 1}', '{"id": null}'), 'reject', 'reject')),
      (error: Error & { code?: string }) => error.code === 'INVALID_ROWS' && /^1 row failed validation \(row 3: column "id": value is missing/.test(error.message),
    );
    assert.deepEqual(await contents(table), [[1n, 'one', null], [2n, 'two', null], [3n, 'three', null]]);
  });

  test('a table of key columns only upserts through the stage', async () => {
    const table = await fixture.createTable([COLUMNS[0]!], { primaryKey: ['id'] });
    const input = jsonInput(jsonTextsInMemory([{ text: '{"id": 1}', index: 1 }, { text: '{"id": 1}', index: 2 }]), [COLUMNS[0]!], { format: 'raw', caseInsensitive: false, positional: false });
    const before = stats();
    const result = await fixture.core.write(fixture.admin, { table: fixture.current(table), kind: 'upsert', input, onInvalid: 'quarantine', duplicateKeys: 'last_wins' });
    assert.equal(stats().directWrites, before.directWrites);
    assert.deepEqual([result.rowsInserted, result.rowsUpdated], [1, 0]);
  });
});
