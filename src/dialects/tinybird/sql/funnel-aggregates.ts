import { SluiceError } from '../../../core/errors.ts';

/**
 * ClickHouse's product-analytics aggregates, as an aggregate of the group's rows and a macro over
 * it (see core/query/funnel-functions.ts), with ClickHouse's meaning:
 * - `retention(cond1, …, condN)`: an Array(UInt8) of N flags, the first whether some row met cond1,
 *   each other whether some row met cond1 and some row (the same or another) its condition;
 * - `windowFunnel(window[, mode…])(timestamp, cond1, …, condN)`: the highest level of the funnel
 *   reached within the sliding window (UInt8), with the modes strict_order, strict_increase and
 *   allow_reentry.
 * A row with a NULL argument counts for neither, as ClickHouse skips it.
 */

/** ClickHouse's most conditions of windowFunnel and retention. */
const MAX_CONDITIONS = 32;

/**
 * windowFunnel's modes that are walked as ClickHouse walks them, and those that are not: their
 * meaning moved between ClickHouse's releases or takes another algorithm, and giving other levels
 * than Tinybird would is worse than refusing them.
 */
const MODES = new Set(['strict_order', 'strict_increase', 'allow_reentry']);
const UNSUPPORTED_MODES: Record<string, string> = {
  strict_deduplication: "ClickHouse's releases answer it differently (until a 2026 fix, a repeated event gave the number of the condition of the event before it, not the level reached)",
  strict_once: 'it keeps every chain an event may belong to, which is not implemented',
  strict: 'ClickHouse has replaced it with strict_deduplication',
};

/** The parameters of a windowFunnel call: the window's token when it is a whole number, then each mode's string (undefined when not a string). */
export interface WindowFunnelParams {
  window: string | undefined;
  modes: Array<string | undefined>;
}

const USAGE = 'windowFunnel(window[, mode, …])(timestamp, cond1, cond2, …)';

/** DuckDB's SQL for windowFunnel, from its parameters and the text of its arguments. */
export function windowFunnelSql({ window, modes }: WindowFunnelParams, args: string[]): string {
  if (window === undefined) throw new SluiceError('SQL_SYNTAX', `windowFunnel takes its window as a whole number (seconds of a DateTime, days of a Date): ${USAGE}`);
  const chosen = new Set<string>();
  for (const mode of modes) {
    if (mode === undefined) throw new SluiceError('SQL_SYNTAX', `windowFunnel takes its modes as strings: ${USAGE}`);
    if (Object.hasOwn(UNSUPPORTED_MODES, mode)) throw new SluiceError('SQL_SYNTAX', `windowFunnel's mode '${mode}' is not supported: ${UNSUPPORTED_MODES[mode]}`);
    if (!MODES.has(mode)) throw new SluiceError('SQL_SYNTAX', `windowFunnel has no mode '${mode}'; supported: ${[...MODES].join(', ')}`);
    chosen.add(mode);
  }
  if (chosen.has('allow_reentry') && !chosen.has('strict_order')) throw new SluiceError('SQL_SYNTAX', "windowFunnel's mode 'allow_reentry' requires 'strict_order'");
  const [timestamp, ...conditions] = args;
  if (timestamp === undefined || conditions.length === 0) throw new SluiceError('SQL_SYNTAX', `windowFunnel takes a timestamp and at least one condition: ${USAGE}`);
  if (conditions.length > MAX_CONDITIONS) throw new SluiceError('SQL_SYNTAX', `windowFunnel takes at most ${MAX_CONDITIONS} conditions, not ${conditions.length}`);
  const flags = ['strict_increase', 'strict_order', 'allow_reentry'].map((mode) => String(chosen.has(mode)));
  return `sluice_window_funnel(list({'t': sluice_funnel_time(${timestamp}), 'm': ${conditionBits(conditions)}}), ${window}, ${conditions.length}, ${flags.join(', ')})`;
}

/** DuckDB's SQL for retention, from the text of its conditions. */
export function retentionSql(conditions: string[]): string {
  if (conditions.length < 2) throw new SluiceError('SQL_SYNTAX', `retention takes 2 to ${MAX_CONDITIONS} conditions, not ${conditions.length}`);
  if (conditions.length > MAX_CONDITIONS) throw new SluiceError('SQL_SYNTAX', `retention takes at most ${MAX_CONDITIONS} conditions, not ${conditions.length}`);
  return `sluice_retention(bit_or(${conditionBits(conditions)}), ${conditions.length})`;
}

/** ClickHouse's sequence aggregates, which are not provided: their pattern matching is not reproduced here. */
export const SEQUENCE_AGGREGATES = new Set(['SEQUENCEMATCH', 'SEQUENCECOUNT', 'SEQUENCENEXTNODE']);

/**
 * The conditions a row meets as the bits of a number, the first condition the lowest bit: NULL
 * when one of them is NULL, so that the row counts for none (a condition is a UInt8 in ClickHouse,
 * met when not 0).
 */
function conditionBits(conditions: string[]): string {
  return conditions.map((condition, index) => `CAST(CAST((${condition}) AS BOOLEAN) AS BIGINT)${index === 0 ? '' : ` * ${2 ** index}`}`).join(' + ');
}
