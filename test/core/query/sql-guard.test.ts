import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Table } from '../../../src/core/catalog/model.ts';
import { SluiceError } from '../../../src/core/errors.ts';
import { runQuery } from '../../../src/core/query/query-runner.ts';
import { guardExpression, guardQuery } from '../../../src/core/query/sql-guard.ts';
import { INT32, INT64, openQueryFixture, STRING, type QueryFixture } from './query-fixture.ts';

let fixture: QueryFixture;

before(async () => {
  fixture = await openQueryFixture();
  await fixture.createTable('events', [['user_id', INT32], ['amount', INT32], ['country', STRING]], `VALUES (1, 10, 'ES'), (1, 5, 'FR'), (2, 7, 'ES'), (3, 1, 'DE')`);
  await fixture.createTable('users', [['id', INT32], ['name', STRING]], `VALUES (1, 'ana'), (2, 'bo')`);
  await fixture.createTable('secret', [['x', INT32]], 'VALUES (1)');
  const other = await fixture.catalog.createNamespace('other');
  await fixture.createTable('events', [['user_id', INT32], ['amount', INT32], ['country', STRING]], `VALUES (9, 99, 'XX')`, other);
});

after(async () => {
  await fixture.close();
});

async function rowsOf(sql: string): Promise<unknown[][]> {
  const result = await runQuery(fixture.storage, await fixture.guard(sql));
  return result.rows;
}

async function assertRefused(sql: string, code: string): Promise<void> {
  await assert.rejects(fixture.guard(sql), (error: unknown) => {
    assert.ok(error instanceof SluiceError, `expected a SluiceError for ${sql}, got ${String(error)}`);
    assert.equal(error.code, code, `${sql}: ${error.message}`);
    assert.ok(error.status >= 400 && error.status < 500, `${sql}: status ${error.status}`);
    return true;
  });
}

