import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/** Events-like rows: id, timestamp, user, event type, amount, country. */
export const EVENTS_SCHEMA = {
  duckdb: 'id BIGINT, ts TIMESTAMP, user_id VARCHAR, event VARCHAR, amount DOUBLE, country VARCHAR',
  clickhouse: 'id Int64 `json:$.id`, ts DateTime64(6) `json:$.ts`, user_id String `json:$.user_id`, event String `json:$.event`, amount Float64 `json:$.amount`, country String `json:$.country`',
  clickhouseCsv: 'id Int64, ts DateTime64(6), user_id String, event String, amount Float64, country String',
  /** The columns as DuckDB's readers take them (`columns = …`). */
  readerColumns: `{'id': 'BIGINT', 'ts': 'TIMESTAMP', 'user_id': 'VARCHAR', 'event': 'VARCHAR', 'amount': 'DOUBLE', 'country': 'VARCHAR'}`,
} as const;

const ROWS_SQL = (rows: number, offset = 0) => `
  SELECT i AS id,
         TIMESTAMP '2024-01-01' + to_microseconds(i * 1000) AS ts,
         'user_' || (i * 7919 % 100000) AS user_id,
         ['view', 'click', 'purchase', 'signup'][1 + i % 4] AS event,
         round((i * 37 % 100000) / 100.0, 2) AS amount,
         ['ES', 'FR', 'DE', 'US', 'JP', 'BR', 'IN'][1 + i % 7] AS country
  FROM range(${offset}, ${offset + rows}) t(i)`;

export interface DataFiles {
  rows: number;
  csv: string;
  ndjson: string;
  parquet: string;
  /** The first rows of the same data in each format, to warm a fresh server up before it is timed. */
  warmUp: { csv: string; ndjson: string; parquet: string };
}

/** Writes the same rows as CSV (with a header), NDJSON and Parquet, with DuckDB, and their first rows apart. */
export async function generateData(dir: string, rows: number): Promise<DataFiles> {
  const file = (name: string, format: string) => join(dir, `${name}.${format}`);
  const files: DataFiles = {
    rows, csv: file('events', 'csv'), ndjson: file('events', 'ndjson'), parquet: file('events', 'parquet'),
    warmUp: { csv: file('warm-up', 'csv'), ndjson: file('warm-up', 'ndjson'), parquet: file('warm-up', 'parquet') },
  };
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  await connection.run(`CREATE TABLE events AS ${ROWS_SQL(rows)}`);
  for (const [table, paths] of [['events', files], ['(FROM events LIMIT 10000)', files.warmUp]] as const) {
    await connection.run(`COPY ${table} TO '${paths.csv}' (FORMAT csv, HEADER true)`);
    await connection.run(`COPY (SELECT id, strftime(ts, '%Y-%m-%d %H:%M:%S.%f') AS ts, user_id, event, amount, country FROM ${table}) TO '${paths.ndjson}' (FORMAT json)`);
    await connection.run(`COPY ${table} TO '${paths.parquet}' (FORMAT parquet)`);
  }
  connection.closeSync();
  db.closeSync();
  return files;
}

/** NDJSON lines for the events benchmark, `count` rows from `offset`. */
export function ndjsonRows(offset: number, count: number): string {
  let text = '';
  for (let i = offset; i < offset + count; i += 1) {
    text += `{"id":${i},"ts":"2024-01-01 00:00:00.${String(i % 1_000_000).padStart(6, '0')}","user_id":"user_${(i * 7919) % 100000}","event":"view","amount":${(i % 1000) / 10},"country":"ES"}\n`;
  }
  return text;
}

export { ROWS_SQL };
