import type { DuckDBStorage, Transaction } from '../../storage/duckdb/duckdb-storage.ts';
import { quoteIdentifier } from '../../storage/duckdb/sql.ts';
import { SluiceError } from '../errors.ts';
import { newId } from '../ids.ts';
import { guardDefault, guardQuery, type QuerySemantics } from '../query/sql-guard.ts';
import { holdsType, isUnnamedStruct, withFieldNames, type DataType } from '../types/data-type.ts';
import { describeDuckDBType, toDuckDBType } from '../types/duckdb-types.ts';
import { CATALOG_SCHEMA, DATA_SCHEMA } from './migrations.ts';
import { QUARANTINE_SUFFIX, type Column, type Table, type TableSpec, type ViewSpec } from './model.ts';
import { checkColumns, checkName, createTableSql, dropTableAndRow, insertTableRow, physicalName, quarantineColumns } from './table-ddl.ts';
import { viewNullability } from './view-nullability.ts';

export interface ViewOptions {
  /** The meaning the view's query is given where the dialect's SQL differs from DuckDB's. */
  semantics?: QuerySemantics;
  /**
   * The name of the field at `index` (from 0) of a struct the query builds without names
   * (`ROW(a, b)`), as the dialect names it; `"1"`, `"2"` … (ClickHouse's) by default. A view's rows
   * are kept in tables to follow its changes, and a table cannot hold a struct without names.
   */
  fieldName?: (index: number) => string;
  /**
   * The view's columns as the caller declares them, in place of those DuckDB describes: its query
   * gives values of exactly these types, in this order, and NULL only in a nullable one (a
   * materialized view's target keeps its data source's columns).
   */
  columns?: readonly Column[];
  /**
   * A table this change dropped whose place the view takes: it keeps the table's id and creation
   * time, so that clients holding the id (a data source made a materialized view's target) find it.
   */
  replacing?: Table;
}

/**
 * Changes to the tables and views of one namespace, made inside one transaction by
 * `Catalog.changeSchema`: all of them commit, or none does. Lookups here see the changes made so
 * far; the catalog sees them once the transaction has committed.
 */
export class SchemaChange {
  private readonly entries: Map<string, Table>;
  private readonly changed = new Map<string, Table>();
  private readonly dropped = new Set<string>();
  /** Properties of the namespace this change sets (merged over its current ones), committed with it. */
  namespaceProperties: Record<string, unknown> | undefined;

  constructor(
    private readonly tx: Transaction,
    private readonly storage: DuckDBStorage,
    readonly namespaceId: string,
    current: Table[],
  ) {
    this.entries = new Map(current.map((table) => [table.id, table]));
  }

  /** Sets some of the namespace's properties along with the tables' changes: all commit together, or none does. */
  setNamespaceProperties(properties: Record<string, unknown>): void {
    this.namespaceProperties = { ...this.namespaceProperties, ...properties };
  }

  /** Tables, quarantine tables and views of the namespace as they stand in this change, oldest first. */
  list(): Table[] {
    return [...this.entries.values()];
  }

  find(name: string): Table | undefined {
    return this.list().find((table) => table.name === name);
  }

  get(id: string): Table {
    const table = this.entries.get(id);
    if (!table) throw new SluiceError('TABLE_NOT_FOUND', `Table "${id}" does not exist`, { table: id });
    return table;
  }

  /** Creates a table and, unless the spec says not to, its quarantine companion `<name>_quarantine`. */
  async createTable(spec: TableSpec): Promise<Table> {
    checkName(spec.name, 'table');
    const quarantined = spec.quarantine ?? true;
    checkColumns(spec, quarantined);
    const quarantineName = spec.name + QUARANTINE_SUFFIX;
    this.checkFree(spec.name);
    if (quarantined && this.find(quarantineName)) throw quarantineNameTaken(spec.name, quarantineName);
    const columns: Column[] = [];
    for (const column of spec.columns) columns.push(await guardDefault(this.storage, column));
    const now = new Date();
    const table: Table = {
      id: newId(), namespaceId: this.namespaceId, name: spec.name, kind: 'table', parentId: null, columns,
      primaryKey: spec.primaryKey ?? [], sortingKey: spec.sortingKey ?? [], partitionKey: spec.partitionKey ?? [],
      ...(spec.versionColumn !== undefined && { versionColumn: spec.versionColumn }),
      properties: spec.properties ?? {}, version: 0, rowCount: 0, createdAt: now, updatedAt: now,
      ...(spec.provisional && { provisional: true }),
    };
    // The companion goes with its table, provisional or not.
    const { versionColumn: _versionColumn, provisional: _provisional, ...unversioned } = table;
    const quarantine: Table = {
      ...unversioned, id: newId(), name: quarantineName, kind: 'quarantine', parentId: table.id,
      columns: quarantineColumns(columns), primaryKey: [], sortingKey: [], partitionKey: [], properties: {},
    };
    for (const created of quarantined ? [table, quarantine] : [table]) {
      await this.tx.run(createTableSql(created));
      await this.add(created);
    }
    return table;
  }

