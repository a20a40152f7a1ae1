import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { physicalName } from '../../../src/core/catalog/catalog.ts';
import type { TimeUnit } from '../../../src/core/types/data-type.ts';
import { recordsInput } from '../../../src/core/ingest/staged-input.ts';
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
  ['ns', ['2024-01-02 10:00:00.123456', '2024-01-02 12:00:00.5', '2024-01-02 12:00:00', '2024-01-02 12:00:00', '2024-01-02 12:00:00.123']],
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
