import type { Span, TokenReader } from '../../../core/query/sql-rewriter.ts';
import { columnsRead, type ColumnsOf } from './left-join-defaults.ts';
import type { WithAlias } from './with-aliases.ts';

/** A value's kind, where the rewrite can tell: ClickHouse's DateTime (DuckDB's TIMESTAMP), Date, or a number. */
type TimeKind = 'time' | 'date' | 'number';

/** Calls that give a DateTime or a Date whatever they are given. */
const KIND_CALLS: Record<string, TimeKind> = {
  ...Object.fromEntries([
    'NOW', 'NOW64', 'TODATETIME', 'TODATETIME64', 'PARSEDATETIMEBESTEFFORT', 'PARSEDATETIMEBESTEFFORTORNULL', 'PARSEDATETIMEBESTEFFORTORZERO',
    'PARSEDATETIMEBESTEFFORTUS', 'PARSEDATETIMEBESTEFFORTUSORNULL', 'PARSEDATETIMEBESTEFFORTUSORZERO', 'FROMUNIXTIMESTAMP', 'TOSTARTOFSECOND', 'TOSTARTOFMINUTE',
    'TOSTARTOFFIVEMINUTES', 'TOSTARTOFFIVEMINUTE', 'TOSTARTOFTENMINUTES', 'TOSTARTOFFIFTEENMINUTES', 'TOSTARTOFHOUR', 'TOSTARTOFDAY',
  ].map((name) => [name, 'time' as const])),
  ...Object.fromEntries([
    'TODATE', 'TODATE32', 'TODAY', 'YESTERDAY', 'TOMONDAY', 'TOSTARTOFWEEK', 'TOSTARTOFMONTH', 'TOSTARTOFQUARTER', 'TOSTARTOFYEAR', 'TOLASTDAYOFMONTH',
  ].map((name) => [name, 'date' as const])),
};
/** Calls that give a value of their first argument's kind: a DateTime of a DateTime, a Date of a Date. */
const FIRST_ARGUMENT_CALLS = new Set([
  'MIN', 'MAX', 'ANY', 'ANY_VALUE', 'ANYLAST', 'ANYHEAVY', 'ARGMIN', 'ARGMAX', 'MINIF', 'MAXIF', 'ANYIF', 'COALESCE', 'IFNULL', 'ADDDAYS',
  'ADDWEEKS', 'ADDMONTHS', 'ADDYEARS', 'SUBTRACTDAYS', 'SUBTRACTWEEKS', 'SUBTRACTMONTHS', 'SUBTRACTYEARS',
]);
/** Intervals that move a Date to a Date in ClickHouse (smaller ones make it a DateTime). */
const DATE_UNITS = new Set(['DAY', 'DAYS', 'WEEK', 'WEEKS', 'MONTH', 'MONTHS', 'QUARTER', 'QUARTERS', 'YEAR', 'YEARS']);
/** ClickHouse's calls that move their first argument by whole days or more (`addDays(d, 1)`): of a Date, a Date. */
const DATE_SHIFT_CALLS = new Set(['DAYS', 'WEEKS', 'MONTHS', 'QUARTERS', 'YEARS'].flatMap((unit) => [`ADD${unit}`, `SUBTRACT${unit}`]));
/** ClickHouse's dateAdd and its other names, as `dateAdd(unit, n, t)` or `dateAdd(t, INTERVAL n unit)`. */
const UNIT_SHIFT_CALLS = new Set(['DATEADD', 'DATE_ADD', 'TIMESTAMPADD', 'TIMESTAMP_ADD', 'DATESUB', 'DATE_SUB', 'TIMESTAMPSUB', 'TIMESTAMP_SUB']);
/** What may not stand right before an operation's left side, or right after its right side: it would bind tighter. */
const TIGHTER_BEFORE = new Set(['*', '/', '%', '-', '+', '||', '.', '::']);
const TIGHTER_AFTER = new Set(['*', '/', '%', '.', '[', '::', '(']);

