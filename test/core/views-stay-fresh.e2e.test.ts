import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Principal } from '../../src/core/auth/scopes.ts';
import { recordsInput } from '../../src/core/ingest/staged-input.ts';
import type { WriteRequest } from '../../src/core/write/write-command.ts';
import { seededRandom } from '../helpers/seeded-random.ts';
import { ADMIN_TOKEN, TestServer } from '../helpers/test-server.ts';
import { EgressStream, FelderaClient } from '../dialects/feldera/feldera-fixture.ts';

/**
 * The rule of DESIGN.md: a view is kept equal to a fresh evaluation of its SQL after every
 * committed write, whatever its kind. A pipeline holds views of many shapes over two tables (one
 * keyed, one a multiset); seeded random writes of every kind reach them over HTTP (Feldera ingress
 * in each update format, Catalyzed row writes in each mode) and, for the kinds no dialect offers on a
 * pipeline's tables (delete by condition, replace-where), through the server's own core. After each
 * write every view's rows are compared, as a multiset, with its SQL run as an ad-hoc query over the
 * base tables (views it reads inlined as CTEs), and every open egress stream's accumulated changes
 * with the view's rows.
 */

type Row = Record<string, unknown>;
type Random = (below: number) => number;

interface ViewDef {
  name: string;
  kind: 'MATERIALIZED ' | 'LOCAL ' | '';
  /**
   * The query; `{v}` names another view (the view in the program, a CTE in the fresh evaluation).
   * An average is of doubles: a view's AVG keeps its input's type (Calcite's), an ad-hoc query's is
   * a DOUBLE (DataFusion's), and the fresh evaluation is an ad-hoc query.
   */
  sql: string;
}

const TABLES = `
  CREATE TABLE a (id INT NOT NULL PRIMARY KEY, g VARCHAR, x INT, amount DECIMAL(10, 2));
  CREATE TABLE b (k INT, label VARCHAR, w INT);
  CREATE TABLE tick (id INT NOT NULL PRIMARY KEY);`;

const VIEWS: ViewDef[] = [
  // filters and projections
  { name: 'v_filter', kind: 'MATERIALIZED ', sql: "SELECT id, g, x FROM a WHERE x > 10 AND g <> 'c'" },
  {
    name: 'v_proj', kind: '',
    sql: "SELECT id, x * 2 + 1 AS x2, upper(g) AS ug, x / 3 AS third, x % 4 AS rem, CASE WHEN x IS NULL THEN 'none' WHEN x < 0 THEN 'neg' ELSE 'pos' END AS sign, coalesce(amount, 0) * 2 AS amt2, g || '-' || CAST(id AS VARCHAR) AS tag FROM a",
  },
  // aggregates
  { name: 'v_group', kind: 'MATERIALIZED ', sql: 'SELECT g, count(*) AS n, count(x) AS nx, sum(x) AS sx, min(x) AS mn, max(x) AS mx, avg(CAST(x AS DOUBLE)) AS ax, sum(amount) AS samt, min(amount) AS mina FROM a GROUP BY g' },
  { name: 'v_global', kind: '', sql: 'SELECT count(*) AS n, sum(x) AS s, min(g) AS mg, max(amount) AS ma, avg(CAST(amount AS DOUBLE)) AS aa FROM a' },
  { name: 'v_bgroup', kind: 'LOCAL ', sql: 'SELECT k, count(*) AS c, sum(w) AS sw, count(DISTINCT label) AS dl FROM b GROUP BY k HAVING count(*) > 1' },
  { name: 'v_strs', kind: '', sql: "SELECT k, string_agg(label, ',' ORDER BY label) AS labels, max(w) AS mw FROM b GROUP BY k" },
  // distinct
  { name: 'v_distinct', kind: '', sql: 'SELECT DISTINCT g, x % 3 AS r FROM a' },
  // joins of the two tables
  { name: 'v_join', kind: 'MATERIALIZED ', sql: 'SELECT a.id, a.g, b.label, b.w, a.x + b.w AS xw FROM a JOIN b ON a.id = b.k' },
  { name: 'v_left', kind: '', sql: 'SELECT a.id, a.g, b.label FROM a LEFT JOIN b ON a.id = b.k AND b.w > 0' },
  { name: 'v_full', kind: '', sql: 'SELECT a.id AS aid, b.k AS bk, b.w FROM a FULL OUTER JOIN b ON a.id = b.k' },
  // unions
  { name: 'v_union', kind: '', sql: 'SELECT id AS n, g AS s FROM a UNION ALL SELECT k, label FROM b' },
  { name: 'v_union_set', kind: '', sql: 'SELECT g AS s FROM a UNION SELECT label FROM b' },
  // views over views (a LOCAL one among them)
  { name: 'v_over_group', kind: '', sql: 'SELECT g, n * 10 AS n10, sx FROM {v_group} WHERE n > 1' },
  { name: 'v_over_local', kind: '', sql: 'SELECT k, sw, dl FROM {v_bgroup} WHERE sw IS NOT NULL' },
  { name: 'v_vv_join', kind: '', sql: 'SELECT f.id, f.x, j.label, j.w FROM {v_filter} f JOIN {v_join} j ON f.id = j.id' },
  // shapes no incremental rule covers: recomputed
  { name: 'v_top', kind: '', sql: 'SELECT id, x FROM a ORDER BY x DESC NULLS LAST, id LIMIT 3' },
  { name: 'v_sub', kind: '', sql: 'SELECT id, x FROM a WHERE x > (SELECT avg(CAST(x AS DOUBLE)) FROM a)' },
  { name: 'v_exists', kind: '', sql: 'SELECT k, label FROM b WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.id = b.k)' },
  { name: 'v_except', kind: '', sql: 'SELECT k FROM b EXCEPT SELECT id FROM a' },
  { name: 'v_window', kind: '', sql: 'SELECT id, g, row_number() OVER (PARTITION BY g ORDER BY id) AS rn, sum(x) OVER (PARTITION BY g) AS gs FROM a' },
];

