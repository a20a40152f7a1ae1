import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog, physicalName } from '../../../src/core/catalog/catalog.ts';
import type { Column, Namespace, Table } from '../../../src/core/catalog/model.ts';
import { SluiceError } from '../../../src/core/errors.ts';
import { installSqlFunctions } from '../../../src/core/query/sql-functions.ts';
import { guardQuery, type GuardedQuery, type ResolveTable } from '../../../src/core/query/sql-guard.ts';
import type { DataType } from '../../../src/core/types/data-type.ts';
import { DuckDBStorage } from '../../../src/storage/duckdb/duckdb-storage.ts';

export interface QueryFixture {
  storage: DuckDBStorage;
  catalog: Catalog;
  namespace: Namespace;
  dataDir: string;
  /** Resolves names in `default` (or the named namespace); refuses tables named `secret`. */
  resolve: ResolveTable;
  guard: (sql: string) => Promise<GuardedQuery>;
  createTable: (name: string, columns: Array<[name: string, type: DataType]>, rowsSql?: string, namespace?: Namespace) => Promise<Table>;
  close: () => Promise<void>;
}

/** A real storage in a temporary directory with a catalog and a `default` namespace. */
export async function openQueryFixture(): Promise<QueryFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-'));
  const storage = await DuckDBStorage.open({ dataDir });
  const catalog = await Catalog.open(storage);
  // As at a server's start: guarded queries call the macros that bound built values.
  await installSqlFunctions(storage);
  const namespace = await catalog.createNamespace('default');
  const resolve: ResolveTable = (name, namespaceName) => {
    const scope = namespaceName === null ? namespace : catalog.getNamespace(namespaceName);
    const table = catalog.getTable(scope.id, name);
    if (table.name === 'secret') throw new SluiceError('FORBIDDEN', `No access to table "${name}"`);
    return table;
  };
  return {
    storage,
    catalog,
    namespace,
    dataDir,
    resolve,
    guard: (sql) => guardQuery(storage, sql, resolve),
    createTable: async (name, columns, rowsSql, inNamespace = namespace) => {
      const spec: Column[] = columns.map(([columnName, type]) => ({ name: columnName, type, nullable: true }));
      const table = await catalog.createTable(inNamespace.id, { name, columns: spec });
      if (rowsSql) await storage.transaction((tx) => tx.run(`INSERT INTO ${physicalName(table)} ${rowsSql}`));
      return table;
    },
    close: async () => {
      await storage.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const INT32: DataType = { kind: 'int', bits: 32, signed: true };
export const INT64: DataType = { kind: 'int', bits: 64, signed: true };
export const STRING: DataType = { kind: 'string' };

/**
 * A table with a column of every common type: one row of awkward values, one row of NULLs (but
 * for `i64`), in that order by `i64`.
 */
export const ALL_TYPES_COLUMNS: Array<[string, DataType]> = [
  ['i8', { kind: 'int', bits: 8, signed: true }],
  ['i16', { kind: 'int', bits: 16, signed: true }],
  ['i32', INT32],
  ['i64', INT64],
  ['i128', { kind: 'int', bits: 128, signed: true }],
  ['u64', { kind: 'int', bits: 64, signed: false }],
  ['dec', { kind: 'decimal', precision: 38, scale: 10 }],
  ['f64', { kind: 'float', bits: 64 }],
  ['f32', { kind: 'float', bits: 32 }],
  ['flag', { kind: 'boolean' }],
  ['s', STRING],
  ['d', { kind: 'date', unit: 'day' }],
  ['ts', { kind: 'timestamp', unit: 'us' }],
  ['tags', { kind: 'list', element: STRING, elementNullable: true }],
  ['point', { kind: 'struct', fields: [{ name: 'x', type: INT32, nullable: true }, { name: 'y', type: STRING, nullable: true }] }],
  ['attrs', { kind: 'map', key: STRING, value: INT32, valueNullable: true }],
  ['b', { kind: 'binary' }],
  ['id', { kind: 'uuid' }],
  ['doc', { kind: 'json' }],
];

export const ALL_TYPES_ROWS = `VALUES
  (-8, -16, -32, 9007199254740993, 170141183460469231731687303715884105727, 18446744073709551615,
   12345678901234567890.0123456789, 1.5, 0.1, true, 'say "hi",' || chr(10) || 'tab' || chr(9) || 'it''s',
   DATE '2024-02-29', TIMESTAMP '2024-01-02 03:04:05.123456', ['a', NULL], {'x': 1, 'y': 'z'}, MAP {'k': 7},
   '\\x00ab'::BLOB, '00000000-0000-0000-0000-000000000001', '{"a":[1,2]}'),
  (NULL, NULL, NULL, 42, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`;
