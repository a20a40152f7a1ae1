// Concurrency promises of the write path, over real HTTP (docs/architecture.md, "The write path"):
// writes to one table are serialized and each commits whole (rows, quarantine rows, view changes,
// version bump) or not at all; readers see some serial order of the committed writes; writes to
// different tables all land; schema changes run between two commits; idempotent retries write once;
// the queue limit refuses cleanly. Every assertion is an invariant of every interleaving: nothing
// here depends on timing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CatalyzedClient } from '../helpers/catalyzed-client.ts';
import { seededRandom } from '../helpers/seeded-random.ts';
import { TestServer } from '../helpers/test-server.ts';
import { TinybirdClient } from '../helpers/tinybird-client.ts';
import { FelderaClient } from '../dialects/feldera/feldera-fixture.ts';

type Model = Map<number, string>;

/** A write whose effect on a keyed `(id, tag)` table the test can replay. */
interface Op {
  label: string;
  apply: (rows: Model) => void;
}

/** Logical clock of the test process: orders request starts, answers and reads as JavaScript saw them. */
let clock = 0;
const tick = () => (clock += 1);

interface Issued {
  op: Op;
  started: number;
  answered?: number;
  /** The table version the write produced, once known (from its answer, or inferred). */
  version?: number;
  ok?: boolean;
}

interface Read {
  started: number;
  ended: number;
  snapshot: string;
}

const fingerprint = (rows: Model) => [...rows.entries()].sort(([a], [b]) => a - b).map(([id, tag]) => `${id}:${tag}`).join(',');

/** The state after each version from `base` on, replaying the committed writes in version order. */
function statesByVersion(base: number, committed: Issued[]): { fingerprints: string[]; counts: number[] } {
  const ordered = [...committed].sort((a, b) => a.version! - b.version!);
  ordered.forEach((write, index) => assert.equal(write.version, base + index + 1, `versions are ${base + 1}…${base + ordered.length}, each once: ${ordered.map((w) => w.version).join(' ')}`));
  const rows: Model = new Map();
  const fingerprints = [fingerprint(rows)];
  const counts = [0];
  for (const write of ordered) {
    write.op.apply(rows);
    fingerprints.push(fingerprint(rows));
    counts.push(rows.size);
  }
  return { fingerprints, counts };
}

/**
 * Checks a reader's snapshots: each must be the state after some version v, with v at least that of
 * every write answered before the read began, at most the number of writes sent before it ended,
 * and not below what the same reader saw before (a reader never goes back in time).
 */
function checkReads(reader: string, reads: Read[], base: number, issued: Issued[], fingerprints: string[]): void {
  let floor = base;
  for (const read of reads) {
    const low = Math.max(floor, ...issued.filter((write) => write.ok && write.answered! < read.started).map((write) => write.version!));
    const high = base + issued.filter((write) => write.started < read.ended).length;
    let match = -1;
    for (let version = low; version <= Math.min(high, base + fingerprints.length - 1); version += 1) {
      if (fingerprints[version - base] === read.snapshot) {
        match = version;
        break;
      }
    }
    if (match < 0) {
      // Say how the read differs from the closest state, to tell a torn write from rows never written.
      const seen = new Set(read.snapshot.split(','));
      const nearest = fingerprints.slice(low - base, high - base + 1).map((state, index) => {
        const rows = new Set(state.split(','));
        return { version: low + index, extra: [...seen].filter((row) => !rows.has(row)), missing: [...rows].filter((row) => !seen.has(row)) };
      }).sort((a, b) => a.extra.length + a.missing.length - b.extra.length - b.missing.length)[0];
      assert.fail(`${reader} saw a state no serial order of the committed writes gives between versions ${low} and ${high}; closest is version ${nearest?.version}, with rows extra ${JSON.stringify(nearest?.extra.slice(0, 20))} and missing ${JSON.stringify(nearest?.missing.slice(0, 20))}`);
    }
    floor = match;
  }
}

const json = (rows: unknown) => JSON.stringify(rows);

/**
 * Runs writers and readers together: the readers loop until the writers are done (or one of them
 * fails); every one of them is settled before the test goes on, and the first failure is thrown.
 */
async function together(writers: Array<Promise<unknown>>, readers: (running: () => boolean) => Array<Promise<unknown>>): Promise<void> {
  let writing = true;
  const stop = () => {
    writing = false;
  };
  const readerRuns = readers(() => writing).map((run) => run.catch((error: unknown) => {
    stop();
    throw error;
  }));
  const results = await Promise.allSettled([Promise.all(writers).finally(stop), ...readerRuns]);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}

