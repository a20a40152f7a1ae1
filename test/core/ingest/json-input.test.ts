import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { physicalName } from '../../../src/core/catalog/catalog.ts';
import type { Column, Table } from '../../../src/core/catalog/model.ts';
import { jsonInput, jsonTextsInMemory, type JsonDecodeOptions } from '../../../src/core/ingest/decoders/json-input.ts';
import type { WriteRequest } from '../../../src/core/write/write-command.ts';
import { CoreFixture } from '../../helpers/core-fixture.ts';

const int64 = { kind: 'int', bits: 64, signed: true } as const;
const text = { kind: 'string' } as const;

describe('JSON values decoded in SQL into rows', () => {
  let fixture: CoreFixture;
  before(async () => {
    fixture = await CoreFixture.open();
  });
  after(() => fixture.close());

  const createTable = (columns: Column[], primaryKey: string[] = []) => fixture.createTable(columns, { primaryKey });

  function write(table: Table, texts: string[], options: Partial<JsonDecodeOptions> & { kind?: WriteRequest['kind']; onInvalid?: WriteRequest['onInvalid'] } = {}) {
    const current = fixture.core.catalog.getTableById(table.id);
    const input = jsonInput(jsonTextsInMemory(texts.map((value, index) => ({ text: value, index: index + 1 }))), current.columns, {
      format: options.format ?? 'raw', caseInsensitive: options.caseInsensitive ?? false, positional: options.positional ?? false,
    });
    return fixture.core.write(fixture.admin, { table: current, kind: options.kind ?? 'append', input, onInvalid: options.onInvalid ?? 'quarantine' });
  }

  const rowsOf = (table: Table, orderBy = '1') => fixture.rows(table, orderBy);

  test('JSONPaths pick nested keys, dotted keys and array elements, keeping big integers exact', async () => {
    const table = await createTable([
      { name: 'id', type: int64, nullable: false, jsonPath: '$.id' },
      { name: 'city', type: text, nullable: true, jsonPath: '$.address.city' },
      { name: 'dotted', type: text, nullable: true, jsonPath: "$.['a.b']" },
      { name: 'tags', type: { kind: 'list', element: text, elementNullable: true }, nullable: true, jsonPath: '$.tags[:]' },
      { name: 'prices', type: { kind: 'list', element: int64, elementNullable: true }, nullable: true, jsonPath: '$.items[:].price' },
      { name: 'whole', type: text, nullable: true, jsonPath: '$' },
    ]);
    const record = '{"id": 9223372036854775807, "address": {"city": "Bilbao"}, "a.b": "dot", "tags": ["x", "y"], "items": [{"price": 3}, {"price": 4}]}';
    const result = await write(table, [record, '{"id": 2, "tags": []}']);
    assert.equal(result.rowsInserted, 2);
    const rows = await rowsOf(table);
    assert.deepEqual(
      rows.map((row) => [row['id'], row['city'], row['dotted'], row['tags'], row['prices']]),
      [[2n, null, null, [], null], [9223372036854775807n, 'Bilbao', 'dot', ['x', 'y'], [3n, 4n]]],
    );
    assert.equal(JSON.parse(String(rows[1]!['whole']))['address']['city'], 'Bilbao');
  });

  test('DEFAULT applies when a key is missing and invalid JSON lines are quarantined with their text', async () => {
    const table = await createTable([
      { name: 'id', type: int64, nullable: false },
      { name: 'name', type: text, nullable: false, defaultExpression: "'Unknown'" },
    ]);
    const result = await write(table, ['{"id": 1}', '{"id": 2, "name": "Al"', '{"id": "three"}', '42']);
    assert.deepEqual([result.rowsInserted, result.rowsQuarantined, result.linesInvalid], [1, 3, 2]);
    assert.deepEqual((await rowsOf(table)).map((row) => [row['id'], row['name']]), [[1n, 'Unknown']]);
    const quarantine = fixture.core.catalog.quarantineOf(table)!;
    const stored = await fixture.core.storage.query(`SELECT c__error FROM ${physicalName(quarantine)} ORDER BY c__error::VARCHAR`);
    const messages = stored.map((row) => (row['c__error'] as string[]).join(';'));
    assert.ok(messages.some((message) => message.startsWith('invalid JSON: {"id": 2, "name": "Al"')), messages.join('\n'));
    assert.ok(messages.some((message) => /value "three" is not a valid/.test(message)), messages.join('\n'));
    assert.ok(messages.some((message) => /expected a JSON object, got a number/.test(message)), messages.join('\n'));
  });

  test('keys match columns regardless of case when asked, and positional arrays fill columns in order', async () => {
    const table = await createTable([
      { name: 'id', type: int64, nullable: false },
      { name: 'Name', type: text, nullable: true },
    ]);
    await write(table, ['{"ID": 1, "name": "a"}', '[2, "b"]'], { caseInsensitive: true, positional: true });
    assert.deepEqual((await rowsOf(table)).map((row) => [row['id'], row['Name']]), [[1n, 'a'], [2n, 'b']]);
  });

  test('insert_delete, weighted and debezium changes apply to a keyed table in record order', async () => {
    const table = await createTable([{ name: 'id', type: int64, nullable: false }, { name: 'v', type: text, nullable: true }], ['id']);
    await write(table, ['{"insert": {"id": 1, "v": "a"}}', '{"insert": {"id": 2, "v": "b"}}', '{"delete": {"id": 1}}'], { kind: 'changes', format: 'insert_delete' });
    assert.deepEqual((await rowsOf(table)).map((row) => [row['id'], row['v']]), [[2n, 'b']]);
    await write(table, ['{"weight": 1, "data": {"id": 3, "v": "c"}}', '{"weight": -1, "data": {"id": 2}}'], { kind: 'changes', format: 'weighted' });
    assert.deepEqual((await rowsOf(table)).map((row) => [row['id'], row['v']]), [[3n, 'c']]);
    await write(table, [
      '{"payload": {"op": "u", "before": {"id": 3, "v": "c"}, "after": {"id": 3, "v": "C"}}}',
      '{"payload": {"op": "c", "before": null, "after": {"id": 4, "v": "d"}}}',
      '{"payload": {"op": "d", "before": {"id": 4}, "after": null}}',
    ], { kind: 'changes', format: 'debezium' });
    assert.deepEqual((await rowsOf(table)).map((row) => [row['id'], row['v']]), [[3n, 'C']]);
  });

  test('a change record of the wrong shape is reported with the reason', async () => {
    const table = await createTable([{ name: 'id', type: int64, nullable: false }], ['id']);
    const result = await write(table, ['{"insert": {"id": 1}}', '{"upsert": {"id": 2}}'], { kind: 'changes', format: 'insert_delete', onInvalid: 'report' });
    assert.equal(result.rowsInserted, 1);
    assert.equal(result.errors[0]!.row, 2);
    assert.match(result.errors[0]!.messages[0]!, /expected \{"insert": row\} or \{"delete": row\}/);
  });
});
