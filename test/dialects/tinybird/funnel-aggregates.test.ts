import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runQuery } from '../../../src/core/query/query-runner.ts';
import { rewriteClickHouseSql } from '../../../src/dialects/tinybird/sql/clickhouse-sql.ts';
import { openQueryFixture, type QueryFixture } from '../../core/query/query-fixture.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';

/** A group's rows: a timestamp and the conditions' values, any of them NULL. */
type Row = { t: number | null; conditions: Array<boolean | null> };
type Modes = { strictIncrease?: boolean; strictOrder?: boolean; allowReentry?: boolean };

/**
 * windowFunnel as ClickHouse computes it, one event at a time: each condition a row meets is an
 * event (and, for strict_order, a row meeting none is one of its own), walked in order of
 * timestamp then condition; a level keeps the first timestamp of the chain that last reached it.
 */
function referenceFunnel(rows: Row[], conditions: number, window: number, modes: Modes): number | null {
  const kept = rows.filter((row) => row.t !== null && row.conditions.every((value) => value !== null));
  if (rows.length > 0 && kept.length === 0) return null;
  const events: Array<[number, number]> = [];
  for (const row of kept) {
    const met = row.conditions.flatMap((value, index) => (value ? [index + 1] : []));
    for (const condition of met) events.push([row.t!, condition]);
    if (modes.strictOrder && met.length === 0) events.push([row.t!, 0]);
  }
  if (events.length === 0) return 0;
  if (!modes.strictOrder && conditions === 1) return 1;
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const levels: Array<{ first: number; last: number } | undefined> = new Array(conditions).fill(undefined);
  const reached = () => levels.filter(Boolean).length;
  let started = false;
  for (const [t, condition] of events) {
    if (condition === 0) {
      if (started) break;
    } else if (condition === 1) {
      levels[0] = { first: t, last: t };
      started = true;
    } else if (modes.strictOrder && started && !levels[condition - 2]) {
      if (!modes.allowReentry) return reached();
    } else if (levels[condition - 2]) {
      const { first, last } = levels[condition - 2]!;
      if (t <= first + window && (!modes.strictIncrease || last < t)) levels[condition - 1] = { first, last: t };
    }
  }
  return reached();
}

let fixture: QueryFixture;

before(async () => {
  fixture = await openQueryFixture();
});

after(async () => {
  await fixture.close();
});

async function rows(sql: string): Promise<unknown[][]> {
  const result = await runQuery(fixture.storage, await fixture.guard(rewriteClickHouseSql(sql)));
  return result.rows.map((row) => row.map((value) => (typeof value === 'bigint' ? Number(value) : value)));
}

test('windowFunnel gives the level ClickHouse walks to, in every supported mode, for random groups with ties, repeats, NULLs and rows meeting several conditions', async () => {
  const random = seededRandom(20240611);
  const conditions = 3;
  const groups = Array.from({ length: 400 }, () => {
    const span = 1 + random(16);
    const chance = 2 + random(5);
    return Array.from({ length: random(14) }, (): Row => ({
      t: random(40) === 0 ? null : random(span),
      conditions: Array.from({ length: conditions }, () => (random(40) === 0 ? null : random(10) < chance)),
    }));
  });
  const values = groups.flatMap((group, g) => group.map((row) => `(${g}, ${row.t ?? 'NULL'}, ${row.conditions.map((value) => (value === null ? 'NULL' : value)).join(', ')})`));
  await fixture.createTable('funnel_events', [['g', { kind: 'int', bits: 32, signed: true }], ['t', { kind: 'int', bits: 32, signed: false }],
    ['a', { kind: 'boolean' }], ['b', { kind: 'boolean' }], ['c', { kind: 'boolean' }]], `VALUES ${values.join(', ')}`);
  const modes: Array<[string, Modes]> = [
    ['', {}], [", 'strict_increase'", { strictIncrease: true }], [", 'strict_order'", { strictOrder: true }],
    [", 'strict_order', 'strict_increase'", { strictOrder: true, strictIncrease: true }], [", 'allow_reentry', 'strict_order'", { strictOrder: true, allowReentry: true }],
  ];
  for (const window of [0, 2, 5]) {
    for (const [written, mode] of modes) {
      const got = new Map((await rows(`SELECT g, windowFunnel(${window}${written})(t, a, b, c) AS level FROM funnel_events GROUP BY g`)).map(([g, level]) => [g, level]));
      groups.forEach((group, g) => {
        if (group.length > 0) assert.equal(got.get(g), referenceFunnel(group, conditions, window, mode), `window ${window}${written}, group ${JSON.stringify(group)}`);
      });
    }
  }
  // Each condition alone, and retention beside it, over the same groups.
  const retained = await rows('SELECT g, windowFunnel(3)(t, a), retention(a, b, c) FROM funnel_events GROUP BY g');
  for (const [g, level, flags] of retained) {
    const group = groups[g as number]!;
    // A row with a NULL argument is skipped: the timestamp and a for the funnel, the conditions for retention.
    const funnelRows = group.filter((row) => row.t !== null && row.conditions[0] !== null);
    assert.equal(level, group.length > 0 && funnelRows.length === 0 ? null : Number(funnelRows.some((row) => row.conditions[0])), `group ${g}`);
    const retainedRows = group.filter((row) => row.conditions.every((value) => value !== null));
    const met = (index: number) => retainedRows.some((row) => row.conditions[index]);
    assert.deepEqual(flags, [met(0), met(0) && met(1), met(0) && met(2)].map(Number), `group ${g}`);
  }
});