  /**
   * Creates a view: a SELECT over tables and views of this namespace only, checked by the query
   * guard and bound to their physical names, so that it reads nothing else. Its columns are the
   * query's. Views are evaluated when read, so they always agree with the tables under them.
   */
  async createView(spec: ViewSpec, options: ViewOptions = {}): Promise<Table> {
    checkName(spec.name, 'view');
    this.checkFree(spec.name);
    const guarded = await guardQuery(this.storage, spec.sql, (name, qualifier) => {
      if (qualifier !== null) throw new SluiceError('SQL_NOT_ALLOWED', `A view reads only tables of its own namespace, not "${qualifier}.${name}"`, { table: `${qualifier}.${name}` });
      const table = this.find(name);
      if (!table) throw new SluiceError('TABLE_NOT_FOUND', `Table "${name}" does not exist`, { table: name });
      return table;
    }, options.semantics);
    const replaced = options.replacing;
    if (replaced && (!this.dropped.has(replaced.id) || this.entries.has(replaced.id))) throw new SluiceError('INTERNAL', `View "${spec.name}" can take the place only of a table this change dropped`);
    const id = replaced?.id ?? newId();
    await this.tx.run(`CREATE VIEW ${physicalName({ id })} AS ${guarded.sql}`);
    const described = await this.tx.rows(
      `SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index`,
      [DATA_SCHEMA, id],
    );
    const types = described.map((row) => describedType(String(row['data_type'])));
    const named = await this.nameStructFields(id, guarded.sql, described.map((row) => String(row['column_name'])), types, options.fieldName);
    // DuckDB describes every view column as nullable; the query's shape may say better.
    const nullable = guarded.statement && viewNullability(guarded.statement, (id) => this.list().find((table) => table.id === id));
    // The view's columns are named as the query names them: DuckDB's view renames a second column
    // whose name differs from an earlier one only in case ("a" after "A" becomes "a_1"), which
    // `checkColumns` then refuses, as it refuses such a table, rather than a name nobody gave.
    const names = await this.tx.columnNamesOf(guarded.sql);
    const columns = options.columns?.map((column) => ({ ...column })) ?? described.map((row, index) => ({
      name: names[index] ?? String(row['column_name']), type: named[index]!,
      nullable: nullable?.length === described.length ? nullable[index]! : true,
    }));
    if (columns.length !== described.length) throw new SluiceError('INTERNAL', `View "${spec.name}" gives ${described.length} columns, not the ${columns.length} declared`);
    checkColumns({ name: spec.name, columns });
    const now = new Date();
    const view: Table = {
      id, namespaceId: this.namespaceId, name: spec.name, kind: 'view', parentId: null, columns,
      primaryKey: [], sortingKey: [], partitionKey: [], properties: spec.properties ?? {},
      version: 0, rowCount: 0, createdAt: replaced?.createdAt ?? now, updatedAt: now,
      definition: { sql: spec.sql, reads: guarded.tables.map((table) => table.id), expandedReads: guarded.expandedReads },
    };
    await this.add(view);
    return view;
  }

  async updateProperties(table: Table, properties: Record<string, unknown>): Promise<Table> {
    const updated = { ...this.get(table.id), properties, updatedAt: new Date() };
    await this.tx.run(`UPDATE ${CATALOG_SCHEMA}.tables SET properties = ?, updated_at = ? WHERE id = ?`, [JSON.stringify(properties), updated.updatedAt.toISOString(), table.id]);
    this.entries.set(table.id, updated);
    this.changed.set(table.id, updated);
    return updated;
  }

