/**
 * Streams a generated CSV body, larger than the server's memory budget, into a real server
 * process as a multipart upload (`POST /v0/datasources`) and samples the server's resident
 * memory while it ingests. Prints the peak and writes bench/results/memory.json.
 *
 *   npm run bench:memory -- --gigabytes 2 --memory-limit 256MB
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    gigabytes: { type: 'string', default: '1' },
    'memory-limit': { type: 'string', default: '256MB' },
  },
});
const bodyBytes = Math.round(Number(values.gigabytes) * 1024 ** 3);
const token = 'memory-bench-token';
const dataDir = await mkdtemp(join(tmpdir(), 'sluice-memory-'));

const server = spawn(process.execPath, ['bin/sluice.js', 'serve', '--port', '0', '--data', dataDir, '--log-level', 'info'], {
  env: { ...process.env, SLUICE_ADMIN_TOKEN: token, SLUICE_MEMORY_LIMIT: values['memory-limit'], SLUICE_PORT: '0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise<string>((resolve, reject) => {
  let output = '';
  server.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const match = /Sluice is serving on (http:\/\/\S+)/.exec(output);
    if (match) resolve(match[1]!);
  });
  server.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
});

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

const baseline = await rssBytes(server.pid!);
let peak = baseline;
const sampler = setInterval(() => {
  rssBytes(server.pid!).then((rss) => (peak = Math.max(peak, rss)), () => undefined);
}, 50);

// One line: id, timestamp, user, event type, amount, country (about 80 bytes).
const COUNTRIES = ['ES', 'FR', 'DE', 'US', 'JP', 'BR'];
function* csvChunks(): Generator<Buffer> {
  let written = 0;
  let id = 0;
  const header = 'id,ts,user_id,event,amount,country\n';
  written += header.length;
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

const boundary = 'sluice-memory-bench';
const started = performance.now();
const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
  const upload = request(`${url}/v0/datasources?name=big&mode=create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' },
  }, (res) => {
    let body = '';
    res.on('data', (chunk: Buffer) => (body += chunk.toString()));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
  });
  upload.on('error', reject);
  (async () => {
    upload.write(`--${boundary}\r\nContent-Disposition: form-data; name="csv"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n`);
    for (const chunk of csvChunks()) if (!upload.write(chunk)) await new Promise((resume) => upload.once('drain', resume));
    upload.end(`\r\n--${boundary}--\r\n`);
  })().catch(reject);
});
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
server.kill('SIGTERM');
await new Promise((resolve) => server.once('exit', resolve));
await rm(dataDir, { recursive: true, force: true });

const parsed = JSON.parse(response.body) as { successful_rows?: number; error?: unknown };
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
