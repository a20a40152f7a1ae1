import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { EVENTS_SCHEMA } from './data.ts';

/**
 * DuckDB's own load of a file into a table of the same schema, in a database file of its own,
 * committed (durable) — the baseline each Sluice figure is divided by.
 */
export async function duckdbLoadSeconds(dir: string, reader: string): Promise<number> {
  const path = join(dir, `baseline-${Date.now()}.duckdb`);
  const db = await DuckDBInstance.create(path);
  const connection = await db.connect();
  try {
    await connection.run(`CREATE TABLE events (${EVENTS_SCHEMA.duckdb})`);
    const started = performance.now();
    await connection.run(`INSERT INTO events SELECT * FROM ${reader}`);
    await connection.run('CHECKPOINT');
    return (performance.now() - started) / 1000;
  } finally {
    connection.closeSync();
    db.closeSync();
    await rm(path, { force: true });
    await rm(`${path}.wal`, { force: true });
  }
}

/** DuckDB's own sorted `INSERT … ON CONFLICT DO UPDATE` of the same batches into a keyed table. */
export async function duckdbUpsertSeconds(dir: string, seedRows: number, batches: string[]): Promise<number> {
  const path = join(dir, `upsert-${Date.now()}.duckdb`);
  const db = await DuckDBInstance.create(path);
  const connection = await db.connect();
  try {
    await connection.run(`CREATE TABLE events (${EVENTS_SCHEMA.duckdb}, PRIMARY KEY (id))`);
    const { ROWS_SQL } = await import('./data.ts');
    await connection.run(`INSERT INTO events ${ROWS_SQL(seedRows)}`);
    await connection.run('CHECKPOINT');
    const started = performance.now();
    for (const batch of batches) {
      await connection.run(
        `INSERT INTO events SELECT * FROM read_csv('${batch}', header = true, columns = {'id': 'BIGINT', 'ts': 'TIMESTAMP', 'user_id': 'VARCHAR', 'event': 'VARCHAR', 'amount': 'DOUBLE', 'country': 'VARCHAR'}) ORDER BY id
         ON CONFLICT (id) DO UPDATE SET ts = excluded.ts, user_id = excluded.user_id, event = excluded.event, amount = excluded.amount, country = excluded.country`,
      );
    }
    return (performance.now() - started) / 1000;
  } finally {
    connection.closeSync();
    db.closeSync();
    await rm(path, { force: true });
    await rm(`${path}.wal`, { force: true });
  }
}
