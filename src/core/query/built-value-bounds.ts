import { isJsonObject, JsonNumber, parseJsonLosslessly, stringifyJsonLosslessly, type JsonObject, type JsonValue } from './lossless-json.ts';
import type { SqlMacro } from './sql-functions.ts';

/**
 * The most characters or elements a scalar function of a user's SQL may build into one value.
 * Functions such as `repeat('x', 1e10)`, `lpad(s, 2e9, ' ')` or a scalar `range(0, 1e9)` build
 * a value as large as an argument asks, in one call that DuckDB can neither interrupt (a query's
 * time limit waits for it) nor count against its `memory_limit`: one such call held a server at
 * 20 GB for a minute and a half. 16 Mi is far beyond any string or list an analytics query builds;
 * a long sequence belongs in FROM (`FROM range(0, 1e9)`), where it streams and is interrupted.
 */
export const MAX_BUILT_VALUE = 16 * 1024 * 1024;

/**
 * The most character pairs a pairwise string comparison (levenshtein and its kin, which compare every
 * character of one text with every one of the other) may take on in one call: about a tenth of a
 * second of work. Two texts of 200 K characters each held a core for over a minute, past the query's
 * time limit.
 */
export const MAX_PAIRWISE_WORK = 100_000_000;

const tooLarge = (size: string, fn: string) =>
  `error(printf('Function %s would build a value of %d characters or elements, more than the ${MAX_BUILT_VALUE} a query may build', ${fn}, ${size}))`;

/** `value` when `size` is within the bound, else an error naming `fn`. */
const bounded = (size: string, value: string, fn = 'fn') => `CASE WHEN ${size} > ${MAX_BUILT_VALUE} THEN ${tooLarge(`CAST(${size} AS BIGINT)`, fn)} ELSE ${value} END`;

/**
 * A value as a number or an instant in seconds, whatever its type (through its text, as a macro's
 * body must bind for every type its call may pass): a scalar `range` takes BIGINTs, or
 * timestamps with an INTERVAL step.
 */
const asNumber = (value: string) => `TRY_CAST(CAST(${value} AS VARCHAR) AS DOUBLE)`;
const asSeconds = (value: string) => `epoch(TRY_CAST(CAST(${value} AS VARCHAR) AS TIMESTAMPTZ))`;
const stepSeconds = (step: string) => `epoch(TRY_CAST(CAST(${step} AS VARCHAR) AS INTERVAL))`;
const elements = (start: string, stop: string, step: string) =>
  `coalesce((${asNumber(stop)} - ${asNumber(start)}) / ${asNumber(step)}, (${asSeconds(stop)} - ${asSeconds(start)}) / ${stepSeconds(step)})`;

/**
 * A width or precision of eight digits or more, or one taken from an argument (`%*d`, `{:{}}`), in a
 * format string of `printf` (C's syntax) or `format` (fmt's).
 */
const LARGE_PRINTF_WIDTH = "'%[^a-zA-Z%]*(\\*|[0-9]{8,})'";
const LARGE_FORMAT_WIDTH = "'\\{[^{}]*:[^{}]*(\\{|[0-9]{8,})'";
/** The widths and precisions of every specifier of a format, summed: what padding may add to one value. */
const PRINTF_SPECIFIERS = "'%[^a-zA-Z%]*'";
const FORMAT_SPECIFIERS = "'\\{[^{}]*\\}'";
const widthsOf = (format: string, specifiers: string) =>
  `coalesce(list_sum(list_transform(regexp_extract_all(${format}, ${specifiers}), spec -> coalesce(list_sum(list_transform(regexp_extract_all(spec, '[0-9]+'), n -> CAST(n AS DOUBLE))), 0))), 0)`;

const lengthOf = (text: string) => `CAST(length(${text}) AS DOUBLE)`;