describe('concurrent writes over HTTP', () => {
  let server: TestServer;
  let cz: CatalyzedClient;
  let tb: TinybirdClient;
  let datasetId: string;
  const tableIdOf = (namespace: string, name: string) => server.core.catalog.findTable(server.core.catalog.getNamespace(namespace).id, name)!.id;

  before(async () => {
    server = await TestServer.start();
    cz = new CatalyzedClient(server);
    tb = new TinybirdClient(server);
    datasetId = await cz.createDataset('racing');
  });
  after(() => server.stop());

  /**
   * Catalyzed writers (their answers carry the version they produced) and one Tinybird writer (one
   * write after another, so its writes take the versions left, in order) race on one table; then
   * the committed writes are replayed in version order, and every read made meanwhile must be one
   * of the states that replay passes through.
   */
  async function mixedWrites(name: string, keyed: boolean): Promise<void> {
    const engine = keyed ? '&engine=ReplacingMergeTree&engine_sorting_key=id' : '';
    const created = await tb.form(`/v0/datasources?name=${name}${engine}`, { schema: 'id Int64 `json:$.id`, tag String `json:$.tag`', format: 'ndjson' });
    assert.equal(created.status, 200, await created.clone().text());
    const tableId = tableIdOf('default', name);
    const base = (await cz.call('GET', `/dataset-tables/${tableId}`)).body.version as number;
    let nextId = 10_000;
    const fresh = (count: number) => Array.from({ length: count }, () => (nextId += 1));
    const issued: Issued[] = [];
    const run = async (op: Op, send: () => Promise<number | undefined | false>) => {
      const write: Issued = { op, started: tick() };
      issued.push(write);
      const version = await send();
      write.answered = tick();
      assert.notEqual(version, false, `${op.label} failed`);
      write.ok = true;
      if (typeof version === 'number') write.version = version;
    };

    // Catalyzed writers: their answers carry the version they produced.
    const catalyzedWriter = async (writer: number) => {
      const random = seededRandom(1000 + writer);
      for (let seq = 0; seq < 14; seq += 1) {
        const tag = `c${writer}-${seq}`;
        const kind = (keyed ? ['append', 'append', 'upsert', 'upsert', 'delete', 'overwrite'] : ['append', 'append', 'append', 'overwrite'])[random(keyed ? 6 : 4)]!;
        let op: Op;
        let body: string;
        if (kind === 'append') {
          const ids = fresh(1 + random(20));
          op = { label: `${tag} append`, apply: (rows) => ids.forEach((id) => rows.set(id, tag)) };
          body = json(ids.map((id) => ({ id, tag })));
        } else if (kind === 'upsert') {
          const ids = [...new Set(Array.from({ length: 1 + random(15) }, () => random(300)))];
          op = { label: `${tag} upsert`, apply: (rows) => ids.forEach((id) => rows.set(id, tag)) };
          body = json(ids.map((id) => ({ id, tag })));
        } else if (kind === 'delete') {
          const ids = Array.from({ length: 1 + random(30) }, () => random(300));
          op = { label: `${tag} delete`, apply: (rows) => ids.forEach((id) => rows.delete(id)) };
          body = json(ids);
        } else {
          const ids = fresh(5 + random(60));
          op = { label: `${tag} overwrite`, apply: (rows) => { rows.clear(); ids.forEach((id) => rows.set(id, tag)); } };
          body = json(ids.map((id) => ({ id, tag })));
        }
        await run(op, async () => {
          const response = await cz.write(tableId, `mode=${kind}`, body, 'application/json');
          assert.equal(response.status, 200, `${op.label}: ${JSON.stringify(response.body)}`);
          return response.body.dataset_version as number;
        });
      }
    };

    // One Tinybird writer, one write after another: its versions are the ones the Catalyzed writes left, in order.
    const tinybirdWriter = async () => {
      const random = seededRandom(7);
      for (let seq = 0; seq < 8; seq += 1) {
        const tag = `t${seq}`;
        const kind = ['replace', 'delete', 'replace', 'truncate', 'replace', 'delete', 'replace', 'delete'][seq]!;
        if (kind === 'replace') {
          const modulus = 3;
          const remainder = random(modulus);
          const ids = [...fresh(10), ...Array.from({ length: 10 }, () => random(300))];
          const holds = (id: number) => id % modulus === remainder;
          const op: Op = {
            label: `${tag} replace where id % ${modulus} = ${remainder}`,
            apply: (rows) => {
              for (const id of [...rows.keys()]) if (holds(id)) rows.delete(id);
              ids.filter(holds).forEach((id) => rows.set(id, tag));
            },
          };
          await run(op, async () => {
            const ndjson = [...new Set(ids)].map((id) => json({ id, tag })).join('\n') + '\n';
            const response = await tb.upload(`mode=replace&name=${name}&format=ndjson&replace_condition=${encodeURIComponent(`id % ${modulus} = ${remainder}`)}`, 'ndjson', 'r.ndjson', ndjson);
            assert.equal(response.status, 200, `${op.label}: ${await response.text()}`);
            await response.arrayBuffer().catch(() => undefined);
            return undefined;
          });
        } else if (kind === 'delete') {
          const remainder = random(4);
          const op: Op = { label: `${tag} delete where id % 4 = ${remainder}`, apply: (rows) => [...rows.keys()].filter((id) => id % 4 === remainder).forEach((id) => rows.delete(id)) };
          await run(op, async () => {
            const response = await tb.form(`/v0/datasources/${name}/delete`, { delete_condition: `id % 4 = ${remainder}` });
            const job = await response.json();
            assert.equal(response.status, 201, JSON.stringify(job));
            const done = await tb.waitForJob(job.id);
            assert.equal(done['status'], 'done', JSON.stringify(done));
            return undefined;
          });
        } else {
          const op: Op = { label: `${tag} truncate`, apply: (rows) => rows.clear() };
          await run(op, async () => {
            const response = await server.fetch(`/v0/datasources/${name}/truncate`, { method: 'POST' });
            assert.equal(response.status, 205, await response.text());
            return undefined;
          });
        }
      }
    };

    let writing = () => true;
    const reads: Read[][] = [[], [], []];
    const reader = async (index: number) => {
      while (writing()) {
        const started = tick();
        const { status, body } = await cz.query('SELECT id, tag FROM t ORDER BY id', { t: tableId }, { maxRows: 10_000 });
        const ended = tick();
        assert.equal(status, 200, JSON.stringify(body));
        const rows: Model = new Map((body.rows as Array<{ id: number | string; tag: string }>).map(({ id, tag }) => [Number(id), tag]));
        assert.equal(rows.size, body.rows.length, 'no key appears twice');
        reads[index]!.push({ started, ended, snapshot: fingerprint(rows) });
      }
    };
    const polls: Array<{ started: number; ended: number; version: number; rowCount: number }> = [];
    const poller = async () => {
      while (writing()) {
        const started = tick();
        const { status, body } = await cz.call('GET', `/dataset-tables/${tableId}`);
        const ended = tick();
        assert.equal(status, 200, JSON.stringify(body));
        polls.push({ started, ended, version: body.version, rowCount: body.rowCount });
      }
    };
    await together([...Array.from({ length: 4 }, (_, writer) => catalyzedWriter(writer)), tinybirdWriter()], (running) => {
      writing = running;
      return [...reads.map((_, index) => reader(index)), poller()];
    });

    // The Tinybird writes took the versions the Catalyzed ones did not, in the order they were sent.
    const final = (await cz.call('GET', `/dataset-tables/${tableId}`)).body;
    assert.equal(final.version, base + issued.length, 'one version per committed write');
    const taken = new Set(issued.flatMap((write) => (write.version === undefined ? [] : [write.version])));
    const left = Array.from({ length: issued.length }, (_, index) => base + index + 1).filter((version) => !taken.has(version));
    const tinybird = issued.filter((write) => write.version === undefined);
    assert.equal(left.length, tinybird.length);
    tinybird.forEach((write, index) => (write.version = left[index]));

    const { fingerprints, counts } = statesByVersion(base, issued);
    assert.equal(fingerprint(new Map((await cz.rows(tableId)).map((row) => [Number(row['id']), String(row['tag'])]))), fingerprints.at(-1), 'the table ends as the serial order leaves it');
    assert.equal(final.rowCount, counts.at(-1));
    assert.ok(reads.every((list) => list.length > 0));
    reads.forEach((list, index) => checkReads(`reader ${index}`, list, base, issued, fingerprints));

    // The table's version and rowCount are always those of one committed state, and never go back.
    let floor = base;
    for (const poll of polls) {
      const low = Math.max(...issued.filter((write) => write.answered! < poll.started).map((write) => write.version!), base);
      const high = base + issued.filter((write) => write.started < poll.ended).length;
      assert.ok(poll.version >= Math.max(low, floor) && poll.version <= high, `version ${poll.version} outside ${Math.max(low, floor)}…${high}`);
      assert.equal(poll.rowCount, counts[poll.version - base], `rowCount at version ${poll.version}`);
      floor = poll.version;
    }
    assert.ok(polls.length > 0);
  }

  test('appends, overwrites, replaces where, deletes where and truncates racing on one table: one version per committed write, the row count of each version, every read made meanwhile one of the states of their replay in version order, which the table ends as', async () => {
    await mixedWrites('mixed', false);
  });

  test('upserts, deletes by key, appends, overwrites, replaces where, deletes where and truncates racing on one keyed table: one version per committed write, the row count of each version, every read made meanwhile one of the states of their replay in version order, which the table ends as', async () => {
    await mixedWrites('mixed_keyed', true);
  });

  test('concurrent writes to different tables of two dialects all land, each table numbering its own versions 1…N', async () => {
    const tables = await Promise.all(Array.from({ length: 5 }, (_, index) => cz.createTable(datasetId, `spread${index}`, [{ name: 'id', arrowType: 'int64' }, { name: 'w', arrowType: 'int32' }], ['id'])));
    for (let index = 0; index < 3; index += 1) {
      const created = await tb.form(`/v0/datasources?name=spread_events${index}`, { schema: 'w Int32 `json:$.w`, n Int32 `json:$.n`', format: 'ndjson' });
      assert.equal(created.status, 200);
    }
    const versions = new Map<string, number[]>(tables.map((id) => [id, []]));
    const catalyzed = tables.flatMap((tableId, table) => Array.from({ length: 8 }, async (_, writer) => {
      for (let seq = 0; seq < 3; seq += 1) {
        const rows = Array.from({ length: 5 }, (_, k) => ({ id: ((table * 100 + writer) * 10 + seq) * 10 + k, w: writer }));
        const response = await cz.write(tableId, 'mode=append', json(rows), 'application/json');
        assert.equal(response.status, 200, JSON.stringify(response.body));
        versions.get(tableId)!.push(response.body.dataset_version);
      }
    }));
    const events = Array.from({ length: 3 }, (_, table) => Array.from({ length: 8 }, async (_, writer) => {
      for (let seq = 0; seq < 3; seq += 1) {
        const body = Array.from({ length: 4 }, (_, n) => json({ w: writer, n: seq * 10 + n })).join('\n');
        const response = await server.fetch(`/v0/events?name=spread_events${table}&wait=true`, { method: 'POST', body });
        assert.deepEqual([response.status, await response.json()], [200, { successful_rows: 4, quarantined_rows: 0 }]);
      }
    })).flat();
    await Promise.all([...catalyzed, ...events]);
    for (const tableId of tables) {
      assert.deepEqual(versions.get(tableId)!.sort((a, b) => a - b), Array.from({ length: 24 }, (_, index) => index + 1));
      const state = (await cz.call('GET', `/dataset-tables/${tableId}`)).body;
      assert.deepEqual([state.version, state.rowCount, (await cz.rows(tableId)).length], [24, 120, 120]);
    }
    for (let table = 0; table < 3; table += 1) {
      assert.deepEqual(await tb.sql(`SELECT count() AS n, uniqExact(w, n) AS distinct_rows FROM spread_events${table}`), [{ n: 96, distinct_rows: 96 }]);
    }
  });

  test('adding a field and renaming a table while writes stream in: each write lands whole, before the change (its new field ignored) or after it (kept), never half', async () => {
    const tableId = await cz.createTable(datasetId, 'growing', [{ name: 'id', arrowType: 'int64' }, { name: 'w', arrowType: 'int32' }], ['id']);
    const fields = [{ name: 'id', arrowType: 'int64', nullable: false }, { name: 'w', arrowType: 'int32' }];
    const answers: Array<{ ids: number[]; version: number; ignored: boolean }> = [];
    let writing = true;
    const writer = async (w: number) => {
      for (let seq = 0; writing || seq < 4; seq += 1) {
        const ids = Array.from({ length: 20 }, (_, k) => (w * 1000 + seq) * 100 + k);
        const response = await cz.write(tableId, 'mode=append', json(ids.map((id) => ({ id, w, extra: `e${id}` }))), 'application/json');
        assert.equal(response.status, 200, JSON.stringify(response.body));
        const warnings = response.body.warnings as string[];
        answers.push({ ids, version: response.body.dataset_version, ignored: warnings.some((warning) => warning.includes('"extra"')) });
      }
    };
    const writers = Array.from({ length: 6 }, (_, w) => writer(w));
    // Let some writes commit before the change, without waiting on time: until a few have been answered.
    while (answers.length < 6) await new Promise((resolve) => setImmediate(resolve));
    const renamed = await cz.call('PUT', `/dataset-tables/${tableId}`, { tableName: 'grown' });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    const added = await cz.call('PUT', `/dataset-tables/${tableId}`, { fields: [...fields, { name: 'extra', arrowType: 'utf8' }] });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const renamedBack = await cz.call('PUT', `/dataset-tables/${tableId}`, { tableName: 'growing' });
    assert.equal(renamedBack.status, 200, JSON.stringify(renamedBack.body));
    const answeredByChange = answers.length;
    while (answers.length < answeredByChange + 6) await new Promise((resolve) => setImmediate(resolve));
    writing = false;
    await Promise.all(writers);

    const rows = await cz.rows(tableId);
    const byId = new Map(rows.map((row) => [Number(row['id']), row['extra']]));
    assert.equal(rows.length, answers.length * 20, 'every acknowledged row, nothing else');
    for (const answer of answers) {
      const kept = answer.ids.map((id) => byId.get(id));
      assert.ok(kept.every((value) => value !== undefined), `write at version ${answer.version} is whole`);
      const expected = answer.ids.map((id) => (answer.ignored ? null : `e${id}`));
      assert.deepEqual(kept, expected, `write at version ${answer.version} (${answer.ignored ? 'field ignored' : 'field kept'}) has all or none of its new field's values`);
    }
    const ignored = answers.filter((answer) => answer.ignored).map((answer) => answer.version);
    const kept = answers.filter((answer) => !answer.ignored).map((answer) => answer.version);
    assert.ok(ignored.length > 0 && kept.length > 0, `writes on both sides of the change (${ignored.length} before, ${kept.length} after)`);
    assert.ok(Math.max(...ignored) < Math.min(...kept), `the writes that ignored the field all committed before those that kept it: ${Math.max(...ignored)} < ${Math.min(...kept)}`);
    assert.deepEqual([...ignored, ...kept].sort((a, b) => a - b), answers.map((_, index) => index + 1));
  });

  test('concurrent retries of idempotent writes in every mode write once each; a different request with a key in use is a conflict, and the table is the replay of the winners', async () => {
    const tableId = await cz.createTable(datasetId, 'retried', [{ name: 'id', arrowType: 'int64' }, { name: 'tag', arrowType: 'utf8' }], ['id']);
    const seeded = await cz.write(tableId, 'mode=append', json(Array.from({ length: 40 }, (_, id) => ({ id, tag: 'seed' }))), 'application/json');
    assert.equal(seeded.status, 200);
    const keyed = [
      { key: 'k-append', mode: 'append', a: Array.from({ length: 10 }, (_, k) => ({ id: 100 + k, tag: 'A1' })), b: [{ id: 150, tag: 'B1' }] },
      { key: 'k-upsert', mode: 'upsert', a: Array.from({ length: 10 }, (_, k) => ({ id: k * 3, tag: 'A2' })), b: [{ id: 1, tag: 'B2' }] },
      { key: 'k-delete', mode: 'delete', a: [1, 2, 4, 5, 7], b: [8] },
      { key: 'k-overwrite', mode: 'overwrite', a: Array.from({ length: 30 }, (_, k) => ({ id: k * 2, tag: 'A4' })), b: [{ id: 999, tag: 'B4' }] },
      { key: 'k-upsert-2', mode: 'upsert', a: [{ id: 3, tag: 'A5' }, { id: 500, tag: 'A5' }], b: [{ id: 3, tag: 'B5' }] },
    ];
    const sends = keyed.flatMap((entry) => Array.from({ length: 6 }, (_, attempt) => ({ entry, body: attempt === 3 ? entry.b : entry.a, variant: attempt === 3 ? 'b' : 'a' })));
    // Interleave them, as retries from several clients would arrive.
    const random = seededRandom(42);
    for (let index = sends.length - 1; index > 0; index -= 1) {
      const other = random(index + 1);
      [sends[index], sends[other]] = [sends[other]!, sends[index]!];
    }
    const responses = await Promise.all(sends.map(async (send) => ({ ...send, response: await cz.write(tableId, `mode=${send.entry.mode}&idempotency_key=${send.entry.key}`, json(send.body), 'application/json') })));
    const winners: Array<{ entry: (typeof keyed)[number]; body: unknown; version: number }> = [];
    for (const entry of keyed) {
      const mine = responses.filter((response) => response.entry === entry);
      const ok = mine.filter(({ response }) => response.status === 200);
      const conflicts = mine.filter(({ response }) => response.status === 409);
      assert.equal(ok.length + conflicts.length, mine.length, JSON.stringify(mine.map(({ response }) => [response.status, response.body])));
      assert.equal(new Set(ok.map(({ variant }) => variant)).size, 1, `${entry.key}: the 200s all answer one request`);
      assert.ok(conflicts.every(({ variant }) => variant !== ok[0]!.variant), `${entry.key}: only the other request conflicts`);
      for (const { response } of ok) assert.deepEqual(response.body, ok[0]!.response.body, `${entry.key}: every 200 answers the first response`);
      assert.equal(ok.filter(({ response }) => response.headers.get('x-idempotent-replay') !== 'true').length, 1, `${entry.key}: written once`);
      winners.push({ entry, body: ok[0]!.variant === 'a' ? entry.a : entry.b, version: ok[0]!.response.body.dataset_version });
    }
    assert.deepEqual(winners.map((winner) => winner.version).sort((a, b) => a - b), [2, 3, 4, 5, 6]);
    const rows: Model = new Map(Array.from({ length: 40 }, (_, id) => [id, 'seed']));
    for (const { entry, body } of winners.sort((a, b) => a.version - b.version)) {
      if (entry.mode === 'delete') (body as number[]).forEach((id) => rows.delete(id));
      else {
        if (entry.mode === 'overwrite') rows.clear();
        (body as Array<{ id: number; tag: string }>).forEach(({ id, tag }) => rows.set(id, tag));
      }
    }
    assert.equal(fingerprint(new Map((await cz.rows(tableId)).map((row) => [Number(row['id']), String(row['tag'])]))), fingerprint(rows));
    assert.equal((await cz.call('GET', `/dataset-tables/${tableId}`)).body.version, 6);
  });

  test("a write's table rows and quarantine rows appear together in every read of both", async () => {
    const created = await tb.form('/v0/datasources?name=halves', { schema: 'b Int32 `json:$.b`, n Int32 `json:$.n`', format: 'ndjson' });
    assert.equal(created.status, 200);
    const shapes = new Map<number, { good: number; bad: number }>();
    let writing = () => true;
    const snapshots: Array<Array<{ b: number; good: number; bad: number }>> = [];
    const reader = async () => {
      while (writing()) {
        snapshots.push(await tb.sql<{ b: number; good: number; bad: number }>(
          `SELECT b, sum(good) AS good, sum(bad) AS bad FROM (SELECT b, 1 AS good, 0 AS bad FROM halves UNION ALL SELECT CAST(b AS INTEGER) AS b, 0 AS good, 1 AS bad FROM halves_quarantine) GROUP BY b ORDER BY b`));
      }
    };
    const writer = async (w: number) => {
      const random = seededRandom(300 + w);
      for (let seq = 0; seq < 12; seq += 1) {
        const b = w * 100 + seq;
        const good = 1 + random(8);
        const bad = 1 + random(4);
        const lines = [...Array.from({ length: good }, (_, n) => json({ b, n })), ...Array.from({ length: bad }, (_, n) => json({ b, n: `bad${n}` }))];
        shapes.set(b, { good, bad });
        // Events (small, grouped) and multipart appends (staged) alike.
        const response = seq % 3 === 2
          ? await tb.upload('mode=append&name=halves&format=ndjson', 'ndjson', 'h.ndjson', lines.join('\n') + '\n')
          : await server.fetch('/v0/events?name=halves&wait=true', { method: 'POST', body: lines.join('\n') });
        const answer = await response.json();
        assert.equal(response.status, 200, JSON.stringify(answer));
        if (seq % 3 !== 2) assert.deepEqual(answer, { successful_rows: good, quarantined_rows: bad });
      }
    };
    await together(Array.from({ length: 6 }, (_, w) => writer(w)), (running) => {
      writing = running;
      return Array.from({ length: 3 }, reader);
    });
    snapshots.push(await tb.sql(`SELECT b, sum(good) AS good, sum(bad) AS bad FROM (SELECT b, 1 AS good, 0 AS bad FROM halves UNION ALL SELECT CAST(b AS INTEGER) AS b, 0 AS good, 1 AS bad FROM halves_quarantine) GROUP BY b ORDER BY b`));
    for (const snapshot of snapshots) {
      for (const { b, good, bad } of snapshot) assert.deepEqual({ good: Number(good), bad: Number(bad) }, shapes.get(b), `batch ${b}`);
    }
    assert.equal(snapshots.at(-1)!.length, shapes.size);
  });

  test('a view over a table agrees with the table in every query that reads both, while inserts, deletes, upserts and overwrites race', async () => {
    const feldera = new FelderaClient(server);
    await feldera.pipeline('viewed', `CREATE TABLE t (id INT NOT NULL PRIMARY KEY, g INT NOT NULL);
      CREATE MATERIALIZED VIEW v AS SELECT g, COUNT(*) AS c, SUM(id) AS s FROM t GROUP BY g;
      CREATE MATERIALIZED VIEW big AS SELECT id, g FROM t WHERE id % 2 = 0;`);
    const tableId = tableIdOf('viewed', 't');
    const check = `SELECT
      (SELECT count(*) FROM ((SELECT g, count(*) AS c, sum(id) AS s FROM t GROUP BY g EXCEPT SELECT g, c, s FROM v)
        UNION ALL (SELECT g, c, s FROM v EXCEPT SELECT g, count(*) AS c, sum(id) AS s FROM t GROUP BY g))) AS grouped_diff,
      (SELECT count(*) FROM ((SELECT id, g FROM t WHERE id % 2 = 0 EXCEPT SELECT id, g FROM big)
        UNION ALL (SELECT id, g FROM big EXCEPT SELECT id, g FROM t WHERE id % 2 = 0))) AS filtered_diff,
      (SELECT count(*) FROM t) AS n`;
    let writing = () => true;
    const seen: Array<Record<string, unknown>> = [];
    const reader = async () => {
      while (writing()) seen.push(...(await feldera.rows('viewed', check)));
    };
    const felderaWriter = async (w: number) => {
      const random = seededRandom(500 + w);
      for (let seq = 0; seq < 12; seq += 1) {
        const lines = Array.from({ length: 1 + random(12) }, () => {
          const id = random(200);
          return random(3) === 0 ? json({ delete: { id, g: 0 } }) : json({ insert: { id, g: random(5) } });
        });
        await feldera.pushOk('viewed', 't', lines.join('\n'), 'format=json&update_format=insert_delete');
      }
    };
    const catalyzedWriter = async (w: number) => {
      const random = seededRandom(600 + w);
      for (let seq = 0; seq < 10; seq += 1) {
        const mode = ['upsert', 'delete', 'upsert', 'overwrite'][random(4)]!;
        const body = mode === 'delete' ? Array.from({ length: 5 }, () => random(200)) : Array.from({ length: 5 + random(20) }, () => ({ id: random(200), g: random(5) }));
        const unique = mode === 'delete' ? body : [...new Map((body as Array<{ id: number }>).map((row) => [row.id, row])).values()];
        const response = await cz.write(tableId, `mode=${mode}`, json(unique), 'application/json');
        assert.equal(response.status, 200, JSON.stringify(response.body));
      }
    };
    await together([...Array.from({ length: 4 }, (_, w) => felderaWriter(w)), ...Array.from({ length: 2 }, (_, w) => catalyzedWriter(w))], (running) => {
      writing = running;
      return Array.from({ length: 3 }, reader);
    });
    seen.push(...(await feldera.rows('viewed', check)));
    assert.ok(seen.length > 1);
    for (const row of seen) assert.deepEqual([Number(row['grouped_diff']), Number(row['filtered_diff'])], [0, 0], JSON.stringify(row));
  });
});

