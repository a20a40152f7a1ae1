import { SluiceError } from '../../../core/errors.ts';
import type { Span, TokenReader } from '../../../core/query/sql-rewriter.ts';
import { fromDuckDBTypeName } from '../../../core/types/duckdb-types.ts';
import { zeroValueSql } from '../../../core/types/zero-value.ts';
import { quoteIdentifier } from '../../../storage/duckdb/sql.ts';

/**
 * ClickHouse's `ORDER BY t WITH FILL [FROM a] [TO b] [STEP s]` at the end of the query's outermost
 * level: rows are added for the values of `t` missing from the result, from `a` (else the least `t`)
 * up to `b` (excluded; else the greatest `t`), every `s` (1 unit: a day for a Date, a second for a
 * DateTime), with every other column at its type's zero value. A time series then has a row for
 * every hour or day, counts of 0 where nothing happened.
 */
export interface WithFill {
  /** The query before its ORDER BY. */
  head: Span;
  /** The ORDER BY's items as they sort: each one's expression and what follows it (ASC, NULLS LAST …), without WITH FILL. */
  order: Array<{ expression: Span; suffix: Span }>;
  /** The filled item's expression: a result column, by its name or its text. */
  column: Span;
  descending: boolean;
  from?: Span;
  to?: Span;
  step?: Span;
  /** What follows the ORDER BY (LIMIT, OFFSET), kept after it. */
  rest: Span;
}

/** Words that end an ORDER BY list at its own level. */
const ORDER_ENDS = new Set(['LIMIT', 'OFFSET', 'SETTINGS']);
const FILL_PARTS = new Set(['FROM', 'TO', 'STEP']);

/** The query's outermost ORDER BY … WITH FILL, if it has one (see `WithFill`). */
export function withFill(reader: TokenReader): WithFill | undefined {
  const { tokens } = reader;
  let orderAt: number | undefined;
  for (let index = 0; index < tokens.length; index += 1) {
    if (reader.opens(index)) index = reader.closing(index, tokens.length) ?? tokens.length;
    else if (reader.word(index) === 'ORDER' && reader.word(index + 1) === 'BY') orderAt = index;
    else if (['UNION', 'EXCEPT', 'INTERSECT'].includes(reader.word(index) ?? '')) orderAt = undefined;
  }
  if (orderAt === undefined) return undefined;
  let end = orderAt + 2;
  while (end < tokens.length && !ORDER_ENDS.has(reader.word(end) ?? '')) {
    end = reader.opens(end) ? (reader.closing(end, tokens.length) ?? tokens.length) + 1 : end + 1;
  }
  const items = reader.arguments({ from: orderAt + 2, to: end });
  const fills = items.map((item) => fillClause(reader, item)).filter((fill) => fill !== undefined);
  if (fills.length === 0) return undefined;
  if (fills.length > 1) throw new SluiceError('SQL_SYNTAX', 'WITH FILL is supported on one ORDER BY column of a query');
  const [fill] = fills;
  return {
    head: { from: 0, to: orderAt },
    order: items.map((item) => orderItem(reader, { from: item.from, to: Math.min(item.to, fillClause(reader, item)?.at ?? item.to) })),
    ...fill!.parts,
    rest: { from: end, to: tokens.length },
  };
}

/** An ORDER BY item's expression, and its direction and NULLS order after it. */
function orderItem(reader: TokenReader, item: Span): { expression: Span; suffix: Span } {
  let end = item.to;
  if (['FIRST', 'LAST'].includes(reader.word(end - 1) ?? '') && reader.word(end - 2) === 'NULLS') end -= 2;
  if (['ASC', 'DESC', 'ASCENDING', 'DESCENDING'].includes(reader.word(end - 1) ?? '')) end -= 1;
  if (end <= item.from) throw new SluiceError('SQL_SYNTAX', 'An ORDER BY item needs an expression');
  return { expression: { from: item.from, to: end }, suffix: { from: end, to: item.to } };
}

