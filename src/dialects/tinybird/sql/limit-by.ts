import type { Span, TokenReader } from '../../../core/query/sql-rewriter.ts';

/** ClickHouse's `LIMIT [offset,] n BY expressions` at the end of the query's outermost level. */
export interface LimitBy {
  /** The query before it. */
  head: Span;
  /** Its ORDER BY's items, if it has one: the order rows of a group are taken in. */
  order?: Span;
  offset: number;
  count: number;
  by: Span;
  /** What follows (a plain LIMIT), kept after it. */
  rest: Span;
}

/** Words after which a LIMIT BY's list of expressions ends. */
const BY_LIST_ENDS = new Set(['LIMIT', 'OFFSET', 'SETTINGS']);

/** The query's outermost LIMIT BY, if it has one (see `LimitBy`). */
export function limitBy(reader: TokenReader): LimitBy | undefined {
  const { tokens } = reader;
  let orderStart: number | undefined;
  for (const index of reader.outermost()) {
    if (reader.word(index) === 'ORDER' && reader.word(index + 1) === 'BY') orderStart = index + 2;
    else if (reader.word(index) === 'UNION' || reader.word(index) === 'EXCEPT' || reader.word(index) === 'INTERSECT') orderStart = undefined;
    else if (reader.word(index) === 'LIMIT') {
      const number = (at: number) => (tokens[at]?.kind === 'number' && /^\d+$/.test(tokens[at].text) ? Number(tokens[at].text) : undefined);
      const withOffset = reader.isSymbol(index + 2, ',');
      const [offset, count, byAt] = withOffset ? [number(index + 1), number(index + 3), index + 4] : [0, number(index + 1), index + 2];
      if (offset === undefined || count === undefined || reader.word(byAt) !== 'BY') continue;
      let end = byAt + 1;
      for (let nested = 0; end < tokens.length; end += 1) {
        if (reader.opens(end)) nested += 1;
        else if (reader.closes(end)) nested -= 1;
        else if (nested === 0 && BY_LIST_ENDS.has(reader.word(end) ?? '')) break;
      }
      return {
        head: { from: 0, to: index },
        ...(orderStart !== undefined && { order: { from: orderStart, to: index } }),
        offset, count, by: { from: byAt + 1, to: end }, rest: { from: end, to: tokens.length },
      };
    }
  }
  return undefined;
}
