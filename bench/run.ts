/**
 * Sluice's benchmarks, each reported as a ratio to DuckDB's own work on the same data on the same
 * machine in the same run. Benchmarks report; they never fail on timing.
 *
 *   npm run bench -- --rows 2000000 --seconds 10 --repeat 3 --only csv,ndjson,parquet,events,events1,upsert
 *   npm run bench -- --only events1 --clients 512   # the events benchmarks with more concurrent clients than 64
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSecondsSince, duckdbLoad, duckdbUpsert, type Timing } from './baseline.ts';
import { EVENTS_SCHEMA, generateData, ndjsonRows, ROWS_SQL, type DataFiles } from './data.ts';
import { ServerProcess } from './server-process.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '2000000' },
    seconds: { type: 'string', default: '10' },
    'upsert-rows': { type: 'string', default: '2000000' },
    repeat: { type: 'string', default: '3' },
    clients: { type: 'string', default: '64' },
    only: { type: 'string' },
  },
});
const ROWS = Number(values.rows);
const SECONDS = Number(values.seconds);
const UPSERT_ROWS = Number(values['upsert-rows']);
/** Bulk loads (alternating with the baseline) and event runs are repeated this many times; medians are reported, as this machine's timings vary. */
const REPEAT = Number(values.repeat);
/** Concurrent clients of the events benchmarks, each with a keep-alive connection of its own. */
const CLIENTS = Number(values.clients);

interface Measurement {
  name: string;
  sluice: string;
  baseline: string;
  ratio: number | null;
  target: string;
  details?: Record<string, number | string>;
}

const results: Measurement[] = [];
function report(measurement: Measurement): void {
  results.push(measurement);
  console.log(`${measurement.name}: ${measurement.sluice} vs ${measurement.baseline} → ${measurement.ratio ?? '—'} (target ${measurement.target})${measurement.details ? ` ${JSON.stringify(measurement.details)}` : ''}`);
}
const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-data-'));

async function createEvents(server: ServerProcess, name: string, format: string, extra: Record<string, string> = {}): Promise<void> {
  const schema = format === 'csv' ? EVENTS_SCHEMA.clickhouseCsv : EVENTS_SCHEMA.clickhouse;
  const response = await server.fetch(`/v0/datasources?name=${name}&format=${format}`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ schema, ...extra }).toString(),
  });
  if (!response.ok) throw new Error(`creating ${name}: ${response.status} ${await response.text()}`);
}

async function count(server: ServerProcess, name: string): Promise<number> {
  const response = await server.fetch(`/v0/sql?q=${encodeURIComponent(`SELECT count() AS n FROM ${name}`)}`);
  return Number(((await response.json()) as { data: Array<{ n: number }> }).data[0]!.n);
}

const READERS: Record<'csv' | 'ndjson' | 'parquet', (files: DataFiles) => string> = {
  csv: (files) => `read_csv('${files.csv}', header = true, columns = ${EVENTS_SCHEMA.readerColumns})`,
  ndjson: (files) => `read_json('${files.ndjson}', format = 'newline_delimited', columns = ${EVENTS_SCHEMA.readerColumns})`,
  parquet: (files) => `read_parquet('${files.parquet}')`,
};
const TARGETS = { csv: 0.9, ndjson: 0.85, parquet: 0.9 };

/**
 * A bulk load REPEAT times, each on a fresh server alternating with DuckDB's own load into a fresh
 * database; medians are compared. CPU time is reported beside the times, as both sides use every
 * core: the server's (all its threads), the client's (this process, sending the upload) and DuckDB's.
 */
