import { setMaxListeners } from 'node:events';
import { mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Config } from '../config.ts';
import { DuckDBStorage } from '../storage/duckdb/duckdb-storage.ts';
import { resolveAdminToken } from './admin-token.ts';
import { ChangeFeeds, type ChangeFeed, type FeedOptions } from './changes/change-feeds.ts';
import { allows, readFilters, requireReadsIn, requireScope, type Action, type Principal, type Target } from './auth/scopes.ts';
import { TokenStore } from './auth/token-store.ts';
import { Catalog, physicalName } from './catalog/catalog.ts';
import { QUARANTINE_SUFFIX, type Namespace, type Table, type TableChange, type TableSpec } from './catalog/model.ts';
import type { SchemaChange } from './catalog/schema-change.ts';
import { SluiceError } from './errors.ts';
import { openSource } from './ingest/sources/open-source.ts';
import type { IngestSource, OpenOptions, SourceLimits } from './ingest/sources/source.ts';
import { Jobs } from './jobs/jobs.ts';
import { linkedSignal } from './linked-signal.ts';
import { encodeQuery, type EncodedQuery, type EncodeQueryOptions, type ResultFormat } from './query/encode-query.ts';
import { runQuery } from './query/query-runner.ts';
import { installSqlFunctions } from './query/sql-functions.ts';
import { guardExpression, guardQuery, type FilteredTable, type GuardedQuery, type QuerySemantics, type ResolveTable } from './query/sql-guard.ts';
import type { WriteKind, WriteRequest, WriteResult } from './write/write-command.ts';
import { WriteLog } from './write/write-log.ts';
import { Writer } from './write/writer.ts';

/**
 * The scopes each kind of write needs: adding rows needs `append`, taking rows away `drop`, and
 * replacing rows with others (which a token may use to do either) both.
 */
const WRITE_ACTIONS: Record<WriteKind, Action[]> = {
  append: ['append'],
  upsert: ['append'],
  changes: ['append'],
  delete: ['drop'],
  delete_where: ['drop'],
  overwrite: ['append', 'drop'],
  replace_where: ['append', 'drop'],
};

/** How often the write log drops the writes no one will read again (see `WriteLog.prune`). */
const PRUNE_INTERVAL_MS = 10 * 60 * 1000;

/**
 * The core: one object owning the storage engine, the catalog, the write path and the tokens,
 * opened once per data directory. Dialects call it; it knows nothing of them.
 */

export class Sluice {
  private readonly housekeeping: NodeJS.Timeout;
  /** Dialects and the namespaces whose schemas change only through them (see `manageNamespaces`). */
  private readonly managers: Array<{ dialect: string; manages: (namespace: Namespace) => boolean }> = [];
  /** The open feeds of tables' and views' changes (see `openChangeFeed`). */
  readonly changes: ChangeFeeds;
  /** Aborted once the server begins to close (see `interrupt`): sources still being read end. */
  private readonly closingController = new AbortController();

  private constructor(
    readonly config: Config,
    readonly storage: DuckDBStorage,
    readonly catalog: Catalog,
    readonly writer: Writer,
    readonly tokens: TokenStore,
    readonly jobs: Jobs,
    /** Set when this start generated the admin token, so that the caller can show it once. */
    readonly generatedAdminToken: string | undefined,
  ) {
    // Expired keys are already ignored on lookup; pruning keeps the write log from growing for ever.
    this.housekeeping = setInterval(() => void this.writer.log.prune().catch(() => undefined), PRUNE_INTERVAL_MS).unref();
    this.changes = new ChangeFeeds(storage, catalog, writer.log);
    // One listener per source being read, however many requests stream at once: not a leak.
    setMaxListeners(0, this.closingController.signal);
  }