describe('guardQuery rewrites table references and keeps results', () => {
  test('replaces every table by its physical name and lists the tables read', async () => {
    const guarded = await fixture.guard('SELECT count(*) FROM events JOIN users ON events.user_id = users.id');
    const events = fixture.catalog.getTable(fixture.namespace.id, 'events');
    const users = fixture.catalog.getTable(fixture.namespace.id, 'users');
    assert.match(guarded.sql, new RegExp(`"data"\\."?${events.id}"? AS events`));
    assert.match(guarded.sql, new RegExp(`"data"\\."?${users.id}"? AS users`));
    assert.deepEqual(guarded.tables.map((table) => table.name).sort(), ['events', 'users']);
  });

  test('a join keeps its aliases and qualified column references', async () => {
    const rows = await rowsOf('SELECT u.name, sum(e.amount) AS total FROM events e JOIN users AS u ON e.user_id = u.id GROUP BY u.name ORDER BY u.name');
    assert.deepEqual(rows, [['ana', 15n], ['bo', 7n]]);
  });

  test('the table name still qualifies columns when the table has no alias', async () => {
    assert.deepEqual(await rowsOf('SELECT events.amount FROM events WHERE events.country = \'DE\''), [[1]]);
  });

  test('a CTE shadows a table of the same name, and is not resolved as a table', async () => {
    const guarded = await fixture.guard('WITH users AS (SELECT 7 AS id) SELECT id FROM users');
    assert.deepEqual(guarded.tables, []);
    assert.deepEqual(await rowsOf('WITH users AS (SELECT 7 AS id) SELECT id FROM users'), [[7]]);
  });

  test('a CTE body reading a table of its own name reads the table', async () => {
    assert.deepEqual(await rowsOf('WITH users AS (SELECT id + 100 AS id FROM users) SELECT id FROM users ORDER BY id'), [[101], [102]]);
  });

  test('a later CTE sees an earlier one; a recursive CTE sees itself', async () => {
    assert.deepEqual(await rowsOf('WITH a AS (SELECT 1 AS v), b AS (SELECT v + 1 AS v FROM a) SELECT v FROM b'), [[2]]);
    assert.deepEqual(
      await rowsOf('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r ORDER BY n'),
      [[1], [2], [3]],
    );
  });

  test('subqueries in WHERE, in the select list and in FROM are rewritten', async () => {
    const rows = await rowsOf(`
      SELECT name, (SELECT count(*) FROM events WHERE events.user_id = users.id) AS n
      FROM (SELECT * FROM users) AS users
      WHERE id IN (SELECT user_id FROM events WHERE country = 'ES') AND EXISTS (SELECT 1 FROM events)
      ORDER BY name`);
    assert.deepEqual(rows, [['ana', 2n], ['bo', 1n]]);
  });

  test('set operations, PIVOT and DESCRIBE are rewritten too', async () => {
    assert.deepEqual(await rowsOf('SELECT id FROM users UNION ALL SELECT user_id FROM events WHERE amount = 1 ORDER BY 1'), [[1], [2], [3]]);
    assert.deepEqual(await rowsOf("SELECT * FROM events PIVOT (sum(amount) FOR country IN ('ES', 'FR')) WHERE user_id = 1"), [[1, 10n, 5n]]);
    assert.deepEqual((await rowsOf('DESCRIBE users')).map((row) => row[0]), ['id', 'name']);
  });

  test('a namespace-qualified name reads that namespace', async () => {
    assert.deepEqual(await rowsOf('SELECT amount FROM other.events'), [[99]]);
    // `default` is a keyword, so that namespace needs quotes.
    assert.deepEqual(await rowsOf('SELECT count(*) FROM "default".events'), [[4n]]);
  });

  test('literals keep their exact values through the rewrite', async () => {
    const rows = await rowsOf("SELECT 9007199254740993, 170141183460469231731687303715884105727, 0.1234567890123456789, 'it''s; -- not a comment'");
    assert.equal(rows[0]![0], 9007199254740993n);
    assert.equal(rows[0]![1], 170141183460469231731687303715884105727n);
    assert.equal(String(rows[0]![2]), '0.1234567890123456789');
    assert.equal(rows[0]![3], "it's; -- not a comment");
  });

  test('comments are dropped and allowed table functions work', async () => {
    assert.deepEqual(await rowsOf('SELECT sum(range) FROM range(4) -- trailing comment'), [[6n]]);
    assert.deepEqual(await rowsOf('/* lead */ SELECT unnest([1, 2]) AS v'), [[1], [2]]);
  });
});

