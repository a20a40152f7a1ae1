import type { DuckDBStorage, Row } from '../../storage/duckdb/duckdb-storage.ts';
import { CATALOG_SCHEMA } from '../catalog/migrations.ts';
import { SluiceError, toSluiceError } from '../errors.ts';
import { newId } from '../ids.ts';
import { quoteLiteral } from '../../storage/duckdb/sql.ts';

export type JobStatus = 'waiting' | 'working' | 'cancelling' | 'done' | 'error' | 'cancelled';

export interface Job {
  id: string;
  kind: string;
  status: JobStatus;
  namespaceId: string | null;
  tableId: string | null;
  progress: Record<string, number>;
  result: unknown;
  error: string | null;
  /** What the caller wants to show about the job (its URL, mode …); opaque to the core. */
  properties: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface JobContext {
  signal: AbortSignal;
  reportProgress(progress: Record<string, number>): void;
  /**
   * The idempotency key the job's write is to carry (one write per job): the write log then holds
   * it in the write's own transaction, and a job cut off by a crash after its write committed is
   * found done at the next start (see `Jobs.open`), not failed, so that nobody repeats its write.
   */
  writeKey: string;
}

/** The idempotency key of a job's write (see `JobContext.writeKey`). */
function jobWriteKey(id: string): string {
  return `job:${id}`;
}

const FINISHED: ReadonlySet<JobStatus> = new Set(['done', 'error', 'cancelled']);

/**
 * Background tasks (URL imports, deletes by condition …): persisted with their status, progress
 * and result, run one after another in arrival order per table, cancellable while they wait or work.
 */
export class Jobs {
  private readonly jobs = new Map<string, Job>();
  private readonly controllers = new Map<string, AbortController>();
  private readonly running = new Set<Promise<void>>();
  /**
   * Writes of jobs' states to the catalog, one after another: two transactions updating one job's
   * row at once would conflict. The map above is updated first, so it always holds the latest state,
   * except for a final state, shown once saved (see `finish`).
   */
  private persisting: Promise<void> = Promise.resolve();
  /**
   * Jobs whose final state is being saved, until it is: that state is shown (and the job reads as
   * finished) only once saved, so that a job answered done is still done after a crash.
   */
  private readonly finishing = new Map<string, Promise<void>>();

  private constructor(private readonly storage: DuckDBStorage) {}

  static async open(storage: DuckDBStorage): Promise<Jobs> {
    const jobs = new Jobs(storage);
    // A job that was waiting or working when the server stopped will not resume. One whose write
    // committed is done (its result is that write's, as logged); any other failed: say so.
    await storage.transaction(async (tx) => {
      await tx.run(`UPDATE ${CATALOG_SCHEMA}.jobs SET status = 'done', result = '{"write": ' || w.response || '}', finished_at = now(), updated_at = now()
              FROM ${CATALOG_SCHEMA}.write_log w WHERE w.idempotency_key = ${quoteLiteral(jobWriteKey(''))} || jobs.id AND jobs.status IN ('waiting', 'working', 'cancelling')`);
      await tx.run(`UPDATE ${CATALOG_SCHEMA}.jobs SET status = 'error', error = 'interrupted by a server restart', finished_at = now(), updated_at = now()
              WHERE status IN ('waiting', 'working', 'cancelling')`);
    });
    const since = new Date(Date.now() - 7 * 24 * 3_600_000).toISOString();
    for (const row of await storage.query(`SELECT * FROM ${CATALOG_SCHEMA}.jobs WHERE created_at >= ? ORDER BY created_at`, [since])) {
      const job = jobFromRow(row);
      jobs.jobs.set(job.id, job);
    }
    return jobs;
  }

  list(): Job[] {
    return [...this.jobs.values()].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  }

  get(id: string): Job {
    const job = this.jobs.get(id);
    if (!job) throw new SluiceError('JOB_NOT_FOUND', `Job "${id}" does not exist`, { job: id });
    return job;
  }