  static async open(config: Config): Promise<Sluice> {
    // A directory made here is its owner's alone: it holds every table's rows and the admin token.
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const admin = await resolveAdminToken(config.dataDir, config.adminToken);
    const storage = await DuckDBStorage.open({
      dataDir: config.dataDir,
      memoryLimit: config.memoryLimit,
      checkpointThreshold: config.checkpointThreshold,
      threads: config.threads,
      queryConnections: config.queryConnections,
      queriesPerOwner: config.queriesPerToken,
      queryTimeoutMs: config.queryTimeoutMs,
      resultMemoryBytes: config.resultMemoryBytes,
      maxExportBytes: config.maxExportBytes,
    });
    try {
      const catalog = await Catalog.open(storage);
      await installSqlFunctions(storage);
      const writeLog = await WriteLog.open(storage, config.idempotencyRetentionHours);
      const tokens = await TokenStore.open(storage, admin.token);
      // A token's scopes follow what they name through renames and drops.
      catalog.onNameChange((tx, change) => tokens.followNameChange(tx, change));
      const jobs = await Jobs.open(storage);
      return new Sluice(config, storage, catalog, new Writer(storage, catalog, writeLog, config.maxPendingWrites), tokens, jobs, admin.generated ? admin.token : undefined);
    } catch (error) {
      await storage.close();
      throw error;
    }
  }

  async authenticate(secret: string | undefined): Promise<Principal> {
    const principal = secret ? await this.tokens.authenticate(secret) : undefined;
    if (!principal) throw new SluiceError('UNAUTHENTICATED', 'Invalid or missing token');
    return principal;
  }

  namespaceOf(table: Table): Namespace {
    return this.catalog.getNamespaceById(table.namespaceId);
  }

  /** Checks that the principal may act on the table (a scope on a table covers its quarantine). */
  authorize(principal: Principal, action: Action, table: Table): void {
    requireScope(principal, action, this.targetOf(table));
  }

  /** Whether the principal may act on the table (see `authorize`). */
  mayAct(principal: Principal, action: Action, table: Table): boolean {
    return allows(principal, action, this.targetOf(table));
  }

  /**
   * For a table a request names that does not exist: refuses the principal (FORBIDDEN) as it would
   * for an existing table of that name when it may not `action` one, so that a token without rights
   * learns nothing of which names exist. A token that may is then told the table is missing.
   */
  authorizeName(principal: Principal, action: Action, namespace: string, name: string): void {
    const parentTable = name.endsWith(QUARANTINE_SUFFIX) ? name.slice(0, -QUARANTINE_SUFFIX.length) : undefined;
    requireScope(principal, action, { namespace, table: name, ...(parentTable && { parentTable }) });
  }

  private targetOf(table: Table): Target {
    const parent = table.parentId ? this.catalog.findTableById(table.parentId) : undefined;
    return { namespace: this.namespaceOf(table).name, table: table.name, ...(parent ? { parentTable: parent.name } : {}) };
  }

  /**
   * The condition through which the principal reads each table its scopes filter (see `Scope`),
   * by table id: the filters, each checked on its own as an expression over the table's columns,
   * joined by OR. A filter that does not check stands as its error, raised by a query that reads the table.
   */
  private async rowFilters(principal: Principal): Promise<Map<string, string | SluiceError>> {
    const conditions = new Map<string, string | SluiceError>();
    const filtered = principal.scopes.flatMap((scope) => (scope.action === 'read' && scope.filter !== undefined && scope.table !== undefined ? [scope] : []));
    const namespaces = this.catalog.listNamespaces();
    for (const scope of filtered) {
      for (const namespace of namespaces) {
        if (scope.namespace !== undefined && scope.namespace !== namespace.name) continue;
        const table = this.catalog.findTable(namespace.id, scope.table!);
        if (!table || conditions.has(table.id)) continue;
        const filters = readFilters(principal, this.targetOf(table));
        if (filters.length === 0) continue;
        try {
          const checked = await Promise.all(filters.map((filter) => guardExpression(this.storage, filter, table.columns.map((column) => column.name))));
          conditions.set(table.id, checked.map((condition) => `(${condition})`).join(' OR '));
        } catch (error) {
          const reason = error instanceof SluiceError ? error.message : 'it is not a condition over the table';
          conditions.set(table.id, new SluiceError('FORBIDDEN', `The token's row filter on table "${table.name}" cannot be applied: ${reason}`, { table: table.name }));
        }
      }
    }
    return conditions;
  }