describe('guardQuery refuses what is not a plain read of allowed tables', () => {
  test('a table the resolver refuses is FORBIDDEN', async () => {
    await assertRefused('SELECT * FROM secret', 'FORBIDDEN');
    await assertRefused('SELECT * FROM users WHERE id IN (SELECT x FROM secret)', 'FORBIDDEN');
  });

  test('unknown tables, and file paths used as tables, are not found', async () => {
    await assertRefused('SELECT * FROM missing', 'TABLE_NOT_FOUND');
    await assertRefused("SELECT * FROM '/etc/passwd'", 'TABLE_NOT_FOUND');
    await assertRefused('FROM "/etc/passwd"', 'TABLE_NOT_FOUND');
    await assertRefused('SELECT * FROM sqlite_master', 'TABLE_NOT_FOUND');
    await assertRefused('SELECT * FROM information_schema.tables', 'NAMESPACE_NOT_FOUND');
  });

  test('a CTE cannot smuggle a system view in under its own name', async () => {
    await assertRefused('WITH sqlite_master AS (SELECT * FROM sqlite_master) SELECT * FROM sqlite_master', 'TABLE_NOT_FOUND');
  });

  test('a CTE named with a character that only Unicode folds to an ASCII letter (the Kelvin sign) does not hide a table of the ASCII name', async () => {
    // DuckDB folds only ASCII letters: "ducKdb_tables" (Kelvin sign) is no name of duckdb_tables, which it would read.
    await assertRefused('WITH "duc\u212Adb_tables" AS (SELECT 1) SELECT * FROM duckdb_tables', 'TABLE_NOT_FOUND');
    await assertRefused('WITH "duc\u212Adb_columns" AS (SELECT 1) SELECT * FROM duckdb_columns', 'TABLE_NOT_FOUND');
  });

  test('statements other than SELECT are not allowed', async () => {
    for (const sql of [
      "COPY (SELECT 1) TO '/tmp/out.csv'",
      "ATTACH '/tmp/other.db'",
      'SET threads = 1',
      'INSTALL httpfs',
      'LOAD httpfs',
      'CREATE TABLE t (x INTEGER)',
      'INSERT INTO users VALUES (3, \'cy\')',
      'UPDATE users SET name = \'x\'',
      'DELETE FROM users',
      'DROP TABLE users',
      'PRAGMA version',
      'CALL pragma_version()',
      'CHECKPOINT',
      'EXPORT DATABASE \'/tmp/x\'',
      'SHOW TABLES',
      'SELECT 1; DROP TABLE users',
      'SELECT 1; SELECT 2',
      "SELECT 1); DROP TABLE users; --",
    ]) {
      await assert.rejects(fixture.guard(sql), (error: unknown) => error instanceof SluiceError && error.status === 400, sql);
    }
    assert.deepEqual(await rowsOf('SELECT count(*) FROM users'), [[2n]]);
  });

  test('file readers are refused, even for the readable spool folder', async () => {
    const spoolFile = join(fixture.storage.spoolDir, 'x.csv');
    await writeFile(spoolFile, 'a,b\n1,2\n');
    for (const sql of [
      "SELECT * FROM read_csv('/etc/passwd')",
      `SELECT * FROM read_csv('${spoolFile}')`,
      `SELECT * FROM read_csv_auto('${spoolFile}')`,
      `SELECT * FROM read_text('${spoolFile}')`,
      `SELECT content FROM read_blob('${spoolFile}')`,
      `SELECT * FROM parquet_scan('${spoolFile}')`,
      "SELECT * FROM glob('/*')",
      "SELECT * FROM query('SELECT 1')",
      "SELECT * FROM query_table('users')",
      'SELECT * FROM duckdb_tables()',
      'SELECT * FROM duckdb_settings()',
      'SELECT * FROM pragma_table_info(\'users\')',
    ]) {
      await assertRefused(sql, 'SQL_NOT_ALLOWED');
    }
  });

  test('scalar functions that reach files, settings or state are refused by name', async () => {
    for (const [sql, name] of [
      ["SELECT current_setting('threads')", 'current_setting'],
      ["SELECT getenv('HOME')", 'getenv'],
      ['SELECT setseed(0.5)', 'setseed'],
      ["SELECT nextval('s')", 'nextval'],
      ['SELECT pg_get_viewdef(1)', 'pg_get_viewdef'],
      ["SELECT json_execute_serialized_sql('{}')", 'json_execute_serialized_sql'],
      ['SELECT current_query()', 'current_query'],
      ['SELECT sleep_ms(10000)', 'sleep_ms'],
      ['SELECT txid_current()', 'txid_current'],
      ['SELECT current_transaction_id()', 'current_transaction_id'],
      ['SELECT current_connection_id()', 'current_connection_id'],
      ['SELECT id FROM users WHERE name = current_schema()', 'current_schema'],
    ]) {
      await assert.rejects(fixture.guard(sql!), (error: unknown) => {
        assert.ok(error instanceof SluiceError && error.code === 'SQL_NOT_ALLOWED', `${sql}: ${String(error)}`);
        assert.match(error.message, new RegExp(name!));
        return true;
      });
    }
  });

  test('qualified function names, database-qualified tables and parameters are refused', async () => {
    await assertRefused('SELECT pg_catalog.version()', 'SQL_NOT_ALLOWED');
    await assertRefused('SELECT system.main.version()', 'SQL_NOT_ALLOWED');
    await assertRefused('SELECT * FROM memory.main.users', 'SQL_NOT_ALLOWED');
    await assertRefused('SELECT * FROM users WHERE id = $1', 'SQL_NOT_ALLOWED');
  });

  test('a syntax error is SQL_SYNTAX with DuckDB\'s message', async () => {
    await assert.rejects(fixture.guard('SELEC 1'), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, 'SQL_SYNTAX');
      assert.match(error.message, /syntax error/);
      return true;
    });
    await assertRefused('   ', 'SQL_SYNTAX');
    await assertRefused('SELECT 1e400', 'SQL_SYNTAX');
  });
});

