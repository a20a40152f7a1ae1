import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Random bytes drawn a few kilobytes at a time: one call into the system per id costs more than the id. */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomByte(): number {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  return pool[poolOffset++]!;
}

/**
 * Random identifiers: 21 characters of [0-9a-z] (about 108 bits). Lower case only, so an id is
 * also a safe storage-engine table name whatever the engine's case rules.
 */
export function newId(length = 21): string {
  let id = '';
  while (id.length < length) {
    const byte = randomByte();
    // 252 is the largest multiple of 36 below 256: skipping the rest keeps every character equally likely.
    if (byte < 252) id += ALPHABET[byte % 36];
  }
  return id;
}
