import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CATALOG_SCHEMA } from '../../../src/core/catalog/migrations.ts';
import { JsonBatch } from '../../../src/core/ingest/json-batch.ts';
import { recordsInput } from '../../../src/core/ingest/staged-input.ts';
import type { InvalidRowPolicy } from '../../../src/core/write/write-command.ts';
import { CoreFixture } from '../../helpers/core-fixture.ts';

let fixture: CoreFixture;
before(async () => {
  fixture = await CoreFixture.open();
});
after(() => fixture.close());

test('pruning drops writes older than the retention, with their idempotency keys, and keeps recent ones', async () => {
  const table = await fixture.createTable([{ name: 'id', type: { kind: 'int', bits: 32, signed: true }, nullable: false }]);
  const write = (key: string) => fixture.core.write(fixture.admin, {
    table: fixture.current(table), kind: 'append', onInvalid: 'reject',
    input: recordsInput({ columns: ['id'], rows: [['1']] }), idempotency: { key, requestHash: 'h' },
  });
  await write('old');
  await write('recent');
  // Age one key past the retention (48 hours by default), as if it had been written three days ago.
  await fixture.core.storage.transaction((tx) => tx.run(`UPDATE ${CATALOG_SCHEMA}.write_log SET created_at = now() - INTERVAL 3 DAY WHERE idempotency_key = 'old'`));
  await fixture.reopen();
  await fixture.core.writer.log.prune();
  const kept = await fixture.core.storage.query(`SELECT idempotency_key FROM ${CATALOG_SCHEMA}.write_log WHERE table_id = ? ORDER BY sequence`, [table.id]);
  assert.deepEqual(kept.map((row) => row['idempotency_key']), ['recent']);
  assert.equal((await write('recent')).replayed, true);
  assert.equal((await write('old')).replayed, false);
});

test('pruning keeps the latest write however old, so sequences go on from it after a restart', async () => {
  const table = await fixture.createTable([{ name: 'id', type: { kind: 'int', bits: 32, signed: true }, nullable: false }]);
  const write = () => fixture.core.write(fixture.admin, { table: fixture.current(table), kind: 'append', onInvalid: 'reject', input: recordsInput({ columns: ['id'], rows: [['1']] }) });
  await write();
  const last = (await write()).sequence;
  await fixture.core.storage.transaction((tx) => tx.run(`UPDATE ${CATALOG_SCHEMA}.write_log SET created_at = now() - INTERVAL 3 DAY`));
  await fixture.core.writer.log.prune();
  const kept = await fixture.core.storage.query(`SELECT sequence FROM ${CATALOG_SCHEMA}.write_log`);
  assert.deepEqual(kept.map((row) => Number(row['sequence'])), [last]);
  await fixture.reopen();
  assert.equal(fixture.core.writer.log.completedThrough, last);
  assert.equal((await write()).sequence, last + 1);
});

test('pruning drops writes without an idempotency key at once, as nothing reads them back, and keeps the latest', async () => {
  const table = await fixture.createTable([{ name: 'id', type: { kind: 'int', bits: 32, signed: true }, nullable: false }]);
  const write = (key?: string) => fixture.core.write(fixture.admin, {
    table: fixture.current(table), kind: 'append', onInvalid: 'reject', input: recordsInput({ columns: ['id'], rows: [['1']] }),
    ...(key !== undefined && { idempotency: { key, requestHash: 'h' } }),
  });
  await write();
  await write('kept');
  await write();
  const last = (await write()).sequence;
  await fixture.core.writer.log.prune();
  const rows = await fixture.core.storage.query(`SELECT idempotency_key, sequence FROM ${CATALOG_SCHEMA}.write_log WHERE table_id = ? ORDER BY sequence`, [table.id]);
  assert.deepEqual(rows.map((row) => [row['idempotency_key'], Number(row['sequence'])]), [['kept', last - 2], [null, last]]);
  assert.equal((await write('kept')).replayed, true);
});

test('the write log holds one row per committed write, whatever was rolled back on the way', async () => {
  const table = await fixture.createTable([{ name: 'id', type: { kind: 'int', bits: 32, signed: true }, nullable: false }]);
  const cleanups: Array<() => Promise<void>> = [];
  const append = async (body: string, onInvalid: InvalidRowPolicy) => {
    const batch = new JsonBatch(fixture.core.storage.spoolDir, cleanups);
    await batch.addWholeLines(Buffer.from(body));
    const input = await batch.input(fixture.current(table).columns, { format: 'raw', caseInsensitive: false, positional: false });
    return fixture.core.write(fixture.admin, { table: fixture.current(table), kind: 'append', onInvalid, input });
  };
  const logged = async () =>
    (await fixture.core.storage.query(`SELECT version, rows_inserted, rows_quarantined FROM ${CATALOG_SCHEMA}.write_log WHERE table_id = ? ORDER BY sequence`, [table.id]))
      .map((row) => [Number(row['version']), Number(row['rows_inserted']), Number(row['rows_quarantined'])]);
  const misses = fixture.core.writer.stats.directMisses;
  await append('{"id": 1}\n', 'reject');
  await assert.rejects(append('{"id": "x"}\n', 'reject'), /1 row failed validation/);
  // Tried straight into the table and logged there, then rolled back and written again through the stage.
  await append('{"id": 2}\n{"id": "y"}\n', 'quarantine');
  await append('{"id": 3}\n', 'reject');
  assert.equal(fixture.core.writer.stats.directMisses, misses + 2, 'two writes were rolled back after a direct try');
  const first = fixture.current(table).version - 2;
  assert.deepEqual(await logged(), [[first, 1, 0], [first + 1, 1, 1], [first + 2, 1, 0]]);
  await fixture.reopen();
  assert.deepEqual(await logged(), [[first, 1, 0], [first + 1, 1, 1], [first + 2, 1, 0]], 'as read after a restart');
  for (const cleanup of cleanups) await cleanup();
});
