import { CommitGate, LARGE_COMMIT_ROWS } from './commit-gate.ts';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection, type DuckDBPreparedStatement, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { ConnectionPool } from './connection-pool.ts';
import { EngineHealth } from './engine-health.ts';
import { openFailure, translateDuckDBError } from './duckdb-errors.ts';
import { OwnerSlots } from './owner-slots.ts';
import { QueryLease, stopError, type QueryLimits, type StopReason } from './query-lease.ts';
import { ATTACH_SNAPSHOTS, RelationSnapshots } from './relation-snapshots.ts';
import { quoteLiteral } from './sql.ts';

// @duckdb/node-api decodes every VARCHAR it reads with one shared `new TextDecoder()`, which drops a
// U+FEFF opening the text as a byte order mark: a stored value "\uFEFFx" read back as "x". Its
// decoder is replaced by one that keeps every character (the module reads it at each decode).
(createRequire(import.meta.url)('@duckdb/node-api/lib/vectors/dataAccessors.js') as { textDecoder: TextDecoder }).textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

export type SqlParams = DuckDBValue[] | Record<string, DuckDBValue>;
export type Row = Record<string, unknown>;

export interface StorageOptions {
  dataDir: string;
  memoryLimit?: string | undefined;
  checkpointThreshold?: string | undefined;
  threads?: number | undefined;
  readConnections?: number;
  writeConnections?: number;
  /** Connections for users' queries, apart from the server's own reads so that these never wait behind them. */
  queryConnections?: number | undefined;
  /** How many of those one owner (a token) may hold at once; one fewer than all of them when unset. */
  queriesPerOwner?: number | undefined;
  /** How long a user's query may take, unless its caller says otherwise. */
  queryTimeoutMs?: number | undefined;
  /** How much memory one query's result may take in the server as JS values (see the query runner). */
  resultMemoryBytes?: number | undefined;
  /** The largest file a query's Parquet result may take in the spool folder; half the free disk space when unset. */
  maxExportBytes?: number | undefined;
}

/**
 * The embedded DuckDB engine: the one owner of the database file. All connections share one
 * sandboxed instance: external access is off except for the server's own spool folder, and the
 * configuration is locked, so SQL can read no other file, attach nothing and change no setting.
 * Writes run on a small pool of writer connections; the server's own reads (catalog, parsing,
 * inference) on a second pool; users' queries on a third, each under a time limit.
 */
