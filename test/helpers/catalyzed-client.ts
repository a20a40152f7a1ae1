import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromJSON, tableToIPC } from 'apache-arrow';
import type { TestServer } from './test-server.ts';

export type Row = Record<string, unknown>;
export type BodyFormat = 'json' | 'csv' | 'parquet' | 'arrow';

/** The fields of the orders table the row tests write to. */
export const ORDER_FIELDS = [
  { name: 'id', arrowType: 'int64' },
  { name: 'name', arrowType: 'utf8' },
  { name: 'amount', arrowType: 'float64' },
];

export const CONTENT_TYPES: Record<BodyFormat, string> = {
  json: 'application/json',
  csv: 'text/csv',
  parquet: 'application/parquet',
  arrow: 'application/vnd.apache.arrow.stream',
};

export interface Field {
  name: string;
  arrowType: string;
  nullable?: boolean;
}

/** Calls the Catalyzed dialect the way its clients do: JSON control bodies, raw data bodies. */
export class CatalyzedClient {
  constructor(readonly server: TestServer) {}

  async call(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; body: any; headers: Headers }> {
    const response = await this.server.fetch(path, {
      method,
      ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      ...(token !== undefined && { token }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : JSON.parse(text), headers: response.headers };
  }

  async createDataset(name: string): Promise<string> {
    const { status, body } = await this.call('POST', '/datasets', { name });
    assert.equal(status, 201, JSON.stringify(body));
    return body.datasetId;
  }

  async createTable(datasetId: string, tableName: string, fields: Field[], primaryKeyColumns?: string[]): Promise<string> {
    const { status, body } = await this.call('POST', '/dataset-tables', { datasetId, tableName, fields, ...(primaryKeyColumns && { primaryKeyColumns }) });
    assert.equal(status, 201, JSON.stringify(body));
    return body.tableId;
  }

  /** POST /dataset-tables/{id}/rows?{query} with a raw body. */
  async write(tableId: string, query: string, body: string | Uint8Array, contentType: string, token?: string | null): Promise<{ status: number; body: any; headers: Headers }> {
    const response = await this.server.fetch(`/dataset-tables/${tableId}/rows?${query}`, {
      method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body), ...(token !== undefined && { token }),
    });
    return { status: response.status, body: await response.json(), headers: response.headers };
  }

  /** A successful write of rows encoded in one of the four formats. */
  async writeRows(tableId: string, query: string, format: BodyFormat, rows: Row[]): Promise<any> {
    const { status, body } = await this.write(tableId, query, await encodeRows(format, rows), CONTENT_TYPES[format]);
    assert.equal(status, 200, JSON.stringify(body));
    return body;
  }

  async query(sql: string, tables: Record<string, unknown>, options: Record<string, unknown> = {}, token?: string | null): Promise<{ status: number; body: any; headers: Headers }> {
    return this.call('POST', '/queries', { sql, tables, ...options }, token);
  }

  /** Every row of a table, ordered. */
  async rows(tableId: string, orderBy = 'id'): Promise<Row[]> {
    const { status, body } = await this.query(`SELECT * FROM t ORDER BY ${orderBy}`, { t: tableId }, { maxRows: 10_000 });
    assert.equal(status, 200, JSON.stringify(body));
    return body.rows;
  }
}

/** Rows as a request body: a JSON array, CSV with a header, a Parquet file or an Arrow IPC stream. */
export async function encodeRows(format: BodyFormat, rows: Row[]): Promise<string | Uint8Array> {
  if (format === 'json') return JSON.stringify(rows);
  const names = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  if (format === 'csv') {
    const cell = (value: unknown) => (value === null || value === undefined ? '' : /[",\n]/.test(String(value)) ? `"${String(value).replaceAll('"', '""')}"` : String(value));
    return [names.join(','), ...rows.map((row) => names.map((name) => cell(row[name])).join(','))].join('\n') + '\n';
  }
  if (format === 'arrow') return tableToIPC(tableFromJSON(rows.map((row) => Object.fromEntries(names.map((name) => [name, row[name] ?? null])))), 'stream');
  return parquetOf(rows);
}

/** A Parquet file of the rows, written by a DuckDB of the test's own. */
async function parquetOf(rows: Row[]): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'catalyzed-parquet-'));
  try {
    const json = join(dir, 'rows.json');
    const parquet = join(dir, 'rows.parquet');
    await writeFile(json, JSON.stringify(rows));
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(`COPY (SELECT * FROM read_json('${json}')) TO '${parquet}' (FORMAT parquet)`);
    connection.closeSync();
    instance.closeSync();
    return await readFile(parquet);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
