import type { DuckDBStorage, Row, Transaction } from '../../storage/duckdb/duckdb-storage.ts';
import { quoteIdentifier, quoteLiteral } from '../../storage/duckdb/sql.ts';
import { SluiceError } from '../errors.ts';
import { newId } from '../ids.ts';
import { Mutex } from '../mutex.ts';
import { guardDefault } from '../query/sql-guard.ts';
import { toDuckDBType } from '../types/duckdb-types.ts';
import { zeroValueSql } from '../types/zero-value.ts';
import { CATALOG_SCHEMA, migrateCatalog } from './migrations.ts';
import { defaultSqlOf, QUARANTINE_SUFFIX, type Column, type Namespace, type Table, type TableSpec } from './model.ts';
import { quarantineNameTaken, SchemaChange } from './schema-change.ts';
import { checkColumns, checkName, dropTableAndRow, parseJson, physicalName, quarantineColumns, tableFromRow } from './table-ddl.ts';

export { physicalName } from './table-ddl.ts';

/**
 * Namespaces and tables: persisted in the database file, served from memory. Every change is made
 * in a transaction and reaches the in-memory view only when that transaction commits. Changes to
 * the catalog are serialized so that name checks and creation cannot interleave.
 */
/**
 * A namespace or table (by name) renamed (`to` its new name) or dropped (no `to`), told to what
 * names them (tokens' scopes) inside the transaction that makes the change.
 */
export interface NameChange {
  namespace: string;
  table?: string;
  to?: { namespace: string } | { table: string };
}

export type NameChangeListener = (tx: Transaction, change: NameChange) => Promise<void>;

export class Catalog {
  private readonly namespaces = new Map<string, Namespace>();
  private readonly nameListeners: NameChangeListener[] = [];
  private readonly tables = new Map<string, Table>();
  private readonly ddl = new Mutex();
  /** What each open transaction has recorded so far (see `recordWrite`). */
  private readonly recordedWrites = new WeakMap<Transaction, Map<string, Table>>();

  private constructor(private readonly storage: DuckDBStorage) {}

  static async open(storage: DuckDBStorage): Promise<Catalog> {
    await migrateCatalog(storage);
    const catalog = new Catalog(storage);
    for (const row of await storage.query(`SELECT * FROM ${CATALOG_SCHEMA}.namespaces`)) {
      const namespace = namespaceFromRow(row);
      catalog.namespaces.set(namespace.id, namespace);
    }
    for (const row of await storage.query(`SELECT * FROM ${CATALOG_SCHEMA}.tables`)) {
      const table = tableFromRow(row);
      catalog.tables.set(table.id, table);
    }
    // Tables created for a first write that never committed (a crash cut the create off) go.
    for (const table of [...catalog.tables.values()]) if (table.provisional) await catalog.dropTable(table.id);
    return catalog;
  }

  // ── namespaces ────────────────────────────────────────────────────────────