/**
 * Arithmetic on times where ClickHouse and DuckDB differ, rewritten where the rewrite can tell the
 * operands' kinds without types (see `timeKinds`), by the left side's first token:
 * - `difference`: ClickHouse's `DateTime - DateTime` is a number of seconds, DuckDB's an INTERVAL,
 *   which neither compares with nor falls back to a number (`coalesce(avg(last - first), 0)` fails);
 *   it becomes `date_diff('second', right, left)`;
 * - `dateShift`: ClickHouse's `Date ± INTERVAL n DAY` (or WEEK, MONTH, QUARTER, YEAR) is a Date,
 *   DuckDB's a TIMESTAMP (shown with its midnight); the whole is cast back to a DATE. So are the
 *   calls that move a Date by such units: `addDays(d, 1)`, `dateAdd(month, 1, d)`, `timestampAdd(d,
 *   INTERVAL 1 WEEK)`;
 * - `seconds`: ClickHouse's `DateTime ± n` (and `n + DateTime`) moves the time by n seconds (`now() -
 *   3600`, `t + 60 * 60 * 24`), which DuckDB has no operator for; the number, keyed by its own first
 *   token, becomes an interval of that many seconds. Its result is a DateTime again, so `now() - 3600
 *   - 60` chains;
 * - `epoch`: a number compared with a DateTime (`t > 1704103200`) is that many seconds since the
 *   epoch, as ClickHouse reads it; DuckDB cannot compare a TIMESTAMP with a number.
 */
export type TimeArithmetic = { kind: 'difference'; left: Span; right: Span } | { kind: 'dateShift'; span: Span } | { kind: 'seconds'; span: Span } | { kind: 'epoch'; span: Span };

/** The characters of comparison operators (`=`, `<`, `>=`, `!=`, `<>` …): each is a token of its own. */
const COMPARISON_CHARACTERS = new Set(['=', '<', '>', '!']);