/** An ORDER BY item's WITH FILL clause: where it starts, and the item's parts. */
function fillClause(reader: TokenReader, item: Span): { at: number; parts: Omit<WithFill, 'head' | 'order' | 'rest'> } | undefined {
  let at = item.from;
  for (; at + 1 < item.to; at += 1) {
    if (reader.opens(at)) at = reader.closing(at, item.to) ?? item.to;
    else if (reader.word(at) === 'WITH' && reader.word(at + 1) === 'FILL') break;
  }
  if (at + 1 >= item.to) return undefined;
  const { expression, suffix } = orderItem(reader, { from: item.from, to: at });
  const descending = reader.word(suffix.from)?.startsWith('DESC') ?? false;
  // FROM, TO and STEP, each followed by its expression up to the next of them.
  const parts: Partial<Record<'from' | 'to' | 'step', Span>> = {};
  let part: 'from' | 'to' | 'step' | undefined;
  let start = at + 2;
  for (let index = at + 2; index <= item.to; index += 1) {
    const word = index < item.to ? reader.word(index) : undefined;
    if (index < item.to && reader.opens(index)) {
      index = reader.closing(index, item.to) ?? item.to;
      continue;
    }
    if (index < item.to && !(word !== undefined && FILL_PARTS.has(word))) continue;
    if (part !== undefined) {
      if (index === start) throw new SluiceError('SQL_SYNTAX', `WITH FILL ${part.toUpperCase()} needs an expression`);
      parts[part] = { from: start, to: index };
    } else if (index > start) {
      throw new SluiceError('SQL_SYNTAX', 'WITH FILL takes FROM, TO and STEP (INTERPOLATE and STALENESS are not supported)');
    }
    part = word?.toLowerCase() as typeof part;
    start = index + 1;
  }
  return {
    at,
    parts: { column: expression, descending, ...parts },
  };
}

/** A result column of the query under the ORDER BY: its name and its type, as DuckDB names it. */
export interface ResultColumn {
  name: string;
  type: string;
}

/** The WITH FILL query's pieces rendered as DuckDB SQL. */
export interface RenderedFill {
  head: string;
  /** Each ORDER BY item: its expression as a result column's name would be (see `columnName`), as rendered, and its suffix. */
  order: Array<{ name: string; expression: string; suffix: string }>;
  /** The filled column's name among the result's columns. */
  column: string;
  descending: boolean;
  from?: string;
  to?: string;
  step?: string;
  rest: string;
}

const DATA = quoteIdentifier('__sluice_fill_rows');

/**
 * The query with its rows filled (see `WithFill`), given the columns of the query under the ORDER BY,
 * as ClickHouse fills them: from FROM up to the first value, then after each distinct value every
 * STEP until the next one (or TO), so that the steps start again after a value off the grid. The
 * values come from scalar `range`s (bounded like any other), and the rows they make are added beside
 * the query's own before everything is sorted as written.
 */
