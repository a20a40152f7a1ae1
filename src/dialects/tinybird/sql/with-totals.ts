import { SluiceError } from '../../../core/errors.ts';
import type { Span, TokenReader } from '../../../core/query/sql-rewriter.ts';
import { quoteIdentifier } from '../../../storage/duckdb/sql.ts';
import { zeroOf, type ResultColumn } from './with-fill.ts';

/**
 * ClickHouse's `GROUP BY keys WITH TOTALS` at the query's outermost level: beside the rows, one row
 * of the same aggregates over every row the query groups, its key columns at their type's zero
 * value ('' , 0, 1970-01-01). The query runs without the modifier; the totals row comes from the
 * same query grouped by `GROUPING SETS ((keys), ())`, keeping only the grand total, without its
 * ORDER BY and LIMIT (which order and count the groups, not the totals).
 */
export interface WithTotals {
  /** Where `WITH TOTALS` stands: two tokens, left out of the query. */
  at: number;
  /** The first of the GROUP BY's keys. */
  groupStart: number;
  keys: Span[];
}

/** Words after which the GROUP BY's keys have ended. */
const CLAUSES_AFTER = new Set(['HAVING', 'ORDER', 'LIMIT', 'SETTINGS', 'QUALIFY', 'WINDOW', 'UNION', 'EXCEPT', 'INTERSECT']);

/** The query's outermost `GROUP BY … WITH TOTALS`, if it has one. */
export function withTotals(reader: TokenReader): WithTotals | undefined {
  let groupStart: number | undefined;
  let found: WithTotals | undefined;
  for (const index of reader.outermost()) {
    if (reader.word(index) === 'GROUP' && reader.word(index + 1) === 'BY') groupStart = index + 2;
    else if (reader.word(index) === 'WITH' && reader.word(index + 1) === 'TOTALS') {
      if (groupStart === undefined) throw new SluiceError('SQL_SYNTAX', 'WITH TOTALS follows the GROUP BY of the outermost query');
      for (let key = groupStart; key < index; key += 1) {
        // A key's first word is a name, not a clause (`GROUP BY order, group WITH TOTALS`).
        const startsKey = key === groupStart || reader.isSymbol(key - 1, ',');
        if (!startsKey && (CLAUSES_AFTER.has(reader.word(key) ?? '') || reader.word(key) === 'WITH')) {
          throw new SluiceError('SQL_SYNTAX', 'WITH TOTALS follows the GROUP BY keys directly (beside WITH ROLLUP or CUBE it is not supported)');
        }
      }
      found = { at: index, groupStart, keys: reader.arguments({ from: groupStart, to: index }) };
    } else if (found && ['HAVING', 'UNION', 'EXCEPT', 'INTERSECT'].includes(reader.word(index) ?? '')) {
      // ClickHouse's totals are of the groups HAVING keeps, which a grand total over the rows is not.
      throw new SluiceError('SQL_SYNTAX', `WITH TOTALS beside ${reader.word(index)} is not supported`);
    }
  }
  return found;
}

/** A WITH TOTALS query rendered as DuckDB SQL: the query itself, and the totals row's. */
export interface RenderedTotals {
  sql: string;
  /** The query of the grand total only; its key columns are NULL. */
  totals: string;
  /** The names of the result columns that are keys (by alias, by name, or by their expression's text). */
  keyColumns: string[];
}

/** The totals row's query, its key columns at their type's zero, in the columns (and types) of the query itself. */
export function totalsQuery(rendered: RenderedTotals, columns: ResultColumn[]): string {
  const keys = new Set(rendered.keyColumns);
  const items = columns.map((column) => {
    const name = quoteIdentifier(column.name);
    return keys.has(column.name) ? `coalesce(${name}, ${zeroOf(column)}) AS ${name}` : name;
  });
  return `SELECT ${items.join(', ')} FROM (${rendered.totals})`;
}
