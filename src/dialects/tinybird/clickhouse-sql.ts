/**
 * ClickHouse's SQL that DuckDB does not parse, or parses as something else, rewritten in the query's
 * text before it is parsed and checked like any other query: the parametric aggregates
 * (`quantile(0.95)(duration)` → `quantile_cont(duration, 0.95)`) and the aggregate `any(x)` (a
 * quantifier keyword in DuckDB) → `any_value(x)`. Strings, quoted names and comments are skipped, so
 * a name inside them is never rewritten.
 */
const PARAMETRIC: Record<string, (params: string, args: string[]) => string | undefined> = {
  quantile: (params, [value]) => `quantile_cont(${value}, ${params})`,
  quantiletdigest: (params, [value]) => `quantile_cont(${value}, ${params})`,
  quantileexact: (params, [value]) => `quantile_disc(${value}, ${params})`,
  quantiles: (params, [value]) => `quantile_cont(${value}, [${params}])`,
  quantilesexact: (params, [value]) => `quantile_disc(${value}, [${params}])`,
  // ClickHouse's topK is approximate too: the most frequent values, most frequent first.
  topk: (params, [value]) => `approx_top_k(${value}, ${params})`,
  quantileif: (params, [value, condition]) => (condition === undefined ? undefined : `quantile_cont(${value}, ${params}) FILTER (WHERE ${condition})`),
};

/** A name, matched where the scan stands (sticky), so that the scan stays linear in the query's length. */
const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;

export function rewriteClickHouseSql(sql: string): string {
  let out = '';
  let at = 0;
  while (at < sql.length) {
    const skipped = skipLiteral(sql, at);
    if (skipped > at) {
      out += sql.slice(at, skipped);
      at = skipped;
      continue;
    }
    WORD.lastIndex = at;
    const word = WORD.exec(sql)?.[0];
    if (!word) {
      out += sql[at];
      at += 1;
      continue;
    }
    const rewritten = Object.hasOwn(PARAMETRIC, word.toLowerCase()) ? parametricCall(sql, at + word.length, PARAMETRIC[word.toLowerCase()]!) : undefined;
    if (isAnyAggregate(sql, at, word)) {
      out += 'any_value';
      at += word.length;
    } else if (rewritten) {
      out += rewritten.text;
      at = rewritten.end;
    } else {
      out += word;
      at += word.length;
    }
  }
  return out;
}

/** `(params)(args)` from `at`, rewritten; undefined when the text there is not of that shape. */
function parametricCall(sql: string, at: number, rewrite: (params: string, args: string[]) => string | undefined): { text: string; end: number } | undefined {
  const paramsOpen = nextNonSpace(sql, at);
  if (sql[paramsOpen] !== '(') return undefined;
  const paramsClose = closingParenthesis(sql, paramsOpen);
  if (paramsClose === undefined) return undefined;
  const argsOpen = nextNonSpace(sql, paramsClose + 1);
  if (sql[argsOpen] !== '(') return undefined;
  const argsClose = closingParenthesis(sql, argsOpen);
  if (argsClose === undefined) return undefined;
  const args = splitTopLevel(sql.slice(argsOpen + 1, argsClose)).map((arg) => rewriteClickHouseSql(arg.trim()));
  const text = rewrite(sql.slice(paramsOpen + 1, paramsClose).trim(), args);
  return text === undefined ? undefined : { text, end: argsClose + 1 };
}

/**
 * `any(` as ClickHouse's aggregate: not after a comparison, where it is the quantifier of
 * `x = ANY (SELECT …)`, nor after a `.` (a qualified name).
 */
function isAnyAggregate(sql: string, at: number, word: string): boolean {
  if (word.toLowerCase() !== 'any' || sql[nextNonSpace(sql, at + word.length)] !== '(') return false;
  let before = at - 1;
  while (before >= 0 && /\s/.test(sql[before]!)) before -= 1;
  return before < 0 || !'=<>.'.includes(sql[before]!);
}

function nextNonSpace(sql: string, at: number): number {
  while (at < sql.length && /\s/.test(sql[at]!)) at += 1;
  return at;
}

/** The index of the `)` closing the `(` at `open`, past strings and comments. */
function closingParenthesis(sql: string, open: number): number | undefined {
  let depth = 0;
  for (let at = open; at < sql.length; ) {
    const skipped = skipLiteral(sql, at);
    if (skipped > at) {
      at = skipped;
      continue;
    }
    if (sql[at] === '(') depth += 1;
    else if (sql[at] === ')' && (depth -= 1) === 0) return at;
    at += 1;
  }
  return undefined;
}

/** The pieces of a text between its top-level commas. */
function splitTopLevel(text: string): string[] {
  const pieces: string[] = [];
  let depth = 0;
  let start = 0;
  for (let at = 0; at < text.length; ) {
    const skipped = skipLiteral(text, at);
    if (skipped > at) {
      at = skipped;
      continue;
    }
    const char = text[at];
    if (char === '(' || char === '[') depth += 1;
    else if (char === ')' || char === ']') depth -= 1;
    else if (char === ',' && depth === 0) {
      pieces.push(text.slice(start, at));
      start = at + 1;
    }
    at += 1;
  }
  pieces.push(text.slice(start));
  return pieces;
}

/** Past a string ('…', with '' escapes, as DuckDB reads it), a quoted name ("…", `…`) or a comment starting at `at`; `at` when none does. */
function skipLiteral(sql: string, at: number): number {
  const char = sql[at];
  if (char === "'" || char === '"' || char === '`') {
    for (let end = at + 1; end < sql.length; end += 1) {
      if (sql[end] === char) {
        if (sql[end + 1] !== char) return end + 1;
        end += 1;
      }
    }
    return sql.length;
  }
  if (sql.startsWith('--', at)) {
    const end = sql.indexOf('\n', at);
    return end < 0 ? sql.length : end + 1;
  }
  if (sql.startsWith('/*', at)) {
    const end = sql.indexOf('*/', at + 2);
    return end < 0 ? sql.length : end + 2;
  }
  return at;
}