/**
 * The views followed by an egress stream, one or two of each shape: every stream's snapshot is
 * compared with its view after every commit to the pipeline, which is what the time goes to.
 */
const STREAMED = new Set(['v_filter', 'v_proj', 'v_group', 'v_global', 'v_distinct', 'v_join', 'v_full', 'v_union', 'v_over_group', 'v_vv_join', 'v_top', 'v_window', 'v_strs']);

const BY_NAME = new Map(VIEWS.map((view) => [view.name, view]));

function referenced(view: ViewDef): string[] {
  return [...view.sql.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
}

/**
 * The relation an ad-hoc query reads a view's rows from: the view itself when materialized, else a
 * materialized view of all its rows, as ad-hoc queries read no other view (as in Feldera).
 */
function readable(view: ViewDef): string {
  return view.kind === 'MATERIALIZED ' ? view.name : `seen_${view.name}`;
}

function program(views: ViewDef[]): string {
  return TABLES + views.map((view) => `\n  CREATE ${view.kind}VIEW ${view.name} AS ${view.sql.replace(/\{(\w+)\}/g, '$1')};`
    + (readable(view) === view.name ? '' : `\n  CREATE MATERIALIZED VIEW ${readable(view)} AS SELECT * FROM ${view.name};`)).join('');
}

/** The view's SQL over the base tables only: each view it reads (transitively) inlined as a CTE of another name. */
function freshSql(view: ViewDef): string {
  const order: ViewDef[] = [];
  const visit = (current: ViewDef): void => {
    for (const name of referenced(current)) {
      const dependency = BY_NAME.get(name)!;
      if (!order.includes(dependency)) {
        visit(dependency);
        order.push(dependency);
      }
    }
  };
  visit(view);
  const inline = (sql: string) => sql.replace(/\{(\w+)\}/g, 'fresh_$1');
  const ctes = order.map((dependency) => `fresh_${dependency.name} AS (${inline(dependency.sql)})`);
  return (ctes.length > 0 ? `WITH ${ctes.join(', ')} ` : '') + inline(view.sql);
}

/** A row as a comparable text: doubles rounded (two evaluations may sum in another order). */
function canonical(row: Row): string {
  return JSON.stringify(row, (_key, value) => (typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(12)) : value));
}

