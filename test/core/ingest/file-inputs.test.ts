import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { physicalName } from '../../../src/core/catalog/catalog.ts';
import type { Column, Table } from '../../../src/core/catalog/model.ts';
import { csvInput, type CsvOptions } from '../../../src/core/ingest/decoders/csv-input.ts';
import { MAX_LINE_BYTES } from '../../../src/core/ingest/decoders/line-limits.ts';
import { parquetInput } from '../../../src/core/ingest/decoders/parquet-input.ts';
import type { StagedInput } from '../../../src/core/ingest/staged-input.ts';
import { CoreFixture } from '../../helpers/core-fixture.ts';

const int32 = { kind: 'int', bits: 32, signed: true } as const;
const text = { kind: 'string' } as const;
const date = { kind: 'date', unit: 'day' } as const;
const COLUMNS: Column[] = [
  { name: 'id', type: int32, nullable: false },
  { name: 'name', type: text, nullable: true },
  { name: 'day', type: date, nullable: true },
];

describe('CSV and Parquet files read by DuckDB into the write path', () => {
  let fixture: CoreFixture;
  before(async () => {
    fixture = await CoreFixture.open();
  });
  after(() => fixture.close());

  const createTable = () => fixture.createTable(COLUMNS);

  async function spool(name: string, content: string): Promise<string> {
    const path = join(fixture.core.storage.spoolDir, name);
    await writeFile(path, content);
    return path;
  }

  const csvOptions = (options: Partial<CsvOptions> = {}): CsvOptions => ({ header: 'detect', caseInsensitive: true, lenient: false, ...options });
  const write = (table: Table, input: StagedInput) =>
    fixture.core.write(fixture.admin, { table: fixture.core.catalog.getTableById(table.id), kind: 'append', input, onInvalid: 'quarantine' });
  const rowsOf = (table: Table) => fixture.rows(table, 'id');

  test('a CSV header maps fields to columns by name in any order and case', async () => {
    const table = await createTable();
    const path = await spool('a.csv', 'Day,NAME,id\n2024-01-02,"Smith, Al",1\n2024-02-03,"multi\nline",2\n');
    const result = await write(table, await csvInput(path, table.columns, csvOptions()));
    assert.equal(result.rowsInserted, 2);
    const rows = await rowsOf(table);
    assert.deepEqual(rows.map((row) => [row['id'], row['name']]), [[1, 'Smith, Al'], [2, 'multi\nline']]);
  });

  test('a CSV without a header maps fields by position, with the delimiter guessed', async () => {
    const table = await createTable();
    const path = await spool('b.csv', '1;x;2024-01-01\r\n2;y;2024-01-02\r\n');
    const result = await write(table, await csvInput(path, table.columns, csvOptions()));
    assert.equal(result.rowsInserted, 2);
    assert.deepEqual((await rowsOf(table)).map((row) => row['name']), ['x', 'y']);
  });

  test('broken CSV lines are quarantined with the line, the reason and the text; good lines are kept', async () => {
    const table = await createTable();
    const path = await spool('c.csv', 'id,name,day\n1,a,2024-01-01\n2,b,2024-01-01,extra\n3\nnot-a-number,c,2024-01-01\n5,"unterminated,2024-01-01\n');
    const result = await write(table, await csvInput(path, table.columns, csvOptions()));
    assert.deepEqual([result.rowsInserted, result.rowsQuarantined, result.linesInvalid], [1, 4, 3]);
    const quarantine = await fixture.core.storage.query(`SELECT id, c__error FROM ${physicalName(fixture.core.catalog.quarantineOf(table)!)}`);
    const messages = quarantine.map((row) => (row['c__error'] as string[]).join(';')).join('\n');
    assert.match(messages, /line 3: .*Expected Number of Columns: 3 Found: 4.*: 2,b,2024-01-01,extra/);
    assert.match(messages, /line 4: .*Found: 1/);
    assert.match(messages, /value "not-a-number" is not a valid/);
  });

  test('a CSV line past the line limit is quarantined with the reason, wherever it falls, and the others load', async () => {
    const tooLong = `9,${'y'.repeat(MAX_LINE_BYTES + 1000)},2024-01-01`;
    const nearLimit = `8,${'x'.repeat(MAX_LINE_BYTES - 100)},2024-01-01`;
    const filler = Array.from({ length: 50_000 }, (_, index) => `${index + 10},f,2024-01-01`);
    const layouts = {
      first: [tooLong, nearLimit, ...filler], middle: [nearLimit, ...filler, tooLong, ...filler], last: [nearLimit, ...filler, tooLong], 'across buffers': ['1,a,2024-01-01', nearLimit, tooLong, ...filler],
    };
    for (const [where, lines] of Object.entries(layouts)) {
      const table = await createTable();
      const path = await spool(`long-${where}.csv`, `${lines.join('\n')}\n`);
      const result = await write(table, await csvInput(path, table.columns, csvOptions({ header: false })));
      assert.deepEqual([result.rowsInserted, result.rowsQuarantined, result.linesInvalid], [lines.length - 1, 1, 1], `the long line ${where}`);
      const [quarantined] = await fixture.core.storage.query(`SELECT c__error FROM ${physicalName(fixture.core.catalog.quarantineOf(table)!)}`);
      assert.match((quarantined!['c__error'] as string[]).join(';'), /line \d+: .*(line size|Maximum line size)/i);
    }
  });

  test('lenient CSV pads missing fields with NULL and ignores extra ones', async () => {
    const table = await createTable();
    const path = await spool('d.csv', '1,a,2024-01-01,extra\n2\n');
    const result = await write(table, await csvInput(path, table.columns, csvOptions({ header: false, lenient: true })));
    assert.equal(result.rowsInserted, 2);
    assert.deepEqual((await rowsOf(table)).map((row) => [row['id'], row['name']]), [[1, 'a'], [2, null]]);
  });

  test('a delimiter of more than one character is refused', async () => {
    const path = await spool('e.csv', '1,a\n');
    await assert.rejects(csvInput(path, COLUMNS, csvOptions({ delimiter: ';;' })), { code: 'INVALID_ARGUMENT' });
  });

  test('Parquet columns are read by name or by JSONPath into structs', async () => {
    const table = await createTable();
    const path = join(fixture.core.storage.spoolDir, 'p.parquet');
    await fixture.core.storage.query(
      `COPY (SELECT 1 AS ID, {'name': 'nested'} AS info, DATE '2024-03-04' AS day UNION ALL SELECT 2, {'name': NULL}, NULL) TO '${path}' (FORMAT parquet)`,
    );
    const columns = table.columns.map((column) => (column.name === 'name' ? { ...column, jsonPath: '$.info.name' } : column));
    const result = await write(table, await parquetInput(fixture.core.storage, path, columns, { caseInsensitive: true }));
    assert.equal(result.rowsInserted, 2);
    const rows = await rowsOf(table);
    assert.deepEqual(rows.map((row) => [row['id'], row['name']]), [[1, 'nested'], [2, null]]);
  });

  test('a corrupt Parquet file is refused as malformed', async () => {
    const path = await spool('bad.parquet', 'PAR1 this is not parquet');
    await assert.rejects(parquetInput(fixture.core.storage, path, COLUMNS, { caseInsensitive: true }), { code: 'MALFORMED_BODY' });
  });
});