describe('large overwrites and the readers meanwhile', () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
  });
  after(() => server.stop());

  test('readers of a keyed table overwritten again and again by 130,000 rows (more than one DuckDB row group) and by 1,000 see all of one or all of the other, never both', async () => {
    const cz = new CatalyzedClient(server);
    const tableId = await cz.createTable(await cz.createDataset('overwritten'), 't', [{ name: 'id', arrowType: 'int64', nullable: false }, { name: 'v', arrowType: 'utf8' }], ['id']);
    const csv = (rows: number, tag: string, offset: number) => `id,v\n${Array.from({ length: rows }, (_, index) => `${offset + index},${tag}`).join('\n')}\n`;
    const [large, small] = [csv(130_000, 'new', 0), csv(1000, 'old', 10_000_000)];
    const write = async (body: string) => {
      const response = await cz.write(tableId, 'mode=overwrite', body, 'text/csv');
      assert.equal(response.status, 200, JSON.stringify(response.body));
    };
    await write(small);
    const seen = new Set<string>();
    await together([(async () => {
      for (let round = 0; round < 4; round += 1) {
        await write(large);
        await write(small);
      }
    })()], (running) => Array.from({ length: 2 }, async () => {
      while (running()) {
        const { status, body } = await cz.query("SELECT count(*) FILTER (WHERE v = 'old') AS old, count(*) FILTER (WHERE v = 'new') AS new FROM t", { t: tableId });
        assert.equal(status, 200, JSON.stringify(body));
        seen.add(`${body.rows[0].old}/${body.rows[0].new}`);
      }
    }));
    assert.ok(seen.size > 0);
    for (const counts of seen) assert.ok(['1000/0', '0/130000'].includes(counts), `a read saw ${counts} (old/new rows)`);
  });
});

