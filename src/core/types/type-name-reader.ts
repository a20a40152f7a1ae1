import { getTypeNestingProblem, MAX_TYPE_NESTING, type DataType, type DataTypeOf } from './data-type.ts';
import { TypeNameError } from './type-name-error.ts';

const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const INTEGER = /[0-9]+/y;
const SPACE = /\s*/y;

/**
 * A cursor over one type name, shared by the dialect parsers. It works on characters rather than
 * tokens because the dialects disagree on what a token is (`timestamp[ms, tz=Europe/Berlin]`,
 * `DateTime64(3, 'UTC')`, `"b c" VARCHAR`), and every failure names the whole text it was given.
 */
export class TypeNameReader {
  private position = 0;
  /** Just past the last thing read, so that trailing spaces are not counted as read. */
  private readEnd = 0;
  /** Lists, maps and structs open around the position. */
  private depth = 0;
  /** Wrappers (ClickHouse's Nullable, LowCardinality) open since the innermost of those. */
  private wrappers = 0;

  constructor(readonly text: string) {}

  /** The index just past the last character read. */
  get offset(): number {
    return this.readEnd;
  }

  isAtEnd(): boolean {
    this.skipSpace();
    return this.position >= this.text.length;
  }

  peekChar(): string {
    this.skipSpace();
    return this.text.charAt(this.position);
  }

  acceptSymbol(symbol: string): boolean {
    this.skipSpace();
    if (!this.text.startsWith(symbol, this.position)) return false;
    this.moveTo(this.position + symbol.length);
    return true;
  }

  expectSymbol(symbol: string): void {
    if (!this.acceptSymbol(symbol)) this.fail(`expected "${symbol}"`);
  }

  peekWord(): string | undefined {
    this.skipSpace();
    return this.match(WORD, false);
  }

  readWord(): string {
    this.skipSpace();
    return this.match(WORD, true) ?? this.fail('expected a name');
  }

  /** Consumes the words in order (case-insensitive) only if all of them are next. */
  acceptWords(...words: string[]): boolean {
    const [start, readEnd] = [this.position, this.readEnd];
    for (const word of words) {
      if (this.peekWord()?.toUpperCase() !== word.toUpperCase()) {
        [this.position, this.readEnd] = [start, readEnd];
        return false;
      }
      this.readWord();
    }
    return true;
  }

  /**
   * A field name: a bare word, or text between `quote` characters. With `foldBare`, a bare word
   * is read in lower case, as SQL dialects that fold unquoted names read it.
   */
  readName(quote: string, foldBare = false): string {
    if (this.peekChar() === quote) return this.readQuoted(quote);
    const word = this.readWord();
    return foldBare ? word.toLowerCase() : word;
  }

  /** What `read` finds from here, the position left unchanged. */
  lookAhead<T>(read: () => T): T {
    const [start, readEnd] = [this.position, this.readEnd];
    try {
      return read();
    } finally {
      [this.position, this.readEnd] = [start, readEnd];
    }
  }

  /** Reads `name:` when it comes next (`list<item: int32>`), else leaves the position unchanged. */
  acceptLabel(quote: string): string | undefined {
    const [start, readEnd] = [this.position, this.readEnd];
    if (this.peekChar() === quote || this.peekWord() !== undefined) {
      const name = this.readName(quote);
      if (this.acceptSymbol(':')) return name;
    }
    [this.position, this.readEnd] = [start, readEnd];
    return undefined;
  }

  readInteger(): number {
    this.skipSpace();
    const digits = this.match(INTEGER, true) ?? this.fail('expected a number');
    return Number(digits);
  }

  /** Reads text between `quote` characters; a doubled quote escapes one, and so may a backslash. */
  readQuoted(quote: string, backslashEscapes = false): string {
    this.expectSymbol(quote);
    let value = '';
    for (;;) {
      const char = this.text.charAt(this.position);
      if (char === '') this.fail(`unterminated ${quote}`);
      this.position += 1;
      if (backslashEscapes && char === '\\' && this.position < this.text.length) {
        value += this.text.charAt(this.position);
        this.position += 1;
      } else if (char !== quote) {
        value += char;
      } else if (this.text.charAt(this.position) === quote) {
        value += quote;
        this.position += 1;
      } else {
        this.moveTo(this.position);
        return value;
      }
    }
  }