/**
 * What `replace(s, search, replacement)` builds, at most: every non-overlapping occurrence of
 * `search` replaced. Counted only when the bound on it (as if `s` were all occurrences) is too
 * large, by removing them (a pass over `s` that builds no more than `s`).
 */
const replaced = (s: string, search: string, replacement: string) => {
  const grows = `greatest(${lengthOf(replacement)} - ${lengthOf(search)}, 0)`;
  const occurrences = (count: string) => `CASE WHEN length(${search}) = 0 THEN 0 ELSE ${count} END`;
  const most = `${lengthOf(s)} + ${occurrences(`floor(${lengthOf(s)} / ${lengthOf(search)})`)} * ${grows}`;
  const exactly = `${lengthOf(s)} + ${occurrences(`(${lengthOf(s)} - ${lengthOf(`replace(${s}, ${search}, '')`)}) / ${lengthOf(search)}`)} * ${grows}`;
  return `CASE WHEN ${most} <= ${MAX_BUILT_VALUE} THEN ${most} ELSE ${exactly} END`;
};

/**
 * What `regexp_replace(s, pattern, replacement, options)` builds, at most: `s`, the replacement
 * once for each match (every one with the `g` option, of which there are at most one more than `s`
 * has characters, as the empty pattern matches between them; else the first), and for each
 * back-reference (`\0` … `\9`) in it the text matched, which over all matches is at most `s`.
 * The matches are counted only when that bound is too large.
 */
const regexpReplaced = (s: string, pattern: string, replacement: string, options: string) => {
  const references = `(${lengthOf(replacement)} - ${lengthOf(`replace(${replacement}, '\\', '')`)})`;
  const withMatches = (matches: string) => `${lengthOf(s)} + ${matches} * ${lengthOf(replacement)} + ${references} * ${lengthOf(s)}`;
  const global = `contains(${options}, 'g')`;
  const most = withMatches(`CASE WHEN ${global} THEN ${lengthOf(s)} + 1 ELSE 1 END`);
  const exactly = withMatches(`CAST(len(regexp_extract_all(${s}, ${pattern}, 0, replace(${options}, 'g', ''))) AS DOUBLE)`);
  return `CASE WHEN ${most} <= ${MAX_BUILT_VALUE} OR NOT ${global} THEN ${most} ELSE ${exactly} END`;
};

/** The checks the guard wraps arguments in, installed as macros beside the others. */
export const BOUNDING_MACROS: readonly SqlMacro[] = [
  { name: 'sluice_bounded_size', params: ['n', 'fn'], body: bounded('n', 'n') },
  // The text of a string, blob or list is at least as long as the value has characters, bytes or elements.
  { name: 'sluice_bounded_repeat', params: ['x', 'n'], body: bounded('CAST(length(CAST(x AS VARCHAR)) AS DOUBLE) * n', 'n', "'repeat'") },
  // Arguments of the wrong kind, or a zero step, give no count: DuckDB's own error then follows.
  { name: 'sluice_bounded_range1', params: ['stop', 'fn'], body: bounded(`coalesce(${asNumber('stop')}, 0)`, 'stop') },
  { name: 'sluice_bounded_range2', params: ['start', 'stop', 'fn'], body: bounded(`coalesce(${asNumber('stop')} - ${asNumber('start')}, 0)`, 'start') },
  { name: 'sluice_bounded_range3', params: ['start', 'stop', 'step', 'fn'], body: bounded(`coalesce(${elements('start', 'stop', 'step')}, 0)`, 'start') },
  { name: 'sluice_bounded_replace', params: ['s', 'search', 'replacement', 'fn'], body: bounded(replaced('s', 'search', 'replacement'), 'replacement', 'fn') },
  { name: 'sluice_bounded_regexp_replace', params: ['s', 'pattern', 'replacement', 'fn'], body: bounded(regexpReplaced('s', 'pattern', 'replacement', "''"), 'replacement', 'fn') },
  { name: 'sluice_bounded_regexp_replace', params: ['s', 'pattern', 'replacement', 'options', 'fn'], body: bounded(regexpReplaced('s', 'pattern', 'replacement', 'options'), 'replacement', 'fn') },
  {
    name: 'sluice_bounded_format', params: ['format', 'fn'],
    body: `CASE WHEN regexp_matches(format, CASE WHEN fn = 'printf' THEN ${LARGE_PRINTF_WIDTH} ELSE ${LARGE_FORMAT_WIDTH} END)
      THEN error(printf('Function %s may not take a width or precision of more than 7 digits, nor one given by an argument', fn))
      WHEN CASE WHEN fn = 'printf' THEN ${widthsOf('format', PRINTF_SPECIFIERS)} ELSE ${widthsOf('format', FORMAT_SPECIFIERS)} END > ${MAX_BUILT_VALUE}
      THEN error(printf('Function %s may not take widths and precisions that add up to more than ${MAX_BUILT_VALUE}', fn)) ELSE format END`,
  },
  {
    name: 'sluice_bounded_pairwise', params: ['a', 'b', 'fn'],
    body: `CASE WHEN CAST(length(a) AS DOUBLE) * length(b) > ${MAX_PAIRWISE_WORK}
      THEN error(printf('Function %s would compare %d pairs of characters, more than the ${MAX_PAIRWISE_WORK} a call may', fn, CAST(CAST(length(a) AS DOUBLE) * length(b) AS BIGINT))) ELSE a END`,
  },
];

