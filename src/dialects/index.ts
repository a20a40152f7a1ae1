import type { Dialect } from '../server/dialect.ts';

/** Every HTTP dialect the server speaks. */
export const DIALECTS: Dialect[] = [];
