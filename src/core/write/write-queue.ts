import type { DuckDBStorage } from '../../storage/duckdb/duckdb-storage.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { newId } from '../ids.ts';
import { SluiceError, toSluiceError } from '../errors.ts';
import type { WriteLog } from './write-log.ts';
import { DirectWriteMissed, executeRun, type WriteEffect } from './write-executor.ts';
import type { WriteRequest, WriteResult } from './write-command.ts';
import { runStopping } from '../../storage/duckdb/query-lease.ts';

interface Pending {
  request: WriteRequest;
  startedAt: number;
  resolve: (result: WriteResult) => void;
  reject: (error: unknown) => void;
}

/** Work on the table that runs alone, between two commits (a change of its schema, say). */
interface Exclusive {
  run: () => Promise<void>;
}

/** Counters over every queue, for tests, benchmarks and monitoring. */
export interface WriteStats {
  commits: number;
  /** Appends and upserts written straight to their table (see `appendDirect`, `upsertDirect`). */
  directWrites: number;
  /** Groups run again through the stage because a direct write met an invalid row (or a repeated key). */
  directMisses: number;
}

/** Answers the requests of a committed group: resolves or rejects each with its outcome. */
type Answer = () => void;

/** The most requests one commit takes; more wait for the next commit. */
const MAX_GROUP = 1024;

/**
 * The write queue of one table. Writes to a table are applied one commit at a time; requests that
 * arrive while a commit is under way wait and are then committed together (group commit), each
 * answered when the commit that holds its rows is durable. Exclusive work takes its turn in the
 * same order, alone.
 */
export class WriteQueue {
  private pending: Array<Pending | Exclusive> = [];
  private draining: Promise<void> | null = null;
  /** Requests under way per idempotency key, so that a concurrent replay waits for the first. */
  private readonly inFlightKeys = new Map<string, Promise<unknown>>();

  constructor(
    private readonly tableId: string,
    private readonly storage: DuckDBStorage,
    private readonly catalog: Catalog,
    private readonly writeLog: WriteLog,
    private readonly stats: WriteStats,
    /** Writes that may wait for this table before more are refused (retryable) rather than held in memory. */
    private readonly maxPending: number,
  ) {}

  get idle(): boolean {
    return this.pending.length === 0 && this.draining === null;
  }

  async submit(request: WriteRequest): Promise<WriteResult> {
    const key = request.idempotency?.key;
    if (key === undefined) return this.enqueue(request);
    while (this.inFlightKeys.has(key)) await this.inFlightKeys.get(key)!.catch(() => undefined);
    const replay = this.replayOf(request);
    if (replay) return replay;
    const result = this.enqueue(request);
    this.inFlightKeys.set(key, result);
    try {
      return await result;
    } finally {
      this.inFlightKeys.delete(key);
    }
  }

  /** The stored answer for a repeated idempotency key; a conflict if the request differs. */
  private replayOf(request: WriteRequest): WriteResult | undefined {
    const idempotency = request.idempotency!;
    const record = this.writeLog.findIdempotent(this.tableId, idempotency.key);
    if (!record) return undefined;
    if (record.requestHash !== idempotency.requestHash) {
      throw new SluiceError('IDEMPOTENCY_CONFLICT', `Idempotency key "${idempotency.key}" was already used for a different request`, { idempotencyKey: idempotency.key });
    }
    return { ...record.result, replayed: true };
  }

  /**
   * Runs `work` alone on the table: once the writes queued before it have committed, and before
   * the writes queued after it start. Changes to the table's schema or catalog entry run so, as
   * they would otherwise conflict in DuckDB with a commit under way.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => this.push({ run: () => work().then(resolve, reject) }));
  }

  private enqueue(request: WriteRequest): Promise<WriteResult> {
    if (this.pending.length >= this.maxPending) {
      const table = this.catalog.findTableById(this.tableId)?.name ?? this.tableId;
      return Promise.reject(new SluiceError('TOO_MANY_REQUESTS', `Too many writes are waiting for table "${table}"; retry shortly`, { table, retryAfterSeconds: 1 }));
    }
    return new Promise((resolve, reject) => this.push({ request, startedAt: performance.now(), resolve, reject }));
  }

  private push(entry: Pending | Exclusive): void {
    this.pending.push(entry);
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
    });
  }

  /** The writes at the head of the queue, up to the first exclusive work, at most MAX_GROUP. */
  private takeGroup(): Pending[] {
    const end = this.pending.findIndex((entry, index) => index === MAX_GROUP || !('request' in entry));
    return this.pending.splice(0, end === -1 ? this.pending.length : end) as Pending[];
  }