  /** Drops a table with its quarantine companion, or a view. Refused while a view reads it. */
  async drop(table: Table): Promise<void> {
    if (table.kind === 'quarantine') throw new SluiceError('INVALID_ARGUMENT', `"${table.name}" is dropped with the table it belongs to`, { table: table.name });
    const quarantine = this.list().find((candidate) => candidate.kind === 'quarantine' && candidate.parentId === table.id);
    const ids = new Set([table.id, ...(quarantine ? [quarantine.id] : [])]);
    const dependents = this.list().filter((view) => !ids.has(view.id) && view.definition?.reads.some((id) => ids.has(id)));
    if (dependents.length > 0) {
      const names = dependents.map((view) => view.name);
      throw new SluiceError('HAS_DEPENDENTS', `"${table.name}" is read by ${names.map((name) => `"${name}"`).join(', ')}; drop those views first`, { table: table.name, dependents: names });
    }
    for (const dropped of [table, ...(quarantine ? [quarantine] : [])]) {
      await dropTableAndRow(this.tx, dropped);
      this.entries.delete(dropped.id);
      this.changed.delete(dropped.id);
      this.dropped.add(dropped.id);
    }
  }

  /** Drops every view of the namespace, each after the views that read it. */
  async dropViews(): Promise<void> {
    let views = this.list().filter((table) => table.kind === 'view');
    while (views.length > 0) {
      const unread = views.find((view) => !views.some((other) => other.definition?.reads.includes(view.id)));
      if (!unread) throw new SluiceError('INTERNAL', 'Views read each other in a cycle');
      await this.drop(unread);
      views = views.filter((view) => view !== unread);
    }
  }

  /**
   * The names of the tables and views this change dropped (quarantine tables included) and did not
   * make again: a name dropped and given to a new table or view in the same change (a table a
   * program changed, a data source become a view) stands for the same thing to its users.
   */
  droppedNames(current: Table[]): string[] {
    return current.filter((table) => this.dropped.has(table.id) && !this.find(table.name)).map((table) => table.name);
  }

  /** Brings the catalog's tables up to date once the transaction has committed. */
  applyTo(tables: Map<string, Table>): void {
    for (const id of this.dropped) tables.delete(id);
    for (const [id, table] of this.changed) {
      const latest = tables.get(id);
      // A write committed meanwhile moved the version and row count on; only what this change set is taken.
      tables.set(id, latest ? { ...latest, properties: table.properties, updatedAt: table.updatedAt } : table);
    }
  }

  private async add(table: Table): Promise<void> {
    await insertTableRow(this.tx, table);
    this.entries.set(table.id, table);
    this.changed.set(table.id, table);
  }

  /**
   * The view's column types with the fields of structs built without names named: where there
   * are any, the view is made again, casting those columns to the named types (a cast from a
   * struct without names takes its fields in order).
   */
  private async nameStructFields(id: string, sql: string, columnNames: string[], types: DataType[], fieldName = (index: number) => String(index + 1)): Promise<DataType[]> {
    const unnamed = types.flatMap((type, index) => (holdsType(type, isUnnamedStruct) ? [index] : []));
    if (unnamed.length === 0) return types;
    const named = types.map((type) => withFieldNames(type, fieldName));
    const casts = unnamed.map((index) => `CAST(${quoteIdentifier(columnNames[index]!)} AS ${toDuckDBType(named[index]!)}) AS ${quoteIdentifier(columnNames[index]!)}`);
    await this.tx.run(`CREATE OR REPLACE VIEW ${physicalName({ id })} AS SELECT * REPLACE (${casts.join(', ')}) FROM (${sql})`);
    return named;
  }

  private checkFree(name: string): void {
    if (this.find(name)) throw new SluiceError('TABLE_EXISTS', `Table "${name}" already exists`, { table: name });
  }
}

/** A table's quarantine companion would take a name another table has (one renamed to it, say). */
export function quarantineNameTaken(name: string, quarantineName: string): SluiceError {
  return new SluiceError('INVALID_ARGUMENT', `"${name}" needs the name "${quarantineName}" for its quarantine, and another table has it: rename or drop that one first`, { table: quarantineName });
}

/**
 * A view column's type as DuckDB names it. The catalog's view columns describe the query's
 * result; a type no dialect has a name for is described as text, which is how it is rendered.
 */
function describedType(duckdbType: string): DataType {
  return describeDuckDBType(duckdbType) ?? { kind: 'string' };
}
