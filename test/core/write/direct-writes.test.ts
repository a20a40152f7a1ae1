import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Column, Table } from '../../../src/core/catalog/model.ts';
import { coerceColumn } from '../../../src/core/ingest/coercion.ts';
import { csvInput } from '../../../src/core/ingest/decoders/csv-input.ts';
import { jsonInput, jsonTextsInMemory } from '../../../src/core/ingest/decoders/json-input.ts';
import { parquetInput } from '../../../src/core/ingest/decoders/parquet-input.ts';
import type { StagedInput } from '../../../src/core/ingest/staged-input.ts';
import type { InvalidRowPolicy } from '../../../src/core/write/write-command.ts';
import { quoteLiteral } from '../../../src/storage/duckdb/sql.ts';
import { CoreFixture } from '../../helpers/core-fixture.ts';

const int64 = { kind: 'int', bits: 64, signed: true } as const;
const text = { kind: 'string' } as const;
const timestamp = { kind: 'timestamp', unit: 'us' } as const;
const float64 = { kind: 'float', bits: 64 } as const;
const COLUMNS: Column[] = [
  { name: 'id', type: int64, nullable: false },
  { name: 'name', type: text, nullable: true },
  { name: 'at', type: timestamp, nullable: true },
  { name: 'amount', type: float64, nullable: true },
];

/**
 * A lone append (or a group of appends of in-memory JSON) is first written straight to its table;
 * the first invalid row makes the write run again through the stage. Either way the result, the
 * rows and the quarantine must be exactly what the stage alone gives.
 */