async function benchBulk(files: DataFiles, format: 'csv' | 'ndjson' | 'parquet'): Promise<void> {
  const baselines: Timing[] = [];
  const loads: Array<{ seconds: number; serverCpuSeconds: number; clientCpuSeconds: number }> = [];
  for (let run = 1; run <= REPEAT; run += 1) {
    baselines.push(await duckdbLoad(dir, READERS[format](files)));
    // A fresh server each time, as DuckDB gets a fresh database (a load leaves a checkpoint to do,
    // see `duckdbLoad`, which would fall on the next one), warmed up by a small load first.
    const server = await ServerProcess.start();
    try {
      await createEvents(server, 'warm_up', format);
      const warmUp = await server.upload(`/v0/datasources?mode=append&name=warm_up&format=${format}`, format, files.warmUp[format]);
      if (warmUp.status !== 200) throw new Error(`${format} warm-up: ${warmUp.status} ${warmUp.body}`);
      await createEvents(server, 'events', format);
      const [serverCpu, clientCpu, started] = [await server.cpuSeconds(), process.cpuUsage(), performance.now()];
      const response = await server.upload(`/v0/datasources?mode=append&name=events&format=${format}`, format, files[format]);
      const [seconds, clientCpuSeconds] = [(performance.now() - started) / 1000, cpuSecondsSince(clientCpu)];
      loads.push({ seconds, serverCpuSeconds: (await server.cpuSeconds()).total - serverCpu.total, clientCpuSeconds });
      if (response.status !== 200) throw new Error(`${format} upload: ${response.status} ${response.body}`);
      const loaded = await count(server, 'events');
      if (loaded !== files.rows) throw new Error(`${format}: loaded ${loaded} of ${files.rows} rows`);
    } finally {
      await server.stop();
    }
  }
  const [baseline, seconds] = [median(baselines.map((timing) => timing.seconds)), median(loads.map((load) => load.seconds))];
  report({
    name: `bulk ${format} (${(files.rows / 1e6).toFixed(1)} M rows)`,
    sluice: `${seconds.toFixed(2)} s`, baseline: `${baseline.toFixed(2)} s`, ratio: round(baseline / seconds), target: `≥ ${TARGETS[format]}×`,
    details: {
      runs: REPEAT, sluice_runs_s: loads.map((load) => round(load.seconds)).join(' '), duckdb_runs_s: baselines.map((timing) => round(timing.seconds)).join(' '),
      server_cpu_s: round(median(loads.map((load) => load.serverCpuSeconds))), client_cpu_s: round(median(loads.map((load) => load.clientCpuSeconds))),
      duckdb_cpu_s: round(median(baselines.map((timing) => timing.cpuSeconds))),
    },
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface EventsRun {
  rowsPerSecond: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  failures: number;
  /** CPU used over the run, in % of one core: the server's (all threads, and its event loop's thread alone) and the clients'. */
  serverCpu: number;
  eventLoopCpu: number;
  clientCpu: number;
}

/**
 * `clients` concurrent clients each sending `rowsPerRequest`-row NDJSON requests with wait=true for
 * SECONDS, on a fresh server; rates are over the time until the last answer came.
 */
async function eventsRun(rowsPerRequest: number, clients: number): Promise<EventsRun> {
  const server = await ServerProcess.start({}, { connections: clients });
  try {
    await createEvents(server, 'stream', 'ndjson');
    const latencies: number[] = [];
    let requests = 0;
    let failures = 0;
    const [serverCpu, clientCpu] = [await server.cpuSeconds(), process.cpuUsage()];
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    let offset = 0;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const body = ndjsonRows((offset += rowsPerRequest), rowsPerRequest);
        const sent = performance.now();
        const status = await server.post('/v0/events?name=stream&wait=true', body);
        latencies.push(performance.now() - sent);
        if (status === 200) requests += 1;
        else failures += 1;
      }
    }));
    const elapsed = (performance.now() - started) / 1000;
    const [serverSpent, clientSpent] = [await server.cpuSeconds(), cpuSecondsSince(clientCpu)];
    const percentOfCore = (seconds: number) => Math.round((seconds / elapsed) * 100);
    latencies.sort((a, b) => a - b);
    const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
    const rows = await count(server, 'stream');
    if (rows !== requests * rowsPerRequest) throw new Error(`events: ${rows} rows stored for ${requests} acknowledged requests of ${rowsPerRequest}`);
    return {
      rowsPerSecond: rows / elapsed, requestsPerSecond: requests / elapsed, p50: percentile(50), p99: percentile(99), failures,
      serverCpu: percentOfCore(serverSpent.total - serverCpu.total), eventLoopCpu: percentOfCore(serverSpent.main - serverCpu.main),
      clientCpu: percentOfCore(clientSpent),
    };
  } finally {
    await server.stop();
  }
}

/** The events benchmark REPEAT times, each on a fresh server; the run with the median rate is reported, with every rate. */
async function benchEvents(rowsPerRequest: number, clients: number): Promise<void> {
  const runs: EventsRun[] = [];
  for (let run = 1; run <= REPEAT; run += 1) runs.push(await eventsRun(rowsPerRequest, clients));
  const middle = [...runs].sort((a, b) => a.rowsPerSecond - b.rowsPerSecond)[Math.floor(runs.length / 2)]!;
  report({
    name: `events ${rowsPerRequest}-row requests, ${clients} clients`,
    sluice: `${Math.round(middle.rowsPerSecond).toLocaleString('en')} rows/s, ${Math.round(middle.requestsPerSecond).toLocaleString('en')} req/s`,
    baseline: '—', ratio: null,
    target: rowsPerRequest > 1 ? '≥ 300,000 rows/s, p99 ≤ 50 ms' : '≥ 10,000 req/s',
    details: {
      runs: REPEAT, p50_ms: round(middle.p50), p99_ms: round(middle.p99),
      rows_per_s_runs: runs.map((run) => Math.round(run.rowsPerSecond)).join(' '),
      failures: runs.reduce((sum, run) => sum + run.failures, 0),
      server_cpu_pct: middle.serverCpu, event_loop_cpu_pct: middle.eventLoopCpu, client_cpu_pct: middle.clientCpu,
    },
  });
}