export function timeArithmetic(reader: TokenReader, columnsOf: ColumnsOf, items: Span[], withs: WithAlias[]): Map<number, TimeArithmetic> {
  const found = new Map<number, TimeArithmetic>();
  const { tokens } = reader;
  const operates = tokens.some((token, index) => token.kind === 'symbol' && (token.text === '-' || token.text === '+') && index > 0);
  const shifts = tokens.some((_token, index) => reader.isSymbol(index + 1, '(') && isShiftCall(reader.word(index)));
  const compares = tokens.some((token) => token.kind === 'number') && tokens.some((token) => token.kind === 'symbol' && COMPARISON_CHARACTERS.has(token.text));
  if (!operates && !shifts && !compares) return found;
  const kindOf = timeKinds(reader, columnsOf, items, withs);
  // `DateTime < n` (or `n < DateTime`): ClickHouse reads the number as that many seconds since the
  // epoch, where DuckDB cannot compare the two; the number becomes that time.
  for (let number = 0; compares && number < tokens.length; number += 1) {
    if (tokens[number]!.kind !== 'number') continue;
    const isComparison = (at: number) => tokens[at]?.kind === 'symbol' && COMPARISON_CHARACTERS.has(tokens[at]!.text);
    let before = number - 1;
    while (isComparison(before - 1)) before -= 1;
    const left = isComparison(number - 1) ? operandBefore(reader, before) : undefined;
    let after = number + 1;
    while (isComparison(after)) after += 1;
    const right = isComparison(number + 1) ? operandAfter(reader, after) : undefined;
    // The number alone is the operand (`t < 1704103200 + 3600` compares with a sum, left as it is).
    const bounds = (at: number) => tokens[at] === undefined || tokens[at]!.kind === 'word' || [')', '(', ',', ';'].some((symbol) => reader.isSymbol(at, symbol)) || isComparison(at);
    if (!bounds(number - 1) || !bounds(number + 1)) continue;
    // …and so is the DateTime: `last - first > 60` compares a number of seconds.
    const whole = (span: Span | undefined): span is Span => span !== undefined && bounds(span.from - 1) && bounds(span.to);
    if ((whole(left) && kindOf(left) === 'time') || (whole(right) && kindOf(right) === 'time')) found.set(number, { kind: 'epoch', span: { from: number, to: number + 1 } });
  }
  for (let call = 0; shifts && call < tokens.length - 1; call += 1) {
    if (!reader.isSymbol(call + 1, '(') || !isShiftCall(reader.word(call)) || reader.isSymbol(call - 1, '.')) continue;
    const close = reader.closing(call + 1, tokens.length);
    if (close === undefined) continue;
    const shifted = shiftedDate(reader, reader.word(call)!, reader.arguments({ from: call + 2, to: close }));
    if (shifted && kindOf(shifted) === 'date') found.set(call, { kind: 'dateShift', span: { from: call, to: close + 1 } });
  }
  // An operation that starts with such a call is the outer one, and takes its place. A time moved by
  // seconds is the left side of the operation that follows it (`now() - 3600 - 60`).
  let moved: Span | undefined;
  for (let operator = 1; operator < tokens.length - 1; operator += 1) {
    if (!reader.isSymbol(operator, '-') && !reader.isSymbol(operator, '+')) continue;
    const numberFirst = reader.isSymbol(operator, '+') ? secondsBefore(reader, operator, kindOf) : undefined;
    if (numberFirst) {
      found.set(numberFirst.seconds.from, { kind: 'seconds', span: numberFirst.seconds });
      moved = { from: numberFirst.seconds.from, to: numberFirst.time.to };
      continue;
    }
    const left = moved?.to === operator ? moved : operandBefore(reader, operator);
    const before = left && tokens[left.from - 1];
    if (!left || (before?.kind === 'symbol' && TIGHTER_BEFORE.has(before.text)) || reader.word(left.from - 1) === 'INTERVAL') continue;
    const interval = reader.word(operator + 1) === 'INTERVAL' ? intervalAfter(reader, operator + 1) : undefined;
    const operand = operandAfter(reader, operator + 1);
    const right = interval ?? (operand && { span: operand });
    const after = right && tokens[right.span.to];
    const leftKind = left === moved ? 'time' : kindOf(left);
    const seconds = !interval && leftKind === 'time' ? productAfter(reader, operator + 1) : undefined;
    if (seconds && kindOf(seconds) === 'number' && !(tokens[seconds.to]?.kind === 'symbol' && TIGHTER_AFTER.has(tokens[seconds.to]!.text))) {
      found.set(seconds.from, { kind: 'seconds', span: seconds });
      moved = { from: left.from, to: seconds.to };
      continue;
    }
    if (!right || (after?.kind === 'symbol' && TIGHTER_AFTER.has(after.text))) continue;
    if (interval && leftKind === 'date' && DATE_UNITS.has(interval.unit)) found.set(left.from, { kind: 'dateShift', span: { from: left.from, to: interval.span.to } });
    else if (!interval && reader.isSymbol(operator, '-') && leftKind === 'time' && kindOf(right.span) === 'time') found.set(left.from, { kind: 'difference', left, right: right.span });
  }
  return found;
}

function isShiftCall(word: string | undefined): boolean {
  return word !== undefined && (DATE_SHIFT_CALLS.has(word) || UNIT_SHIFT_CALLS.has(word));
}

/** The argument a date-shifting call moves, when it moves it by days or more (else undefined). */
function shiftedDate(reader: TokenReader, call: string, args: Span[]): Span | undefined {
  if (DATE_SHIFT_CALLS.has(call)) return args.length === 2 ? args[0] : undefined;
  if (args.length === 3) {
    const unit = args[0]!.to - args[0]!.from === 1 ? reader.tokens[args[0]!.from]! : undefined;
    const name = unit?.kind === 'string' || unit?.kind === 'word' ? unit.text.toUpperCase() : undefined;
    return name !== undefined && DATE_UNITS.has(name) ? args[2] : undefined;
  }
  if (args.length === 2 && reader.word(args[1]!.from) === 'INTERVAL') {
    const interval = intervalAfter(reader, args[1]!.from);
    return interval && interval.span.to === args[1]!.to && DATE_UNITS.has(interval.unit) ? args[0] : undefined;
  }
  return undefined;
}

/**
 * The kind of an operand, where it is plain: a DateTime or Date column of the data sources the
 * query reads (by name, qualified or not), a call that gives one (`now()`, `toDate(…)`,
 * `max(timestamp)` …), or a name given to such an expression (`max(timestamp) AS last_hit`, in any
 * SELECT list or WITH). A name given to something else elsewhere in the query could be either, and
 * has no kind.
 */