/**
 * For each function that builds a value of a size its arguments ask for, how the guard bounds a
 * call: which argument it wraps in which check (see BOUNDING_MACROS), given the call's arguments.
 */
const BOUNDS: Record<string, (args: JsonValue[], name: string) => { index: number; macro: string; args: JsonValue[] } | undefined> = {
  repeat: (args) => (args.length === 2 ? { index: 1, macro: 'sluice_bounded_repeat', args: [copy(args[0]!), args[1]!] } : undefined),
  lpad: (args, name) => sizeArgument(args, 1, name),
  rpad: (args, name) => sizeArgument(args, 1, name),
  list_resize: (args, name) => sizeArgument(args, 1, name),
  array_resize: (args, name) => sizeArgument(args, 1, name),
  bar: (args, name) => sizeArgument(args, 3, name),
  range: rangeBound,
  generate_series: rangeBound,
  printf: (args, name) => (args.length > 0 ? { index: 0, macro: 'sluice_bounded_format', args: [args[0]!, NAME] } : undefined),
  format: (args, name) => (args.length > 0 ? { index: 0, macro: 'sluice_bounded_format', args: [args[0]!, NAME] } : undefined),
  replace: (args) => replaceBound(args, 3),
  replaceall: (args) => replaceBound(args, 3),
  regexp_replace: (args) => regexpReplaceBound(args, args.length === 4 ? args[3] : undefined),
  // ClickHouse's names (see CLICKHOUSE_MACROS), whose bodies call DuckDB's functions unchecked.
  replaceregexpall: (args) => regexpReplaceBound(args, text('g', new JsonNumber('0'))),
  replaceregexpone: (args) => regexpReplaceBound(args, undefined),
  levenshtein: pairwise,
  editdist3: pairwise,
  damerau_levenshtein: pairwise,
  jaro_similarity: pairwise,
  jaro_winkler_similarity: pairwise,
};

/** A replacement is checked against how much the text and what it searches for let it build. */
function replaceBound(args: JsonValue[], arity: number) {
  return args.length === arity ? { index: 2, macro: 'sluice_bounded_replace', args: [copy(args[0]!), copy(args[1]!), args[2]!, NAME] } : undefined;
}

function regexpReplaceBound(args: JsonValue[], options: JsonValue | undefined) {
  if (args.length !== 3 && !(args.length === 4 && options !== undefined)) return undefined;
  const optionArgs = options === undefined ? [] : [copy(options)];
  return { index: 2, macro: 'sluice_bounded_regexp_replace', args: [copy(args[0]!), copy(args[1]!), args[2]!, ...optionArgs, NAME] };
}