export class DuckDBStorage {
  /** Appenders kept per writer connection (see `Transaction.appendKept`), by table; closed with the storage. */
  private readonly keptAppenders = new Map<DuckDBConnection, Map<string, DuckDBAppender>>();
  /** Aborted at shutdown: stops every user query still running. */
  /** Aborted at shutdown; each query lease listens to it while it lasts, so it may have any number of listeners. */
  private readonly shutdown = (() => {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  })();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly readers: ConnectionPool,
    private readonly writers: ConnectionPool,
    private readonly queries: ConnectionPool,
    private readonly owners: OwnerSlots,
    private readonly queryTimeoutMs: number,
    /** How much memory one user query's result may take in the server as JS values. */
    readonly resultMemoryBytes: number,
    /** The largest file a query's Parquet result may take in the spool folder (unset: half the free disk space). */
    readonly maxExportBytes: number | undefined,
    readonly databasePath: string,
    readonly spoolDir: string,
    /** Copies of relations that change feeds compare against (see RelationSnapshots). */
    readonly snapshots: RelationSnapshots,
    private readonly health: EngineHealth,
    /** Keeps reads and large commits apart (see CommitGate). */
    private readonly gate: CommitGate,
  ) {}

  /**
   * Aborted, with the error as its reason, once DuckDB has failed beyond repair in this process
   * (see `EngineHealth`): the server should exit, so that a restart recovers.
   */
  get failure(): AbortSignal {
    return this.health.failure;
  }

  static async open(options: StorageOptions): Promise<DuckDBStorage> {
    const databasePath = join(options.dataDir, 'sluice.duckdb');
    const spoolDir = join(options.dataDir, 'spool');
    const tempRoot = join(options.dataDir, 'tmp');
    // This run's spill files go to a directory of their own, so that those a crashed run left can
    // be removed once the database's lock is held, not before: another server may be running on
    // the directory, whose files are not to be touched (it is told from DuckDB's lock).
    const tempDir = join(tempRoot, randomUUID());
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });

    const settings: Record<string, string> = {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      temp_directory: tempDir,
    };
    if (options.memoryLimit) settings['memory_limit'] = options.memoryLimit;
    if (options.checkpointThreshold) settings['checkpoint_threshold'] = options.checkpointThreshold;
    if (options.threads) settings['threads'] = String(options.threads);

    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(databasePath, settings);
    } catch (error) {
      throw openFailure(error, options.dataDir);
    }
    // The database is this process's now: what earlier runs left in the spool and temp directories is no one's.
    await clearDirectory(spoolDir);
    await clearDirectory(tempRoot, (entry) => join(tempRoot, entry) !== tempDir);
    const setup = await instance.connect();
    try {
      // Timestamps with offsets are normalized to UTC, whatever the machine's zone.
      await setup.run('LOAD icu');
      await setup.run("SET TimeZone = 'UTC'");
      await setup.run(ATTACH_SNAPSHOTS);
      // Order matters: once external access is off and the configuration locked, neither can be undone.
      await setup.run(`SET allowed_directories = [${[spoolDir, tempDir].map((dir) => quoteLiteral(`${dir}/`)).join(', ')}]`);
      await setup.run('SET enable_external_access = false');
      await setup.run('SET lock_configuration = true');
    } finally {
      setup.closeSync();
    }
    const health = new EngineHealth();
    const gate = new CommitGate();
    const queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    const snapshots = new RelationSnapshots(new ConnectionPool(instance, SNAPSHOT_CONNECTIONS, health), gate, queryTimeoutMs);
    const queryConnections = options.queryConnections ?? DEFAULT_QUERY_CONNECTIONS;
    return new DuckDBStorage(
      instance,
      new ConnectionPool(instance, options.readConnections ?? 4, health),
      new ConnectionPool(instance, options.writeConnections ?? 4, health),
      new ConnectionPool(instance, queryConnections, health),
      new OwnerSlots(options.queriesPerOwner ?? Math.max(1, queryConnections - 1)),
      queryTimeoutMs,
      options.resultMemoryBytes ?? DEFAULT_RESULT_MEMORY_BYTES,
      options.maxExportBytes,
      databasePath,
      spoolDir,
      snapshots,
      health,
      gate,
    );
  }

  /** Runs a statement outside any explicit transaction and returns its rows as plain JS values. */
  async query(sql: string, params?: SqlParams): Promise<Row[]> {
    return this.readers.use((connection) => this.gate.read(() => readRows(connection, sql, params)));
  }

  /**
   * Lends a connection of the server's own reads for work that needs the driver itself (streaming
   * a file being inferred, a result's types). Users' queries take a lease instead (`leaseQuery`).
   */
  async withReader<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.readers.use(async (connection) => {
      try {
        return await work(connection);
      } catch (error) {
        throw translateDuckDBError(error);
      }
    });
  }

  /**
   * Lends a connection for one user query (see QueryLease), once one is free. The time limit counts
   * from now, so a query waiting behind others is stopped on time too; end the lease when done.
   */
  async leaseQuery(limits: QueryLimits = {}): Promise<QueryLease> {
    const timeoutMs = limits.timeoutMs ?? this.queryTimeoutMs;
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort('timeout' satisfies StopReason), timeoutMs);
    const onCancel = (): void => stop.abort('cancelled' satisfies StopReason);
    const onShutdown = (): void => stop.abort('shutdown' satisfies StopReason);
    limits.signal?.addEventListener('abort', onCancel, { once: true });
    this.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    const forget = (): void => {
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onCancel);
      this.shutdown.signal.removeEventListener('abort', onShutdown);
    };
    if (limits.signal?.aborted) onCancel();
    if (this.shutdown.signal.aborted) onShutdown();
    let giveBack = (): void => {};
    let lent;
    try {
      if (limits.owner !== undefined) giveBack = await this.owners.take(limits.owner, stop.signal);
      lent = await this.queries.lend(stop.signal);
    } catch (error) {
      forget();
      giveBack();
      throw stop.signal.aborted ? stopError(stop.signal.reason as StopReason, timeoutMs) : translateDuckDBError(error);
    }
    const lease = new QueryLease(lent, timeoutMs, this.health, this.gate, () => {
      forget();
      giveBack();
    });
    if (stop.signal.aborted) lease.stop(stop.signal.reason as StopReason);
    else stop.signal.addEventListener('abort', () => lease.stop(stop.signal.reason as StopReason), { once: true });
    return lease;
  }

  /** Stops every user query now: their clients get a retryable error instead of holding up shutdown. */
  stopQueries(): void {
    this.shutdown.abort();
    this.snapshots.stopAll();
  }

  /**
   * Runs `work` in one transaction on a writer connection: committed when it resolves, rolled back
   * when it throws. DuckDB syncs its write-ahead log at commit, so a resolved transaction is durable.
   */
  async transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.writers.use(async (connection) => {
      let kept = this.keptAppenders.get(connection);
      if (!kept) this.keptAppenders.set(connection, (kept = new Map()));
      const tx = new Transaction(connection, kept, this.health);
      try {
        // Inside: a BEGIN that fails for want of memory may have begun the transaction all the same.
        await run(connection, 'BEGIN TRANSACTION');
        const result = await work(tx);
        tx.closeAppenders();
        // Another transaction may have left the engine failed meanwhile: this one commits nothing then.
        this.health.check();
        // One round trip for the statements left for the commit and the commit itself; a failing
        // statement stops the rest, and the transaction is rolled back below.
        const commit = () => run(connection, [...tx.takeStatementsAtCommit(), 'COMMIT'].join(';\n'));
        await (tx.rowsChanged >= LARGE_COMMIT_ROWS ? this.gate.largeCommit(commit) : commit());
        tx.runAfterCommit();
        return result;
      } catch (error) {
        tx.abandonAppenders();
        // A rollback that fails leaves the engine failed: that is then the news to tell.
        await this.health.rollBack(connection);
        throw this.health.translate(error);
      }
    });
  }

  /**
   * Writes the WAL into the database file, once the transactions still running have ended: a plain
   * CHECKPOINT fails while another transaction is active (one finishing its commit as the server
   * closes, say), where FORCE waits for the checkpoint lock (DuckDB 1.4 and later).
   */
  async checkpoint(): Promise<void> {
    await this.writers.use((connection) => run(connection, 'FORCE CHECKPOINT'));
  }

  async close(): Promise<void> {
    // A live appender keeps its connection's database open: close them first (they hold no rows).
    for (const appenders of this.keptAppenders.values()) for (const appender of appenders.values()) appender.closeSync();
    this.keptAppenders.clear();
    this.stopQueries();
    this.readers.close();
    this.writers.close();
    this.queries.close();
    this.snapshots.close();
    this.instance.closeSync();
  }
}