  /** A table as the principal reads it: whole, or through its row filter. */
  private readThrough(principal: Principal, table: Table, filters: Map<string, string | SluiceError>, where?: string): Table | FilteredTable {
    this.authorize(principal, 'read', table);
    const filter = filters.get(table.id);
    if (filter instanceof SluiceError) throw filter;
    // Fail closed: a table the scopes filter is never read whole for want of a prepared condition.
    if (filter === undefined && readFilters(principal, this.targetOf(table)).length > 0) {
      throw new SluiceError('FORBIDDEN', `The token's row filter on table "${table.name}" cannot be applied`, { table: table.name });
    }
    const conditions = [where, filter].filter((condition) => condition !== undefined);
    return conditions.length === 0 ? table : { table, where: conditions.map((condition) => `(${condition})`).join(' AND ') };
  }

  /** Checks that the principal may make this kind of write to the table, and that the table takes writes. */
  authorizeWrite(principal: Principal, kind: WriteKind, table: Table): void {
    for (const action of WRITE_ACTIONS[kind]) this.authorize(principal, action, table);
    if (table.kind === 'view') throw new SluiceError('INVALID_ARGUMENT', `"${table.name}" is a view; views cannot be written to`);
    // A quarantine table holds what writes to its table rejected: rows may be deleted from it, not written to it.
    if (table.kind === 'quarantine' && kind !== 'delete' && kind !== 'delete_where') {
      throw new SluiceError('INVALID_ARGUMENT', `"${table.name}" is a quarantine table; rows can only be deleted from it`);
    }
  }

  /** Writes rows; a predicate from a user is checked to be an expression over the table's columns first. */
  async write(principal: Principal, request: WriteRequest): Promise<WriteResult> {
    this.authorizeWrite(principal, request.kind, request.table);
    const predicate = request.predicate === undefined ? undefined : await this.checkPredicate(request.table, request.predicate);
    return this.writer.write({ ...request, ...(predicate !== undefined && { predicate }) });
  }

  /** A user's condition over a table, validated and normalized so that it is safe to embed in SQL. */
  checkPredicate(table: Table, predicate: string): Promise<string> {
    return guardExpression(this.storage, predicate, table.columns.map((column) => column.name));
  }

  /**
   * Opens a source of bytes (a body, a file, a URL) under the server's policy: URL imports reach
   * public addresses only unless SLUICE_ALLOW_PRIVATE_URLS is set.
   */
  async openSource(source: IngestSource, limits: SourceLimits, options: OpenOptions = {}): Promise<Readable> {
    // Cancelled by the caller's signal, and by the server's close (see `interrupt`).
    const cancel = linkedSignal(options.signal ? [this.closingController.signal, options.signal] : [this.closingController.signal]);
    try {
      const stream = await openSource(source, { ...limits, allowPrivateNetworks: this.config.allowPrivateUrls }, { ...options, signal: cancel.signal });
      stream.once('close', cancel.unlink);
      return stream;
    } catch (error) {
      cancel.unlink();
      throw error;
    }
  }

  /**
   * How many rows of the table the principal may read: all of them, or those its row filters admit
   * (counted), so that a filtered token does not learn the size of what it may not see.
   */
  async readableRowCount(principal: Principal, table: Table): Promise<number> {
    const filters = readFilters(principal, { namespace: this.namespaceOf(table).name, table: table.name });
    // A view's rows are its query's, counted when asked.
    if (filters.length === 0) return table.kind === 'view' ? this.countMatching(principal, table, 'true') : table.rowCount;
    const conditions = await Promise.all(filters.map((filter) => this.checkPredicate(table, filter)));
    return this.countMatching(principal, table, conditions.map((condition) => `(${condition})`).join(' OR '));
  }

  /** How many rows of a table a user's condition holds for (a dry run of a delete). */
  async countWhere(principal: Principal, table: Table, predicate: string): Promise<number> {
    this.authorize(principal, 'read', table);
    return this.countMatching(principal, table, await this.checkPredicate(table, predicate));
  }

