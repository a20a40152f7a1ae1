import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { physicalName } from '../../../src/core/catalog/catalog.ts';
import type { TimeUnit } from '../../../src/core/types/data-type.ts';
import { fastTimestampFromText, timestampFromText } from '../../../src/core/ingest/coercion.ts';
import { recordsInput } from '../../../src/core/ingest/staged-input.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';
import { ADMIN_TOKEN, TestCore } from '../../helpers/test-server.ts';

let harness: TestCore;
before(async () => {
  harness = await TestCore.open();
});
after(() => harness.close());

const INPUTS = ['2024-01-02T12:00:00.123456789+02:00', '2024-01-02 12:00:00.5', '2024-01-02T12:00:00Z', '1704196800', '1704196800123'];

for (const [unit, expected] of [
  ['s', ['2024-01-02 10:00:00', '2024-01-02 12:00:00', '2024-01-02 12:00:00', '2024-01-02 12:00:00', '2024-01-02 12:00:00']],
  ['ms', ['2024-01-02 10:00:00.123', '2024-01-02 12:00:00.5', '2024-01-02 12:00:00', '2024-01-02 12:00:00', '2024-01-02 12:00:00.123']],
  ['us', ['2024-01-02 10:00:00.123456', '2024-01-02 12:00:00.5', '2024-01-02 12:00:00', '2024-01-02 12:00:00', '2024-01-02 12:00:00.123']],
  ['ns', ['2024-01-02 10:00:00.123456789', '2024-01-02 12:00:00.5', '2024-01-02 12:00:00', '2024-01-02 12:00:00', '2024-01-02 12:00:00.123']],
] as Array<[TimeUnit, string[]]>) {
  test(`text into a ${unit} timestamp column: offsets are applied, epoch seconds and milliseconds read`, async () => {
    const admin = await harness.core.authenticate(ADMIN_TOKEN);
    const namespace = await harness.core.catalog.ensureNamespace('default');
    const table = await harness.core.createTable(admin, namespace, {
      name: `ts_${unit}`, columns: [{ name: 'n', type: { kind: 'int', bits: 32, signed: true }, nullable: false }, { name: 't', type: { kind: 'timestamp', unit }, nullable: false }],
    });
    const result = await harness.core.write(admin, { table, kind: 'append', onInvalid: 'reject', input: recordsInput({ columns: ['n', 't'], rows: INPUTS.map((text, index) => [String(index), text]) }) });
    assert.equal(result.rowsInserted, INPUTS.length);
    const rows = await harness.core.storage.query(`SELECT t::VARCHAR AS t FROM ${physicalName(table)} ORDER BY n`);
    assert.deepEqual(rows.map((row) => row['t']), expected);
  });
}

test('a named time zone is refused as invalid and does not shift the other rows of its batch', async () => {
  const admin = await harness.core.authenticate(ADMIN_TOKEN);
  const namespace = await harness.core.catalog.ensureNamespace('default');
  const table = await harness.core.createTable(admin, namespace, {
    name: 'ts_zones', columns: [{ name: 'n', type: { kind: 'int', bits: 32, signed: true }, nullable: false }, { name: 't', type: { kind: 'timestamp', unit: 'us' }, nullable: false }],
  });
  const texts = ['2024-01-02 03:04:05', '2024-01-02 03:04:05 Europe/Madrid', '2024-01-02 03:04:05', '2024-01-02T03:04:05', '2024-01-02 03:04:05+01:00'];
  const result = await harness.core.write(admin, {
    table, kind: 'append', onInvalid: 'report', input: recordsInput({ columns: ['n', 't'], rows: texts.map((text, index) => [String(index), text]) }),
  });
  assert.deepEqual([result.rowsInserted, result.rowsInvalid], [4, 1]);
  assert.equal(result.errors[0]!.row, 2);
  const rows = await harness.core.storage.query(`SELECT t::VARCHAR AS t FROM ${physicalName(table)} ORDER BY n`);
  assert.deepEqual(rows.map((row) => row['t']), ['2024-01-02 03:04:05', '2024-01-02 03:04:05', '2024-01-02 03:04:05', '2024-01-02 02:04:05']);
});

