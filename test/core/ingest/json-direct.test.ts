import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { physicalName } from '../../../src/core/catalog/catalog.ts';
import { QUARANTINE_COLUMNS, type Column, type Table } from '../../../src/core/catalog/model.ts';
import { MAX_LINE_BYTES } from '../../../src/core/ingest/decoders/line-limits.ts';
import { JsonBatch } from '../../../src/core/ingest/json-batch.ts';
import type { StagedInput } from '../../../src/core/ingest/staged-input.ts';
import type { WriteRequest } from '../../../src/core/write/write-command.ts';
import { executeRun } from '../../../src/core/write/write-executor.ts';
import { CoreFixture } from '../../helpers/core-fixture.ts';

const COLUMNS: Column[] = [
  { name: 'id', type: { kind: 'int', bits: 64, signed: true }, nullable: false },
  { name: 'name', type: { kind: 'string' }, nullable: true },
  { name: 'amount', type: { kind: 'float', bits: 64 }, nullable: true },
  { name: 'at', type: { kind: 'timestamp', unit: 'us' }, nullable: true },
  { name: 'tags', type: { kind: 'list', element: { kind: 'string' }, elementNullable: true }, nullable: true },
  { name: 'payload', type: { kind: 'json' }, nullable: true, jsonPath: '$.meta' },
];

/** Valid records of every awkward kind: numbers as text and as numbers, objects in text columns, escapes, missing and extra keys. */
const AWKWARD = [
  '{"id": 1, "name": "plain", "amount": 1.50, "at": "2024-01-01 10:00:00.5", "tags": ["a", "b"], "meta": {"k": [1, 2.50]}}',
  '{"id": "2", "name": {"nested": true}, "amount": "3", "at": "2024-01-01T10:00:00+02:00", "tags": [], "meta": "text"}',
  '{"id": 3, "name": "caf\\u00e9 \\n \\"q\\"", "amount": 1e3, "at": 1704067200, "tags": null, "meta": null, "extra": 1}',
  '{"id": 4}',
  '  {"id": 5, "name": 12345678901234567890, "amount": -0, "tags": ["x", null]}  ',
  '{"id": 6, "name": true, "at": "2024-02-29"}\r',
  '',
  '   ',
];

/** The same records, each alone on a line that opens with `{`: a body the write path passes to DuckDB as it is. */
const AWKWARD_PLAIN = AWKWARD.map((line) => line.trim()).filter((line) => line !== '');

/** Plain records after the awkward ones (with enough of them, the body is spooled rather than held in memory). */
function fillerLines(firstId: number, count: number): string {
  let text = '';
  for (let id = firstId; id < firstId + count; id += 1) {
    text += `{"id": ${id}, "name": "user_${id}", "amount": ${id / 4}, "at": "2024-01-01 00:00:00.${String(id % 1_000_000).padStart(6, '0')}", "tags": ["t${id % 7}"]}\n`;
  }
  return text;
}

/** Bodies the direct reads cannot take as they are (or take as the stage does), and the records the stage quarantines. */
const UNREADABLE: Record<string, { lines: Array<string | Buffer>; quarantined: number }> = {
  'a value that does not convert': { lines: ['{"id": "x1"}'], quarantined: 1 },
  'a key given twice': { lines: ['{"id": 1, "id": 2}'], quarantined: 0 },
  'two objects on one line': { lines: ['{"id": 1} {"id": 2}'], quarantined: 1 },
  'an object over two lines': { lines: ['{"id":', '1}'], quarantined: 2 },
  'an object, then a line break inside the next': { lines: ['{"id": 1, "name":', '{"a": 1}}'], quarantined: 2 },
  'a null record': { lines: ['null'], quarantined: 1 },
  'an array record': { lines: ['[{"id": 1}]'], quarantined: 1 },
  'a byte order mark': { lines: ['\ufeff{"id": 1}'], quarantined: 0 },
  'invalid UTF-8': { lines: [Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x31, 0x2c, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])], quarantined: 1 },
  'a trailing comma (which both readers accept)': { lines: ['{"id": 1, "name": "a",}'], quarantined: 0 },
  'numbers in a text column that the JSON reader prints otherwise (1e-07 for 1e-7), and a text spelled like one': {
    lines: ['{"id": 1, "name": 1e-7}', '{"id": 2, "name": 1e16}', '{"id": 3, "name": 0.00001}', '{"id": 4, "name": 1.5e300}', '{"id": 5, "name": "1e+16"}'], quarantined: 0,
  },
  'a line past the line limit': { lines: [`{"id": 1, "name": "${'x'.repeat(MAX_LINE_BYTES + 1000)}"}`], quarantined: 1 },
};

