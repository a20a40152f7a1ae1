import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seedTable } from '../helpers/seed-table.ts';
import { TestServer } from '../helpers/test-server.ts';

describe('user SQL runs read-only in the sandbox', () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
    await seedTable(server.core, 'default', 'events', [{ name: 'id', type: { kind: 'int', bits: 32, signed: true }, nullable: false }], [['1'], ['2']]);
    await writeFile(join(server.core.storage.spoolDir, 'upload.csv'), 'secret\n');
  });
  after(() => server.stop());

  const query = (sql: string) => server.fetch(`/v0/sql?q=${encodeURIComponent(sql)}`);

  test('a SELECT over a table answers its rows', async () => {
    const response = await query('SELECT count() AS n FROM events');
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.deepEqual(body.data, [{ n: 2 }]);
  });

  const attempts: Array<[string, string]> = [
    ['reading a file', "SELECT * FROM read_csv('/etc/passwd')"],
    ['reading a file by its path', "SELECT * FROM '/etc/passwd'"],
    ['reading the spool folder', `SELECT * FROM read_csv('${'SPOOL'}/upload.csv')`],
    ['listing files', "SELECT * FROM glob('/etc/*')"],
    ['copying out', "COPY (SELECT 1) TO '/tmp/out.csv'"],
    ['attaching a database', "ATTACH '/tmp/other.duckdb' AS other"],
    ['changing a setting', 'SET threads = 1'],
    ['installing an extension', 'INSTALL httpfs'],
    ['loading an extension', 'LOAD httpfs'],
    ['creating a table', 'CREATE TABLE t (a INT)'],
    ['inserting', 'INSERT INTO events VALUES (3)'],
    ['deleting', 'DELETE FROM events'],
    ['dropping', 'DROP TABLE events'],
    ['a pragma', 'PRAGMA database_list'],
    ['calling a procedure', 'CALL checkpoint()'],
    ['a second statement', 'SELECT 1; DROP TABLE events'],
    ['reading the catalog', 'SELECT * FROM sluice_meta.tokens'],
    ['reading a setting', "SELECT current_setting('threads')"],
    ['reading the environment', "SELECT getenv('HOME')"],
  ];
  for (const [what, sql] of attempts) {
    test(`${what} through the query path fails with a 4xx`, async () => {
      const response = await query(sql.replace('SPOOL', server.core.storage.spoolDir));
      assert.ok(response.status >= 400 && response.status < 500, `${sql} answered ${response.status}`);
      assert.equal(typeof (await response.json()).error, 'string');
    });
  }

  test('the server keeps serving after refused queries and events is untouched', async () => {
    const response = await query('SELECT count(*) AS n FROM events');
    assert.deepEqual((await response.json()).data, [{ n: 2 }]);
  });
});
