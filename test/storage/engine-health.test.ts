import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { SluiceError } from '../../src/core/errors.ts';
import { ConnectionPool } from '../../src/storage/duckdb/connection-pool.ts';
import { translateDuckDBError } from '../../src/storage/duckdb/duckdb-errors.ts';
import { EngineHealth } from '../../src/storage/duckdb/engine-health.ts';

// DuckDB's own words for the failures met while a query used up its memory next to writes.
const INVALIDATED = 'FATAL Error: Failed: database has been invalidated because of a previous fatal error. The database must be restarted prior to being used again.';
const COMMIT_OUT_OF_MEMORY = 'TransactionContext Error: Failed to commit: failed to pin block of size 256.0 KiB (66.2 MiB/61.0 MiB used)';
const APPEND_OUT_OF_MEMORY = 'Failed to append: failed to allocate data of size 4.0 KiB (65.9 MiB/61.0 MiB used)\n\nPossible solutions:\n* Reducing the number of threads';

test('an invalidated database and a commit that ran out of memory leave the engine failed; an append that ran out of memory is a retryable 503, a conflict a 409', () => {
  const codes = [INVALIDATED, COMMIT_OUT_OF_MEMORY, APPEND_OUT_OF_MEMORY, 'TransactionContext Error: Conflict on tuple deletion!', 'Out of Memory Error: failed to allocate data of size 16.0 MiB']
    .map((message) => translateDuckDBError(new Error(message)));
  assert.deepEqual(codes.map(({ code, status }) => [code, status]), [['STORAGE_FAILED', 503], ['STORAGE_FAILED', 503], ['RESOURCE_EXHAUSTED', 503], ['WRITE_CONFLICT', 409], ['RESOURCE_EXHAUSTED', 503]]);
  assert.match(codes[0]!.message, /must restart to recover/);
  assert.equal(codes[2]!.message, 'Out of memory: Failed to append: failed to allocate data of size 4.0 KiB (65.9 MiB/61.0 MiB used)');
});

test('once the engine has failed, a pool lends no connection, even to a caller already waiting, and the failure says why', async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const health = new EngineHealth();
  const pool = new ConnectionPool(instance, 1, health);
  try {
    assert.equal(await pool.use(async (connection) => (await connection.runAndReadAll('SELECT 42')).getRows()[0]![0]), 42);
    const held = await pool.lend();
    let ran = false;
    const waiting = pool.use(async () => (ran = true));
    const failure = health.translate(new Error(INVALIDATED));
    assert.equal(health.failure.aborted, true);
    assert.equal(health.failure.reason, failure);
    held.release();
    await assert.rejects(waiting, (error: SluiceError) => error === failure);
    await assert.rejects(pool.use(async () => (ran = true)), (error: SluiceError) => error.code === 'STORAGE_FAILED');
    assert.equal(ran, false);
  } finally {
    pool.close();
    instance.closeSync();
  }
});

test('a rollback ends a failed transaction so that the connection begins the next one; with none to end it resolves and the engine stays sound', async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const health = new EngineHealth();
  const connection = await instance.connect();
  try {
    await connection.run('CREATE TABLE t (n INTEGER NOT NULL)');
    await connection.run('BEGIN TRANSACTION');
    await connection.run('INSERT INTO t VALUES (1)');
    await assert.rejects(connection.run('INSERT INTO t VALUES (NULL)'));
    await assert.rejects(connection.run('BEGIN TRANSACTION'), /Current transaction is aborted/);
    await health.rollBack(connection);
    await connection.run('BEGIN TRANSACTION');
    await connection.run('COMMIT');
    await health.rollBack(connection);
    assert.equal(health.failure.aborted, false);
    assert.equal((await connection.runAndReadAll('SELECT count(*) FROM t')).getRows()[0]![0], 0n);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
});