describe('guardExpression', () => {
  const columns = ['my_partition_key', 'country', 'amount', 'Tags'];
  const guard = (sql: string) => guardExpression(fixture.storage, sql, columns);

  test('accepts predicates over the columns and returns them normalized', async () => {
    assert.equal(await guard('my_partition_key > 123'), '(my_partition_key > 123)');
    assert.equal(await guard("country = 'ES' AND amount < 5"), "((country = 'ES') AND (amount < 5))");
    assert.equal(await guard("COUNTRY IN ('ES', 'FR') OR amount IS NULL -- note"), "((COUNTRY IN ('ES', 'FR')) OR (amount IS NULL))");
    assert.equal(await guard("CASE WHEN amount > 1 THEN 'a' ELSE 'b' END = 'a'"), "(CASE  WHEN ((amount > 1)) THEN ('a') ELSE 'b' END = 'a')");
    assert.equal(await guard("lower(country) LIKE 'e%' AND amount::BIGINT BETWEEN 1 AND 9"), "((lower(country) ~~ 'e%') AND (CAST(amount AS BIGINT) BETWEEN 1 AND 9))");
    assert.equal(await guard("list_contains(list_filter(tags, t -> t <> 'x'), 'y')"), "list_contains(list_filter(tags, (t -> (t != 'x'))), 'y')");
    assert.equal(await guard("'it''s'"), "'it''s'");
  });

  test('the normalized expression works inside a query', async () => {
    const predicate = await guardExpression(fixture.storage, "country = 'ES' AND amount > 7", ['country', 'amount']);
    const guarded = await fixture.guard(`SELECT user_id FROM events WHERE ${predicate}`);
    assert.deepEqual((await runQuery(fixture.storage, guarded)).rows, [[1]]);
  });

  test('refuses unknown columns, subqueries, tables, stars, aggregates and denied functions', async () => {
    for (const [sql, message] of [
      ['other_column = 1', /Unknown column "other_column"/],
      ['users.id = 1', /Unknown column "users.id"/],
      ['amount IN (SELECT id FROM users)', /Subqueries/],
      ['EXISTS (SELECT 1)', /Subqueries/],
      ['*', /Stars/],
      ['sum(amount) > 1', /Aggregate function "sum"/],
      ['uniq(amount) > 1', /Aggregate function "uniq"/],
      ['row_number() OVER () = 1', /Window functions/],
      ["read_text('/etc/passwd') IS NOT NULL", /Function "read_text" is not allowed/],
      ["current_setting('threads') = '1'", /current_setting/],
      ['amount = ?', /Parameters/],
    ] as const) {
      await assert.rejects(guard(sql), (error: unknown) => {
        assert.ok(error instanceof SluiceError && error.code === 'INVALID_PREDICATE', `${sql}: ${String(error)}`);
        assert.match(error.message, message);
        return true;
      });
    }
  });

  test('a denied function is refused on either side of ->, which DuckDB reads as JSON extraction unless its left side names lambda parameters', async () => {
    for (const [sql, name] of [
      ["current_query() -> '$' IS NOT NULL", 'current_query'],
      ["(sleep_ms(1) -> '$') IS NULL", 'sleep_ms'],
      ["pg_get_viewdef(amount) -> '$' IS NULL", 'pg_get_viewdef'],
      ["country -> current_query() IS NULL", 'current_query'],
      ["list_contains(list_transform(tags, t -> current_query()), 'y')", 'current_query'],
    ] as const) {
      await assert.rejects(guard(sql), (error: unknown) => {
        assert.ok(error instanceof SluiceError && error.code === 'INVALID_PREDICATE', `${sql}: ${String(error)}`);
        assert.match(error.message, new RegExp(`Function "${name}" is not allowed`), sql);
        return true;
      });
    }
    assert.equal(await guard("list_contains(list_transform(tags, (t, i) -> t || i), 'y1')"), `list_contains(list_transform(tags, (main."row"(t, i) -> (t || i))), 'y1')`);
    assert.equal(await guard("list_contains(list_transform(tags, lambda t: upper(t)), 'Y')"), "list_contains(list_transform(tags, (t -> upper(t))), 'Y')");
    assert.equal(await guard("(country -> '$.a') IS NULL AND (country ->> 'b') = 'c'"), "(((country -> '$.a') IS NULL) AND ((country ->> 'b') = 'c'))");
  });

  test('refuses attempts to break out of the expression', async () => {
    for (const sql of [
      'amount > 1) UNION SELECT 1 WHERE (1 = 1',
      'amount > 1) GROUP BY (1',
      'amount > 1) ORDER BY (1',
      'amount > 1); DROP TABLE users; --',
      'amount > 1 /*',
      '1 = 1; SELECT 1',
    ]) {
      await assert.rejects(guard(sql), (error: unknown) => error instanceof SluiceError && error.code === 'INVALID_PREDICATE', sql);
    }
    assert.deepEqual(await rowsOf('SELECT count(*) FROM users'), [[2n]]);
  });

  test('a quote inside a string literal stays inside it', async () => {
    assert.equal(await guard("country = 'x'' OR 1=1 --'"), "(country = 'x'' OR 1=1 --')");
  });

  test('a default expression needs no column', async () => {
    assert.equal(await guardExpression(fixture.storage, 'now()', []), 'now()');
    assert.equal(await guardExpression(fixture.storage, "'n/a'", []), "'n/a'");
  });
});

