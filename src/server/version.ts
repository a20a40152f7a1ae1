import { readFileSync } from 'node:fs';

/** Sluice's version, as its package.json gives it. */
export const SLUICE_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