  /**
   * Rows of the table a checked condition holds for, counted as a user's query runs: on a query
   * connection, within the query time limit, as one of the principal's queries. A user's condition
   * may be slow, and the server's own reads must not wait behind it.
   */
  private async countMatching(principal: Principal, table: Table, condition: string): Promise<number> {
    const sql = `SELECT count(*) AS n FROM ${physicalName(table)} WHERE ${condition}`;
    const result = await runQuery(this.storage, { sql, tables: [table], owner: principal.tokenId }, { maxRows: 1 });
    return Number(result.rows[0]?.[0] ?? 0);
  }

  /** Creates a table (and its quarantine companion); DEFAULT expressions must be constant expressions. */
  async createTable(principal: Principal, namespace: Namespace, spec: TableSpec): Promise<Table> {
    requireScope(principal, 'create', { namespace: namespace.name });
    this.requireManager(principal, namespace);
    return this.catalog.createTable(namespace.id, spec);
  }

  /**
   * Changes the tables and views of a namespace in one transaction: all of it commits or none of it
   * does, between the writes to its tables. The principal needs the create scope on the namespace.
   */
  async changeSchema<T>(principal: Principal, namespace: Namespace, work: (change: SchemaChange) => Promise<T>): Promise<T> {
    requireScope(principal, 'create', { namespace: namespace.name });
    this.requireManager(principal, namespace);
    // It may change or drop any table of the namespace: it runs between their writes (see `alterTable`).
    const tables = this.catalog.listTables(namespace.id).map((table) => table.id);
    return this.writer.exclusive(tables, () => this.catalog.changeSchema(namespace.id, work));
  }

  /**
   * Changes a table: adds columns at its end, renames it, sets some of its properties (in this
   * order). The change runs between two of the table's commits, so that writes under way neither
   * fail nor make it fail. The principal needs the create scope on the namespace.
   */
  async alterTable(principal: Principal, table: Table, change: TableChange): Promise<Table> {
    requireScope(principal, 'create', { namespace: this.namespaceOf(table).name });
    this.requireManager(principal, this.namespaceOf(table));
    return this.writer.exclusive([table.id], async () => {
      const added = change.addColumns?.(this.catalog.getTableById(table.id)) ?? [];
      // Every part is checked before any is made, so that a change refused leaves the table as it was.
      if (added.length > 0) await this.catalog.addColumns(table.id, added, { zeroFill: change.zeroFill ?? false, dryRun: true });
      if (change.name !== undefined) this.catalog.checkRename(table.id, change.name);
      if (change.dryRun) return this.catalog.getTableById(table.id);
      if (change.name !== undefined) await this.catalog.renameTable(table.id, change.name);
      if (added.length > 0) await this.catalog.addColumns(table.id, added, { zeroFill: change.zeroFill ?? false });
      if (change.properties !== undefined) {
        await this.catalog.updateTableProperties(table.id, { ...this.catalog.getTableById(table.id).properties, ...change.properties });
      }
      return this.catalog.getTableById(table.id);
    });
  }

  /**
   * Drops a table that a request created and then failed to fill (an import whose data was refused):
   * the request leaves nothing behind, whatever the scopes it was allowed to create with. Only
   * while it is still provisional: once another request's write to it has committed (two first
   * appends racing, see `TableSpec.provisional`), the table and those rows stay.
   */
  async undoCreate(table: Table): Promise<void> {
    await this.writer.exclusive([table.id], async () => {
      if (this.catalog.findTableById(table.id)?.provisional) await this.catalog.dropTable(table.id);
    });
  }

  /** Drops a table (with its quarantine companion) or a view, once the writes queued before it are done. */
  async dropTable(principal: Principal, table: Table): Promise<void> {
    this.authorize(principal, 'drop', table);
    this.requireManager(principal, this.namespaceOf(table));
    await this.writer.exclusive([table.id], () => this.catalog.dropTable(table.id));
  }

