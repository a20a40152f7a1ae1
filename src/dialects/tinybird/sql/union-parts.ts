import type { TokenReader } from '../../../core/query/sql-rewriter.ts';

const SET_OPERATORS = new Set(['UNION', 'EXCEPT', 'INTERSECT']);

interface Part {
  from: number;
  to: number;
  /** Whether it has an ORDER BY, LIMIT or OFFSET of its own, at its level. */
  ordered: boolean;
  /** Whether it has a LIMIT … BY, which only the query's outermost level reads (see limit-by.ts). */
  limitedBy: boolean;
}

/**
 * The SELECTs joined by UNION, EXCEPT or INTERSECT that have an ORDER BY, LIMIT or OFFSET of their
 * own, by the index of their first token, with the index after their last. ClickHouse applies them
 * to that SELECT alone (`SELECT … UNION ALL SELECT … ORDER BY id LIMIT 3` takes the first query's
 * rows and three of the second's); standard SQL, DuckDB's, to the whole union: such a SELECT is put
 * in parentheses. At every level of the query, subqueries included.
 */
export function orderedUnionParts(reader: TokenReader): Map<number, number> {
  const found = new Map<number, number>();
  type Level = { parts: Part[]; current: Part; ended: boolean };
  const open = (from: number): Level => ({ parts: [], current: { from, to: from, ordered: false, limitedBy: false }, ended: false });
  const finish = (level: Level, at: number): void => {
    if (!level.ended) level.parts.push({ ...level.current, to: at });
    if (level.parts.length < 2) return;
    for (const part of level.parts) if (part.ordered && !part.limitedBy && part.from < part.to) found.set(part.from, part.to);
  };
  const levels = [open(0)];
  for (let index = 0; index < reader.tokens.length; index += 1) {
    const level = levels.at(-1)!;
    if (reader.opens(index)) {
      levels.push(open(index + 1));
      continue;
    }
    if (reader.closes(index)) {
      if (levels.length > 1) finish(levels.pop()!, index);
      continue;
    }
    if (level.ended) continue;
    const word = reader.word(index);
    // What ends the outermost query: its settings, WITH TOTALS, a closing `;`.
    if (levels.length === 1 && (word === 'SETTINGS' || reader.isSymbol(index, ';') || (word === 'WITH' && reader.word(index + 1) === 'TOTALS'))) {
      level.parts.push({ ...level.current, to: index });
      level.ended = true;
    } else if (word !== undefined && SET_OPERATORS.has(word)) {
      level.parts.push({ ...level.current, to: index });
      const next = ['ALL', 'DISTINCT'].includes(reader.word(index + 1) ?? '') ? index + 2 : index + 1;
      level.current = { from: next, to: next, ordered: false, limitedBy: false };
    } else if ((word === 'ORDER' && reader.word(index + 1) === 'BY') || word === 'LIMIT' || word === 'OFFSET') {
      level.current.ordered = true;
    } else if (word === 'BY' && level.current.ordered && reader.word(index - 1) !== 'ORDER') {
      level.current.limitedBy = true;
    }
  }
  finish(levels[0]!, reader.tokens.length);
  return found;
}
