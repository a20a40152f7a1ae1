#!/usr/bin/env node
// DuckDB runs queries on libuv's thread pool; give it room before the pool starts.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli/main.ts');
