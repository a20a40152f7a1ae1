import type { Dialect } from '../server/dialect.ts';
import { tinybird } from './tinybird/index.ts';
import { catalyzed } from './catalyzed/index.ts';
import { feldera } from './feldera/index.ts';

/** Every HTTP dialect the server speaks. */
export const DIALECTS: Dialect[] = [tinybird, catalyzed, feldera];