  /** Reads raw text up to (not including) the first of `stops`, trimmed. */
  readUntil(stops: string): string {
    this.skipSpace();
    const start = this.position;
    while (this.position < this.text.length && !stops.includes(this.text.charAt(this.position))) {
      this.position += 1;
    }
    const value = this.text.slice(start, this.position).trimEnd();
    this.moveTo(start + value.length);
    return value === '' ? this.fail('expected a value') : value;
  }

  /** Reads `(precision[, scale])`, the one decimal spelling all dialects share. */
  /** `(P[, S])` after a decimal's name; `opened`: its `(` is read already. */
  readDecimalArguments(maxPrecision: number, { opened = false } = {}): DataTypeOf<'decimal'> {
    if (!opened) this.expectSymbol('(');
    const precision = this.readInteger();
    const scale = this.acceptSymbol(',') ? this.readInteger() : 0;
    this.expectSymbol(')');
    return this.checkDecimal(precision, scale, maxPrecision);
  }

  checkDecimal(precision: number, scale: number, maxPrecision: number): DataTypeOf<'decimal'> {
    if (precision < 1 || precision > maxPrecision) this.fail(`decimal precision must be 1 to ${maxPrecision}`);
    if (scale > precision) this.fail('decimal scale must not exceed its precision');
    return { kind: 'decimal', precision, scale };
  }

  /**
   * Reads a list's, map's or struct's members one level deeper. The parsers recurse, so a name
   * nested thousands of levels deep would overflow the stack; it is refused at the bound instead.
   */
  nested<T>(read: () => T): T {
    if (this.depth >= MAX_TYPE_NESTING) this.fail(`lists, maps and structs may nest at most ${MAX_TYPE_NESTING} levels deep`);
    const wrappers = this.wrappers;
    this.depth += 1;
    this.wrappers = 0;
    try {
      return read();
    } finally {
      this.depth -= 1;
      this.wrappers = wrappers;
    }
  }

  /**
   * Reads what a wrapper of no depth of its own wraps (`Nullable(…)`): a valid type has at most
   * `max` of them in a row, so more are refused (`problem`) before they recurse any deeper.
   */
  wrapped<T>(max: number, problem: string, read: () => T): T {
    if (this.wrappers >= max) this.fail(problem);
    this.wrappers += 1;
    try {
      return read();
    } finally {
      this.wrappers -= 1;
    }
  }

  /** Refuses a type read whole that nests too deeply (postfix `INT ARRAY ARRAY …` is read by a loop, not by `nested`). */
  checkNesting<T extends DataType>(type: T): T {
    const problem = getTypeNestingProblem(type);
    if (problem !== undefined) throw new TypeNameError(this.text, `Invalid type "${this.shownText}": ${problem}`);
    return type;
  }

  expectEnd(): void {
    if (!this.isAtEnd()) this.fail(`unexpected "${this.text.slice(this.position)}"`);
  }

  fail(problem: string): never {
    throw new TypeNameError(this.text, `Invalid type "${this.shownText}": ${problem} at position ${this.position + 1}`);
  }

  failUnknown(name: string, hint?: string): never {
    const where = name === this.text.trim() ? '' : ` in "${this.text}"`;
    throw new TypeNameError(this.text, `Unknown type "${name}"${where}${hint === undefined ? '' : `: ${hint}`}`);
  }

  /** The text as messages quote it: a name thousands of characters long is cut short. */
  private get shownText(): string {
    return this.text.length > 200 ? `${this.text.slice(0, 200)}…` : this.text;
  }

  private skipSpace(): void {
    SPACE.lastIndex = this.position;
    SPACE.exec(this.text);
    this.position = SPACE.lastIndex;
  }

  private moveTo(position: number): void {
    this.position = position;
    this.readEnd = position;
  }

  private match(pattern: RegExp, consume: boolean): string | undefined {
    pattern.lastIndex = this.position;
    const found = pattern.exec(this.text)?.[0];
    if (found !== undefined && consume) this.moveTo(this.position + found.length);
    return found;
  }
}