  /** Records a job as waiting and starts it; the returned job is its state at creation. */
  async start(
    spec: { kind: string; namespaceId?: string; tableId?: string; properties?: Record<string, unknown> },
    work: (context: JobContext) => Promise<unknown>,
  ): Promise<Job> {
    const now = new Date();
    const job: Job = {
      id: newId(), kind: spec.kind, status: 'waiting', namespaceId: spec.namespaceId ?? null, tableId: spec.tableId ?? null,
      progress: {}, result: null, error: null, properties: spec.properties ?? {}, createdAt: now, updatedAt: now, startedAt: null, finishedAt: null,
    };
    await this.storage.transaction(async (tx) => {
      await tx.run(`INSERT INTO ${CATALOG_SCHEMA}.jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
        job.id, job.kind, job.status, job.namespaceId, job.tableId, '{}', null, null, JSON.stringify(job.properties),
        now.toISOString(), now.toISOString(), null, null,
      ]);
    });
    this.jobs.set(job.id, job);
    const controller = new AbortController();
    this.controllers.set(job.id, controller);
    const snapshot = { ...job };
    // A failure to save the final state leaves it in memory, which is what the Jobs API answers from.
    const run = this.run(job.id, controller, work).catch(() => undefined).finally(() => {
      this.running.delete(run);
      this.controllers.delete(job.id);
    });
    this.running.add(run);
    return snapshot;
  }

  async cancel(id: string): Promise<Job> {
    const finishing = this.finishing.get(id);
    if (finishing) {
      // Its work is over (and what it committed stays committed): the job ends as it finished.
      await finishing;
      return this.get(id);
    }
    const job = this.get(id);
    if (FINISHED.has(job.status)) {
      throw new SluiceError('INVALID_ARGUMENT', `Job "${id}" has already finished (${job.status}) and cannot be cancelled`, { job: id, status: job.status });
    }
    // In the same turn as the status change, so that the job cannot start working in between.
    const persisted = this.update(id, { status: 'cancelling' });
    this.controllers.get(id)?.abort(new SluiceError('UNAVAILABLE', 'The job was cancelled: what it had not committed was undone'));
    await persisted;
    return this.get(id);
  }

  /** Waits for every started job to finish (for shutdown and tests). */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async run(id: string, controller: AbortController, work: (context: JobContext) => Promise<unknown>): Promise<void> {
    // Let the caller answer with the waiting job before it starts working.
    await new Promise((resolve) => setImmediate(resolve));
    if (controller.signal.aborted) {
      await this.finish(id, { status: 'cancelled', finishedAt: new Date() });
      return;
    }
    let outcome: Partial<Job>;
    try {
      await this.update(id, { status: 'working', startedAt: new Date() });
      const result = await work({
        signal: controller.signal,
        writeKey: jobWriteKey(id),
        reportProgress: (progress) => {
          const job = this.jobs.get(id);
          if (job) this.jobs.set(id, { ...job, progress: { ...job.progress, ...progress }, updatedAt: new Date() });
        },
      });
      // Work that completed has committed; a cancellation that came too late does not undo it.
      outcome = { status: 'done', result: result ?? null };
    } catch (error) {
      const status = controller.signal.aborted ? 'cancelled' : 'error';
      outcome = { status, error: toSluiceError(error).message, result: (error as { result?: unknown }).result ?? null };
    }
    await this.finish(id, { ...outcome, finishedAt: new Date() });
  }

  /**
   * Saves a job's final state, and only then shows it: a state shown first and saved after could be
   * answered (a URL import done) and then lost to a crash, the job reading as interrupted after the
   * restart. A failure to save still shows it, as the state held in memory is what is answered.
   */
  private async finish(id: string, change: Partial<Job>): Promise<void> {
    const updated: Job = { ...this.get(id), ...change, updatedAt: new Date() };
    const persisted = this.persisting.then(() => this.persist(updated));
    this.persisting = persisted.catch(() => undefined);
    const finished = persisted.catch(() => undefined).then(() => {
      this.jobs.set(id, updated);
      this.finishing.delete(id);
    });
    this.finishing.set(id, finished);
    await persisted.finally(() => finished);
  }

  /** Changes a job's state at once, and resolves once the change is persisted. */
  private update(id: string, change: Partial<Job>): Promise<void> {
    const updated: Job = { ...this.get(id), ...change, updatedAt: new Date() };
    this.jobs.set(id, updated);
    const persisted = this.persisting.then(() => this.persist(updated));
    this.persisting = persisted.catch(() => undefined);
    return persisted;
  }

  private async persist(updated: Job): Promise<void> {
    await this.storage.transaction((tx) =>
      tx.run(
        `UPDATE ${CATALOG_SCHEMA}.jobs SET status = ?, progress = ?, result = ?, error = ?, updated_at = ?, started_at = ?, finished_at = ? WHERE id = ?`,
        [
          updated.status, JSON.stringify(updated.progress), updated.result === null ? null : JSON.stringify(updated.result), updated.error,
          updated.updatedAt.toISOString(), updated.startedAt?.toISOString() ?? null, updated.finishedAt?.toISOString() ?? null, updated.id,
        ],
      ),
    );
  }
}

function jobFromRow(row: Row): Job {
  const parse = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value ?? null);
  return {
    id: String(row['id']), kind: String(row['kind']), status: row['status'] as JobStatus,
    namespaceId: (row['namespace_id'] as string | null) ?? null, tableId: (row['table_id'] as string | null) ?? null,
    progress: parse(row['progress']) ?? {}, result: parse(row['result']), error: (row['error'] as string | null) ?? null,
    properties: parse(row['properties']) ?? {}, createdAt: row['created_at'] as Date, updatedAt: row['updated_at'] as Date,
    startedAt: (row['started_at'] as Date | null) ?? null, finishedAt: (row['finished_at'] as Date | null) ?? null,
  };
}
