import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * Random identifiers: 21 characters of [0-9a-z] (about 108 bits). Lower case only, so an id is
 * also a safe storage-engine table name whatever the engine's case rules.
 */
export function newId(length = 21): string {
  let id = '';
  while (id.length < length) {
    for (const byte of randomBytes(length)) {
      // 252 is the largest multiple of 36 below 256: skipping the rest keeps every character equally likely.
      if (byte < 252 && id.length < length) id += ALPHABET[byte % 36];
    }
  }
  return id;
}
