import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Column } from '../../../src/core/catalog/model.ts';
import { recordsInput } from '../../../src/core/ingest/staged-input.ts';
import { CoreFixture } from '../../helpers/core-fixture.ts';

const COLUMNS: Column[] = [{ name: 'id', type: { kind: 'int', bits: 32, signed: true }, nullable: false }];

describe('changes to a table between its writes', () => {
  let fixture: CoreFixture;
  before(async () => {
    fixture = await CoreFixture.open();
  });
  after(() => fixture.close());

  const append = (table: { id: string }, id: number) =>
    fixture.core.write(fixture.admin, { table: fixture.core.catalog.getTableById(table.id), kind: 'append', onInvalid: 'reject', input: recordsInput({ columns: ['id'], rows: [[String(id)]] }) });

  test('a change runs after the writes queued before it and before the writes queued after it', async () => {
    const table = await fixture.createTable(COLUMNS);
    const before = [append(table, 1), append(table, 2)];
    const rowsSeen = fixture.core.writer.exclusive([table.id], async () => fixture.current(table).rowCount);
    const afterIt = append(table, 3);
    await Promise.all([...before, afterIt]);
    assert.equal(await rowsSeen, 2);
    assert.equal(fixture.current(table).rowCount, 3);
  });

  test('adding columns, renaming and describing a table while writes stream in fails neither', async () => {
    const table = await fixture.createTable(COLUMNS);
    let next = 0;
    let streaming = true;
    const written: number[] = [];
    const writers = Array.from({ length: 8 }, async () => {
      while (streaming) {
        const id = (next += 1);
        await append(table, id);
        written.push(id);
      }
    });
    for (let round = 1; round <= 10; round += 1) {
      await fixture.core.alterTable(fixture.admin, fixture.current(table), {
        addColumns: () => [{ name: `c${round}`, type: { kind: 'string' }, nullable: true }], name: `renamed${round}`, properties: { description: `round ${round}` },
      });
    }
    streaming = false;
    await Promise.all(writers);
    const altered = fixture.current(table);
    assert.deepEqual([altered.name, altered.properties['description'], altered.columns.length], ['renamed10', 'round 10', 11]);
    const rows = await fixture.rows(altered, 'id');
    assert.deepEqual(rows.map((row) => row['id']), written.sort((a, b) => a - b));
    assert.equal(altered.rowCount, written.length);
  });

  test('a table dropped while writes are queued refuses the writes that come after the drop', async () => {
    const table = await fixture.createTable(COLUMNS);
    const first = append(table, 1);
    const drop = fixture.core.dropTable(fixture.admin, fixture.current(table));
    const late = append(table, 2);
    assert.equal((await first).rowsInserted, 1);
    await drop;
    await assert.rejects(late, { code: 'TABLE_NOT_FOUND' });
    assert.equal(fixture.core.catalog.findTableById(table.id), undefined);
  });

  test('a namespace dropped while its tables are written drops them once the writes queued before it are done', async () => {
    const namespace = await fixture.core.catalog.ensureNamespace('doomed');
    const tables = await Promise.all(['a', 'b'].map((name) => fixture.core.createTable(fixture.admin, namespace, { name, columns: structuredClone(COLUMNS) })));
    const before = tables.flatMap((table) => [append(table, 1), append(table, 2)]);
    const drop = fixture.core.dropNamespace(fixture.admin, namespace);
    const late = append(tables[1]!, 3);
    assert.deepEqual((await Promise.all(before)).map((result) => result.rowsInserted), [1, 1, 1, 1]);
    await drop;
    await assert.rejects(late, { code: 'TABLE_NOT_FOUND' });
    assert.equal(fixture.core.catalog.findNamespace('doomed'), undefined);
  });
});

describe('provisional tables, created for the write that follows', () => {
  let fixture: CoreFixture;
  before(async () => {
    fixture = await CoreFixture.open();
  });
  after(() => fixture.close());

  test('a start drops a provisional table no write committed to (a create a crash cut off), and keeps one a write settled', async () => {
    const namespace = fixture.core.catalog.getNamespace('default');
    const create = (name: string) => fixture.core.createTable(fixture.admin, namespace, { name, columns: structuredClone(COLUMNS), provisional: true });
    const cutOff = await create('cut_off');
    const settled = await create('settled');
    assert.equal(fixture.current(settled).provisional, true);
    // A write that quarantines every row settles its table too: the request it belongs to was answered.
    await fixture.core.write(fixture.admin, { table: fixture.current(settled), kind: 'append', onInvalid: 'quarantine', input: recordsInput({ columns: ['id'], rows: [['not a number']] }) });
    assert.equal(fixture.current(settled).provisional, undefined);
    await fixture.reopen();
    const names = fixture.core.catalog.listTables(namespace.id, { includeQuarantine: true }).map((table) => table.name).sort();
    assert.deepEqual(names, ['settled', 'settled_quarantine']);
    assert.equal(fixture.core.catalog.findTable(namespace.id, cutOff.name), undefined);
  });
});