  /**
   * Commits the waiting requests group after group. A group's requests are answered only once the
   * next group's commit has started: answering takes the event loop a while (each answer is sent
   * by its handler), and the next commit's first statement can run in DuckDB meanwhile.
   */
  private async drain(): Promise<void> {
    // Yield once so that requests arriving in the same tick join the first commit.
    await new Promise((resolve) => setImmediate(resolve));
    let answer: Answer | undefined;
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      if (!('request' in head)) {
        this.pending.shift();
        answer?.();
        answer = undefined;
        await head.run();
        continue;
      }
      const committing = this.commitGroup(this.takeGroup());
      answer?.();
      answer = await committing;
    }
    answer?.();
  }

  /** Commits a group; gives what answers its requests. One request's failure does not fail the others. */
  private async commitGroup(group: Pending[]): Promise<Answer> {
    try {
      return await this.commit(group);
    } catch (error) {
      if (group.length === 1) return () => group[0]!.reject(toSluiceError(error));
      // Commit them one by one, each answered as soon as its own commit is done.
      for (const pending of group) {
        await this.commit([pending]).then(
          (answer) => answer(),
          (failure: unknown) => pending.reject(toSluiceError(failure)),
        );
      }
      return () => undefined;
    }
  }

  /**
   * Commits a group in one transaction and gives what answers its requests (the caller calls it).
   * Appends and lone upserts are first tried straight into their table; when one meets an invalid
   * row (or an upsert a key given twice under 'reject'), the transaction is rolled back and the
   * group runs again with every input staged.
   */
  private async commit(group: Pending[], direct = true): Promise<Answer> {
    const sequences: number[] = [];
    const directIndexes = new Set<number>();
    // A write that commits alone may be stopped while it runs (see WriteRequest.signal).
    const stops = group.length === 1 ? { cancel: group[0]!.request.signal } : {};
    try {
      const outcomes = await this.storage.transaction((tx) => runStopping(tx.connection, stops, async () => {
        const effects: WriteEffect[] = [];
        for (const run of runsOf(group.map((pending) => pending.request))) effects.push(...(await executeRun(tx, this.catalog, run, { direct })));
        effects.forEach((effect, index) => effect.direct && directIndexes.add(index));
        const table = this.catalog.getTableById(this.tableId);
        let version = table.version;
        const outcomes: Array<WriteResult | SluiceError> = [];
        const logged: Parameters<WriteLog['record']>[1] = [];
        for (const [index, effect] of effects.entries()) {
          if (effect.failure) {
            outcomes.push(effect.failure);
            continue;
          }
          const { request, startedAt } = group[index]!;
          version += 1;
          const sequence = this.writeLog.allocateSequence();
          sequences.push(sequence);
          const result: WriteResult = {
            writeId: newId(), kind: request.kind, tableId: this.tableId,
            rowsInserted: effect.rowsInserted, rowsUpdated: effect.rowsUpdated, rowsDeleted: effect.rowsDeleted,
            ...(effect.rowsSuperseded && { rowsSuperseded: effect.rowsSuperseded }),
            rowsAccepted: effect.rowsAccepted, rowsQuarantined: effect.rowsQuarantined, rowsInvalid: effect.rowsInvalid, linesInvalid: effect.linesInvalid, errors: effect.errors,
            version, sequence, importId: request.importId ?? null,
            durationMs: Math.round(performance.now() - startedAt), replayed: false,
            ...(request.input?.ignoredFields?.length && { ignoredFields: request.input.ignoredFields }),
            ...(request.input?.moreIgnoredFields && { moreIgnoredFields: true }),
          };
          logged.push({ result, idempotency: request.idempotency });
          outcomes.push(result);
        }
        const applied = effects.filter((effect) => !effect.failure);
        if (applied.length > 0) {
          const replaced = [...applied].reverse().find((effect) => effect.replacedRowCount !== undefined);
          this.catalog.recordWrite(tx, table, {
            versions: applied.length,
            rowDelta: applied.reduce((sum, effect) => sum + effect.rowsInserted - effect.rowsDeleted, 0),
            ...(replaced && applied.indexOf(replaced) === applied.length - 1 ? { replaceRowCount: replaced.replacedRowCount! } : {}),
            lastSequence: sequences.at(-1)!,
          });
        }
        await this.writeLog.record(tx, logged);
        return outcomes;
      }));
      this.stats.commits += 1;
      if (direct) this.stats.directWrites += outcomes.filter((outcome, index) => !(outcome instanceof SluiceError) && directIndexes.has(index)).length;
      return () => {
        for (const [index, outcome] of outcomes.entries()) {
          if (outcome instanceof SluiceError) group[index]!.reject(outcome);
          else group[index]!.resolve(outcome);
        }
      };
    } catch (error) {
      if (!(error instanceof DirectWriteMissed) || !direct) throw error;
      this.stats.directMisses += 1;
      this.writeLog.settle(sequences.splice(0));
      return await this.commit(group, false);
    } finally {
      this.writeLog.settle(sequences);
    }
  }
}

/** Consecutive appends with the same columns and policy share one run; every other write runs alone. */
function runsOf(requests: WriteRequest[]): WriteRequest[][] {
  const runs: WriteRequest[][] = [];
  for (const request of requests) {
    const last = runs.at(-1);
    const previous = last?.[0];
    if (last && previous && request.kind === 'append' && previous.kind === 'append' && sameShape(previous, request)) last.push(request);
    else runs.push([request]);
  }
  return runs;
}

function sameShape(a: WriteRequest, b: WriteRequest): boolean {
  return (
    a.onInvalid === b.onInvalid &&
    a.describeType === b.describeType &&
    a.coercion === b.coercion &&
    (a.input?.controls ?? false) === (b.input?.controls ?? false) &&
    (a.input?.columns ?? []).join('\u0000') === (b.input?.columns ?? []).join('\u0000')
  );
}
