/**
 * Streams a generated CSV body, larger than the server's memory budget, into a real server
 * process as a multipart upload (`POST /v0/datasources`) and samples the server's resident
 * memory while it ingests. Prints the peak and writes bench/results/memory.json.
 *
 *   npm run bench:memory -- --gigabytes 2 --memory-limit 256MB
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { RssSampler, ServerProcess } from './server-process.ts';

const { values } = parseArgs({
  options: {
    gigabytes: { type: 'string', default: '1' },
    'memory-limit': { type: 'string', default: '256MB' },
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

const server = await ServerProcess.start({ SLUICE_MEMORY_LIMIT: values['memory-limit'] });
const baseline = await server.rssBytes();
const sampler = new RssSampler(server);
const started = performance.now();
const response = await server.upload('/v0/datasources?name=big&mode=create', 'csv', { name: 'big.csv', chunks: csvChunks() });
const seconds = (performance.now() - started) / 1000;
const peak = Math.max(sampler.stop(), baseline);
await server.stop();

const parsed = JSON.parse(response.body) as { successful_rows?: number };
const result = {
  bodyBytes,
  memoryLimit: values['memory-limit'],
  status: response.status,
  rows: parsed.successful_rows ?? null,
  seconds: Math.round(seconds * 10) / 10,
  baselineRssMB: Math.round(baseline / 1024 ** 2),
  peakRssMB: Math.round(peak / 1024 ** 2),
  bodyToPeakRatio: Math.round((bodyBytes / peak) * 10) / 10,
};
console.table(result);
await mkdir('bench/results', { recursive: true });
await writeFile('bench/results/memory.json', `${JSON.stringify(result, null, 2)}\n`);
if (response.status !== 200) {
  console.error(response.body);
  process.exit(1);
}