test('INT64 columns read back as bigint', async () => {
  const table = await fixture.createTable('wide', [['v', INT64]], 'VALUES (9007199254740993)');
  assert.equal(table.name, 'wide');
  assert.deepEqual(await rowsOf('SELECT v FROM wide'), [[9007199254740993n]]);
});

describe('guardQuery reads a table through a condition when the resolver gives one', () => {
  const filtered = (where: string) => async (sql: string) =>
    runQuery(fixture.storage, await guardQuery(fixture.storage, sql, (name, namespace) => {
      const table = fixture.resolve(name, namespace) as Table;
      return name === 'events' ? { table, where } : table;
    }));

  test('the condition applies before the query: every reference, alias and aggregate sees only the matching rows', async () => {
    const run = filtered(`country = 'ES'`);
    assert.deepEqual((await run('SELECT sum(amount) FROM events')).rows, [[17n]]);
    assert.deepEqual((await run('SELECT e.user_id, u.name FROM events AS e JOIN users u ON u.id = e.user_id ORDER BY 1')).rows, [[1, 'ana'], [2, 'bo']]);
    assert.deepEqual((await run('SELECT count(*) FROM events WHERE user_id IN (SELECT user_id FROM events)')).rows, [[2n]]);
  });

  test('a condition is checked like any user expression: columns of the table only, no queries', async () => {
    for (const where of [`nope = 1`, `amount > 0) UNION SELECT x FROM secret --`, `amount IN (SELECT x FROM secret)`]) {
      await assert.rejects(filtered(where)('SELECT * FROM events'), (error: unknown) => error instanceof SluiceError && error.code === 'INVALID_PREDICATE', where);
    }
  });
});
