import type { Row, Transaction } from '../../storage/duckdb/duckdb-storage.ts';
import { qualifiedName, quoteIdentifier } from '../../storage/duckdb/sql.ts';
import { SluiceError } from '../errors.ts';
import { newId } from '../ids.ts';
import { parseJsonPath } from '../ingest/json-path.ts';
import { getTypeNestingProblem, MAX_TYPE_NESTING } from '../types/data-type.ts';
import { toDuckDBType } from '../types/duckdb-types.ts';
import { TypeNameError } from '../types/type-name-error.ts';
import { CATALOG_SCHEMA, DATA_SCHEMA } from './migrations.ts';
import { QUARANTINE_COLUMNS, type Column, type Table, type TableSpec, type ViewDefinition } from './model.ts';

// How catalog entries become storage objects and catalog rows, shared by the catalog and by schema changes.

/** The longest name of a namespace, table, view, column or token (in UTF-16 code units, as JavaScript counts). */
export const MAX_NAME_LENGTH = 255;

/** The storage engine's name for a table's rows. User names never reach SQL; ids do. */
export function physicalName(table: Pick<Table, 'id'>): string {
  return qualifiedName(DATA_SCHEMA, table.id);
}

export function createTableSql(table: Table): string {
  const definitions = table.columns.map((column) => {
    const notNull = column.nullable ? '' : ' NOT NULL';
    return `${quoteIdentifier(column.name)} ${toDuckDBType(column.type)}${notNull}`;
  });
  if (table.primaryKey.length > 0) definitions.push(`PRIMARY KEY (${table.primaryKey.map(quoteIdentifier).join(', ')})`);
  return `CREATE TABLE ${physicalName(table)} (${definitions.join(', ')})`;
}

export function quarantineColumns(columns: Column[]): Column[] {
  const text = { kind: 'string' } as const;
  const textList = { kind: 'list', element: text, elementNullable: false } as const;
  return [
    ...columns.map((column) => ({ name: column.name, type: text, nullable: true })),
    { name: QUARANTINE_COLUMNS.errorColumns, type: textList, nullable: false },
    { name: QUARANTINE_COLUMNS.errors, type: textList, nullable: false },
    { name: QUARANTINE_COLUMNS.importId, type: text, nullable: true },
    { name: QUARANTINE_COLUMNS.insertedAt, type: { kind: 'timestamp', unit: 's' }, nullable: false },
  ];
}