test('an offset is hours up to 23 and minutes (or seconds) up to 59, all applied; another numeric suffix is invalid, not dropped', async () => {
  const admin = await harness.core.authenticate(ADMIN_TOKEN);
  const namespace = await harness.core.catalog.ensureNamespace('default');
  const table = await harness.core.createTable(admin, namespace, {
    name: 'ts_offsets', columns: [{ name: 'n', type: { kind: 'int', bits: 32, signed: true }, nullable: false }, { name: 't', type: { kind: 'timestamp', unit: 'us' }, nullable: false }],
  });
  const texts = ['2024-01-01T00:00:00+01:00:30', '2024-01-01T00:00:00-23:59', '2024-01-01 00:00:00.5-03', '2024-01-01T00:00:00+24:00', '2024-01-01T00:00:00+99:99', '2024-01-01T00:00:00+1:2', '2024-12-31'];
  const result = await harness.core.write(admin, {
    table, kind: 'append', onInvalid: 'report', input: recordsInput({ columns: ['n', 't'], rows: texts.map((text, index) => [String(index), text]) }),
  });
  assert.deepEqual([result.rowsInserted, result.rowsInvalid, result.errors.map((error) => error.row)], [4, 3, [4, 5, 6]]);
  const rows = await harness.core.storage.query(`SELECT t::VARCHAR AS t FROM ${physicalName(table)} ORDER BY n`);
  assert.deepEqual(rows.map((row) => row['t']), ['2023-12-31 22:59:30', '2024-01-01 23:59:00', '2024-01-01 03:00:00.5', '2024-12-31 00:00:00']);
});

/** Texts near every shape the timestamp rule tells apart: formats, offsets, epochs, spaces, signs, junk. */
function awkwardTimestampTexts(count: number): string[] {
  const random = seededRandom(42);
  const pieces = ['2024', '-', '01', '12', '31', ' ', 'T', ':', '00', '59', '.', '123456', '123456789', 'Z', '+', '02', '02:00', '0200', '-05', '\u00a0', '\u3000', '\t', 'e', '1704196800', '9', 'UTC', 'Europe/Madrid', '+14:00', ''];
  const templates = [
    '2024-01-02 03:04:05', '2024-01-02T03:04:05.123456', '2024-01-02 03:04:05.123456789', '2024-01-02T03:04:05Z', '2024-01-02 03:04:05+02:00',
    '2024-01-02T03:04:05-0530', '2024-01-02 03:04:05-05', '2024-01-02', '1704196800', '1704196800123', '-1704196800.5', '12345-01-02 03:04:05',
  ];
  const texts: string[] = [];
  for (let index = 0; index < count; index += 1) {
    let text = templates[random(templates.length)]!;
    for (let edits = random(4); edits > 0; edits -= 1) {
      const at = random(text.length + 1);
      const piece = pieces[random(pieces.length)]!;
      text = random(3) === 0 ? text.slice(0, at) + piece + text.slice(at + 1) : text.slice(0, at) + piece + text.slice(at);
    }
    texts.push(text);
  }
  return texts;
}

test('the shortcut for the common timestamp shape gives what the general rule gives, on any text', async () => {
  const texts = awkwardTimestampTexts(200_000);
  const source = `SELECT unnest(string_split($1::VARCHAR, chr(1))) AS v`;
  for (const nanos of [false, true]) {
    const [result] = await harness.core.storage.query(
      `SELECT count(*) AS texts, count(*) FILTER (WHERE shortcut IS DISTINCT FROM general) AS differing,
              count(*) FILTER (WHERE shortcut IS NOT NULL) AS valid, any_value(v) FILTER (WHERE shortcut IS DISTINCT FROM general) AS example
       FROM (SELECT v, ${fastTimestampFromText('v', nanos)} AS shortcut, ${timestampFromText('v', nanos)} AS general FROM (${source}))`,
      [texts.join('\u0001')],
    );
    assert.equal(Number(result!['texts']), texts.length);
    assert.equal(Number(result!['differing']), 0, `${nanos ? 'nanoseconds' : 'microseconds'}: e.g. ${JSON.stringify(result!['example'])}`);
    assert.ok(Number(result!['valid']) > texts.length / 4, 'many of the texts are timestamps');
  }
});

test('epochs and offsets beyond what a column holds are invalid values, not a failed write', async () => {
  const admin = await harness.core.authenticate(ADMIN_TOKEN);
  const namespace = await harness.core.catalog.ensureNamespace('default');
  const texts = ['2024-01-02 03:04:05', '99999999999999999999', '3024-01-02 03:04:05+02:00', '-9000000000000000'];
  for (const [unit, inserted] of [['us', 2], ['ns', 1]] as Array<[TimeUnit, number]>) {
    const table = await harness.core.createTable(admin, namespace, {
      name: `ts_range_${unit}`, columns: [{ name: 'n', type: { kind: 'int', bits: 32, signed: true }, nullable: false }, { name: 't', type: { kind: 'timestamp', unit }, nullable: false }],
    });
    const result = await harness.core.write(admin, {
      table, kind: 'append', onInvalid: 'report', input: recordsInput({ columns: ['n', 't'], rows: texts.map((text, index) => [String(index), text]) }),
    });
    assert.deepEqual([result.rowsInserted, result.rowsInvalid], [inserted, texts.length - inserted], `a ${unit} column`);
    assert.match(result.errors[0]!.messages[0]!, /value "99999999999999999999" is not a valid/);
  }
});
