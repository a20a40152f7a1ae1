import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { TestCore } from './helpers/test-server.ts';

test('config defaults match the documented contract', () => {
  const config = loadConfig({}, {});
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8080);
  assert.equal(config.dataDir, resolve('./data'));
  assert.equal(config.adminToken, undefined);
});

test('environment variables set the options and explicit overrides win over them', () => {
  const env = { SLUICE_HOST: '0.0.0.0', SLUICE_PORT: '9000', SLUICE_DATA_DIR: '/tmp/x', SLUICE_ADMIN_TOKEN: 'secret', SLUICE_MAX_BODY_BYTES: '8MB' };
  const config = loadConfig({}, env);
  assert.deepEqual([config.host, config.port, config.dataDir, config.adminToken, config.maxRequestBodyBytes], ['0.0.0.0', 9000, '/tmp/x', 'secret', 8 * 1024 * 1024]);
  assert.equal(loadConfig({ port: 1234 }, env).port, 1234);
});

test('an invalid environment value is refused naming the variable', () => {
  assert.throws(() => loadConfig({}, { SLUICE_PORT: 'eighty' }), /SLUICE_PORT: invalid port "eighty"/);
  assert.throws(() => loadConfig({}, { SLUICE_MAX_BODY_BYTES: 'lots' }), /SLUICE_MAX_BODY_BYTES/);
  assert.throws(() => loadConfig({}, { SLUICE_PROCESS_MEMORY_LIMIT: 'half' }), /SLUICE_PROCESS_MEMORY_LIMIT: invalid size "half"/);
  // DuckDB's own sizes take a unit; DuckDB refuses another with "Failed to set config" alone.
  for (const [name, value] of [['SLUICE_MEMORY_LIMIT', 'lots'], ['SLUICE_MEMORY_LIMIT', '80%'], ['SLUICE_MEMORY_LIMIT', '100000'], ['SLUICE_CHECKPOINT_THRESHOLD', 'zz']]) {
    assert.throws(() => loadConfig({}, { [name!]: value! }), new RegExp(`${name}: invalid size "${value}"`));
  }
  assert.equal(loadConfig({}, { SLUICE_MEMORY_LIMIT: '1.5 GiB' }).memoryLimit, '1.5 GiB');
});

test('a value the server could not work with is refused at start, naming the variable and the bound: timers past 24.8 days, thousands of threads, sizes too small, an unknown log level or flag, an empty port', () => {
  const refusals: Array<[Record<string, string>, RegExp]> = [
    [{ SLUICE_QUERY_TIMEOUT_MS: '3000000000' }, /SLUICE_QUERY_TIMEOUT_MS: 3000000000 is more than 2147483647/],
    [{ SLUICE_PAUSED_INGRESS_TIMEOUT_MS: '2147483648' }, /SLUICE_PAUSED_INGRESS_TIMEOUT_MS: 2147483648 is more than 2147483647/],
    [{ SLUICE_THREADS: '100000' }, /SLUICE_THREADS: 100000 is more than 1024/],
    [{ SLUICE_IDEMPOTENCY_RETENTION_HOURS: '99999999999' }, /SLUICE_IDEMPOTENCY_RETENTION_HOURS: 99999999999 is more than 876000/],
    [{ SLUICE_MAX_BODY_BYTES: '0' }, /SLUICE_MAX_BODY_BYTES: "0" is less than the least that works, 1 bytes/],
    [{ SLUICE_PROCESS_MEMORY_LIMIT: '1MB' }, /SLUICE_PROCESS_MEMORY_LIMIT: "1MB" is less than the least that works/],
    [{ SLUICE_MEMORY_LIMIT: '1KB' }, /SLUICE_MEMORY_LIMIT: "1KB" is less than the least DuckDB works with, 24MB/],
    [{ SLUICE_LOG_LEVEL: 'verbose' }, /SLUICE_LOG_LEVEL: invalid log level "verbose"/],
    [{ SLUICE_ALLOW_PRIVATE_URLS: 'maybe' }, /SLUICE_ALLOW_PRIVATE_URLS: invalid flag "maybe"/],
    [{ SLUICE_PORT: ' ' }, /SLUICE_PORT: invalid port " "/],
  ];
  for (const [env, refusal] of refusals) assert.throws(() => loadConfig({}, env), refusal, JSON.stringify(env));
  const edges = loadConfig({}, { SLUICE_QUERY_TIMEOUT_MS: '2147483647', SLUICE_THREADS: '1024', SLUICE_MEMORY_LIMIT: '24MB', SLUICE_ALLOW_PRIVATE_URLS: 'No', SLUICE_LOG_LEVEL: 'silent' });
  assert.deepEqual([edges.queryTimeoutMs, edges.threads, edges.memoryLimit, edges.allowPrivateUrls, edges.logLevel], [2147483647, 1024, '24MB', false, 'silent']);
});

test('the process memory cap is a size or off, and unset until the server derives it from the machine', () => {
  assert.equal(loadConfig({}, { SLUICE_PROCESS_MEMORY_LIMIT: '8GB' }).processMemoryLimit, 8 * 1024 ** 3);
  assert.equal(loadConfig({}, { SLUICE_PROCESS_MEMORY_LIMIT: 'OFF' }).processMemoryLimit, 'off');
  assert.equal(loadConfig({}, {}).processMemoryLimit, undefined);
});

test("DuckDB's memory limit and checkpoint threshold reach the engine", async () => {
  const { memoryLimit, checkpointThreshold } = loadConfig({}, { SLUICE_MEMORY_LIMIT: '300MB', SLUICE_CHECKPOINT_THRESHOLD: '256MB' });
  const harness = await TestCore.open({ memoryLimit, checkpointThreshold });
  try {
    const [settings] = await harness.core.storage.query(
      "SELECT current_setting('memory_limit') AS memory_limit, current_setting('checkpoint_threshold') AS checkpoint_threshold",
    );
    assert.deepEqual(settings, { memory_limit: '286.1 MiB', checkpoint_threshold: '244.1 MiB' });
  } finally {
    await harness.close();
  }
});
