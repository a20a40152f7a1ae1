import type { TokenReader } from '../../../core/query/sql-rewriter.ts';

/** A `%`, `DIV` or `MOD`, the end of its right operand (one past its last token) and the function it calls. */
export interface DivisionOperation {
  operator: number;
  end: number;
  call: 'modulo' | 'intDiv';
}

/**
 * Words that a bracket or a value may follow without being called or continued by it: clauses,
 * logical operators and the words of CASE (`WHERE (a + b) % 2`, `THEN x % 2`).
 */
const NOT_OPERANDS = new Set([
  'SELECT', 'DISTINCT', 'ALL', 'FROM', 'JOIN', 'ON', 'USING', 'WHERE', 'PREWHERE', 'GROUP', 'BY', 'HAVING', 'QUALIFY', 'ORDER',
  'LIMIT', 'OFFSET', 'UNION', 'EXCEPT', 'INTERSECT', 'WITH', 'AS', 'SETTINGS', 'AND', 'OR', 'NOT', 'IN', 'IS', 'LIKE', 'ILIKE',
  'BETWEEN', 'EXISTS', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'INTERVAL', 'GLOBAL', 'ASC', 'DESC',
]);

/** ClickHouse's operator words and the functions they are. */
const OPERATOR_WORDS: Record<string, DivisionOperation['call']> = { DIV: 'intDiv', MOD: 'modulo' };

/**
 * ClickHouse's `a % b` and `a MOD b` are its `modulo(a, b)`, an error by an integer zero where
 * DuckDB's `%` gives NULL, and `a DIV b` its `intDiv(a, b)` (DuckDB has neither word); the rewrite
 * calls the functions instead, with the operands the operator binds: as `*` and `/` do, from the
 * left (`a * b % c` is `modulo(a * b, c)`), looser than a unary sign, a call, a subscript, `.` or
 * `::`. A sign before the whole left side stays outside, as `-(a % b)` is `(-a) % b` (the
 * remainder takes the dividend's sign).
 *
 * Given the first token of a left side and where the text rendered ends, the last such operator of
 * that left side within it (`a % b % c` holds two, the first in the second's left side, rendered
 * again). An operator whose operands the rewrite cannot delimit (beside an INTERVAL, a keyword …)
 * is left as it is, for DuckDB. `names` are keywords standing as column names.
 */
export function divisionOperations(reader: TokenReader, names: ReadonlySet<number>): (start: number, limit: number) => DivisionOperation | undefined {
  const byStart = new Map<number, DivisionOperation[]>();
  const operands = new Operands(reader, names);
  reader.tokens.forEach((_token, operator) => {
    const call = operands.division(operator);
    if (call === undefined) return;
    const start = operands.leftSide(operator);
    const end = operands.after(operator + 1);
    if (start === undefined || end === undefined) return;
    // In the order of their operators, and so of their ends.
    const operations = byStart.get(start) ?? [];
    operations.push({ operator, end, call });
    byStart.set(start, operations);
  });
  // Searched by halves: a chain of n operators renders n left sides, each within the last.
  return (start, limit) => {
    const operations = byStart.get(start) ?? [];
    let [low, high] = [0, operations.length];
    while (low < high) {
      const middle = (low + high) >> 1;
      if (operations[middle]!.end <= limit) low = middle + 1;
      else high = middle;
    }
    return operations[low - 1];
  };
}

class Operands {
  /** The CASE and END of each CASE expression, each by the other. */
  private readonly cases = new Map<number, number>();
  /** Where the left side of each operator read so far starts (undefined where it cannot be delimited). */
  private readonly leftSides = new Map<number, number | undefined>();

  constructor(
    private readonly reader: TokenReader,
    private readonly names: ReadonlySet<number>,
  ) {
    // The CASEs open at each bracket depth, innermost last.
    const open: Array<{ at: number; depth: number }> = [];
    let depth = 0;
    reader.tokens.forEach((_token, index) => {
      if (reader.opens(index)) depth += 1;
      else if (reader.closes(index)) {
        depth -= 1;
        while (open.length > 0 && open.at(-1)!.depth > depth) open.pop();
      } else if (this.isCaseWord(index, 'CASE')) open.push({ at: index, depth });
      else if (this.isCaseWord(index, 'END') && open.at(-1)?.depth === depth) {
        const start = open.pop()!.at;
        this.cases.set(start, index);
        this.cases.set(index, start);
      }
    });
  }

  /** The function the token at `index` calls when it is `%`, `DIV` or `MOD` (a word not standing as a name). */
  division(index: number): DivisionOperation['call'] | undefined {
    if (this.reader.isSymbol(index, '%')) return 'modulo';
    return this.names.has(index) ? undefined : OPERATOR_WORDS[this.reader.word(index) ?? ''];
  }

  /** The start of the left side of the operator at `operator`: operands joined by `*`, `/`, `%`, `DIV` and `MOD`, from the left. */
  leftSide(operator: number): number | undefined {
    let start = this.before(operator);
    while (start !== undefined) {
      // A sign after `*`, `/`, `%` … belongs to the operand it precedes (`a * -b % c`).
      let signed = start;
      while (this.isSign(signed - 1)) signed -= 1;
      const joint = signed - 1;
      if (!this.isMultiplicative(joint)) break;
      // A `%`, `DIV` or `MOD` there has its left side, this one's, read already.
      if (this.leftSides.has(joint)) {
        start = this.leftSides.get(joint);
        break;
      }
      start = this.before(joint);
    }
    this.leftSides.set(operator, start);
    return start;
  }

