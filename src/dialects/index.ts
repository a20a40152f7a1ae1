import type { Dialect } from '../server/dialect.ts';
import { tinybird } from './tinybird/index.ts';

/** Every HTTP dialect the server speaks. */
export const DIALECTS: Dialect[] = [tinybird];
