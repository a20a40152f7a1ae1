import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Principal } from '../../../src/core/auth/scopes.ts';
import type { Namespace } from '../../../src/core/catalog/model.ts';
import { SluiceError } from '../../../src/core/errors.ts';
import { recordsInput } from '../../../src/core/ingest/staged-input.ts';
import { ADMIN_TOKEN, TestCore } from '../../helpers/test-server.ts';

const int32 = { kind: 'int', bits: 32, signed: true } as const;
const text = { kind: 'string' } as const;

describe('views and schema changes in the core', () => {
  let harness: TestCore;
  let admin: Principal;
  let home: Namespace;

  before(async () => {
    harness = await TestCore.open();
    admin = await harness.core.authenticate(ADMIN_TOKEN);
    home = await harness.core.catalog.createNamespace('home');
    const other = await harness.core.catalog.createNamespace('other');
    await harness.core.createTable(admin, other, { name: 'secret', columns: [{ name: 'x', type: int32, nullable: true }] });
  });
  after(() => harness.close());

  const rowsOf = async (sql: string) => {
    const encoded = await harness.core.query(admin, home, sql, 'ndjson');
    let out = '';
    for await (const chunk of encoded.body) out += Buffer.from(chunk).toString('utf8');
    return out.split('\n').filter(Boolean).map((line) => JSON.parse(line));
  };

  const rejection = async (work: Promise<unknown>): Promise<SluiceError> => {
    try {
      await work;
    } catch (error) {
      assert.ok(error instanceof SluiceError, String(error));
      return error;
    }
    assert.fail('expected the change to be refused');
  };

  test('a view is a catalog entry over its namespace’s tables, typed from its query and always in step with them', async () => {
    const view = await harness.core.changeSchema(admin, home, async (change) => {
      await change.createTable({ name: 'people', columns: [{ name: 'id', type: int32, nullable: false }, { name: 'name', type: text, nullable: true }] });
      await change.createView({ name: 'named', sql: 'SELECT id, upper(name) AS shout FROM people WHERE name IS NOT NULL' });
      return change.createView({ name: 'counted', sql: 'SELECT count(*) AS n FROM named' });
    });
    assert.deepEqual(view.columns.map((column) => [column.name, column.type.kind]), [['n', 'int']]);
    assert.equal(view.kind, 'view');
    const people = harness.core.catalog.getTable(home.id, 'people');
    await harness.core.write(admin, { table: people, kind: 'append', onInvalid: 'reject', input: recordsInput({ columns: ['id', 'name'], rows: [['1', 'ann'], ['2', null]] }) });
    assert.deepEqual(await rowsOf('SELECT * FROM named'), [{ id: 1, shout: 'ANN' }]);
    await harness.core.write(admin, { table: people, kind: 'delete_where', predicate: 'id = 1', onInvalid: 'reject' });
    assert.deepEqual(await rowsOf('SELECT * FROM counted'), [{ n: 0 }]);
  });

  test('a view reads only its own namespace, and only tables that exist', async () => {
    const refused = (sql: string) => rejection(harness.core.changeSchema(admin, home, (change) => change.createView({ name: 'v', sql })));
    assert.equal((await refused('SELECT * FROM other.secret')).code, 'SQL_NOT_ALLOWED');
    assert.equal((await refused('SELECT * FROM secret')).code, 'TABLE_NOT_FOUND');
    assert.equal((await refused("SELECT * FROM read_csv('/etc/passwd')")).code, 'SQL_NOT_ALLOWED');
    assert.equal((await refused('SELECT nope FROM people')).code, 'QUERY_FAILED');
  });

  test('a table or view that a view reads cannot be dropped before that view', async () => {
    const named = harness.core.catalog.getTable(home.id, 'named');
    const refusal = await rejection(harness.core.catalog.dropTable(named.id));
    assert.equal(refusal.code, 'HAS_DEPENDENTS');
    assert.deepEqual(refusal.details?.['dependents'], ['counted']);
    await harness.core.changeSchema(admin, home, async (change) => {
      await change.dropViews();
      assert.deepEqual(change.list().filter((table) => table.kind === 'view'), []);
    });
    assert.equal(harness.core.catalog.findTable(home.id, 'named'), undefined);
  });

  test('a schema change that fails part-way leaves nothing of itself behind', async () => {
    const tablesBefore = harness.core.catalog.listTables(home.id, { includeQuarantine: true, includeViews: true }).map((table) => table.name);
    const storedObjects = async () => (await harness.core.storage.query(`SELECT count(*) AS n FROM duckdb_tables() WHERE schema_name = 'data'`))[0]?.['n'];
    const objectsBefore = await storedObjects();
    await rejection(harness.core.changeSchema(admin, home, async (change) => {
      await change.createTable({ name: 'half', columns: [{ name: 'x', type: int32, nullable: true }] });
      await change.createView({ name: 'broken', sql: 'SELECT y FROM half' });
    }));
    assert.deepEqual(harness.core.catalog.listTables(home.id, { includeQuarantine: true, includeViews: true }).map((table) => table.name), tablesBefore);
    assert.equal(await storedObjects(), objectsBefore);
  });

  test('views, what they read and how many tables reading them binds survive a reopen', async () => {
    await harness.core.changeSchema(admin, home, async (change) => {
      await change.createView({ name: 'kept', sql: 'SELECT id FROM people' });
      await change.createView({ name: 'kept_twice', sql: 'SELECT a.id FROM kept a JOIN kept b USING (id) UNION ALL SELECT id FROM people' });
    });
    await harness.reopen();
    admin = await harness.core.authenticate(ADMIN_TOKEN);
    home = harness.core.catalog.getNamespace('home');
    const [kept, keptTwice, people] = ['kept', 'kept_twice', 'people'].map((name) => harness.core.catalog.getTable(home.id, name));
    assert.deepEqual(kept!.definition, { sql: 'SELECT id FROM people', reads: [people!.id], expandedReads: 1 });
    assert.deepEqual(keptTwice!.definition?.reads, [kept!.id, people!.id]);
    assert.equal(keptTwice!.definition?.expandedReads, 3);
    assert.deepEqual(await rowsOf('SELECT * FROM kept'), [{ id: 2 }]);
  });
});
