import type { SqlMacro } from './sql-functions.ts';

/**
 * The macros behind ClickHouse's product-analytics aggregates, which the Tinybird dialect rewrites
 * into an aggregate of the group's rows and one of these over it (see
 * dialects/tinybird/sql/funnel-aggregates.ts).
 *
 * windowFunnel in ClickHouse walks the group's events in order of (timestamp, condition number),
 * keeping per level the first timestamp of the chain that last reached it. A walk of one event at a
 * time (list_reduce) takes seconds per million events in DuckDB, so the walk is done a level at a
 * time instead: the events that reach level k are those of condition k whose latest level k-1 event
 * before them (by a merge of the two sorted lists: one sort) started within the window. That is the
 * same walk, as a level's state only ever moves to a later chain. A level costs a sort of its
 * events; a group costs a sort per condition.
 *
 * Lambdas here capture only lambda parameters and constants: DuckDB evaluates a captured
 * expression once per element, which over a group's list of events is quadratic. Their parameters
 * are named apart from a query's tables and columns (`sluice_…`), and read a struct's field as
 * `s['f']`: in a HAVING clause DuckDB binds `s.f` inside a lambda as a column `f`.
 */

/** A timestamp as ClickHouse counts it: a Date in days, a DateTime in (whole) seconds, an integer as itself. */
const FUNNEL_TIME = `CASE
  WHEN typeof(x) = 'DATE' THEN CAST(date_diff('day', DATE '1970-01-01', TRY_CAST(x AS DATE)) AS BIGINT)
  WHEN typeof(x) LIKE 'TIMESTAMP%' THEN CAST(epoch(date_trunc('second', TRY_CAST(x AS TIMESTAMP))) AS BIGINT)
  WHEN typeof(x) IN ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'HUGEINT', 'UHUGEINT')
    THEN coalesce(TRY_CAST(x AS BIGINT), CASE WHEN x IS NOT NULL THEN error('windowFunnel: timestamp ' || CAST(x AS VARCHAR) || ' is out of range') END)
  ELSE error('windowFunnel takes a Date, a DateTime or an integer as its timestamp, not ' || typeof(x)) END`;

/** The timestamps of the events (sorted `{t, m}`, m the bits of the conditions met) that meet a condition (its bit's number from 0). */
const timesOf = (bit: string) => `list_filter(list_transform(events, sluice_e -> CASE WHEN (sluice_e['m'] >> ${bit}) & 1 = 1 THEN sluice_e['t'] END), sluice_t -> sluice_t IS NOT NULL)`;

/**
 * The state after level 1, in the shape of every level's: `x` the level's chains as they are
 * reached ({t: when, f: the chain's first timestamp}), `u` when each level reached so far was first
 * reached, `stop` where a strict_order walk stops ({t, c}: the event's timestamp and condition; t
 * NULL while none): at the first event that meets no condition after the first event of level 1.
 */
const START = `list_transform([${timesOf('0')}], sluice_b -> {
    'k': 1,
    'x': list_transform(sluice_b, sluice_v -> {'t': sluice_v, 'f': sluice_v}),
    'u': sluice_b[1:1],
    'stop': {'t': CASE WHEN strict_order THEN list_filter(events, sluice_e -> sluice_e['m'] = 0 AND sluice_e['t'] > sluice_b[1])[1]['t'] END, 'c': 0}})[1]`;

/**
 * The chains of `previous` (a level's, sorted) that the sorted timestamps `times` of the next
 * condition extend: each timestamp takes the latest chain at or before it (strictly before, with
 * no chain of the same timestamp, for strict_increase, whose chain must end earlier than the event
 * it takes), if that chain started within `w` of it. One sort of both lists tagged and numbered
 * gives for each timestamp how many chains precede it.
 */
const CHAINED = `list_filter(list_transform(
    list_sort(list_concat(
      list_transform(previous, (sluice_a, sluice_j) -> {'v': sluice_a['t'], 'g': CASE WHEN strict_increase THEN 1 ELSE 0 END, 'i': sluice_j}),
      list_transform(times, (sluice_v, sluice_i) -> {'v': sluice_v, 'g': CASE WHEN strict_increase THEN 0 ELSE 1 END, 'i': sluice_i}))),
    (sluice_s, sluice_p) -> CASE WHEN sluice_s['g'] = CASE WHEN strict_increase THEN 0 ELSE 1 END AND sluice_p - sluice_s['i'] >= 1
      AND (NOT strict_increase OR coalesce(previous[sluice_p - sluice_s['i'] + 1]['t'] != sluice_s['v'], true))
      THEN {'t': sluice_s['v'], 'f': previous[sluice_p - sluice_s['i']]['f']} END),
    sluice_y -> sluice_y IS NOT NULL AND CAST(sluice_y['t'] AS HUGEINT) - sluice_y['f'] <= w)`;