export async function insertTableRow(tx: Transaction, table: Table): Promise<void> {
  await tx.run(
    `INSERT INTO ${CATALOG_SCHEMA}.tables (id, namespace_id, name, kind, parent_id, columns, primary_key, sorting_key, partition_key,
       properties, version, row_count, created_at, updated_at, definition, version_column, provisional) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      table.id, table.namespaceId, table.name, table.kind, table.parentId, JSON.stringify(table.columns),
      JSON.stringify(table.primaryKey), JSON.stringify(table.sortingKey), JSON.stringify(table.partitionKey),
      JSON.stringify(table.properties), table.version, table.rowCount, table.createdAt.toISOString(), table.updatedAt.toISOString(),
      table.definition ? JSON.stringify(table.definition) : null, table.versionColumn ?? null, table.provisional ?? null,
    ],
  );
}

/**
 * Drops a table or view with its catalog row. The sequence of the table's last write moves to the
 * write log (as a `drop` entry): start-up takes the last sequence handed out from both, and it
 * must not go back when the table that held it is gone.
 */
export async function dropTableAndRow(tx: Transaction, table: Table): Promise<void> {
  await tx.run(`DROP ${table.kind === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS ${physicalName(table)}`);
  await tx.run(
    `INSERT INTO ${CATALOG_SCHEMA}.write_log (id, table_id, kind, rows_inserted, rows_updated, rows_deleted, rows_quarantined, version, sequence, created_at)
     SELECT ?, id, 'drop', 0, 0, row_count, 0, version, last_sequence, now()::TIMESTAMP FROM ${CATALOG_SCHEMA}.tables WHERE id = ? AND last_sequence IS NOT NULL`,
    [newId(), table.id],
  );
  await tx.run(`DELETE FROM ${CATALOG_SCHEMA}.tables WHERE id = ?`, [table.id]);
}

export function tableFromRow(row: Row): Table {
  const definition = parseJson(row['definition']) as ViewDefinition | null | undefined;
  return {
    id: String(row['id']), namespaceId: String(row['namespace_id']), name: String(row['name']),
    kind: row['kind'] as Table['kind'], parentId: (row['parent_id'] as string | null) ?? null,
    columns: parseJson(row['columns']) as Column[], primaryKey: parseJson(row['primary_key']) as string[],
    sortingKey: parseJson(row['sorting_key']) as string[], partitionKey: parseJson(row['partition_key']) as string[],
    properties: parseJson(row['properties']) as Record<string, unknown>, version: Number(row['version']),
    rowCount: Number(row['row_count']), createdAt: row['created_at'] as Date, updatedAt: row['updated_at'] as Date,
    ...(definition ? { definition } : {}),
    ...(typeof row['version_column'] === 'string' && { versionColumn: row['version_column'] }),
    ...(row['provisional'] === true && { provisional: true }),
  };
}

export function parseJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

/**
 * Whether a name may name a namespace, table or column: 1 to MAX_NAME_LENGTH characters (not UTF-16
 * units: an emoji is one), none a control character. Names are stored and compared, never pasted
 * into SQL, so nothing else matters here.
 */
export function isValidName(name: string): boolean {
  const characters = [...name].length;
  return characters > 0 && characters <= MAX_NAME_LENGTH && !/[\u0000-\u001f]/.test(name);
}

export function checkName(name: string, what: string): void {
  if (!isValidName(name)) {
    throw new SluiceError('INVALID_NAME', `Invalid ${what} name "${name}": use 1 to ${MAX_NAME_LENGTH} printable characters`, { name });
  }
}

const QUARANTINE_COLUMN_NAMES: ReadonlySet<string> = new Set(Object.values(QUARANTINE_COLUMNS));

/** Kinds of values a primary key cannot hold. */
const UNINDEXABLE_KINDS: ReadonlySet<string> = new Set(['list', 'map', 'struct']);

/** A column whose type the storage engine cannot hold (a decimal of more than 38 digits) is the definition's fault. */
function checkStorable(column: Column): void {
  // Types come from files (Parquet, Arrow IPC) and inference too, not only from the parsers that bound their nesting.
  const nesting = getTypeNestingProblem(column.type);
  if (nesting !== undefined) throw new SluiceError('INVALID_TYPE', `Column "${column.name}": ${nesting}`, { column: column.name, maxNesting: MAX_TYPE_NESTING });
  try {
    toDuckDBType(column.type);
  } catch (error) {
    if (!(error instanceof TypeNameError)) throw error;
    throw new SluiceError('INVALID_TYPE', `Column "${column.name}": ${error.message}`, { column: column.name });
  }
}

/**
 * With `quarantined`, the table has a quarantine companion, whose own columns (see
 * QUARANTINE_COLUMNS) stand beside the table's: no column may take one of their names.
 */
export function checkColumns(spec: Pick<TableSpec, 'name' | 'columns' | 'primaryKey' | 'versionColumn'>, quarantined = false): void {
  if (spec.columns.length === 0) throw new SluiceError('INVALID_SCHEMA', `Table "${spec.name}" needs at least one column`);
  const seen = new Map<string, string>();
  for (const column of spec.columns) {
    checkName(column.name, 'column');
    // A column so named hides DuckDB's row number, by which rows are told apart (deletes of copies, pages of snapshots).
    if (column.name.toLowerCase() === 'rowid') {
      throw new SluiceError('INVALID_SCHEMA', `Column name "${column.name}" is reserved: it names the storage engine's row number`, { column: column.name });
    }
    if (quarantined && QUARANTINE_COLUMN_NAMES.has(column.name.toLowerCase())) {
      throw new SluiceError('INVALID_SCHEMA', `Column name "${column.name}" is reserved for the quarantine table's own columns (${[...QUARANTINE_COLUMN_NAMES].join(', ')})`, { column: column.name });
    }
    // The storage engine compares column names without regard to case.
    const key = column.name.toLowerCase();
    const earlier = seen.get(key);
    if (earlier === column.name) throw new SluiceError('INVALID_SCHEMA', `Duplicate column name "${column.name}"`, { column: column.name });
    if (earlier !== undefined) {
      throw new SluiceError('INVALID_SCHEMA', `Duplicate column name "${column.name}": it differs from column "${earlier}" only in case, which the storage engine cannot tell apart`, { column: column.name });
    }
    seen.set(key, column.name);
    if (column.jsonPath !== undefined) parseJsonPath(column.jsonPath);
    checkStorable(column);
  }
  const repeated = (spec.primaryKey ?? []).find((key, index, keys) => keys.indexOf(key) !== index);
  if (repeated !== undefined) throw new SluiceError('INVALID_SCHEMA', `Primary key column "${repeated}" is named more than once`, { column: repeated });
  for (const key of spec.primaryKey ?? []) {
    const column = spec.columns.find((candidate) => candidate.name === key);
    if (!column) throw new SluiceError('INVALID_SCHEMA', `Primary key column "${key}" is not a column of the table`, { column: key });
    // DuckDB indexes no nested values (its "Invalid type for index key").
    if (UNINDEXABLE_KINDS.has(column.type.kind)) {
      throw new SluiceError('INVALID_SCHEMA', `Primary key column "${key}" cannot be a ${column.type.kind}: keys must be of scalar types`, { column: key });
    }
    // A key is never NULL, and NULL is all this type holds: no row could be written.
    if (column.type.kind === 'null') throw new SluiceError('INVALID_SCHEMA', `Primary key column "${key}" cannot be of the null type, which holds only NULL: a key is never NULL`, { column: key });
    column.nullable = false;
  }
  if (spec.versionColumn !== undefined) checkVersionColumn(spec);
}

/** Kinds a version column may have: those whose order says which row is newer. */
const VERSION_KINDS = new Set(['int', 'date', 'timestamp']);

function checkVersionColumn(spec: Pick<TableSpec, 'columns' | 'primaryKey' | 'versionColumn'>): void {
  const name = spec.versionColumn!;
  const column = spec.columns.find((candidate) => candidate.name === name);
  if ((spec.primaryKey ?? []).length === 0) throw new SluiceError('INVALID_SCHEMA', `A version column ("${name}") needs a primary key: it says which row of a key wins`, { column: name });
  if (!column) throw new SluiceError('INVALID_SCHEMA', `Version column "${name}" is not a column of the table`, { column: name });
  if (!VERSION_KINDS.has(column.type.kind) || column.nullable || spec.primaryKey!.includes(name)) {
    throw new SluiceError('INVALID_SCHEMA', `Version column "${name}" must be an integer, date or timestamp column, not nullable and not part of the key`, { column: name });
  }
}
