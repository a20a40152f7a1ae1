import type { Token } from './sql-tokens.ts';

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
    let depth = 0;
    for (let index = open; index < limit; index += 1) {
      if (this.opens(index)) depth += 1;
      else if (this.closes(index) && (depth -= 1) === 0) return index;
    }
    return undefined;
  }

  /** A call's arguments: the spans between its top-level commas (none for an empty call). */
  arguments(span: Span): Span[] {
    if (span.from >= span.to) return [];
    const args: Span[] = [];
    let depth = 0;
    let start = span.from;
    for (let index = span.from; index < span.to; index += 1) {
      if (this.opens(index)) depth += 1;
      else if (this.closes(index)) depth -= 1;
      else if (depth === 0 && this.isSymbol(index, ',')) {
        args.push({ from: start, to: index });
        start = index + 1;
      }
    }
    args.push({ from: start, to: span.to });
    return args;
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

  constructor(
    protected readonly source: string,
    tokens: Token[],
  ) {
    super(tokens);
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