function timeKinds(reader: TokenReader, columnsOf: ColumnsOf, items: Span[], withs: WithAlias[]): (span: Span) => TimeKind | undefined {
  const { tokens } = reader;
  const names = columnKinds(reader, columnsOf);
  const kindOf = (span: Span): TimeKind | undefined => {
    const first = tokens[span.from];
    if (span.to - span.from === 1) {
      if (first?.kind === 'number') return 'number';
      return first?.kind === 'word' || first?.kind === 'quoted' ? names.get(first.text) : undefined;
    }
    if (span.to - span.from === 3 && reader.isSymbol(span.from + 1, '.')) return names.get(tokens[span.from + 2]!.text);
    if (reader.opens(span.from) && reader.closing(span.from, span.to) === span.to - 1) return kindOf({ from: span.from + 1, to: span.to - 1 });
    const terms = arithmeticTerms(reader, span);
    if (terms.length > 1) return terms.every((term) => term.from === term.to || kindOf(term) === 'number') ? 'number' : undefined;
    const call = reader.word(span.from);
    if (call === undefined || !reader.isSymbol(span.from + 1, '(') || reader.closing(span.from + 1, span.to) !== span.to - 1) return undefined;
    if (Object.hasOwn(KIND_CALLS, call)) return KIND_CALLS[call];
    const [firstArgument] = reader.arguments({ from: span.from + 2, to: span.to - 1 });
    return FIRST_ARGUMENT_CALLS.has(call) && firstArgument !== undefined ? kindOf(firstArgument) : undefined;
  };
  // Names given to such expressions, which may themselves use such names: a few rounds.
  const aliases = [
    ...items.flatMap((item) => {
      const last = tokens[item.to - 1];
      return item.to - item.from >= 3 && reader.word(item.to - 2) === 'AS' && (last?.kind === 'word' || last?.kind === 'quoted')
        ? [{ name: last.text, expression: { from: item.from, to: item.to - 2 } }] : [];
    }),
    ...withs,
  ];
  for (let round = 0; round < 3; round += 1) {
    for (const alias of aliases) {
      const kind = kindOf(alias.expression);
      if (!names.has(alias.name) && kind) names.set(alias.name, kind);
    }
  }
  for (const alias of aliases) if (kindOf(alias.expression) !== names.get(alias.name)) names.delete(alias.name);
  return kindOf;
}

/** The parts of a span between its operators `+ - * / %` outside brackets (an empty first one before a sign). */
function arithmeticTerms(reader: TokenReader, span: Span): Span[] {
  const terms: Span[] = [];
  let from = span.from;
  for (let index = span.from; index < span.to; index += 1) {
    if (reader.opens(index)) index = reader.closing(index, span.to) ?? span.to;
    else if (ARITHMETIC.has(reader.tokens[index]!.text) && reader.tokens[index]!.kind === 'symbol') {
      terms.push({ from, to: index });
      from = index + 1;
    }
  }
  terms.push({ from, to: span.to });
  return terms;
}
const ARITHMETIC = new Set(['+', '-', '*', '/', '%']);

/** `n + t` ending at a `+`: the number (a product, see `productAfter`) before it and the time after it. */
function secondsBefore(reader: TokenReader, operator: number, kindOf: (span: Span) => TimeKind | undefined): { seconds: Span; time: Span } | undefined {
  const factor = (end: number): Span | undefined => (reader.tokens[end - 1]?.kind === 'number' ? { from: end - 1, to: end } : operandBefore(reader, end));
  let seconds = factor(operator);
  while (seconds && (reader.isSymbol(seconds.from - 1, '*') || reader.isSymbol(seconds.from - 1, '/'))) {
    const previous = factor(seconds.from - 1);
    seconds = previous && { from: previous.from, to: seconds.to };
  }
  const time = operandAfter(reader, operator + 1);
  const before = seconds && reader.tokens[seconds.from - 1];
  const after = time && reader.tokens[time.to];
  if (!seconds || !time || (before?.kind === 'symbol' && TIGHTER_BEFORE.has(before.text)) || (after?.kind === 'symbol' && TIGHTER_AFTER.has(after.text))) return undefined;
  return kindOf(seconds) === 'number' && kindOf(time) === 'time' ? { seconds, time } : undefined;
}

