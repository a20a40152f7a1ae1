// Loaded with `node --import`: records in the file named by SLUICE_TEST_PACKAGE_LOG the name of each
// package the process imports, once, as it imports it. It registers itself as the module hooks,
// which run on their own thread.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) register(import.meta.url, { data: { log: process.env.SLUICE_TEST_PACKAGE_LOG } });

let log;
const seen = new Set();

export function initialize(data) {
  log = data.log;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  const path = resolved.url.split('/node_modules/')[1];
  if (path !== undefined && log !== undefined) {
    const parts = path.split('/');
    const name = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
    if (!seen.has(name)) {
      seen.add(name);
      appendFileSync(log, `${name}\n`);
    }
  }
  return resolved;
}
