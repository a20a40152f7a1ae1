/**
 * Streams a generated CSV body, larger than the server's memory budget, into a real server
 * process as a multipart upload (`POST /v0/datasources`) and samples the server's resident
 * memory while it ingests. Runs `--repeat` times, each on a fresh server, as the peak of identical
 * runs varies by tens of megabytes; prints each run and writes bench/results/memory.json with the
 * highest peak (what a memory budget must hold) and every run's.
 *
 *   npm run bench:memory -- --gigabytes 2 --memory-limit 256MB --repeat 3
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { RssSampler, ServerProcess } from './server-process.ts';

const { values } = parseArgs({
  options: {
    gigabytes: { type: 'string', default: '1' },
    'memory-limit': { type: 'string', default: '256MB' },
    repeat: { type: 'string', default: '1' },
  },
});
const bodyBytes = Math.round(Number(values.gigabytes) * 1024 ** 3);

// One line: id, timestamp, user, event type, amount, country (about 50 bytes).
const COUNTRIES = ['ES', 'FR', 'DE', 'US', 'JP', 'BR'];
function* csvChunks(): Generator<Buffer> {
  const header = 'id,ts,user_id,event,amount,country\n';
  let written = header.length;
  let id = 0;
  yield Buffer.from(header);
  while (written < bodyBytes) {
    let chunk = '';
    for (let line = 0; line < 10_000; line += 1) {
      id += 1;
      chunk += `${id},2024-01-01 00:${String(id % 60).padStart(2, '0')}:00,user_${id % 100_000},${id % 3 ? 'view' : 'click'},${(id % 1000) / 10},${COUNTRIES[id % 6]}\n`;
    }
    written += chunk.length;
    yield Buffer.from(chunk);
  }
}

interface Run {
  status: number;
  body: string;
  rows: number | null;
  seconds: number;
  baselineRssMB: number;
  peakRssMB: number;
}

async function ingest(): Promise<Run> {
  const server = await ServerProcess.start({ SLUICE_MEMORY_LIMIT: values['memory-limit'] });
  const baseline = await server.rssBytes();
  const sampler = new RssSampler(server);
  const started = performance.now();
  const response = await server.upload('/v0/datasources?name=big&mode=create', 'csv', { name: 'big.csv', chunks: csvChunks() });
  const seconds = (performance.now() - started) / 1000;
  const peak = Math.max(sampler.stop(), baseline);
  await server.stop();
  const parsed = response.status === 200 ? (JSON.parse(response.body) as { successful_rows?: number }) : {};
  const megabytes = (bytes: number) => Math.round(bytes / 1024 ** 2);
  return {
    status: response.status, body: response.body, rows: parsed.successful_rows ?? null,
    seconds: Math.round(seconds * 10) / 10, baselineRssMB: megabytes(baseline), peakRssMB: megabytes(peak),
  };
}

const runs: Run[] = [];
for (let run = 1; run <= Number(values.repeat); run += 1) {
  const result = await ingest();
  runs.push(result);
  console.log(`run ${run}: status ${result.status}, ${result.rows} rows in ${result.seconds} s, RSS ${result.baselineRssMB} MB at rest, peak ${result.peakRssMB} MB`);
  if (result.status !== 200) {
    console.error(result.body);
    process.exit(1);
  }
}
const peak = Math.max(...runs.map((run) => run.peakRssMB));
const result = {
  bodyBytes,
  memoryLimit: values['memory-limit'],
  rows: runs[0]!.rows,
  seconds: runs.map((run) => run.seconds),
  baselineRssMB: runs.map((run) => run.baselineRssMB),
  peakRssMB: peak,
  peakRssMBRuns: runs.map((run) => run.peakRssMB),
  bodyToPeakRatio: Math.round((bodyBytes / (peak * 1024 ** 2)) * 10) / 10,
};
console.log(`peak RSS ${peak} MB over ${runs.length} run(s) (${result.peakRssMBRuns.join(', ')} MB), DuckDB memory_limit ${result.memoryLimit}, body ${(bodyBytes / 1024 ** 3).toFixed(1)} GB`);
await mkdir('bench/results', { recursive: true });
await writeFile('bench/results/memory.json', `${JSON.stringify(result, null, 2)}\n`);