  /** Renames a namespace or sets some of its properties (merged over the current ones). */
  async updateNamespace(principal: Principal, namespace: Namespace, change: { name?: string; properties?: Record<string, unknown> }): Promise<Namespace> {
    requireScope(principal, 'create', { namespace: namespace.name });
    // Scopes name namespaces: a new name must be one the principal may create.
    if (change.name !== undefined) requireScope(principal, 'create', { namespace: change.name });
    this.requireManager(principal, namespace);
    return this.catalog.updateNamespace(namespace.id, change);
  }

  /**
   * Lets a dialect claim the namespaces it keeps its own state for (a Feldera pipeline, Tinybird's
   * workspace): their schemas then change only through it. Rows may still be read and written
   * through any dialect; a table created, altered or dropped, or the namespace renamed or dropped,
   * behind the owner's back would break its invariants (a running pipeline's program).
   */
  manageNamespaces(dialect: string, manages: (namespace: Namespace) => boolean): void {
    this.managers.push({ dialect, manages });
  }

  private requireManager(principal: Principal, namespace: Namespace): void {
    const manager = this.managers.find((candidate) => candidate.manages(namespace));
    if (!manager || principal.dialect === undefined || principal.dialect === manager.dialect) return;
    throw new SluiceError('NAMESPACE_MANAGED', `"${namespace.name}" is managed by the ${manager.dialect} API: change its tables and the namespace itself through it`, {
      namespace: namespace.name,
      managedBy: manager.dialect,
    });
  }

  /** Drops a namespace with all its tables, once the writes queued before it are done. */
  async dropNamespace(principal: Principal, namespace: Namespace): Promise<void> {
    requireScope(principal, 'drop', { namespace: namespace.name });
    this.requireManager(principal, namespace);
    const tables = this.catalog.listTables(namespace.id).map((table) => table.id);
    await this.writer.exclusive(tables, () => this.catalog.dropNamespace(namespace.id));
  }

  /**
   * Checks a user's SELECT and binds its table names within `namespace` (or the namespace a name is
   * qualified with), each table readable by the principal, into SQL safe to run in the sandbox.
   * The principal must read in `namespace` even when the query names no table (`SELECT 1`,
   * `range(…)`): a token that only writes runs no query.
   */
  async guardQuery(principal: Principal, namespace: Namespace, sql: string): Promise<GuardedQuery> {
    return this.guardBoundQuery(principal, namespace, sql, (name, qualifier) => {
      const home = qualifier === null ? namespace : this.catalog.findNamespace(qualifier);
      const table = home && this.catalog.findTable(home.id, name);
      if (table) return table;
      // A name the token may not read is refused whether it exists or not.
      this.authorizeName(principal, 'read', qualifier ?? namespace.name, name);
      return this.catalog.getTable(this.catalog.getNamespace(qualifier ?? namespace.name).id, name);
    });
  }

  /**
   * Checks a user's SELECT whose table names the caller binds itself (to tables of any namespace,
   * each optionally read through a condition over its columns); each table must be readable by the
   * principal, who must read in `namespace` (in some namespace, when null) even when the query names no table.
   */
  async guardBoundQuery(principal: Principal, namespace: Namespace | null, sql: string, bind: ResolveTable, semantics: QuerySemantics = {}): Promise<GuardedQuery> {
    requireReadsIn(principal, namespace?.name);
    const filters = await this.rowFilters(principal);
    const guarded = await guardQuery(this.storage, sql, (name, qualifier) => {
      const bound = bind(name, qualifier);
      return 'where' in bound ? this.readThrough(principal, bound.table, filters, bound.where) : this.readThrough(principal, bound, filters);
    }, semantics);
    return { ...guarded, owner: principal.tokenId };
  }

  /**
   * Opens a feed of the rows that enter and leave a table or view from now on (see ChangeFeeds),
   * as the principal reads it: the read scope is checked and its row filter applied.
   */
  async openChangeFeed(principal: Principal, relation: Table, options: FeedOptions): Promise<ChangeFeed> {
    const namespace = this.namespaceOf(relation);
    const guarded = await this.guardBoundQuery(principal, namespace, 'SELECT * FROM relation', () => relation);
    return this.changes.open(relation, guarded.sql, options);
  }

