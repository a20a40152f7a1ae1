/**
 * SQL text as tokens, for the dialects that rewrite a query's text before DuckDB parses it (see
 * SqlRewriter): names, quoted names, strings, numbers and one-character symbols, each with its
 * place; spaces and comments fall between tokens.
 */
export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'symbol';

export interface Token {
  kind: TokenKind;
  /** Words as written; quoted names and strings unescaped; symbols as one character. */
  text: string;
  start: number;
  end: number;
}

/**
 * A problem at a place in a SQL text: a string, quoted name or comment that is never closed (from
 * `tokenizeSql`), or whatever a dialect's own parser of such text cannot read there.
 */
export class SqlTextError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly length = 1,
  ) {
    super(message);
    this.name = 'SqlTextError';
  }
}

/** A name or keyword: letters of any script (DuckDB and Calcite take `größe` or `名前` unquoted), digits, `_` and `$`. */
const WORD = /[\p{L}_][\p{L}\p{M}\p{N}_$]*/uy;
const NUMBER = /[0-9]+(?:\.[0-9]+)?/y;
/** ClickHouse's hexadecimal and binary integers (`0x1F`, `0b101`). */
const BASED_NUMBER = /0(?:[xX][0-9A-Fa-f]+|[bB][01]+)(?![A-Za-z0-9_])/y;

export interface TokenizeOptions {
  /**
   * ClickHouse's quoting: strings and quoted names take backslash escapes (`'it\'s'`, `'\\d+'`,
   * `'\n'`), and names may be quoted in backticks as well as double quotes (`` `order` ``); a token's
   * text is then the value or name they stand for; a number may be written in hexadecimal or
   * binary (`0x1F`, `0b101`), and `#` begins a comment. Without, a backslash is a character like
   * any other, and a backtick and `#` are symbols.
   */
  clickhouse?: boolean;
}

const BACKSLASH_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '0': '\0', a: '\x07', v: '\v', e: '\x1b' };

/**
 * A string or name read with backslash escapes from `at`, its opening quote (`'`, `"` or a
 * backtick), which a doubled quote stands for too: its value and the offset past it.
 */
function backslashQuoted(text: string, at: number): { value: string; end: number } {
  const quote = text[at]!;
  let value = '';
  for (let index = at + 1; index < text.length; index += 1) {
    const char = text[index]!;
    if (char === '\\' && index + 1 < text.length) {
      const next = text[(index += 1)]!;
      const hex = next === 'x' ? /^[0-9A-Fa-f]{2}/.exec(text.slice(index + 1, index + 3)) : null;
      if (hex) {
        value += String.fromCharCode(parseInt(hex[0], 16));
        index += 2;
      } else if (Object.hasOwn(BACKSLASH_ESCAPES, next)) value += BACKSLASH_ESCAPES[next];
      else if (next === '\\' || next === "'" || next === '"' || next === '`') value += next;
      // An escape ClickHouse does not know keeps its backslash.
      else value += `\\${next}`;
    } else if (char === quote && text[index + 1] === quote) {
      value += quote;
      index += 1;
    } else if (char === quote) {
      return { value, end: index + 1 };
    } else value += char;
  }
  throw new SqlTextError(quote === "'" ? 'Unterminated string' : 'Unterminated quoted name', at);
}

/**
 * The text's tokens, or undefined when it does not even tokenize (a string, quoted name or comment
 * left open): for a caller that leaves such a text as it is, for the parser to report.
 */
export function tokensOrUndefined(text: string, options: TokenizeOptions = {}): Token[] | undefined {
  try {
    return tokenizeSql(text, options);
  } catch (error) {
    if (error instanceof SqlTextError) return undefined;
    throw error;
  }
}

export function tokenizeSql(text: string, options: TokenizeOptions = {}): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  const match = (pattern: RegExp) => {
    pattern.lastIndex = at;
    return pattern.exec(text)?.[0];
  };
  while (at < text.length) {
    const char = text[at]!;
    if (/\s/.test(char)) {
      at += 1;
    } else if (text.startsWith('--', at) || (char === '#' && options.clickhouse)) {
      const end = text.indexOf('\n', at);
      at = end < 0 ? text.length : end + 1;
    } else if (text.startsWith('/*', at)) {
      const end = text.indexOf('*/', at + 2);
      if (end < 0) throw new SqlTextError('Unterminated comment', at, 2);
      at = end + 2;
    } else if ((char === "'" || char === '"' || char === '`') && options.clickhouse) {
      const { value, end } = backslashQuoted(text, at);
      tokens.push({ kind: char === "'" ? 'string' : 'quoted', text: value, start: at, end });
      at = end;
    } else if (char === "'" || char === '"') {
      let end = at + 1;
      for (;;) {
        end = text.indexOf(char, end);
        if (end < 0) throw new SqlTextError(char === '"' ? 'Unterminated quoted name' : 'Unterminated string', at);
        if (text[end + 1] !== char) break;
        end += 2;
      }
      tokens.push({ kind: char === '"' ? 'quoted' : 'string', text: text.slice(at + 1, end).replaceAll(char + char, char), start: at, end: end + 1 });
      at = end + 1;
    } else {
      const word = match(WORD);
      const number = word === undefined ? (options.clickhouse ? match(BASED_NUMBER) : undefined) ?? match(NUMBER) : undefined;
      const token = word ?? number ?? char;
      tokens.push({ kind: word !== undefined ? 'word' : number !== undefined ? 'number' : 'symbol', text: token, start: at, end: at + token.length });
      at += token.length;
    }
  }
  return tokens;
}