describe('concurrent writes past the queue limit', () => {
  let server: TestServer;
  let cz: CatalyzedClient;
  before(async () => {
    server = await TestServer.start({ maxPendingWrites: 2 });
    cz = new CatalyzedClient(server);
  });
  after(() => server.stop());

  test('mixed writes refused with 429 write nothing; the accepted ones number versions 1…A and the table is their replay in that order', async () => {
    const datasetId = await cz.createDataset('limited');
    const tableId = await cz.createTable(datasetId, 'crowded', [{ name: 'id', arrowType: 'int64' }, { name: 'tag', arrowType: 'utf8' }], ['id']);
    const random = seededRandom(99);
    let nextId = 1000;
    const writes = Array.from({ length: 60 }, (_, index) => {
      const tag = `w${index}`;
      const mode = ['append', 'upsert', 'delete', 'overwrite', 'upsert'][random(5)]!;
      if (mode === 'delete') {
        const ids = Array.from({ length: 5 }, () => random(100));
        return { mode, body: json(ids), apply: (rows: Model) => ids.forEach((id) => rows.delete(id)) };
      }
      const ids = mode === 'upsert' ? [...new Set(Array.from({ length: 8 }, () => random(100)))] : Array.from({ length: 8 }, () => (nextId += 1));
      return { mode, body: json(ids.map((id) => ({ id, tag }))), apply: (rows: Model) => { if (mode === 'overwrite') rows.clear(); ids.forEach((id) => rows.set(id, tag)); } };
    });
    const responses = await Promise.all(writes.map((write) => cz.write(tableId, `mode=${write.mode}`, write.body, 'application/json')));
    const accepted: Array<{ version: number; apply: (rows: Model) => void }> = [];
    responses.forEach((response, index) => {
      if (response.status === 429) {
        assert.equal(response.body.retryable, true);
        assert.equal(response.headers.get('retry-after'), '1');
      } else {
        assert.equal(response.status, 200, JSON.stringify(response.body));
        accepted.push({ version: response.body.dataset_version, apply: writes[index]!.apply });
      }
    });
    assert.ok(accepted.length > 0 && accepted.length < writes.length, `${accepted.length} of ${writes.length} accepted`);
    accepted.sort((a, b) => a.version - b.version);
    assert.deepEqual(accepted.map((write) => write.version), accepted.map((_, index) => index + 1));
    const rows: Model = new Map();
    for (const write of accepted) write.apply(rows);
    assert.equal(fingerprint(new Map((await cz.rows(tableId)).map((row) => [Number(row['id']), String(row['tag'])]))), fingerprint(rows));
    const state = (await cz.call('GET', `/dataset-tables/${tableId}`)).body;
    assert.deepEqual([state.version, state.rowCount], [accepted.length, rows.size]);
  });
});