/**
 * JSON records written straight to the table when every row is valid: an NDJSON body too large to
 * hold in memory is spooled as it came and read by DuckDB's JSON reader; a small one is passed as
 * text parameters and each record parsed once. Whatever the body, the outcome is exactly what the
 * stage gives reading the same body line by line.
 */
const SOURCES = [
  { name: 'a large NDJSON body, read from its spool file', fillerRows: 90_000, reader: /read_json\(/, awkward: AWKWARD },
  { name: 'a small NDJSON body, held in memory', fillerRows: 10, reader: /^(?![\s\S]*json_valid)(?![\s\S]*decode\()[\s\S]*json_extract_string/, awkward: AWKWARD },
  { name: 'a small NDJSON body of one object per line, passed to DuckDB as it is', fillerRows: 10, reader: /^(?![\s\S]*json_valid)(?=[\s\S]*decode\(\$4::BLOB\))[\s\S]*json_extract_string/, awkward: AWKWARD_PLAIN },
];

for (const { name: sourceName, fillerRows, reader, awkward } of SOURCES) {
  describe(`JSON rows straight to the table: ${sourceName}`, () => {
    let fixture: CoreFixture;
    before(async () => {
      fixture = await CoreFixture.open();
    });
    after(() => fixture.close());

    const stats = () => ({ ...fixture.core.writer.stats });
    const cleanups: Array<() => Promise<void>> = [];
    after(async () => {
      for (const cleanup of cleanups) await cleanup();
    });
    const filler = () => fillerLines(100, fillerRows);

    async function input(body: string | Buffer, columns = COLUMNS): Promise<StagedInput> {
      const batch = new JsonBatch(fixture.core.storage.spoolDir, cleanups);
      const bytes = Buffer.from(body);
      const chunks = Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, index) => bytes.subarray(index * 65_536, (index + 1) * 65_536));
      await batch.addLines(Readable.from(chunks));
      return batch.input(columns, { format: 'raw', caseInsensitive: false, positional: false });
    }

    const request = (table: Table, staged: StagedInput): WriteRequest => ({ table: fixture.current(table), kind: 'append', input: staged, onInvalid: 'quarantine' });

    async function contents(table: Table) {
      const rows = await fixture.rows(table, 'id');
      const quarantined = await fixture.rows(fixture.core.catalog.quarantineOf(table)!, `${QUARANTINE_COLUMNS.errors}::VARCHAR`);
      return { rows: JSON.stringify(rows, (_, value) => (typeof value === 'bigint' ? String(value) : value)), quarantined: quarantined.map((row) => row[QUARANTINE_COLUMNS.errors]) };
    }

    /** The body written through the write path, and again through the stage alone into a second table. */
    async function writeBoth(body: string | Buffer) {
      const table = await fixture.createTable(COLUMNS);
      const before = stats();
      const result = await fixture.core.write(fixture.admin, request(table, await input(body)));
      const path = { direct: stats().directWrites - before.directWrites, missed: stats().directMisses - before.directMisses };
      const reference = await fixture.createTable(COLUMNS);
      const staged = await input(body);
      const [effect] = await fixture.core.storage.transaction((tx) => executeRun(tx, fixture.core.catalog, [request(reference, staged)], { direct: false }));
      return { table, result, path, effect: effect!, actual: await contents(table), expected: await contents(reference) };
    }

    test('a body of valid objects goes straight to the table and gives the rows the stage gives', async () => {
      const body = `${awkward.join('\n')}\n${filler()}`;
      const direct = await fixture.core.storage.transaction(async (tx) => (await input(body)).direct!(tx));
      assert.match(direct.sql, reader);
      const { table, result, path, actual, expected } = await writeBoth(body);
      assert.deepEqual(path, { direct: 1, missed: 0 }, 'the rows went straight to the table');
      assert.deepEqual([result.rowsInserted, result.rowsQuarantined], [6 + fillerRows, 0]);
      assert.deepEqual(actual, expected);
      const [first, second, third, , fifth, sixth] = await fixture.rows(table, 'id');
      assert.deepEqual([first!['amount'], first!['tags'], JSON.parse(String(first!['payload']))], [1.5, ['a', 'b'], { k: [1, 2.5] }]);
      assert.deepEqual([second!['name'], (second!['at'] as Date).toISOString(), second!['payload']], ['{"nested":true}', '2024-01-01T08:00:00.000Z', '"text"']);
      assert.deepEqual([third!['name'], third!['amount'], (third!['at'] as Date).toISOString()], ['café \n "q"', 1000, '2024-01-01T00:00:00.000Z']);
      assert.deepEqual([fifth!['name'], fifth!['tags']], ['12345678901234567890', ['x', null]]);
      assert.equal(sixth!['name'], 'true');
    });

    for (const [name, { lines, quarantined }] of Object.entries(UNREADABLE)) {
      test(`${name}: the outcome is the stage's own, line numbers and messages included`, async () => {
        const body = Buffer.concat([...lines.flatMap((line) => [Buffer.from(line), Buffer.from('\n')]), Buffer.from(filler())]);
        const { result, effect, actual, expected } = await writeBoth(body);
        assert.deepEqual([result.rowsInserted, result.rowsQuarantined, result.linesInvalid], [effect.rowsInserted, effect.rowsQuarantined, effect.linesInvalid]);
        assert.equal(result.rowsQuarantined, quarantined);
        assert.deepEqual(actual, expected);
      });
    }

    test('an upsert straight to the table keeps the last record of each key', async () => {
      const keys = fillerRows > 1000 ? 100_000 : 100;
      let body = '';
      for (let round = 1; round <= 5; round += 1) for (let id = 0; id < keys; id += 1) body += `{"id": ${id}, "amount": ${round}}\n`;
      const table = await fixture.createTable(COLUMNS, { primaryKey: ['id'] });
      const before = stats();
      const result = await fixture.core.write(fixture.admin, { ...request(table, await input(body)), kind: 'upsert', duplicateKeys: 'last_wins' });
      assert.equal(stats().directWrites, before.directWrites + 1);
      assert.deepEqual([result.rowsInserted, result.rowsUpdated], [keys, 0]);
      const amounts = await fixture.core.storage.query(`SELECT amount, count(*) AS n FROM ${physicalName(fixture.current(table))} GROUP BY amount`);
      assert.deepEqual(amounts, [{ amount: 5, n: BigInt(keys) }]);
    });

    test('a null record, which the JSON reader reads as a row of NULLs, is left to the stage to judge', async () => {
      const nullable = COLUMNS.map((column) => ({ ...column, nullable: true }));
      const table = await fixture.createTable(nullable);
      const staged = await input(`{"id": 1}\n{}\nnull\n${filler()}`, nullable);
      const result = await fixture.core.write(fixture.admin, request(table, staged));
      assert.deepEqual([result.rowsInserted, result.rowsQuarantined], [2 + fillerRows, 1]);
      const [quarantinedRow] = await fixture.rows(fixture.core.catalog.quarantineOf(table)!);
      assert.match(String(quarantinedRow![QUARANTINE_COLUMNS.errors]), /^expected a JSON object, got null/);
    });
  });
}