/** 10 K-row batches upserted into a keyed table of UPSERT_ROWS rows. */
async function benchUpsert(): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  const seedFile = join(dir, 'seed.parquet');
  await connection.run(`COPY (${ROWS_SQL(UPSERT_ROWS)}) TO '${seedFile}' (FORMAT parquet)`);
  const batches: string[] = [];
  for (let batch = 0; batch < 10; batch += 1) {
    // Half updates of existing keys, half new keys.
    const file = join(dir, `batch-${batch}.csv`);
    await connection.run(`COPY (SELECT * FROM (SELECT * FROM (${ROWS_SQL(5000, batch * Math.floor(UPSERT_ROWS / 10))}) UNION ALL SELECT * FROM (${ROWS_SQL(5000, UPSERT_ROWS + batch * 5000)})) ORDER BY hash(id)) TO '${file}' (FORMAT csv, HEADER true)`);
    batches.push(file);
  }
  connection.closeSync();
  db.closeSync();
  const baseline = (await duckdbUpsert(dir, UPSERT_ROWS, batches)).seconds;
  const server = await ServerProcess.start();
  try {
    await createEvents(server, 'keyed', 'parquet', { engine: 'ReplacingMergeTree', engine_sorting_key: 'id' });
    const seeded = await server.upload('/v0/datasources?mode=append&name=keyed&format=parquet', 'parquet', seedFile);
    if (seeded.status !== 200) throw new Error(`seeding: ${seeded.body}`);
    const started = performance.now();
    for (const file of batches) {
      const response = await server.upload('/v0/datasources?mode=append&name=keyed&format=csv', 'csv', file);
      if (response.status !== 200) throw new Error(`upsert: ${response.body}`);
    }
    const seconds = (performance.now() - started) / 1000;
    const rows = await count(server, 'keyed');
    if (rows !== UPSERT_ROWS + 50_000) throw new Error(`upsert left ${rows} rows, expected ${UPSERT_ROWS + 50_000}`);
    report({
      name: `upsert 10 × 10 K rows into ${(UPSERT_ROWS / 1e6).toFixed(1)} M keyed rows`,
      sluice: `${seconds.toFixed(2)} s`, baseline: `${baseline.toFixed(2)} s`, ratio: round(baseline / seconds), target: '≥ 0.8×',
    });
  } finally {
    await server.stop();
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const only = values.only?.split(',');
const run = (name: string) => !only || only.includes(name);
try {
  const files = await generateData(dir, ROWS);
  if (run('csv')) await benchBulk(files, 'csv');
  if (run('ndjson')) await benchBulk(files, 'ndjson');
  if (run('parquet')) await benchBulk(files, 'parquet');
  if (run('events')) await benchEvents(100, CLIENTS);
  if (run('events1')) await benchEvents(1, CLIENTS);
  if (run('upsert')) await benchUpsert();
} finally {
  await rm(dir, { recursive: true, force: true });
}

const packageJson = JSON.parse(await readFile('package.json', 'utf8')) as { version: string; dependencies: Record<string, string> };
const machine = { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version, sluice: packageJson.version, duckdb: packageJson.dependencies['@duckdb/node-api'] };
console.table(results.map(({ details, ...result }) => ({ ...result, ...details })));
console.log(machine);
await mkdir('bench/results', { recursive: true });
await writeFile('bench/results/latest.json', `${JSON.stringify({ date: new Date().toISOString(), machine, rows: ROWS, results }, null, 2)}\n`);
const markdown = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, @duckdb/node-api ${machine.duckdb}.`,
  '',
  '| benchmark | Sluice | DuckDB alone | ratio | target | details |',
  '|---|---|---|---|---|---|',
  ...results.map((result) => `| ${result.name} | ${result.sluice} | ${result.baseline} | ${result.ratio ?? '—'} | ${result.target} | ${result.details ? Object.entries(result.details).map(([key, value]) => `${key} ${value}`).join(', ') : ''} |`),
  '',
].join('\n');
await writeFile('bench/results/latest.md', markdown);
