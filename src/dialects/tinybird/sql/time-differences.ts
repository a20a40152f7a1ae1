import type { Span, TokenReader } from '../../../core/query/sql-rewriter.ts';
import type { ColumnsOf } from './left-join-defaults.ts';
import type { WithAlias } from './with-aliases.ts';

/** Calls that give a DateTime whatever they are given. */
const TIME_CALLS = new Set([
  'NOW', 'NOW64', 'TODATETIME', 'TODATETIME64', 'PARSEDATETIMEBESTEFFORT', 'FROMUNIXTIMESTAMP', 'TOSTARTOFSECOND', 'TOSTARTOFMINUTE',
  'TOSTARTOFFIVEMINUTES', 'TOSTARTOFFIVEMINUTE', 'TOSTARTOFTENMINUTES', 'TOSTARTOFFIFTEENMINUTES', 'TOSTARTOFHOUR', 'TOSTARTOFDAY',
]);
/** Calls that give a value of their first argument's type: a DateTime of a DateTime. */
const FIRST_ARGUMENT_CALLS = new Set([
  'MIN', 'MAX', 'ANY', 'ANY_VALUE', 'ANYLAST', 'ANYHEAVY', 'ARGMIN', 'ARGMAX', 'MINIF', 'MAXIF', 'ANYIF', 'TOSTARTOFINTERVAL', 'ADDSECONDS',
  'ADDMINUTES', 'ADDHOURS', 'ADDDAYS', 'SUBTRACTSECONDS', 'SUBTRACTMINUTES', 'SUBTRACTHOURS', 'SUBTRACTDAYS', 'COALESCE', 'IFNULL',
]);
/** What may not stand right before a difference's left side, or right after its right side: it would bind tighter. */
const TIGHTER_BEFORE = new Set(['*', '/', '%', '-', '+', '||', '.', '::']);
const TIGHTER_AFTER = new Set(['*', '/', '%', '.', '[', '::', '(']);

/**
 * ClickHouse's `DateTime - DateTime` is a number of seconds, where DuckDB's difference of two times
 * is an INTERVAL, which neither compares with nor falls back to a number (`coalesce(avg(last - first),
 * 0)` fails). Without types at hand, the differences rewritten are those whose two sides are plainly
 * DateTimes: a DateTime column of the data sources the query reads (by name, qualified or not), a
 * call that gives one (`now()`, `toStartOfHour(…)`, `max(timestamp)` …), or a name given to such an
 * expression (`max(timestamp) AS last_hit`, in any SELECT list or WITH). Each, by its left side's
 * first token, with both sides; it becomes `date_diff('second', right, left)`.
 */
export function timeDifferences(reader: TokenReader, columnsOf: ColumnsOf, items: Span[], withs: WithAlias[]): Map<number, { left: Span; right: Span }> {
  const differences = new Map<number, { left: Span; right: Span }>();
  const { tokens } = reader;
  if (!tokens.some((token, index) => token.kind === 'symbol' && token.text === '-' && index > 0)) return differences;
  const names = timeColumns(reader, columnsOf);
  const isTime = (span: Span): boolean => {
    const first = tokens[span.from];
    if (span.to - span.from === 1) return (first?.kind === 'word' || first?.kind === 'quoted') && names.has(first.text);
    if (span.to - span.from === 3 && reader.isSymbol(span.from + 1, '.')) return names.has(tokens[span.from + 2]!.text);
    if (reader.opens(span.from) && reader.closing(span.from, span.to) === span.to - 1) return isTime({ from: span.from + 1, to: span.to - 1 });
    const call = reader.word(span.from);
    if (call === undefined || !reader.isSymbol(span.from + 1, '(') || reader.closing(span.from + 1, span.to) !== span.to - 1) return false;
    if (TIME_CALLS.has(call)) return true;
    const [firstArgument] = reader.arguments({ from: span.from + 2, to: span.to - 1 });
    return FIRST_ARGUMENT_CALLS.has(call) && firstArgument !== undefined && isTime(firstArgument);
  };
  // Names given to DateTime expressions, which may themselves use such names: a few rounds.
  const aliases = [
    ...items.flatMap((item) => {
      const last = tokens[item.to - 1];
      return item.to - item.from >= 3 && reader.word(item.to - 2) === 'AS' && (last?.kind === 'word' || last?.kind === 'quoted')
        ? [{ name: last.text, expression: { from: item.from, to: item.to - 2 } }] : [];
    }),
    ...withs,
  ];
  for (let round = 0; round < 3; round += 1) {
    for (const alias of aliases) if (!names.has(alias.name) && isTime(alias.expression)) names.add(alias.name);
  }
  // A name also given to something else (`toDate(timestamp) AS timestamp`) could be either.
  for (const alias of aliases) if (!isTime(alias.expression)) names.delete(alias.name);
  for (let minus = 1; minus < tokens.length - 1; minus += 1) {
    if (!reader.isSymbol(minus, '-')) continue;
    const left = operandBefore(reader, minus);
    const right = operandAfter(reader, minus + 1);
    if (!left || !right) continue;
    const before = tokens[left.from - 1];
    const after = tokens[right.to];
    if ((before?.kind === 'symbol' && TIGHTER_BEFORE.has(before.text)) || reader.word(left.from - 1) === 'INTERVAL') continue;
    if (after?.kind === 'symbol' && TIGHTER_AFTER.has(after.text)) continue;
    if (isTime(left) && isTime(right)) differences.set(left.from, { left, right });
  }
  return differences;
}

/**
 * The DateTime columns of the data sources the query names after FROM or JOIN, by name; a name
 * that is another type's column in any of them is left out, as it could be either.
 */
function timeColumns(reader: TokenReader, columnsOf: ColumnsOf): Set<string> {
  const times = new Set<string>();
  const others = new Set<string>();
  reader.tokens.forEach((token, index) => {
    if ((token.kind !== 'word' && token.kind !== 'quoted') || !['FROM', 'JOIN'].includes(reader.word(index - 1) ?? '')) return;
    for (const column of columnsOf(token.text) ?? []) (column.type.kind === 'timestamp' ? times : others).add(column.name);
  });
  for (const name of others) times.delete(name);
  return times;
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