/**
 * The state after level k from the state after level k-1. A strict_order walk stops (without
 * allow_reentry) at an event of condition k met after level 1 was first reached but before level
 * k-1 was.
 */
const STEP = `list_transform([${timesOf('(k - 1)')}], sluice_b -> list_transform([acc['x']], sluice_a ->
    list_transform([sluice_funnel_chained(sluice_a, sluice_b, w, strict_increase)], sluice_x -> {
      'k': k,
      'x': sluice_x,
      'u': CASE WHEN len(sluice_x) > 0 THEN list_append(acc['u'], sluice_x[1]['t']) ELSE acc['u'] END,
      'stop': CASE WHEN strict_order AND NOT allow_reentry AND len(acc['u']) > 0 THEN
          list_transform([list_filter(sluice_b, sluice_v -> sluice_v >= acc['u'][1] AND (len(sluice_a) = 0 OR sluice_v < sluice_a[1]['t']))[1]], sluice_c ->
            CASE WHEN sluice_c IS NOT NULL AND (acc['stop']['t'] IS NULL OR sluice_c < acc['stop']['t']) THEN {'t': sluice_c, 'c': k} ELSE acc['stop'] END)[1]
        ELSE acc['stop'] END})[1])[1])[1]`;

/** A level's state with nothing in it: list_reduce takes its levels in the shape of its state. */
const EMPTY_LEVEL = `{'k': CAST(sluice_k AS INTEGER), 'x': CAST([] AS STRUCT(t BIGINT, f BIGINT)[]), 'u': CAST([] AS BIGINT[]), 'stop': {'t': CAST(NULL AS BIGINT), 'c': 0}}`;

/**
 * windowFunnel's level: how many levels were reached (for strict_order, before the walk stopped).
 * As ClickHouse skips a row with a NULL argument, a group whose every row has one gives NULL.
 */
const WINDOW_FUNNEL = `list_transform([coalesce(events, [])], sluice_all ->
  list_transform([list_sort(list_filter(sluice_all, sluice_e -> sluice_e['t'] IS NOT NULL AND sluice_e['m'] IS NOT NULL))], sluice_events ->
    list_transform([list_reduce(list_transform(range(2, n + 1), sluice_k -> ${EMPTY_LEVEL}),
        (sluice_acc, sluice_level) -> sluice_funnel_step(sluice_acc, sluice_events, sluice_level['k'], w, strict_increase, strict_order, allow_reentry),
        sluice_funnel_start(sluice_events, strict_order))], sluice_r ->
      CASE WHEN len(sluice_all) > 0 AND len(sluice_events) = 0 THEN NULL
        WHEN NOT strict_order OR sluice_r['stop']['t'] IS NULL THEN CAST(len(sluice_r['u']) AS UTINYINT)
        ELSE CAST(len(list_filter(sluice_r['u'], (sluice_u, sluice_j) -> sluice_u < sluice_r['stop']['t'] OR (sluice_u = sluice_r['stop']['t'] AND sluice_j < sluice_r['stop']['c']))) AS UTINYINT) END)[1])[1])[1]`;

export const FUNNEL_MACROS: readonly SqlMacro[] = [
  { name: 'sluice_funnel_time', params: ['x'], body: FUNNEL_TIME },
  { name: 'sluice_funnel_start', params: ['events', 'strict_order'], body: START },
  { name: 'sluice_funnel_chained', params: ['previous', 'times', 'w', 'strict_increase'], body: CHAINED },
  { name: 'sluice_funnel_step', params: ['acc', 'events', 'k', 'w', 'strict_increase', 'strict_order', 'allow_reentry'], body: STEP },
  // The list of the group's events ({t, m}, in any order) and the window, the number of conditions and the modes.
  { name: 'sluice_window_funnel', params: ['events', 'w', 'n', 'strict_increase', 'strict_order', 'allow_reentry'], body: WINDOW_FUNNEL },
  // retention's flags from the bits of the conditions met by some row: the first, then each with the first.
  {
    name: 'sluice_retention', params: ['met', 'n'],
    body: 'list_transform([coalesce(met, 0)], sluice_m -> list_transform(range(n), sluice_i -> CAST((sluice_m & 1) * ((sluice_m >> sluice_i) & 1) AS UTINYINT)))[1]',
  },
];