  listNamespaces(): Namespace[] {
    return [...this.namespaces.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  findNamespace(name: string): Namespace | undefined {
    for (const namespace of this.namespaces.values()) if (namespace.name === name) return namespace;
    return undefined;
  }

  getNamespace(name: string): Namespace {
    const namespace = this.findNamespace(name);
    if (!namespace) throw new SluiceError('NAMESPACE_NOT_FOUND', `Namespace "${name}" does not exist`, { namespace: name });
    return namespace;
  }

  findNamespaceById(id: string): Namespace | undefined {
    return this.namespaces.get(id);
  }

  getNamespaceById(id: string): Namespace {
    const namespace = this.findNamespaceById(id);
    if (!namespace) throw new SluiceError('NAMESPACE_NOT_FOUND', `Namespace "${id}" does not exist`, { namespace: id });
    return namespace;
  }

  async createNamespace(name: string, properties: Record<string, unknown> = {}): Promise<Namespace> {
    checkName(name, 'namespace');
    return this.ddl.run(async () => {
      if (this.findNamespace(name)) throw new SluiceError('NAMESPACE_EXISTS', `Namespace "${name}" already exists`, { namespace: name });
      const now = new Date();
      const namespace: Namespace = { id: newId(), name, properties, createdAt: now, updatedAt: now };
      await this.storage.transaction(async (tx) => {
        await tx.run(`INSERT INTO ${CATALOG_SCHEMA}.namespaces VALUES (?, ?, ?, ?, ?)`, [
          namespace.id, name, JSON.stringify(properties), now.toISOString(), now.toISOString(),
        ]);
        tx.afterCommit(() => this.namespaces.set(namespace.id, namespace));
      });
      return namespace;
    });
  }

  /** The namespace with this name, created empty when it does not exist yet. */
  async ensureNamespace(name: string): Promise<Namespace> {
    return this.findNamespace(name) ?? this.createNamespace(name).catch((error: unknown) => {
      const existing = this.findNamespace(name);
      if (existing) return existing;
      throw error;
    });
  }

  /** Lets `listener` follow the namespaces and tables renamed and dropped, in the transactions that do it. */
  onNameChange(listener: NameChangeListener): void {
    this.nameListeners.push(listener);
  }

  private async namesChanged(tx: Transaction, change: NameChange): Promise<void> {
    for (const listener of this.nameListeners) await listener(tx, change);
  }

  /** Renames a namespace and sets some of its properties, merged over the current ones at the change's turn. */
  async updateNamespace(id: string, change: { name?: string; properties?: Record<string, unknown> }): Promise<Namespace> {
    if (change.name !== undefined) checkName(change.name, 'namespace');
    return this.ddl.run(async () => {
      const current = this.getNamespaceById(id);
      if (change.name !== undefined && change.name !== current.name && this.findNamespace(change.name)) {
        throw new SluiceError('NAMESPACE_EXISTS', `Namespace "${change.name}" already exists`, { namespace: change.name });
      }
      const updated: Namespace = {
        ...current, ...(change.name !== undefined && { name: change.name }), properties: { ...current.properties, ...change.properties }, updatedAt: new Date(),
      };
      await this.storage.transaction(async (tx) => {
        await tx.run(`UPDATE ${CATALOG_SCHEMA}.namespaces SET name = ?, properties = ?, updated_at = ? WHERE id = ?`, [
          updated.name, JSON.stringify(updated.properties), updated.updatedAt.toISOString(), id,
        ]);
        if (updated.name !== current.name) await this.namesChanged(tx, { namespace: current.name, to: { namespace: updated.name } });
        tx.afterCommit(() => this.namespaces.set(id, updated));
      });
      return updated;
    });
  }

  /** Drops a namespace with all its tables. */
  async dropNamespace(id: string): Promise<void> {
    await this.ddl.run(async () => {
      const namespace = this.getNamespaceById(id);
      const tables = this.listTables(id, { includeQuarantine: true, includeViews: true });
      await this.storage.transaction(async (tx) => {
        for (const table of tables) await this.dropTableIn(tx, table);
        await this.namesChanged(tx, { namespace: namespace.name });
        await tx.run(`DELETE FROM ${CATALOG_SCHEMA}.namespaces WHERE id = ?`, [id]);
        tx.afterCommit(() => this.namespaces.delete(id));
      });
    });
  }

  // ── tables ────────────────────────────────────────────────────────────────

  listTables(namespaceId: string, options: { includeQuarantine?: boolean; includeViews?: boolean } = {}): Table[] {
    return [...this.tables.values()]
      .filter((table) => table.namespaceId === namespaceId)
      .filter((table) => options.includeQuarantine || table.kind !== 'quarantine')
      .filter((table) => options.includeViews || table.kind !== 'view')
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.name.localeCompare(b.name));
  }

  findTable(namespaceId: string, name: string): Table | undefined {
    for (const table of this.tables.values()) if (table.namespaceId === namespaceId && table.name === name) return table;
    return undefined;
  }

  getTable(namespaceId: string, name: string): Table {
    const table = this.findTable(namespaceId, name);
    if (!table) throw new SluiceError('TABLE_NOT_FOUND', `Table "${name}" does not exist`, { table: name });
    return table;
  }

  findTableById(id: string): Table | undefined {
    return this.tables.get(id);
  }

  getTableById(id: string): Table {
    const table = this.tables.get(id);
    if (!table) throw new SluiceError('TABLE_NOT_FOUND', `Table "${id}" does not exist`, { table: id });
    return table;
  }

  quarantineOf(table: Table): Table | undefined {
    for (const candidate of this.tables.values()) if (candidate.kind === 'quarantine' && candidate.parentId === table.id) return candidate;
    return undefined;
  }

  /** Creates a table and its quarantine companion `<name>_quarantine`, in one transaction. */
  async createTable(namespaceId: string, spec: TableSpec): Promise<Table> {
    return this.changeSchema(namespaceId, (change) => change.createTable(spec));
  }

  /**
   * Changes the tables and views of a namespace in one transaction: everything done through
   * `change` commits, or nothing does and the catalog stays as it was. `work` runs under the
   * catalog's DDL lock, so it must not call other catalog changes.
   */
  async changeSchema<T>(namespaceId: string, work: (change: SchemaChange) => Promise<T>): Promise<T> {
    return this.ddl.run(async () => {
      const namespace = this.getNamespaceById(namespaceId);
      const current = this.listTables(namespaceId, { includeQuarantine: true, includeViews: true });
      return this.storage.transaction(async (tx) => {
        const change = new SchemaChange(tx, this.storage, namespaceId, current);
        const result = await work(change);
        for (const table of change.droppedNames(current)) await this.namesChanged(tx, { namespace: namespace.name, table });
        tx.afterCommit(() => change.applyTo(this.tables));
        if (change.namespaceProperties) {
          const updated: Namespace = { ...namespace, properties: { ...namespace.properties, ...change.namespaceProperties }, updatedAt: new Date() };
          await tx.run(`UPDATE ${CATALOG_SCHEMA}.namespaces SET properties = ?, updated_at = ? WHERE id = ?`, [JSON.stringify(updated.properties), updated.updatedAt.toISOString(), namespaceId]);
          tx.afterCommit(() => this.namespaces.set(namespaceId, updated));
        }
        return result;
      });
    });
  }

  /** Throws what `renameTable` would throw, changing nothing; gives the renames it would make (the table's, its quarantine's). */
  checkRename(id: string, name: string): Array<[Table, string]> {
    checkName(name, 'table');
    const table = this.getTableById(id);
    if (name === table.name) return [];
    if (table.kind === 'quarantine') {
      throw new SluiceError('INVALID_ARGUMENT', `"${table.name}" is renamed with the table it belongs to`, { table: table.name });
    }
    const quarantine = this.quarantineOf(table);
    const renames: Array<[Table, string]> = [[table, name]];
    if (quarantine) renames.push([quarantine, name + QUARANTINE_SUFFIX]);
    for (const [renamed, newName] of renames) {
      if (!this.findTable(table.namespaceId, newName)) continue;
      throw renamed === table ? new SluiceError('TABLE_EXISTS', `Table "${newName}" already exists`, { table: newName }) : quarantineNameTaken(name, newName);
    }
    return renames;
  }

  async renameTable(id: string, name: string): Promise<Table> {
    return this.ddl.run(async () => {
      const table = this.getTableById(id);
      const renames = this.checkRename(id, name);
      if (renames.length === 0) return table;
      await this.storage.transaction(async (tx) => {
        for (const [renamed, newName] of renames) {
          const updated = { ...renamed, name: newName, updatedAt: new Date() };
          await tx.run(`UPDATE ${CATALOG_SCHEMA}.tables SET name = ?, updated_at = ? WHERE id = ?`, [newName, updated.updatedAt.toISOString(), renamed.id]);
          await this.namesChanged(tx, { namespace: this.getNamespaceById(table.namespaceId).name, table: renamed.name, to: { table: newName } });
          tx.afterCommit(() => this.tables.set(renamed.id, updated));
        }
      });
      return this.getTableById(id);
    });
  }

  async updateTableProperties(id: string, properties: Record<string, unknown>): Promise<Table> {
    return this.ddl.run(async () => {
      const updated = { ...this.getTableById(id), properties, updatedAt: new Date() };
      await this.storage.transaction(async (tx) => {
        await tx.run(`UPDATE ${CATALOG_SCHEMA}.tables SET properties = ?, updated_at = ? WHERE id = ?`, [JSON.stringify(properties), updated.updatedAt.toISOString(), id]);
        tx.afterCommit(() => this.tables.set(id, updated));
      });
      return updated;
    });
  }

  /**
   * Adds nullable-or-defaulted columns at the end of a table (their DEFAULTs checked, see
   * `guardDefault`), and as text to its quarantine companion. With `dryRun`, only checks them and
   * gives the table as it would be.
   */
  async addColumns(id: string, added: Column[], { zeroFill = false, dryRun = false }: { zeroFill?: boolean; dryRun?: boolean } = {}): Promise<Table> {
    const columns: Column[] = [];
    for (const column of added) columns.push(await guardDefault(this.storage, column));
    return this.ddl.run(async () => {
      const table = this.getTableById(id);
      const quarantine = this.quarantineOf(table);
      checkColumns({ name: table.name, columns: [...table.columns, ...columns] }, quarantine !== undefined);
      for (const column of columns) {
        if (!zeroFill && !column.nullable && column.defaultExpression === undefined && table.rowCount > 0) {
          throw new SluiceError('INVALID_SCHEMA', `Column "${column.name}" must be nullable or have a default: the table already has rows`, { column: column.name });
        }
      }
      const now = new Date();
      const updated: Table = { ...table, columns: [...table.columns, ...columns], updatedAt: now };
      if (dryRun) return updated;
      await this.storage.transaction(async (tx) => {
        for (const column of columns) {
          await tx.run(`ALTER TABLE ${physicalName(table)} ADD COLUMN ${quoteIdentifier(column.name)} ${toDuckDBType(column.type)}`);
          if (quarantine) await tx.run(`ALTER TABLE ${physicalName(quarantine)} ADD COLUMN ${quoteIdentifier(column.name)} VARCHAR`);
        }
        // The rows already there take the defaults, in one UPDATE after every ALTER: DuckDB refuses
        // ADD COLUMN … DEFAULT for most expressions under its locked configuration, and fails a
        // commit that alters a table after updating it.
        const defaults = columns.flatMap((column) => {
          const defaultSql = defaultSqlOf(column) ?? (zeroFill && !column.nullable ? zeroValueSql(column.type) : undefined);
          return defaultSql === undefined ? [] : [`${quoteIdentifier(column.name)} = CAST((${defaultSql}) AS ${toDuckDBType(column.type)})`];
        });
        if (defaults.length > 0) await tx.run(`UPDATE ${physicalName(table)} SET ${defaults.join(', ')}`);
        await tx.run(`UPDATE ${CATALOG_SCHEMA}.tables SET columns = ?, updated_at = ? WHERE id = ?`, [JSON.stringify(updated.columns), now.toISOString(), id]);
        tx.afterCommit(() => this.tables.set(id, updated));
        if (quarantine) {
          const updatedQuarantine = { ...quarantine, columns: quarantineColumns(updated.columns), updatedAt: now };
          await tx.run(`UPDATE ${CATALOG_SCHEMA}.tables SET columns = ?, updated_at = ? WHERE id = ?`, [JSON.stringify(updatedQuarantine.columns), now.toISOString(), quarantine.id]);
          tx.afterCommit(() => this.tables.set(quarantine.id, updatedQuarantine));
        }
      });
      return updated;
    });
  }

  /** Drops a table together with its quarantine companion, or a view; refused while a view reads it. */
  async dropTable(id: string): Promise<void> {
    await this.changeSchema(this.getTableById(id).namespaceId, (change) => change.drop(change.get(id)));
  }

  private async dropTableIn(tx: Transaction, table: Table): Promise<void> {
    await dropTableAndRow(tx, table);
    tx.afterCommit(() => this.tables.delete(table.id));
  }

  /**
   * Records a committed write's effect on a table inside the writing transaction: the new version
   * and row count are persisted with the rows (at the commit) and become visible here only after it.
   */
  recordWrite(tx: Transaction, table: Table, change: { versions: number; rowDelta: number; replaceRowCount?: number; lastSequence?: number }): Table {
    // A transaction may write a table more than once (a quarantine, once per upsert of a group):
    // each write counts from the one before it, not from the state before the transaction.
    let recorded = this.recordedWrites.get(tx);
    if (!recorded) this.recordedWrites.set(tx, (recorded = new Map()));
    const current = recorded.get(table.id) ?? this.getTableById(table.id);
    const now = new Date();
    const updated: Table = {
      ...current,
      version: current.version + change.versions,
      rowCount: change.replaceRowCount ?? Math.max(0, current.rowCount + change.rowDelta),
      updatedAt: now,
    };
    // Every commit runs it, with the commit, in one round trip. It also records the sequence of the
    // table's last write, from which start-up takes the last one handed out (see WriteLog).
    const sequence = change.lastSequence === undefined ? '' : `, last_sequence = ${change.lastSequence}`;
    // The first write to a provisional table makes it a table like any other, with the write.
    const settled = current.provisional ? ', provisional = NULL' : '';
    delete updated.provisional;
    tx.runAtCommit(
      `UPDATE ${CATALOG_SCHEMA}.tables SET version = ${updated.version}, row_count = ${updated.rowCount}, updated_at = ${quoteLiteral(now.toISOString())}${sequence}${settled}
       WHERE id = ${quoteLiteral(table.id)}`,
    );
    recorded.set(table.id, updated);
    tx.afterCommit(() => {
      // A concurrent DDL change (rename, properties) must not be undone by a stale copy.
      const latest = this.tables.get(table.id);
      if (latest) {
        const { provisional: _provisional, ...settledTable } = latest;
        this.tables.set(table.id, { ...settledTable, version: updated.version, rowCount: updated.rowCount, updatedAt: now });
      }
    });
    return updated;
  }
}

function namespaceFromRow(row: Row): Namespace {
  return {
    id: String(row['id']), name: String(row['name']), properties: parseJson(row['properties']) as Record<string, unknown>,
    createdAt: row['created_at'] as Date, updatedAt: row['updated_at'] as Date,
  };
}
