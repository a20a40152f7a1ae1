import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { makeDataDir } from '../helpers/test-server.ts';

/** `sluice serve` as a user runs it: its own process, flags and environment. */
async function serve(dataDir: string): Promise<{ url: string; stop(signal: NodeJS.Signals): Promise<number | null> }> {
  const child = spawn(process.execPath, ['bin/sluice.js', 'serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir], {
    env: { ...process.env, SLUICE_ADMIN_TOKEN: 'cli-token', SLUICE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Sluice is serving on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
  });
  return {
    url,
    stop: (signal) => new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.kill(signal);
    }),
  };
}

test('sluice serve stops cleanly on SIGTERM and SIGINT, keeping every acknowledged row', async () => {
  const dataDir = await makeDataDir();
  try {
    const first = await serve(dataDir);
    const headers = { authorization: 'Bearer cli-token' };
    assert.deepEqual(await (await fetch(`${first.url}/health`)).json(), { status: 'ok' });
    const written = await fetch(`${first.url}/v0/events?name=cli_events&wait=true`, { method: 'POST', headers, body: '{"n": 1}\n{"n": 2}\n' });
    assert.equal(written.status, 200);
    assert.equal(await first.stop('SIGTERM'), 0);

    const second = await serve(dataDir);
    const rows = await (await fetch(`${second.url}/v0/sql?q=${encodeURIComponent('SELECT sum(n) AS total FROM cli_events')}`, { headers })).json();
    assert.deepEqual(rows.data, [{ total: 3 }]);
    assert.equal(await second.stop('SIGINT'), 0);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('rows acknowledged before a kill -9 are there after a restart', async () => {
  const dataDir = await makeDataDir();
  try {
    const first = await serve(dataDir);
    const headers = { authorization: 'Bearer cli-token' };
    const acknowledged = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        fetch(`${first.url}/v0/events?name=crash_events&wait=true`, { method: 'POST', headers, body: `{"n": ${index}}\n` }).then((response) => response.status),
      ),
    );
    assert.ok(acknowledged.every((status) => status === 200));
    assert.notEqual(await first.stop('SIGKILL'), 0);

    const second = await serve(dataDir);
    const rows = await (await fetch(`${second.url}/v0/sql?q=${encodeURIComponent('SELECT count(*) AS n, sum(n) AS total FROM crash_events')}`, { headers })).json();
    assert.deepEqual(rows.data, [{ n: 20, total: 190 }]);
    assert.equal(await second.stop('SIGTERM'), 0);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