/** A comparison of every character of one text with every one of another: both lengths count. */
function pairwise(args: JsonValue[]) {
  return args.length >= 2 ? { index: 0, macro: 'sluice_bounded_pairwise', args: [args[0]!, copy(args[1]!), NAME] } : undefined;
}

/** Stands for the function's name, as a text argument of the check. */
const NAME: JsonObject = {};

function sizeArgument(args: JsonValue[], index: number, name: string) {
  return args.length > index ? { index, macro: 'sluice_bounded_size', args: [args[index]!, NAME] } : undefined;
}

function rangeBound(args: JsonValue[], name: string) {
  if (args.length < 1 || args.length > 3) return undefined;
  // The first argument is passed through the check, the others only read by it.
  return { index: 0, macro: `sluice_bounded_range${args.length}`, args: [args[0]!, ...args.slice(1).map(copy), NAME] };
}

/**
 * Bounds a call of a scalar function that builds a value as large as its arguments ask (see
 * MAX_BUILT_VALUE), in place: its size argument is wrapped in a check that passes it through, or
 * fails the query with a message naming the function. Other calls are left as they are. Arguments
 * the check reads besides the one it wraps are copies, so that a walk rewriting the tree in place
 * meets each node once.
 */
export function boundBuiltValue(call: JsonObject, name: string): void {
  const args = Array.isArray(call['children']) ? call['children'] : [];
  const bound = Object.hasOwn(BOUNDS, name) ? BOUNDS[name]!(args, name) : undefined;
  if (!bound) return;
  const location = call['query_location'] ?? new JsonNumber('0');
  args[bound.index] = functionCall(bound.macro, bound.args.map((arg) => (arg === NAME ? text(name, location) : arg)), location);
}

/** A tree's deep copy (numbers stay JsonNumbers). */
function copy(value: JsonValue): JsonValue {
  return parseJsonLosslessly(stringifyJsonLosslessly(value));
}

function functionCall(name: string, children: JsonValue[], location: JsonValue): JsonObject {
  return {
    class: 'FUNCTION', type: 'FUNCTION', alias: '', query_location: location, function_name: name, schema: '', catalog: '',
    children, filter: null, order_bys: { type: 'ORDER_MODIFIER', orders: [] }, distinct: false, is_operator: false, export_state: false,
  };
}

function text(value: string, location: JsonValue): JsonObject {
  return { class: 'CONSTANT', type: 'VALUE_CONSTANT', alias: '', query_location: location, value: { type: { id: 'VARCHAR', type_info: null }, is_null: false, value } };
}

/**
 * How a bounded call of `name` with `arity` arguments holds each argument once rewritten: for
 * each, given how many times the check's body names each of its parameters, how many times the
 * argument is in the call and its check (see checkBindingCost). Undefined for a call left as it is.
 */
export function boundedArgumentUses(name: string, arity: number): { macro: string; macroArity: number; uses: Array<(checkUses: readonly number[]) => number> } | undefined {
  if (!Object.hasOwn(BOUNDS, name)) return undefined;
  const probes: JsonObject[] = Array.from({ length: arity }, (_, index) => ({ probe: new JsonNumber(String(index)) }));
  const bound = BOUNDS[name]!(probes, name);
  if (!bound) return undefined;
  const probeOf = (arg: JsonValue) => (isJsonObject(arg) && arg['probe'] instanceof JsonNumber ? Number(arg['probe'].text) : -1);
  return {
    macro: bound.macro,
    macroArity: bound.args.length,
    uses: probes.map((_, index) => (checkUses) =>
      (index === bound.index ? 0 : 1) + bound.args.reduce<number>((sum, arg, at) => sum + (probeOf(arg) === index ? (checkUses[at] ?? 1) : 0), 0)),
  };
}
