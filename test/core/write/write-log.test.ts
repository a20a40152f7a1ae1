import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CATALOG_SCHEMA } from '../../../src/core/catalog/migrations.ts';
import { recordsInput } from '../../../src/core/ingest/staged-input.ts';
import { CoreFixture } from '../../helpers/core-fixture.ts';

let fixture: CoreFixture;
before(async () => {
  fixture = await CoreFixture.open();
});
after(() => fixture.close());

test('pruning forgets idempotency keys older than the retention and keeps recent ones', async () => {
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
  const kept = await fixture.core.storage.query(`SELECT idempotency_key FROM ${CATALOG_SCHEMA}.write_log WHERE response IS NOT NULL ORDER BY 1`);
  assert.deepEqual(kept.map((row) => row['idempotency_key']), ['recent']);
  assert.equal((await write('recent')).replayed, true);
  assert.equal((await write('old')).replayed, false);
});
