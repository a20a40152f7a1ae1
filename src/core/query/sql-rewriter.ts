import { SqlTextError, type Token } from './sql-tokens.ts';

const OPENING = new Set(['(', '[', '{']);
const CLOSING = new Set([')', ']', '}']);

/** A run of tokens, `from` included and `to` excluded. */
export interface Span {
  from: number;
  to: number;
}

/** A rewritten construct: its replacement text (built when rendered), and the token after it. */
export interface Rewrite {
  build: () => string;
  next: number;
}

/** Reads a SQL text's tokens: words, symbols, brackets and the arguments between them. */
export class TokenReader {
  /** For each token that opens a bracket, the index of the one closing it (-1 when none does); computed on first use. */
  private matches: Int32Array | undefined;
  /** For each token that closes a bracket, the index of the one opening it (-1 when none does); computed with `matches`. */
  private openings: Int32Array | undefined;

  constructor(readonly tokens: Token[]) {}

  /** The upper-cased word at `index`, if the token there is one. */
  word(index: number): string | undefined {
    const token = this.tokens[index];
    return token?.kind === 'word' ? token.text.toUpperCase() : undefined;
  }

  isSymbol(index: number, symbol: string): boolean {
    const token = this.tokens[index];
    return token?.kind === 'symbol' && token.text === symbol;
  }

  /** Whether the token at `index` stands where a table is named: right after FROM or JOIN. */
  namesTable(index: number): boolean {
    return ['FROM', 'JOIN'].includes(this.word(index - 1) ?? '');
  }

  /** Whether the token at `index` opens a bracket (`(`, `[` or `{`: they nest alike). */
  opens(index: number): boolean {
    const token = this.tokens[index];
    return token?.kind === 'symbol' && OPENING.has(token.text);
  }

  closes(index: number): boolean {
    const token = this.tokens[index];
    return token?.kind === 'symbol' && CLOSING.has(token.text);
  }

  /** The index of the bracket closing the one at `open`, before `limit`. */
  closing(open: number, limit: number): number | undefined {
    const match = this.matchOf(open);
    return match >= 0 && match < limit ? match : undefined;
  }

  /** The index of the bracket opened by the one closing at `close` (undefined when none opens it). */
  opening(close: number): number | undefined {
    if (!this.closes(close)) return undefined;
    this.matchOf(0);
    const open = this.openings![close]!;
    return open >= 0 ? open : undefined;
  }

  /** The indexes of the tokens outside every bracket (the outermost brackets themselves included), in order. */
  *outermost(): Generator<number> {
    let depth = 0;
    for (let index = 0; index < this.tokens.length; index += 1) {
      if (this.closes(index)) depth -= 1;
      if (depth <= 0) yield index;
      if (this.opens(index)) depth += 1;
    }
  }

  /** A call's arguments: the spans between its top-level commas (none for an empty call). */
  arguments(span: Span): Span[] {
    if (span.from >= span.to) return [];
    const args: Span[] = [];
    let start = span.from;
    for (let index = span.from; index < span.to; index += 1) {
      if (this.opens(index)) {
        // Over the bracketed part at once; an unclosed bracket holds the rest.
        const match = this.matchOf(index);
        if (match < 0 || match >= span.to) break;
        index = match;
      } else if (this.isSymbol(index, ',')) {
        args.push({ from: start, to: index });
        start = index + 1;
      }
    }
    args.push({ from: start, to: span.to });
    return args;
  }

  /** The closing bracket's index for the opening one at `open` (-1 when none): brackets of every kind nest alike. */
  private matchOf(open: number): number {
    if (!this.matches) {
      const matches = new Int32Array(this.tokens.length).fill(-1);
      const openings = new Int32Array(this.tokens.length).fill(-1);
      const stack: number[] = [];
      for (let index = 0; index < this.tokens.length; index += 1) {
        if (this.opens(index)) stack.push(index);
        else if (this.closes(index) && stack.length > 0) {
          const opened = stack.pop()!;
          matches[opened] = index;
          openings[index] = opened;
        }
      }
      this.matches = matches;
      this.openings = openings;
    }
    return this.opens(open) ? this.matches[open]! : -1;
  }
}

/**
 * Rewrites constructs of a SQL text, token by token, keeping everything else as written (spaces
 * and comments included) and remembering where each piece of the output came from. A dialect says
 * what to rewrite in `rewriteAt`, and builds replacements from the spans it finds there with
 * `render` (so that constructs nested in them are rewritten too).
 */
export abstract class SqlRewriter extends TokenReader {
  /** Where each piece of the output comes from: output offset, source offset, and whether it is copied as is. */
  private readonly pieces: Array<{ at: number; from: number; copied: boolean }> = [];
  private length = 0;
  /** Characters rendered so far, nested renders included, against `budget`. */
  private rendered = 0;
  /**
   * Rewrites that repeat a part (a WITH alias at each use, a value at each format letter) can grow
   * a text exponentially when nested: past this many characters rendered, the rewrite stops.
   */
  private readonly budget: number;

  constructor(
    protected readonly source: string,
    tokens: Token[],
  ) {
    super(tokens);
    this.budget = Math.max(4 * 1024 * 1024, 64 * source.length);
  }

  /** The rewrite of the construct starting at token `index` (the span rendered ends at `limit`), if any. */
  protected abstract rewriteAt(index: number, limit: number): Rewrite | undefined;

  /** The whole text, rewritten. */
  rewrite(): string {
    return this.render({ from: 0, to: this.tokens.length });
  }

  /** Where a position of the output comes from in the source: exact in copied text, else the rewritten construct's start. */
  sourceOffset(position: number): number {
    let found: { at: number; from: number; copied: boolean } | undefined;
    for (const piece of this.pieces) if (piece.at <= position) found = piece;
    if (!found) return this.tokens[0]?.start ?? 0;
    return found.copied ? found.from + (position - found.at) : found.from;
  }

  /** The tokens of `span`, rewritten, with the text between them kept. */
  protected render(span: Span): string {
    let out = '';
    let index = span.from;
    const emit = (text: string, from: number, copied: boolean) => {
      // Copied text that continues the last copied piece extends it.
      const last = this.pieces.at(-1);
      const continues = copied && last?.copied === true && last.from + (this.length - last.at) === from;
      if (!continues) this.pieces.push({ at: this.length, from, copied });
      this.length += text.length;
      if ((this.rendered += text.length) > this.budget) throw new RewriteTooLarge();
      out += text;
    };
    while (index < span.to) {
      const token = this.tokens[index]!;
      if (index > span.from) {
        const previous = this.tokens[index - 1]!;
        emit(this.source.slice(previous.end, token.start), previous.end, true);
      }
      const rewritten = this.rewriteAt(index, span.to);
      if (rewritten) {
        // Nested constructs are rendered inside, with pieces of their own; this one maps to its start.
        const mark = this.pieces.length;
        const at = this.length;
        const text = rewritten.build();
        this.pieces.splice(mark, this.pieces.length - mark);
        this.length = at;
        emit(text, token.start, false);
        index = rewritten.next;
      } else {
        emit(this.source.slice(token.start, token.end), token.start, true);
        index += 1;
      }
    }
    return out;
  }
}

/** A rewrite that grew past its budget (see SqlRewriter): the query is refused rather than built. */
export class RewriteTooLarge extends SqlTextError {
  constructor() {
    super('The query grows too large once rewritten (an alias or value repeated within itself, over and over)', 0);
    this.name = 'RewriteTooLarge';
  }
}
