import type { DuckDBStorage } from '../../storage/duckdb/duckdb-storage.ts';

/**
 * The catalog's schema, as an ordered list of migrations. Each runs once, in its own transaction,
 * and is recorded in the migrations table; a database is brought up to date at every start.
 * Append new migrations at the end; never edit one that has shipped.
 */
interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const CATALOG_SCHEMA = 'sluice_meta';
export const DATA_SCHEMA = 'data';

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'catalog',
    statements: [
      `CREATE SCHEMA IF NOT EXISTS ${DATA_SCHEMA}`,
      `CREATE TABLE ${CATALOG_SCHEMA}.namespaces (
        id VARCHAR NOT NULL, name VARCHAR NOT NULL, properties JSON NOT NULL,
        created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL)`,
      `CREATE TABLE ${CATALOG_SCHEMA}.tables (
        id VARCHAR NOT NULL, namespace_id VARCHAR NOT NULL, name VARCHAR NOT NULL, kind VARCHAR NOT NULL,
        parent_id VARCHAR, columns JSON NOT NULL, primary_key JSON NOT NULL, sorting_key JSON NOT NULL,
        partition_key JSON NOT NULL, properties JSON NOT NULL, version BIGINT NOT NULL, row_count BIGINT NOT NULL,
        created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL)`,
      `CREATE TABLE ${CATALOG_SCHEMA}.tokens (
        id VARCHAR NOT NULL, name VARCHAR NOT NULL, secret_hash VARCHAR NOT NULL, scopes JSON NOT NULL,
        properties JSON NOT NULL, created_at TIMESTAMP NOT NULL)`,
      `CREATE TABLE ${CATALOG_SCHEMA}.jobs (
        id VARCHAR NOT NULL, kind VARCHAR NOT NULL, status VARCHAR NOT NULL, namespace_id VARCHAR, table_id VARCHAR,
        progress JSON NOT NULL, result JSON, error VARCHAR, properties JSON NOT NULL,
        created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, started_at TIMESTAMP, finished_at TIMESTAMP)`,
      `CREATE TABLE ${CATALOG_SCHEMA}.write_log (
        id VARCHAR NOT NULL, table_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
        rows_inserted BIGINT NOT NULL, rows_updated BIGINT NOT NULL, rows_deleted BIGINT NOT NULL,
        rows_quarantined BIGINT NOT NULL, version BIGINT NOT NULL, sequence BIGINT NOT NULL,
        idempotency_key VARCHAR, request_hash VARCHAR, response JSON, created_at TIMESTAMP NOT NULL)`,
    ],
  },
  {
    version: 2,
    name: 'view definitions',
    statements: [`ALTER TABLE ${CATALOG_SCHEMA}.tables ADD COLUMN definition JSON`],
  },
  {
    version: 3,
    name: 'version columns',
    statements: [`ALTER TABLE ${CATALOG_SCHEMA}.tables ADD COLUMN version_column VARCHAR`],
  },
  {
    version: 4,
    name: 'last write sequences',
    statements: [`ALTER TABLE ${CATALOG_SCHEMA}.tables ADD COLUMN last_sequence BIGINT`],
  },
  {
    version: 5,
    name: 'provisional tables',
    statements: [`ALTER TABLE ${CATALOG_SCHEMA}.tables ADD COLUMN provisional BOOLEAN`],
  },
];

export async function migrateCatalog(storage: DuckDBStorage): Promise<void> {
  await storage.transaction(async (tx) => {
    await tx.run(`CREATE SCHEMA IF NOT EXISTS ${CATALOG_SCHEMA}`);
    await tx.run(`CREATE TABLE IF NOT EXISTS ${CATALOG_SCHEMA}.migrations (version INTEGER NOT NULL, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)`);
  });
  const applied = new Set((await storage.query(`SELECT version FROM ${CATALOG_SCHEMA}.migrations`)).map((row) => Number(row['version'])));
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    await storage.transaction(async (tx) => {
      for (const statement of migration.statements) await tx.run(statement);
      await tx.run(`INSERT INTO ${CATALOG_SCHEMA}.migrations VALUES (?, ?, now())`, [migration.version, migration.name]);
    });
  }
}

export const LATEST_CATALOG_VERSION = MIGRATIONS.at(-1)!.version;