function multiset(rows: Row[]): string[] {
  return rows.map(canonical).sort();
}

/** An egress stream read in the background, its inserts and deletes accumulated into a multiset. */
class Follower {
  readonly counts = new Map<string, number>();
  private expected = 0;
  problem: string | null = null;
  ended: Promise<void>;

  constructor(readonly view: string, private readonly stream: EgressStream) {
    this.ended = this.run();
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        const chunk = await this.stream.chunk();
        if (chunk === null) return;
        if (chunk.sequence_number !== this.expected) this.problem ??= `sequence ${chunk.sequence_number} after ${this.expected - 1}`;
        this.expected = chunk.sequence_number + 1;
        for (const item of chunk.json_data ?? []) {
          const [change, row] = Object.entries(item)[0]!;
          const key = canonical(row as Row);
          const count = (this.counts.get(key) ?? 0) + (change === 'insert' ? 1 : -1);
          if (count < 0) this.problem ??= `deleted a row it never inserted: ${key}`;
          if (count === 0) this.counts.delete(key);
          else this.counts.set(key, count);
        }
      }
    } catch (error) {
      this.problem ??= `stream failed: ${String(error)}`;
    }
  }

  rows(): string[] {
    return [...this.counts].flatMap(([key, count]) => Array<string>(Math.max(count, 0)).fill(key)).sort();
  }

  close(): void {
    this.stream.cancel();
  }
}

const pick = <T>(random: Random, items: readonly T[]): T => items[random(items.length)]!;
const G = ['a', 'b', 'c', null] as const;
const LABELS = ['p', 'q', 'r', null] as const;

function rowOfA(random: Random, id: number): Row {
  return {
    id,
    g: pick(random, G),
    x: random(7) === 0 ? null : random(31) - 5,
    amount: random(5) === 0 ? null : random(20000) / 100,
  };
}

function rowOfB(random: Random): Row {
  return { k: random(10) + 1, label: pick(random, LABELS), w: random(5) === 0 ? null : random(11) - 5 };
}

function distinctIds(random: Random, count: number, among = 8): number[] {
  const ids = new Set<number>();
  while (ids.size < count) ids.add(random(among) + 1);
  return [...ids];
}

const lines = (items: unknown[]) => items.map((item) => JSON.stringify(item)).join('\n');
const csvField = (value: unknown) => (value === null ? '' : String(value));

/** One write, described for failure messages, and how to apply it. */
interface Write {
  description: string;
  apply: () => Promise<void>;
}

class Harness {
  readonly client: FelderaClient;
  readonly followers = new Map<string, Follower>();
  private tableIds: Record<'a' | 'b', string> = { a: '', b: '' };
  private principal!: Principal;
  private ticks = 0;

  constructor(readonly server: TestServer, readonly pipeline: string, readonly views: ViewDef[]) {
    this.client = new FelderaClient(server);
  }

  async start(): Promise<void> {
    await this.client.pipeline(this.pipeline, program(this.views));
    const namespace = this.server.core.catalog.getNamespace(this.pipeline);
    for (const name of ['a', 'b'] as const) this.tableIds[name] = this.server.core.catalog.findTable(namespace.id, name)!.id;
    this.principal = await this.server.core.authenticate(ADMIN_TOKEN);
    await this.openStreams();
  }

  async openStreams(): Promise<void> {
    for (const view of this.views.filter((view) => STREAMED.has(view.name))) {
      const response = await this.server.fetch(`/v0/pipelines/${this.pipeline}/egress/${view.name}?format=json&send_snapshot=true&backpressure=true`, { method: 'POST' });
      if (response.status !== 200) assert.fail(`egress of ${view.name}: ${response.status} ${await response.text()}`);
      this.followers.set(view.name, new Follower(view.name, new EgressStream(response.body!.getReader())));
    }
  }

  closeStreams(): void {
    for (const follower of this.followers.values()) follower.close();
    this.followers.clear();
  }