describe('appends written straight to the table, and their fallback to the stage', () => {
  let fixture: CoreFixture;
  before(async () => {
    fixture = await CoreFixture.open();
  });
  after(() => fixture.close());

  const stats = () => ({ ...fixture.core.writer.stats });
  const write = (table: Table, input: StagedInput, onInvalid: InvalidRowPolicy = 'quarantine') =>
    fixture.core.write(fixture.admin, { table: fixture.current(table), kind: 'append', input, onInvalid, importId: 'imp' });

  async function spool(name: string, content: string): Promise<string> {
    const path = join(fixture.core.storage.spoolDir, name);
    await writeFile(path, content);
    return path;
  }

  const csv = async (name: string, content: string) =>
    csvInput(await spool(name, content), COLUMNS, { header: true, caseInsensitive: false, lenient: false });

  test('a clean CSV file goes straight to the table', async () => {
    const table = await fixture.createTable(COLUMNS);
    const before = stats();
    const result = await write(table, await csv('clean.csv', 'id,name,at,amount\n1,ann,2024-01-02 03:04:05,1.5\n2,,1704164645,\n'));
    assert.equal(result.rowsInserted, 2);
    assert.equal(result.rowsQuarantined, 0);
    assert.equal(stats().directWrites, before.directWrites + 1);
    assert.equal(stats().directMisses, before.directMisses);
    const rows = await fixture.rows(table, 'id');
    assert.deepEqual(rows.map((row) => [row['id'], row['name'], (row['at'] as Date).toISOString(), row['amount']]), [
      [1n, 'ann', '2024-01-02T03:04:05.000Z', 1.5],
      [2n, null, '2024-01-02T03:04:05.000Z', null],
    ]);
  });

  test('an invalid value sends the CSV file through the stage: quarantine, messages and row numbers as ever', async () => {
    const table = await fixture.createTable(COLUMNS);
    const before = stats();
    const result = await write(table, await csv('one-bad.csv', 'id,name,at,amount\n1,ann,,\nx,bob,,\n3,cy,yesterday,\n'));
    assert.equal(stats().directMisses, before.directMisses + 1);
    assert.equal(result.rowsInserted, 1);
    assert.equal(result.rowsQuarantined, 2);
    assert.deepEqual(result.errors.map((error) => [error.row, error.messages]), [
      [2, ['column "id": value "x" is not a valid int']],
      [3, ['column "at": value "yesterday" is not a valid timestamp']],
    ]);
    assert.deepEqual((await fixture.rows(table, 'id')).map((row) => row['name']), ['ann']);
    const quarantined = await fixture.rows(fixture.core.catalog.quarantineOf(table)!, 'name');
    assert.deepEqual(quarantined.map((row) => [row['id'], row['name'], row['at']]), [['x', 'bob', null], ['3', 'cy', 'yesterday']]);
  });

  test('a malformed CSV line sends the file through the stage, where it is an invalid line', async () => {
    const table = await fixture.createTable(COLUMNS);
    const before = stats();
    const result = await write(table, await csv('malformed.csv', 'id,name,at,amount\n1,ann,,\n2,bob,,,extra,fields\n3,cy,,\n'));
    assert.equal(stats().directMisses, before.directMisses + 1);
    assert.equal(result.rowsInserted, 2);
    assert.equal(result.linesInvalid, 1);
    // The second record (line 3 of the file, which its message names), numbered as records are.
    assert.equal(result.errors[0]?.row, 2);
    assert.match(result.errors[0]?.messages[0] ?? '', /^line 3: /);
  });

  test('a missing value of a non-nullable column is a miss under reject too: nothing is written', async () => {
    const table = await fixture.createTable(COLUMNS);
    await assert.rejects(write(table, await csv('missing.csv', 'id,name,at,amount\n1,ann,,\n,bob,,\n'), 'reject'), (error: Error) =>
      /1 row failed validation \(row 2: column "id": value is missing and the column is not nullable\)/.test(error.message));
    assert.deepEqual(await fixture.rows(table), []);
  });

  test('Parquet columns of the target type are written as they are; a null in a non-nullable column still fails', async () => {
    const table = await fixture.createTable(COLUMNS);
    const path = join(fixture.core.storage.spoolDir, 'typed.parquet');
    await fixture.core.storage.query(`COPY (SELECT * FROM (VALUES (1::BIGINT, 'ann', TIMESTAMP '2024-01-02 03:04:05.123456', 0.1::DOUBLE), (2, NULL, NULL, 1e300))
      t(id, name, "at", amount)) TO ${quoteLiteral(path)} (FORMAT parquet)`);
    const before = stats();
    const result = await write(table, await parquetInput(fixture.core.storage, path, COLUMNS, { caseInsensitive: false }));
    assert.equal(result.rowsInserted, 2);
    assert.equal(stats().directWrites, before.directWrites + 1);
    const rows = await fixture.rows(table, 'id');
    assert.deepEqual(rows.map((row) => [row['id'], row['name'], (row['at'] as Date | null)?.toISOString() ?? null, row['amount']]), [
      [1n, 'ann', '2024-01-02T03:04:05.123Z', 0.1],
      [2n, null, null, 1e300],
    ]);

    const nulls = join(fixture.core.storage.spoolDir, 'nulls.parquet');
    await fixture.core.storage.query(`COPY (SELECT * FROM (VALUES (NULL::BIGINT, 'x'), (3, 'y')) t(id, name)) TO ${quoteLiteral(nulls)} (FORMAT parquet)`);
    const second = await write(table, await parquetInput(fixture.core.storage, nulls, COLUMNS, { caseInsensitive: false }));
    assert.equal(stats().directMisses, before.directMisses + 1);
    assert.equal(second.rowsInserted, 1);
    assert.deepEqual(second.errors.map((error) => [error.row, error.messages]), [[1, ['column "id": value is missing and the column is not nullable']]]);
  });

  const json = (...lines: string[]) => jsonInput(jsonTextsInMemory(lines.map((line, index) => ({ text: line, index: index + 1 }))), COLUMNS, {
    format: 'raw', caseInsensitive: false, positional: false,
  });

  test('concurrent JSON appends load together and keep their own counts', async () => {
    const table = await fixture.createTable(COLUMNS);
    const before = stats();
    const results = await Promise.all([
      write(table, json('{"id": 1, "name": "a"}', '{"id": 2}')),
      write(table, json('{"id": 3, "at": "2024-01-01T00:00:00Z"}')),
      write(table, json('{"id": 4}', '{"id": 5}', '{"id": 6, "amount": 2.5}')),
    ]);
    assert.deepEqual(results.map((result) => result.rowsInserted), [2, 1, 3]);
    assert.equal(stats().commits, before.commits + 1, 'one commit for the group');
    assert.equal(stats().directWrites, before.directWrites + 3);
    assert.deepEqual(results.map((result) => result.version), [1, 2, 3]);
    assert.deepEqual((await fixture.rows(table, 'id')).map((row) => row['id']), [1n, 2n, 3n, 4n, 5n, 6n]);
  });

  test('one bad JSON record sends the group through the stage: each request keeps its own counts, errors and fate', async () => {
    const table = await fixture.createTable(COLUMNS);
    const before = stats();
    const settled = await Promise.allSettled([
      write(table, json('{"id": 1}', '{"id": "one"}', 'not json', '', '{"id": 4}')),
      write(table, json('{"id": 10}')),
      write(table, json('{"id": 20}', '{"id": null}'), 'reject'),
      write(table, json('[1]', '{"id": 30}'), 'report'),
    ]);
    assert.equal(stats().directMisses, before.directMisses + 1);
    const [first, second, third, fourth] = settled;
    assert.equal(first.status, 'fulfilled');
    assert.equal(first.value.rowsInserted, 2);
    assert.equal(first.value.rowsQuarantined, 3);
    assert.equal(first.value.linesInvalid, 2);
    assert.deepEqual(first.value.errors.map((error) => [error.row, error.messages]), [
      [2, ['column "id": value "one" is not a valid int']],
      [3, ['invalid JSON']],
      [4, ['invalid JSON']],
    ]);
    assert.equal(second.status, 'fulfilled');
    assert.equal(second.value.rowsInserted, 1);
    assert.equal(third.status, 'rejected');
    assert.match(String(third.reason.message), /1 row failed validation \(row 2: column "id": value is missing/);
    assert.equal(fourth.status, 'fulfilled');
    assert.equal(fourth.value.rowsInserted, 1);
    assert.equal(fourth.value.rowsQuarantined, 0);
    assert.deepEqual(fourth.value.errors.map((error) => error.messages), [['expected a JSON object, got an array']]);
    assert.deepEqual((await fixture.rows(table, 'id')).map((row) => row['id']), [1n, 4n, 10n, 30n]);
  });

  test('texts passed to the prepared statement keep their escapes, separators and record numbers', async () => {
    const table = await fixture.createTable(COLUMNS);
    const before = stats();
    const results = await Promise.all([
      write(table, json('{"id": 1, "name": "a,b\\u0001\\n\\"c"}', '{"id": 2, "name": "\u00e9,\\t"}')),
      write(table, json('{"id": 3,\n "name": "x"}')),
    ]);
    assert.deepEqual(results.map((result) => result.rowsInserted), [2, 1]);
    assert.equal(stats().directWrites, before.directWrites + 2);
    assert.deepEqual((await fixture.rows(table, 'id')).map((row) => row['name']), ['a,b\u0001\n"c', '\u00e9,\t', 'x']);
  });

  test('a text holding \\x01 (never valid JSON) goes through the temporary table, and fails alone as invalid JSON', async () => {
    const table = await fixture.createTable(COLUMNS);
    const before = stats();
    const result = await write(table, json('{"id": 1}', '{"id": \u0001 2}', '{"id": 3}'));
    assert.equal(stats().directMisses, before.directMisses + 1);
    assert.deepEqual([result.rowsInserted, result.rowsQuarantined], [2, 1]);
    assert.deepEqual(result.errors.map((error) => [error.row, error.messages]), [[2, ['invalid JSON']]]);
  });

  test('an empty JSON request appends nothing', async () => {
    const table = await fixture.createTable(COLUMNS);
    const result = await write(table, json());
    assert.equal(result.rowsInserted, 0);
    assert.equal((await fixture.rows(table)).length, 0);
  });

  test('the direct check of a coerced value fails exactly where the stage finds an error', async () => {
    const kinds: Array<[Column, string[]]> = [
      [{ name: 'i', type: int64, nullable: true }, ['1', ' 2 ', 'x', '', '1.5', '99999999999999999999']],
      [{ name: 'i', type: int64, nullable: false }, ['1', 'x', '']],
      [{ name: 't', type: timestamp, nullable: true }, ['2024-01-01', '2024-01-01T00:00:00+02:00', '1704067200', 'nope', '']],
      [{ name: 's', type: text, nullable: false }, ['', 'a']],
      [{ name: 'b', type: { kind: 'boolean' }, nullable: true }, ['true', 'maybe']],
      [{ name: 'j', type: { kind: 'json' }, nullable: true }, ['{"a":1}', '{bad']],
      [{ name: 'd', type: int64, nullable: false, defaultExpression: '7' }, ['1', 'x']],
      [{ name: 'n', type: { kind: 'null' }, nullable: true }, ['x']],
    ];
    for (const [column, samples] of kinds) {
      for (const options of [{}, { nullTexts: ['null', ''], integerFractions: 'truncate' as const }]) {
        const coerced = coerceColumn(column, 'x', ({ type }) => type.kind, options);
        const texts = [...samples.map(quoteLiteral), 'NULL'].map((sample) => `(${sample})`).join(', ');
        const rows = await fixture.core.storage.query(
          `SELECT x, (${coerced.error}) IS NOT NULL AS stage, ${coerced.failed('v')} AS direct FROM (SELECT x, ${coerced.value} AS v FROM (VALUES ${texts}) t(x))`,
        );
        for (const row of rows) assert.equal(row['direct'], row['stage'], `${column.name} ${JSON.stringify(column.type)} ${JSON.stringify(options)} on ${JSON.stringify(row['x'])}`);
      }
    }
  });
});