export function filledQuery(fill: RenderedFill, columns: ResultColumn[]): string {
  const target = columns.find((column) => column.name === fill.column);
  if (!target) {
    throw new SluiceError('SQL_SYNTAX', `WITH FILL fills a result column: "${fill.column}" is not one (name it with AS and order by the name)`);
  }
  const type = typeOf(target);
  const name = quoteIdentifier(target.name);
  // A step goes the order's way; the fill starts at the value sorted first, and stops at TO.
  const [sign, forward, first, bounded] = fill.descending ? ['-', '<', 'max', 'greatest'] : ['', '>', 'min', 'least'];
  // Segments to fill: [__lo, __hi), __lo itself only for FROM (a value's row is the data's own).
  const upTo = (value: string) => (fill.to === undefined ? value : `${bounded}(${value}, ${fill.to})`);
  const toEnd = fill.to === undefined ? '__next' : upTo(`coalesce(__next, ${fill.to})`);
  const segments = [
    `SELECT __value AS __lo, ${toEnd} AS __hi, false AS __included FROM (SELECT __value, lead(__value) OVER (ORDER BY __value${fill.descending ? ' DESC' : ''}) AS __next
      FROM (SELECT DISTINCT ${name} AS __value FROM ${DATA} WHERE ${name} IS NOT NULL))`,
    ...(fill.from === undefined ? [] : [`SELECT ${fill.from} AS __lo, ${upTo(fill.to === undefined ? `(SELECT ${first}(${name}) FROM ${DATA})` : `coalesce((SELECT ${first}(${name}) FROM ${DATA}), ${fill.to})`)} AS __hi, true AS __included`]),
  ];
  let step: string;
  let values: string;
  if (type.kind === 'date' || type.kind === 'timestamp') {
    const unit = type.kind === 'date' ? 'DAY' : 'SECOND';
    step = fill.step === undefined ? `INTERVAL (${sign}1) ${unit}` : isInterval(fill.step) ? `(${fill.step})` : `INTERVAL (${fill.step}) ${unit}`;
    const time = (value: string) => `CAST(${value} AS TIMESTAMP)`;
    values = `range(${time('__lo')} + CASE WHEN __included THEN INTERVAL 0 SECOND ELSE ${step} END, ${time('__hi')}, ${step})`;
    step = `${step} ${forward} INTERVAL 0 SECOND`;
  } else if (['int', 'float', 'decimal'].includes(type.kind)) {
    step = `(${fill.step ?? `${sign}1`})`;
    values = `list_transform(range(CASE WHEN __included THEN 0 ELSE 1 END, CAST(greatest(ceil((__hi - __lo) / ${step}), 0) AS BIGINT)), k -> __lo + k * ${step})`;
    step = `${step} ${forward} 0`;
  } else {
    throw new SluiceError('SQL_SYNTAX', `WITH FILL fills a number, a Date or a DateTime column, not "${target.name}" of type ${target.type}`);
  }
  const direction = fill.descending ? 'negative when the order is descending' : 'positive when the order is ascending';
  const zeros = columns.filter((column) => column !== target).map((column) => `${zeroOf(column)} AS ${quoteIdentifier(column.name)}`);
  const filled = `SELECT ${[`CAST(__value AS ${target.type}) AS ${name}`, ...zeros].join(', ')}
    FROM (SELECT unnest(CASE WHEN ${step} THEN ${values} ELSE error('WITH FILL: STEP must be ${direction}') END) AS __value
      FROM (${segments.join(' UNION ALL ')}))`;
  // The rows are sorted outside the query that made them: by its result columns, by name.
  const order = fill.order.map(({ name: item, expression, suffix }) => {
    const column = columns.find((candidate) => candidate.name === item);
    return `${column ? quoteIdentifier(column.name) : expression}${suffix === '' ? '' : ` ${suffix}`}`;
  });
  return `WITH ${DATA} AS (${fill.head}) SELECT * FROM (SELECT * FROM ${DATA} UNION ALL BY NAME ${filled}) ORDER BY ${order.join(', ')}${fill.rest === '' ? '' : ` ${fill.rest}`}`;
}

function typeOf(column: ResultColumn) {
  try {
    return fromDuckDBTypeName(column.type);
  } catch {
    return { kind: 'null' } as const;
  }
}

/** A column's zero value (0, '', the epoch …), of its own type; NULL for a type without one. */
export function zeroOf(column: ResultColumn): string {
  const type = typeOf(column);
  return `CAST(${type.kind === 'null' ? 'NULL' : zeroValueSql(type)} AS ${column.type})`;
}

/** Whether a STEP is an interval (`INTERVAL 1 HOUR`, `toIntervalHour(1)`) rather than a number of units. */
function isInterval(step: string): boolean {
  return /^\s*\(?\s*(INTERVAL\b|to_?interval|to_(years|months|days|hours|minutes|seconds|weeks)\s*\()/i.test(step);
}