/** The operand that starts at `at` and the ones it is multiplied or divided by (`60 * 60 * 24`). */
function productAfter(reader: TokenReader, at: number): Span | undefined {
  const factor = (from: number): Span | undefined => (reader.tokens[from]?.kind === 'number' ? { from, to: from + 1 } : operandAfter(reader, from));
  let product = factor(at);
  while (product && (reader.isSymbol(product.to, '*') || reader.isSymbol(product.to, '/'))) {
    const next = factor(product.to + 1);
    product = next && { from: product.from, to: next.to };
  }
  return product;
}

/**
 * The DateTime, Date and number columns of the data sources the query names after FROM or JOIN, by
 * name; a name that is another type's column in any of them is left out, as it could be either.
 */
function columnKinds(reader: TokenReader, columnsOf: ColumnsOf): Map<string, TimeKind> {
  const kinds = new Map<string, TimeKind>();
  const mixed = new Set<string>();
  for (const column of columnsRead(reader, columnsOf)) {
    const { kind: type } = column.type;
    const kind = type === 'timestamp' ? 'time' : type === 'date' ? 'date' : type === 'int' || type === 'float' || type === 'decimal' ? 'number' : undefined;
    if (kind === undefined || (kinds.has(column.name) && kinds.get(column.name) !== kind)) mixed.add(column.name);
    else kinds.set(column.name, kind);
  }
  for (const name of mixed) kinds.delete(name);
  return kinds;
}

/** `INTERVAL n UNIT` (n a number, `-n`, or bracketed) starting at `at`, with its unit. */
export function intervalAfter(reader: TokenReader, at: number): { span: Span; unit: string } | undefined {
  let unitAt = at + 2;
  if (reader.isSymbol(at + 1, '-')) unitAt = at + 3;
  else if (reader.isSymbol(at + 1, '(')) unitAt = (reader.closing(at + 1, reader.tokens.length) ?? reader.tokens.length) + 1;
  else if (reader.tokens[at + 1]?.kind !== 'number') return undefined;
  const unit = reader.word(unitAt);
  return unit === undefined ? undefined : { span: { from: at, to: unitAt + 1 }, unit };
}

/** The operand that ends right before `at`: a name, `table.name`, a call, or a bracketed expression. */
function operandBefore(reader: TokenReader, at: number): Span | undefined {
  const end = at;
  const last = reader.tokens[end - 1];
  if (last === undefined) return undefined;
  if (reader.closes(end - 1)) {
    const open = reader.opening(end - 1);
    if (open === undefined || !reader.isSymbol(open, '(')) return undefined;
    const callee = reader.tokens[open - 1];
    return callee?.kind === 'word' && reader.word(open - 1) !== 'IN' ? { from: open - 1, to: end } : { from: open, to: end };
  }
  if (last.kind !== 'word' && last.kind !== 'quoted') return undefined;
  const qualifier = reader.tokens[end - 3];
  if (reader.isSymbol(end - 2, '.') && (qualifier?.kind === 'word' || qualifier?.kind === 'quoted')) return { from: end - 3, to: end };
  return { from: end - 1, to: end };
}

/** The operand that starts at `at` (see `operandBefore`). */
function operandAfter(reader: TokenReader, at: number): Span | undefined {
  const first = reader.tokens[at];
  if (first === undefined) return undefined;
  if (reader.isSymbol(at, '(')) {
    const close = reader.closing(at, reader.tokens.length);
    return close === undefined ? undefined : { from: at, to: close + 1 };
  }
  if (first.kind !== 'word' && first.kind !== 'quoted') return undefined;
  if (reader.isSymbol(at + 1, '(')) {
    const close = reader.closing(at + 1, reader.tokens.length);
    return close === undefined ? undefined : { from: at, to: close + 1 };
  }
  const name = reader.tokens[at + 2];
  if (reader.isSymbol(at + 1, '.') && (name?.kind === 'word' || name?.kind === 'quoted')) return { from: at, to: at + 3 };
  return { from: at, to: at + 1 };
}
