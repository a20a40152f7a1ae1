import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { physicalName } from '../../../src/core/catalog/catalog.ts';
import { CATALOG_SCHEMA } from '../../../src/core/catalog/migrations.ts';
import { SluiceError } from '../../../src/core/errors.ts';
import type { Job, JobContext } from '../../../src/core/jobs/jobs.ts';
import { CoreFixture } from '../../helpers/core-fixture.ts';

/** Work that runs until it is cancelled. */
async function untilCancelled({ signal }: JobContext): Promise<never> {
  if (!signal.aborted) await once(signal, 'abort');
  throw new SluiceError('UNAVAILABLE', 'stopped');
}

describe('jobs', () => {
  let fixture: CoreFixture;
  before(async () => {
    fixture = await CoreFixture.open();
  });
  after(() => fixture.close());

  const jobs = () => fixture.core.jobs;
  const stored = async (id: string) => {
    const [row] = await fixture.core.storage.query(`SELECT status, error FROM ${CATALOG_SCHEMA}.jobs WHERE id = ?`, [id]);
    return row;
  };
  const finished = async (id: string): Promise<Job> => {
    await jobs().settle();
    return jobs().get(id);
  };

  test('a job that completes is done with its result, in memory and in the catalog', async () => {
    const job = await jobs().start({ kind: 'test' }, async () => ({ rows: 3 }));
    assert.equal(job.status, 'waiting');
    const done = await finished(job.id);
    assert.deepEqual([done.status, done.result], ['done', { rows: 3 }]);
    assert.ok(done.startedAt && done.finishedAt);
    assert.deepEqual(await stored(job.id), { status: 'done', error: null });
  });

  test('a job whose work fails is an error with the reason', async () => {
    const job = await jobs().start({ kind: 'test' }, async () => {
      throw new SluiceError('UNAVAILABLE', 'the source broke');
    });
    const failed = await finished(job.id);
    assert.deepEqual([failed.status, failed.error], ['error', 'the source broke']);
    assert.deepEqual(await stored(job.id), { status: 'error', error: 'the source broke' });
  });

  // Each moment a cancellation can arrive: before the job starts, while it is being marked working
  // (whose catalog update the cancellation's own must not collide with) and once it works.
  for (const [moment, wait] of [
    ['while it waits', async () => undefined],
    ['as it starts working', () => new Promise<void>((resolve) => setImmediate(resolve))],
    ['while it works', () => new Promise<void>((resolve) => setTimeout(resolve, 20))],
  ] as const) {
    test(`a job cancelled ${moment} ends cancelled, in memory and in the catalog`, async () => {
      const job = await jobs().start({ kind: 'test' }, untilCancelled);
      await wait();
      const cancelling = await jobs().cancel(job.id);
      assert.ok(['cancelling', 'cancelled'].includes(cancelling.status), cancelling.status);
      const cancelled = await finished(job.id);
      assert.equal(cancelled.status, 'cancelled');
      assert.deepEqual((await stored(job.id))?.['status'], 'cancelled');
    });
  }

  test('a finished job cannot be cancelled', async () => {
    const job = await jobs().start({ kind: 'test' }, async () => null);
    await finished(job.id);
    await assert.rejects(jobs().cancel(job.id), { code: 'INVALID_ARGUMENT' });
  });

  test('stopping the server cancels the jobs that work, and saves them cancelled', async () => {
    const job = await jobs().start({ kind: 'test' }, untilCancelled);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await fixture.reopen();
    assert.equal(jobs().get(job.id).status, 'cancelled');
  });

  test('a job a crashed server left working is an error after the restart', async () => {
    const job = await jobs().start({ kind: 'test' }, async () => null);
    await finished(job.id);
    // What a crash mid-job leaves in the catalog.
    await fixture.core.storage.transaction((tx) => tx.run(`UPDATE ${CATALOG_SCHEMA}.jobs SET status = 'working', finished_at = NULL WHERE id = ?`, [job.id]));
    await fixture.reopen();
    const interrupted = jobs().get(job.id);
    assert.deepEqual([interrupted.status, interrupted.error], ['error', 'interrupted by a server restart']);
  });

  test("a job a crashed server left working after its write committed (the write carries the job's key) is done after the restart, with that write's result", async () => {
    const table = await fixture.createTable([{ name: 'id', type: { kind: 'int', bits: 32, signed: true }, nullable: false }]);
    await fixture.core.storage.transaction((tx) => tx.run(`INSERT INTO ${physicalName(table)} VALUES (1), (2), (3)`));
    const job = await jobs().start({ kind: 'test' }, async ({ writeKey }) => {
      const result = await fixture.core.write(fixture.admin, {
        table: fixture.current(table), kind: 'delete_where', predicate: 'id >= 2', onInvalid: 'reject', idempotency: { key: writeKey, requestHash: writeKey },
      });
      return { deleted: result.rowsDeleted };
    });
    await finished(job.id);
    // What a crash between the write's commit and the job's final state leaves in the catalog.
    await fixture.core.storage.transaction((tx) => tx.run(`UPDATE ${CATALOG_SCHEMA}.jobs SET status = 'working', result = NULL, finished_at = NULL WHERE id = ?`, [job.id]));
    await fixture.reopen();
    const recovered = jobs().get(job.id);
    assert.deepEqual([recovered.status, recovered.error], ['done', null]);
    assert.equal((recovered.result as { write: { rowsDeleted: number } }).write.rowsDeleted, 2);
    assert.deepEqual(await fixture.rows(table), [{ id: 1 }]);
  });
});