/** Users' queries DuckDB runs at once when the server is not told otherwise. */
export const DEFAULT_QUERY_CONNECTIONS = 4;
/** How long a user's query may take when the server is not told otherwise. */
export const DEFAULT_QUERY_TIMEOUT_MS = 60_000;
/** How much memory one query's result may take in the server when it is not told otherwise. */
export const DEFAULT_RESULT_MEMORY_BYTES = 256 * 1024 ** 2;
/** Connections that refresh and read snapshots, apart from the others so that writes never wait for them. */
const SNAPSHOT_CONNECTIONS = 2;

/** Prepared statements kept per connection (see `Transaction.runPrepared`), the oldest dropped past this many. */
const PREPARED_PER_CONNECTION = 64;
const preparedStatements = new WeakMap<DuckDBConnection, Map<string, DuckDBPreparedStatement>>();

/** One open transaction on a writer connection. */
export class Transaction {
  private readonly appenders: DuckDBAppender[] = [];
  /** The rows its statements inserted, updated or deleted (appenders write staging tables only). */
  rowsChanged = 0;
  private readonly commitHooks: Array<() => void> = [];
  private readonly statementsAtCommit: string[] = [];

  constructor(
    readonly connection: DuckDBConnection,
    /** The connection's kept appenders, by table (see `appendKept`). */
    private readonly kept: Map<string, DuckDBAppender>,
    private readonly health: EngineHealth,
  ) {}

  async run(sql: string, params?: SqlParams): Promise<number> {
    try {
      const result = await this.connection.run(sql, params);
      return this.changed(Number(result.rowsChanged));
    } catch (error) {
      throw this.health.translate(error);
    }
  }

  async rows(sql: string, params?: SqlParams, types?: DuckDBType[]): Promise<Row[]> {
    return readRows(this.connection, sql, params, types);
  }

  private changed(rows: number): number {
    this.rowsChanged += rows;
    return rows;
  }

  /** The names of a query's result columns as the query gives them (duplicates kept), without running it. */
  async columnNamesOf(sql: string): Promise<string[]> {
    try {
      const prepared = await this.connection.prepare(sql);
      try {
        return Array.from({ length: prepared.columnCount }, (_, index) => prepared.columnName(index));
      } finally {
        prepared.destroySync();
      }
    } catch (error) {
      throw this.health.translate(error);
    }
  }

