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

test('a write without an idempotency key adds no row to the write log; sequences go on after a restart from its table', async () => {
  const table = await fixture.createTable([{ name: 'id', type: { kind: 'int', bits: 32, signed: true }, nullable: false }]);
  const write = () => fixture.core.write(fixture.admin, { table: fixture.current(table), kind: 'append', onInvalid: 'reject', input: recordsInput({ columns: ['id'], rows: [['1']] }) });
  await write();
  const last = (await write()).sequence;
  const logged = await fixture.core.storage.query(`SELECT sequence FROM ${CATALOG_SCHEMA}.write_log WHERE table_id = ?`, [table.id]);
  assert.deepEqual(logged, []);
  await fixture.core.writer.log.prune();
  await fixture.reopen();
  assert.equal(fixture.core.writer.log.completedThrough, last);
  assert.equal((await write()).sequence, last + 1);
});

test('sequences never go back after a restart, even once the table that wrote the last one is dropped', async () => {
  const column = { name: 'id', type: { kind: 'int', bits: 32, signed: true }, nullable: false } as const;
  const [kept, dropped] = [await fixture.createTable([column]), await fixture.createTable([column])];
  const write = (table: typeof kept) => fixture.core.write(fixture.admin, { table: fixture.current(table), kind: 'append', onInvalid: 'reject', input: recordsInput({ columns: ['id'], rows: [['1']] }) });
  await write(kept);
  const last = (await write(dropped)).sequence;
  await fixture.core.catalog.dropTable(dropped.id);
  // Pruning keeps the latest entry of the log, here the dropped table's last sequence.
  await fixture.core.writer.log.prune();
  await fixture.reopen();
  assert.equal(fixture.core.writer.log.completedThrough, last);
  assert.equal((await write(kept)).sequence, last + 1);
});

test('the write log keeps only writes with an idempotency key', async () => {
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
  assert.deepEqual(rows.map((row) => [row['idempotency_key'], Number(row['sequence'])]), [['kept', last - 2]]);
  assert.equal((await write('kept')).replayed, true);
});

test('the write log holds one row per committed write with a key, whatever was rolled back on the way', async () => {
  const table = await fixture.createTable([{ name: 'id', type: { kind: 'int', bits: 32, signed: true }, nullable: false }]);
  const cleanups: Array<() => Promise<void>> = [];
  const append = async (body: string, onInvalid: InvalidRowPolicy, key: string) => {
    const batch = new JsonBatch(fixture.core.storage.spoolDir, cleanups);
    await batch.addWholeLines(Buffer.from(body));
    const input = await batch.input(fixture.current(table).columns, { format: 'raw', caseInsensitive: false, positional: false });
    return fixture.core.write(fixture.admin, { table: fixture.current(table), kind: 'append', onInvalid, input, idempotency: { key, requestHash: key } });
  };
  const logged = async () =>
    (await fixture.core.storage.query(`SELECT version, rows_inserted, rows_quarantined FROM ${CATALOG_SCHEMA}.write_log WHERE table_id = ? ORDER BY sequence`, [table.id]))
      .map((row) => [Number(row['version']), Number(row['rows_inserted']), Number(row['rows_quarantined'])]);
  const misses = fixture.core.writer.stats.directMisses;
  await append('{"id": 1}\n', 'reject', 'a');
  await assert.rejects(append('{"id": "x"}\n', 'reject', 'b'), /1 row failed validation/);
  // Tried straight into the table and logged there, then rolled back and written again through the stage.
  await append('{"id": 2}\n{"id": "y"}\n', 'quarantine', 'c');
  await append('{"id": 3}\n', 'reject', 'd');
  assert.equal(fixture.core.writer.stats.directMisses, misses + 2, 'two writes were rolled back after a direct try');
  const first = fixture.current(table).version - 2;
  assert.deepEqual(await logged(), [[first, 1, 0], [first + 1, 1, 1], [first + 2, 1, 0]]);
  await fixture.reopen();
  assert.deepEqual(await logged(), [[first, 1, 0], [first + 1, 1, 1], [first + 2, 1, 0]], 'as read after a restart');
  for (const cleanup of cleanups) await cleanup();
});

test('a database written by an earlier version, which logged every write and no table sequence, goes on from its log', async () => {
  const table = await fixture.createTable([{ name: 'id', type: { kind: 'int', bits: 32, signed: true }, nullable: false }]);
  const write = () => fixture.core.write(fixture.admin, { table: fixture.current(table), kind: 'append', onInvalid: 'reject', input: recordsInput({ columns: ['id'], rows: [['1']] }) });
  const last = (await write()).sequence + 5;
  // As an earlier version left it: the last write in the log, none on the catalog's tables.
  await fixture.core.storage.transaction(async (tx) => {
    await tx.run(`UPDATE ${CATALOG_SCHEMA}.tables SET last_sequence = NULL`);
    await tx.run(
      `INSERT INTO ${CATALOG_SCHEMA}.write_log (id, table_id, kind, rows_inserted, rows_updated, rows_deleted, rows_quarantined, version, sequence, created_at)
       VALUES ('earlier', ?, 'append', 1, 0, 0, 0, 1, ?, now()::TIMESTAMP)`,
      [table.id, last],
    );
  });
  await fixture.reopen();
  assert.equal(fixture.core.writer.log.completedThrough, last);
  assert.equal((await write()).sequence, last + 1);
});
