import { mkdir } from 'node:fs/promises';
import type { Config } from '../config.ts';
import { DuckDBStorage } from '../storage/duckdb/duckdb-storage.ts';
import { resolveAdminToken } from './admin-token.ts';
import { requireScope, type Action, type Principal } from './auth/scopes.ts';
import { TokenStore } from './auth/token-store.ts';
import { Catalog } from './catalog/catalog.ts';
import type { Namespace, Table } from './catalog/model.ts';
import { SluiceError } from './errors.ts';
import { Jobs } from './jobs/jobs.ts';
import type { WriteKind, WriteRequest, WriteResult } from './write/write-command.ts';
import { WriteLog } from './write/write-log.ts';
import { Writer } from './write/writer.ts';

/** The scope each kind of write needs: adding rows needs `append`; taking rows away needs `drop`. */
const WRITE_ACTIONS: Record<WriteKind, Action> = {
  append: 'append',
  upsert: 'append',
  changes: 'append',
  delete: 'drop',
  delete_where: 'drop',
  overwrite: 'drop',
  replace_where: 'drop',
};

/**
 * The core: one object owning the storage engine, the catalog, the write path and the tokens,
 * opened once per data directory. Dialects call it; it knows nothing of them.
 */
export class Sluice {
  private constructor(
    readonly config: Config,
    readonly storage: DuckDBStorage,
    readonly catalog: Catalog,
    readonly writer: Writer,
    readonly tokens: TokenStore,
    readonly jobs: Jobs,
    /** Set when this start generated the admin token, so that the caller can show it once. */
    readonly generatedAdminToken: string | undefined,
  ) {}

  static async open(config: Config): Promise<Sluice> {
    await mkdir(config.dataDir, { recursive: true });
    const admin = await resolveAdminToken(config.dataDir, config.adminToken);
    const storage = await DuckDBStorage.open({ dataDir: config.dataDir, memoryLimit: config.memoryLimit, threads: config.threads });
    try {
      const catalog = await Catalog.open(storage);
      const writeLog = await WriteLog.open(storage, config.idempotencyRetentionHours);
      const tokens = await TokenStore.open(storage, admin.token);
      const jobs = await Jobs.open(storage);
      return new Sluice(config, storage, catalog, new Writer(storage, catalog, writeLog), tokens, jobs, admin.generated ? admin.token : undefined);
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
    const parent = table.parentId ? this.catalog.findTableById(table.parentId) : undefined;
    requireScope(principal, action, { namespace: this.namespaceOf(table).name, table: table.name, ...(parent ? { parentTable: parent.name } : {}) });
  }

  /** Checks that the principal may make this kind of write to the table, and that the table takes writes. */
  authorizeWrite(principal: Principal, kind: WriteKind, table: Table): void {
    this.authorize(principal, WRITE_ACTIONS[kind], table);
    if (table.kind === 'view') throw new SluiceError('INVALID_ARGUMENT', `"${table.name}" is a view; views cannot be written to`);
  }

  async write(principal: Principal, request: WriteRequest): Promise<WriteResult> {
    this.authorizeWrite(principal, request.kind, request.table);
    return this.writer.write(request);
  }

  /** Stops taking writes, finishes the queued ones, checkpoints and closes the database. */
  async close(): Promise<void> {
    for (const job of this.jobs.list()) if (job.status === 'waiting' || job.status === 'working') await this.jobs.cancel(job.id).catch(() => undefined);
    await this.jobs.settle();
    await this.writer.drain();
    await this.storage.checkpoint();
    await this.storage.close();
  }
}
