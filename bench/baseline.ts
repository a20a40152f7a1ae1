import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { EVENTS_SCHEMA, ROWS_SQL } from './data.ts';

/** Runs `work` on a DuckDB database file of its own, removed afterwards. */
async function withScratchDatabase<T>(dir: string, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const path = join(dir, `baseline-${Date.now()}-${Math.random().toString(36).slice(2)}.duckdb`);
  const db = await DuckDBInstance.create(path);
  const connection = await db.connect();
  try {
    return await work(connection);
  } finally {
    connection.closeSync();
    db.closeSync();
    await rm(path, { force: true });
    await rm(`${path}.wal`, { force: true });
  }
}

/** How long a piece of work took, and the CPU time the process spent meanwhile (DuckDB's threads, as nothing else runs). */
export interface Timing {
  seconds: number;
  cpuSeconds: number;
}

/** CPU seconds this process has used since `start` (a `process.cpuUsage()`). */
export function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const spent = process.cpuUsage(start);
  return (spent.user + spent.system) / 1e6;
}

async function timed(work: () => Promise<void>): Promise<Timing> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  await work();
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSecondsSince(cpu) };
}

/**
 * DuckDB's own load of a file into a table of the same schema, committed (durable: DuckDB syncs its
 * write-ahead log at commit) — the baseline each Sluice figure is divided by. Like Sluice's answer,
 * it does not wait for a checkpoint: for CSV and NDJSON, DuckDB leaves the rows in its log and a
 * checkpoint writing them to the database file later costs about another 0.6 s per 2 M rows, on
 * either side.
 */
export function duckdbLoad(dir: string, reader: string): Promise<Timing> {
  return withScratchDatabase(dir, async (connection) => {
    await connection.run(`CREATE TABLE events (${EVENTS_SCHEMA.duckdb})`);
    return timed(async () => {
      await connection.run(`INSERT INTO events SELECT * FROM ${reader}`);
    });
  });
}

/** DuckDB's own sorted `INSERT … ON CONFLICT DO UPDATE` of the same batches into a keyed table. */
export function duckdbUpsert(dir: string, seedRows: number, batches: string[]): Promise<Timing> {
  return withScratchDatabase(dir, async (connection) => {
    await connection.run(`CREATE TABLE events (${EVENTS_SCHEMA.duckdb}, PRIMARY KEY (id))`);
    await connection.run(`INSERT INTO events ${ROWS_SQL(seedRows)}`);
    await connection.run('CHECKPOINT');
    return timed(async () => {
      for (const batch of batches) {
        await connection.run(
          `INSERT INTO events SELECT * FROM read_csv('${batch}', header = true, columns = ${EVENTS_SCHEMA.readerColumns}) ORDER BY id
           ON CONFLICT (id) DO UPDATE SET ts = excluded.ts, user_id = excluded.user_id, event = excluded.event, amount = excluded.amount, country = excluded.country`,
        );
      }
    });
  });
}