  /**
   * Like `run`, through a statement prepared once per connection and kept: for statements run
   * again and again with other values (a group commit's rows as list parameters), which DuckDB
   * then parses, binds and plans only once. DuckDB binds a kept statement again by itself when
   * the catalog it read has changed since.
   */
  async runPrepared(sql: string, params: DuckDBValue[], types?: DuckDBType[]): Promise<number> {
    let cache = preparedStatements.get(this.connection);
    if (!cache) preparedStatements.set(this.connection, (cache = new Map()));
    try {
      let prepared = cache.get(sql);
      if (prepared) {
        // Most recently used last, so that the oldest is the first one dropped.
        cache.delete(sql);
      } else {
        prepared = await this.connection.prepare(sql);
        // The dropped statement is freed when collected (or when its connection closes).
        if (cache.size >= PREPARED_PER_CONNECTION) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, prepared);
      prepared.bind(params, types);
      try {
        return this.changed(Number((await prepared.run()).rowsChanged));
      } finally {
        // The bound values (a group's texts) are not kept alive until the statement's next use.
        prepared.clearBindings();
      }
    } catch (error) {
      throw this.health.translate(error);
    }
  }

  /**
   * Appends rows through an appender this connection keeps for later transactions too, for a table
   * whose columns never change while the server runs (the catalog's own): it spares each
   * transaction the round trip that creating one costs. `fill` appends the rows, which are flushed
   * into this transaction at once; if either fails, the appender is dropped, so that no row it
   * still holds reaches a later transaction.
   */
  async appendKept(table: string, schema: string, fill: (appender: DuckDBAppender) => void): Promise<void> {
    const key = `${schema}.${table}`;
    let appender = this.kept.get(key);
    try {
      if (!appender) this.kept.set(key, (appender = await this.connection.createAppender(table, schema, null)));
      fill(appender);
      appender.flushSync();
    } catch (error) {
      if (appender) {
        this.kept.delete(key);
        closeQuietly(appender);
      }
      throw this.health.translate(error);
    }
  }

  /** An appender whose rows become part of this transaction when flushed. */
  async appender(table: string, schema: string, catalog?: string): Promise<DuckDBAppender> {
    try {
      const appender = await this.connection.createAppender(table, schema, catalog ?? null);
      this.appenders.push(appender);
      return appender;
    } catch (error) {
      throw this.health.translate(error);
    }
  }

  /**
   * Runs a statement (text only, no parameters) just before the commit, in the same call to DuckDB:
   * for bookkeeping whose result nobody waits for, it spares a round trip through the event loop,
   * which under load costs far more than the statement.
   */
  runAtCommit(sql: string): void {
    this.statementsAtCommit.push(sql);
  }

  takeStatementsAtCommit(): string[] {
    return this.statementsAtCommit.splice(0);
  }

  /** Registers in-memory state changes (caches, counters) to apply only once the commit succeeded. */
  afterCommit(hook: () => void): void {
    this.commitHooks.push(hook);
  }

  runAfterCommit(): void {
    for (const hook of this.commitHooks.splice(0)) hook();
  }

  /** Flushes and closes this transaction's appenders; their rows stay part of the transaction. */
  closeAppenders(): void {
    for (const appender of this.appenders.splice(0)) {
      appender.closeSync();
    }
  }

  /** After a failure: close the appenders without caring whether their last rows could be flushed. */
  abandonAppenders(): void {
    for (const appender of this.appenders.splice(0)) closeQuietly(appender);
  }
}

/** Closes an appender whose rows are not wanted (its transaction is failing): whether they could be flushed does not matter. */
function closeQuietly(appender: DuckDBAppender): void {
  try {
    appender.closeSync();
  } catch {
    // The rows are discarded with the transaction either way.
  }
}

async function run(connection: DuckDBConnection, sql: string, params?: SqlParams): Promise<void> {
  try {
    await connection.run(sql, params);
  } catch (error) {
    throw translateDuckDBError(error);
  }
}

async function readRows(connection: DuckDBConnection, sql: string, params?: SqlParams, types?: DuckDBType[]): Promise<Row[]> {
  try {
    const reader = await connection.runAndReadAll(sql, params, types);
    return reader.getRowObjectsJS() as Row[];
  } catch (error) {
    throw translateDuckDBError(error);
  }
}

/** Spool and temp files belong to requests of a previous run; none of them can still be wanted (`keep` spares this run's own). */
async function clearDirectory(dir: string, keep: (entry: string) => boolean = () => true): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const entry of await readdir(dir)) if (keep(entry)) await rm(join(dir, entry), { recursive: true, force: true });
}