  rows(sql: string): Promise<Row[]> {
    return this.client.rows(this.pipeline, sql);
  }

  async push(table: string, body: string, query: string): Promise<void> {
    await this.client.pushOk(this.pipeline, table, body, query);
  }

  async catalyzed(table: 'a' | 'b', mode: string, body: unknown): Promise<void> {
    const response = await this.server.fetch(`/dataset-tables/${this.tableIds[table]}/rows?mode=${mode}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    const text = await response.text();
    assert.equal(response.status, 200, `catalyzed ${mode} into ${table}: ${text}`);
  }

  async core(table: 'a' | 'b', request: Omit<WriteRequest, 'table' | 'onInvalid'>): Promise<void> {
    await this.server.core.write(this.principal, { onInvalid: 'reject', ...request, table: this.server.core.catalog.getTableById(this.tableIds[table]) });
  }

  /** Waits until every open stream has passed on every commit so far (a later push's token complete). */
  async settle(): Promise<void> {
    this.ticks += 1;
    const token = await this.client.pushOk(this.pipeline, 'tick', JSON.stringify({ insert: { id: this.ticks } }));
    for (let tries = 0; ; tries += 1) {
      const response = await this.server.fetch(`/v0/pipelines/${this.pipeline}/completion_status?token=${encodeURIComponent(token)}`);
      const body = (await response.json()) as { status: string };
      if (body.status === 'complete') return;
      assert.ok(tries < 500, 'completion token never complete');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Stops, clears every table and starts again: the streams end and are opened anew. */
  async clear(): Promise<void> {
    assert.equal((await this.client.action(this.pipeline, 'stop')).status, 202);
    await Promise.all([...this.followers.values()].map((follower) => follower.ended));
    this.followers.clear();
    assert.equal((await this.client.action(this.pipeline, 'clear')).status, 202);
    assert.equal((await this.client.action(this.pipeline, 'start')).status, 202);
    await this.openStreams();
  }

  /** A random write of a random kind, chosen from the tables' current rows. */
  async randomWrite(random: Random): Promise<Write> {
    const [rowsA, rowsB] = await Promise.all([this.rows('SELECT * FROM a'), this.rows('SELECT * FROM b')]);
    const idsA = rowsA.map((row) => row['id'] as number);
    const someA = () => (idsA.length > 0 && random(4) > 0 ? pick(random, idsA) : random(8) + 1);
    const someB = () => (rowsB.length > 0 ? pick(random, rowsB) : rowOfB(random));
    const kinds: Array<() => Write> = [
      () => {
        const rows = distinctIds(random, 1 + random(3)).map((id) => rowOfA(random, id));
        const body = lines(rows.map((row) => ({ insert: row })));
        return { description: `feldera insert_delete into a (inserts, upserting existing keys): ${body}`, apply: () => this.push('a', body, 'format=json') };
      },
      () => {
        const body = lines(distinctIds(random, 1 + random(2)).map(() => ({ delete: { id: someA() } })));
        return { description: `feldera delete by key from a: ${body}`, apply: () => this.push('a', body, 'format=json') };
      },
      () => {
        const update = random(2) === 0 ? { id: someA(), x: random(31) - 5 } : { id: someA(), g: pick(random, G), amount: random(9000) / 100 };
        const body = JSON.stringify({ update });
        return { description: `feldera update (partial) of a: ${body}`, apply: () => this.push('a', body, 'format=json') };
      },
      () => {
        const id = someA();
        const items = [{ insert: rowOfA(random, id) }, random(2) === 0 ? { delete: { id } } : { update: { id, x: random(31) - 5 } }, { insert: rowOfA(random, random(8) + 1) }];
        const body = lines(items);
        return { description: `feldera mixed changes to a, one key twice: ${body}`, apply: () => this.push('a', body, 'format=json') };
      },
      () => {
        const body = JSON.stringify(distinctIds(random, 1 + random(3)).map((id) => rowOfA(random, id)));
        return { description: `feldera raw array into a: ${body}`, apply: () => this.push('a', body, 'format=json&update_format=raw&array=true') };
      },
      () => {
        const body = Array.from({ length: 1 + random(3) }, () => rowOfB(random)).map((row) => `${row['k']},${csvField(row['label'])},${csvField(row['w'])}\n`).join('');
        return { description: `feldera csv into b: ${JSON.stringify(body)}`, apply: () => this.push('b', body, 'format=csv') };
      },
      () => {
        const body = lines(Array.from({ length: 1 + random(2) }, () => (random(3) === 0 ? { weight: 1 + random(3), data: rowOfB(random) } : { weight: -(1 + random(2)), data: someB() })));
        return { description: `feldera weighted into b: ${body}`, apply: () => this.push('b', body, 'format=json&update_format=weighted') };
      },
      () => {
        const body = lines(distinctIds(random, 1 + random(2)).map((id) => (random(2) === 0 ? { weight: 1, data: rowOfA(random, id) } : { weight: -1, data: { id: someA() } })));
        return { description: `feldera weighted into a: ${body}`, apply: () => this.push('a', body, 'format=json&update_format=weighted') };
      },
      () => {
        const op = pick(random, ['c', 'u', 'd'] as const);
        const id = op === 'c' ? random(8) + 1 : someA();
        const payload = op === 'c' ? { op, after: rowOfA(random, id) } : op === 'u' ? { op, before: { id }, after: rowOfA(random, id) } : { op, before: { id } };
        const body = JSON.stringify({ payload });
        return { description: `feldera debezium into a: ${body}`, apply: () => this.push('a', body, 'format=json&update_format=debezium') };
      },
      () => {
        const body = JSON.stringify({ payload: random(3) === 0 ? { op: 'd', before: someB() } : { op: 'u', before: someB(), after: rowOfB(random) } });
        return { description: `feldera debezium into b: ${body}`, apply: () => this.push('b', body, 'format=json&update_format=debezium') };
      },
      () => {
        const body = lines(Array.from({ length: 1 + random(2) }, () => (random(2) === 0 ? { delete: someB() } : { insert: rowOfB(random) })));
        return { description: `feldera insert_delete into b (deletes of whole rows): ${body}`, apply: () => this.push('b', body, 'format=json') };
      },
      () => {
        const fresh = distinctIds(random, 1 + random(2), 12).filter((id) => !idsA.includes(id));
        const rows = fresh.map((id) => rowOfA(random, id));
        return { description: `catalyzed append into a: ${JSON.stringify(rows)}`, apply: () => this.catalyzed('a', 'append', rows) };
      },
      () => {
        const rows = Array.from({ length: 1 + random(3) }, () => rowOfB(random));
        return { description: `catalyzed append into b: ${JSON.stringify(rows)}`, apply: () => this.catalyzed('b', 'append', rows) };
      },
      () => {
        const rows = distinctIds(random, 1 + random(3)).map((id) => rowOfA(random, id));
        return { description: `catalyzed upsert into a: ${JSON.stringify(rows)}`, apply: () => this.catalyzed('a', 'upsert', rows) };
      },
      () => {
        const keys = distinctIds(random, 1 + random(2)).map(() => someA()).filter((id, index, all) => all.indexOf(id) === index);
        return { description: `catalyzed delete from a by key: ${JSON.stringify(keys)}`, apply: () => this.catalyzed('a', 'delete', keys) };
      },
      () => {
        const table = pick(random, ['a', 'b'] as const);
        const count = 1 + random(4);
        const rows = table === 'a' ? distinctIds(random, count).map((id) => rowOfA(random, id)) : Array.from({ length: count }, () => rowOfB(random));
        return { description: `catalyzed overwrite of ${table}: ${JSON.stringify(rows)}`, apply: () => this.catalyzed(table, 'overwrite', rows) };
      },
      () => {
        const table = pick(random, ['a', 'b'] as const);
        return { description: `catalyzed truncate of ${table} (overwrite with no rows)`, apply: () => this.catalyzed(table, 'overwrite', []) };
      },
      () => {
        const [table, predicate] = pick(random, [['a', `x > ${random(20)}`], ['a', "g = 'b' OR g IS NULL"], ['a', 'x IS NULL'], ['b', 'w < 0'], ['b', `k <= ${random(6)}`]] as const);
        return { description: `core delete_where from ${table}: ${predicate}`, apply: () => this.core(table, { kind: 'delete_where', predicate }) };
      },
      () => {
        // Keys of rows outside the condition stay taken: the new rows take others.
        const taken = new Set(rowsA.filter((row) => row['g'] !== 'a').map((row) => row['id'] as number));
        const rows: Row[] = distinctIds(random, random(3), 12).filter((id) => !taken.has(id)).map((id) => ({ ...rowOfA(random, id), g: random(4) === 0 ? 'b' : 'a' }));
        const input = recordsInput({ columns: ['id', 'g', 'x', 'amount'], rows: rows.map((row) => [String(row['id']), row['g'] as string, row['x'] === null ? null : String(row['x']), row['amount'] === null ? null : String(row['amount'])]) });
        return { description: `core replace_where on a: g = 'a' with ${JSON.stringify(rows)} (those outside the condition ignored)`, apply: () => this.core('a', { kind: 'replace_where', predicate: "g = 'a'", input }) };
      },
    ];
    if (random(25) === 0) return { description: 'feldera stop, clear, start (every table emptied)', apply: () => this.clear() };
    // Kinds that add rows come more often, so that the views are seldom empty.
    const weights = [3, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1];
    assert.equal(weights.length, kinds.length);
    let draw = random(weights.reduce((sum, weight) => sum + weight, 0));
    const index = weights.findIndex((weight) => (draw -= weight) < 0);
    return kinds[index]!();
  }

  /** Every view against its fresh evaluation; then (once the streams have caught up) every stream against its view. */
  async check(context: () => string): Promise<void> {
    const current = new Map<string, string[]>();
    await Promise.all(this.views.map(async (view) => {
      // One query reads both, so that they see the same commits: the view's rows tagged 0, the fresh evaluation's 1.
      const both = await this.rows(`SELECT 0 AS fresh_side, * FROM ${readable(view)} UNION ALL SELECT 1, * FROM (${freshSql(view)})`);
      const side = (tag: number): Row[] => both.filter((row) => row['fresh_side'] === tag).map(({ fresh_side: _, ...row }) => row);
      const [stored, fresh] = [side(0), side(1)];
      current.set(view.name, multiset(stored));
      assert.deepEqual(multiset(stored), multiset(fresh), `view ${view.name} differs from a fresh evaluation of its SQL\n${context()}`);
    }));
    await this.settle();
    for (const [name, follower] of this.followers) {
      const expected = current.get(name)!;
      for (let tries = 0; ; tries += 1) {
        assert.equal(follower.problem, null, `egress of ${name}: ${follower.problem}\n${context()}`);
        if (JSON.stringify(follower.rows()) === JSON.stringify(expected)) break;
        if (tries >= 100) assert.deepEqual(follower.rows(), expected, `egress of ${name} accumulated other rows than the view holds\n${context()}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }
}

const SEEDS = [1, 2, 3];
const WRITES = 30;

describe('views stay equal to a fresh evaluation of their SQL after every write', () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
  });
  after(() => server.stop());

  for (const seed of SEEDS) {
    test(`seed ${seed}: ${WRITES} random writes of every kind`, async () => {
      const random = seededRandom(seed);
      const harness = new Harness(server, `fresh${seed}`, VIEWS);
      await harness.start();
      const history: string[] = [];
      const context = () => `seed ${seed}, after ${history.length} writes:\n  ${history.join('\n  ')}`;
      try {
        await harness.check(context);
        for (let step = 0; step < WRITES; step += 1) {
          const write = await harness.randomWrite(random);
          history.push(write.description.replaceAll('\n', ' ↵ '));
          await write.apply().catch((error: unknown) => assert.fail(`write failed: ${String(error)}\n${context()}`));
          await harness.check(context);
        }
      } finally {
        harness.closeStreams();
      }
    });
  }
});