  /** The end of the operand that starts at `at`, signs included (one past its last token). */
  after(at: number): number | undefined {
    const { reader } = this;
    let index = at;
    while (this.isSign(index)) index += 1;
    const token = reader.tokens[index];
    if (token === undefined) return undefined;
    let end: number | undefined;
    if (reader.opens(index)) end = this.pastBracket(index);
    else if (this.isCaseWord(index, 'CASE')) end = this.cases.has(index) ? this.cases.get(index)! + 1 : undefined;
    else if (token.kind === 'symbol' || (token.kind === 'word' && !this.isName(index))) end = undefined;
    else if (token.kind === 'word' && reader.isSymbol(index + 1, '(')) end = this.pastCall(index + 1);
    // A typed literal: `DATE '2024-01-01'`.
    else end = token.kind === 'word' && reader.tokens[index + 1]?.kind === 'string' ? index + 2 : index + 1;
    // What binds tighter: a subscript, a field or tuple element, a cast.
    while (end !== undefined) {
      if (reader.isSymbol(end, '[')) end = this.pastBracket(end);
      else if (reader.isSymbol(end, '.') && ['word', 'quoted', 'number'].includes(reader.tokens[end + 1]?.kind ?? '')) end += 2;
      else if (this.isCast(end) && reader.tokens[end + 2]?.kind === 'word') end = reader.isSymbol(end + 3, '(') ? this.pastBracket(end + 3) : end + 3;
      else return end;
    }
    return undefined;
  }

  /** The start of the operand that ends right before `end`, without a sign before it. */
  before(end: number): number | undefined {
    const { reader } = this;
    let last = end - 1;
    for (;;) {
      const token = reader.tokens[last];
      let start: number | undefined;
      if (token === undefined) return undefined;
      if (reader.closes(last)) {
        const open = reader.opening(last);
        if (open === undefined) return undefined;
        const round = reader.isSymbol(open, '(');
        // `f(x)(y)`, `f(x) FILTER (…)`, `f(x) OVER (…)`: brackets that continue the call before them.
        if (round && reader.isSymbol(open - 1, ')')) {
          last = open - 1;
          continue;
        }
        if (round && ['FILTER', 'OVER'].includes(reader.word(open - 1) ?? '')) {
          last = open - 2;
          continue;
        }
        // `a[1]`: a subscript of the value before it.
        if (!round && this.endsValue(open - 1)) {
          last = open - 1;
          continue;
        }
        // `f(x)`: a call by a name; else a bracketed value or an array.
        start = round && this.isName(open - 1) ? open - 1 : open;
      } else if (this.isCaseWord(last, 'END')) start = this.cases.get(last);
      else if (token.kind === 'symbol' || (token.kind === 'word' && !this.isName(last))) return undefined;
      else start = token.kind === 'string' && this.isName(last - 1) ? last - 1 : last;
      if (start === undefined) return undefined;
      // The operand continues leftwards through `.`, `::` and a named window (`sum(x) OVER w`).
      if (reader.isSymbol(start - 1, '.')) last = start - 2;
      else if (this.isCast(start - 2)) last = start - 3;
      else if (reader.word(start - 1) === 'OVER') last = start - 2;
      else return start;
    }
  }

  /** Whether the token at `index` ends a value, so that a bracket after it subscripts it. */
  private endsValue(index: number): boolean {
    const token = this.reader.tokens[index];
    if (token?.kind === 'word') return this.isName(index);
    return token?.kind === 'quoted' || token?.kind === 'string' || this.reader.isSymbol(index, ')') || this.reader.isSymbol(index, ']');
  }

  /** Whether the token at `index` is a word that names something (a column, a function), not a keyword. */
  private isName(index: number): boolean {
    const word = this.reader.word(index);
    return word !== undefined && (this.names.has(index) || !NOT_OPERANDS.has(word));
  }

  /** Past a call's arguments at `open`, a parametric call's second brackets, and its FILTER or OVER. */
  private pastCall(open: number): number | undefined {
    const { reader } = this;
    let end = this.pastBracket(open);
    if (end !== undefined && reader.isSymbol(end, '(')) end = this.pastBracket(end);
    if (end !== undefined && reader.word(end) === 'FILTER' && reader.isSymbol(end + 1, '(')) end = this.pastBracket(end + 1);
    if (end !== undefined && reader.word(end) === 'OVER') end = reader.isSymbol(end + 1, '(') ? this.pastBracket(end + 1) : end + 2;
    return end;
  }

  private pastBracket(open: number): number | undefined {
    const close = this.reader.closing(open, this.reader.tokens.length);
    return close === undefined ? undefined : close + 1;
  }

  private isCaseWord(index: number, word: 'CASE' | 'END'): boolean {
    return this.reader.word(index) === word && !this.names.has(index);
  }

  private isSign(index: number): boolean {
    return this.reader.isSymbol(index, '-') || this.reader.isSymbol(index, '+');
  }

  private isMultiplicative(index: number): boolean {
    return this.reader.isSymbol(index, '*') || this.reader.isSymbol(index, '/') || this.division(index) !== undefined;
  }

  /** Whether `::` starts at `index`. */
  private isCast(index: number): boolean {
    const { tokens } = this.reader;
    return this.reader.isSymbol(index, ':') && this.reader.isSymbol(index + 1, ':') && tokens[index]!.end === tokens[index + 1]!.start;
  }
}