  /** The result columns a user's SELECT would give, as DuckDB names them and their types, without running it. */
  async describeQuery(principal: Principal, namespace: Namespace, sql: string): Promise<Array<{ name: string; type: string }>> {
    const guarded = await this.guardQuery(principal, namespace, sql);
    const columns = await this.storage.query(`DESCRIBE (${guarded.sql})`);
    return columns.map((column) => ({ name: String(column['column_name']), type: String(column['column_type']) }));
  }

  /**
   * Runs a user's SELECT into a format. With `totalsSql`, a query giving one row of the same
   * columns (ClickHouse's WITH TOTALS) runs first, within the same limits, and the format writes
   * that row beside the others.
   */
  async query(principal: Principal, namespace: Namespace, sql: string, format: ResultFormat, options: EncodeQueryOptions & { totalsSql?: string } = {}): Promise<EncodedQuery> {
    const { totalsSql, ...encodeOptions } = options;
    const guarded = await this.guardQuery(principal, namespace, sql);
    if (totalsSql === undefined) return encodeQuery(this.storage, guarded, format, encodeOptions);
    const { timeoutMs, signal } = encodeOptions;
    const totals = await runQuery(this.storage, await this.guardQuery(principal, namespace, totalsSql), { timeoutMs, signal, maxRows: 1 });
    return encodeQuery(this.storage, guarded, format, { ...encodeOptions, totals: totals.rows[0] });
  }

  /**
   * Bytes of storage a table's rows occupy: the database blocks that hold its checkpointed data.
   * Rows still only in the write-ahead log are not counted until the next checkpoint. The block
   * size is the table's database's: other databases attached beside it (the in-memory one of
   * change feeds' snapshots) have blocks of another size, or none.
   */
  async tableBytes(table: Table): Promise<number> {
    // A view stores nothing of its own.
    if (table.kind === 'view') return 0;
    const [row] = await this.storage.query(
      `SELECT count(DISTINCT block_id) * (SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()) AS bytes
       FROM pragma_storage_info(?) WHERE persistent AND block_id >= 0`,
      [`data.${table.id}`],
    );
    return Number(row?.['bytes'] ?? 0);
  }

  /**
   * Aborted, with the error as its reason, once the database engine has failed beyond repair in
   * this process (see `EngineHealth`): only a restart, which reopens the database and replays its
   * write-ahead log, recovers, and no acknowledged write is lost.
   */
  get failure(): AbortSignal {
    return this.storage.failure;
  }

  /**
   * Ends what would otherwise hold up a close: running queries are stopped, change feeds end, and
   * sources still being read (a body still arriving, a download) fail with a retryable UNAVAILABLE,
   * so that their writes fail too; what chunked ingests committed before stays. Writes whose input
   * is whole are left to finish.
   */
  async interrupt(): Promise<void> {
    // Jobs first, so that a download the close cuts off ends its job cancelled, not failed.
    const cancelled = this.jobs.list().filter((job) => job.status === 'waiting' || job.status === 'working').map((job) => this.jobs.cancel(job.id).catch(() => undefined));
    this.closingController.abort(new SluiceError('UNAVAILABLE', 'The server is shutting down: the data (a body still arriving, a download) was cut off before its end and its write failed, though a streamed push keeps the chunks it had committed; retry once the server is back'));
    this.storage.stopQueries();
    await this.changes.closeAll();
    await Promise.all(cancelled);
  }

  /** Whether the server has begun to close (see `interrupt`). */
  get closing(): boolean {
    return this.closingController.signal.aborted;
  }

  /** Aborts, with the error a request cut off by it gets, when the server begins to close. */
  get closingSignal(): AbortSignal {
    return this.closingController.signal;
  }

  /** Stops taking writes, finishes the queued ones, checkpoints and closes the database. */
  async close(): Promise<void> {
    clearInterval(this.housekeeping);
    await this.interrupt();
    for (const job of this.jobs.list()) if (job.status === 'waiting' || job.status === 'working') await this.jobs.cancel(job.id).catch(() => undefined);
    await this.jobs.settle();
    await this.writer.drain();
    await this.storage.checkpoint();
    await this.storage.close();
  }
}
