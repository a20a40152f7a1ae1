import { SluiceError } from '../../../core/errors.ts';
import { quoteLiteral } from '../../../storage/duckdb/sql.ts';

/** A piece of the output: strftime's format letters, or SQL giving a text of its own. */
type Piece = { strftime: string } | { sql: (value: string) => string };

const padded = (sql: string, width: number, pad: string) => `lpad(CAST(${sql} AS VARCHAR), ${width}, '${pad}')`;

/**
 * ClickHouse's `formatDateTime` letters (current ClickHouse: `%M` is the month's name, `%i` the
 * minute), as strftime's or, where strftime has none, as SQL over the value. Times are in UTC, as
 * Tinybird's are; with a time zone argument the value is shown in that zone.
 */
const LETTERS: Record<string, Piece> = {
  a: { strftime: '%a' },
  b: { strftime: '%b' },
  c: { strftime: '%m' },
  C: { sql: (value) => padded(`year(${value}) // 100`, 2, '0') },
  d: { strftime: '%d' },
  D: { strftime: '%m/%d/%y' },
  e: { sql: (value) => padded(`day(${value})`, 2, ' ') },
  F: { strftime: '%Y-%m-%d' },
  g: { sql: (value) => `right(strftime(${value}, '%G'), 2)` },
  G: { strftime: '%G' },
  h: { strftime: '%I' },
  H: { strftime: '%H' },
  i: { strftime: '%M' },
  I: { strftime: '%I' },
  j: { strftime: '%j' },
  k: { sql: (value) => padded(`hour(${value})`, 2, ' ') },
  l: { sql: (value) => padded(`strftime(${value}, '%-I')`, 2, ' ') },
  m: { strftime: '%m' },
  M: { strftime: '%B' },
  n: { strftime: '\n' },
  p: { strftime: '%p' },
  Q: { sql: (value) => `CAST(quarter(${value}) AS VARCHAR)` },
  r: { strftime: '%I:%M %p' },
  R: { strftime: '%H:%M' },
  s: { strftime: '%S' },
  S: { strftime: '%S' },
  t: { strftime: '\t' },
  T: { strftime: '%H:%M:%S' },
  u: { strftime: '%u' },
  V: { strftime: '%V' },
  w: { strftime: '%w' },
  W: { strftime: '%A' },
  y: { strftime: '%y' },
  Y: { strftime: '%Y' },
  '%': { strftime: '%%' },
};

/** `+hhmm`: the offset from UTC of `shown` (the value in a zone) against `utc` (the same instant in UTC). */
function offsetSql(shown: string, utc: string): string {
  const seconds = `CAST(epoch(${shown}) - epoch(${utc}) AS BIGINT)`;
  return `CASE WHEN ${seconds} < 0 THEN '-' ELSE '+' END || ${padded(`abs(${seconds}) // 3600`, 2, '0')} || ${padded(`abs(${seconds}) % 3600 // 60`, 2, '0')}`;
}

/**
 * SQL for ClickHouse's `formatDateTime(value, format[, timeZone])`: `value` and `timeZone` are SQL
 * expressions, `format` the format's text (ClickHouse requires a constant). One `strftime` call
 * when every letter has strftime's equivalent, else the pieces concatenated.
 */
export function formatDateTimeSql(value: string, format: string, timeZone?: string): string {
  const shown = timeZone === undefined ? value : `timezone(${timeZone}, timezone('UTC', ${value}))`;
  const pieces: Piece[] = [];
  for (let at = 0; at < format.length; at += 1) {
    const char = format[at]!;
    let piece: Piece;
    if (char !== '%') {
      piece = { strftime: char };
    } else {
      const letter = format[(at += 1)];
      if (letter === 'z') piece = timeZone === undefined ? { strftime: '+0000' } : { sql: (local) => offsetSql(local, value) };
      // The fraction in as many digits as the value's type has: 3 for a DateTime64(3), 9 for a
      // DateTime64(9), else 6 (ClickHouse's digits for a value without a fraction too).
      else if (letter === 'f') piece = { sql: (local) => `strftime(${local}, CASE typeof(${value}) WHEN 'TIMESTAMP_MS' THEN '%g' WHEN 'TIMESTAMP_NS' THEN '%n' ELSE '%f' END)` };
      else if (letter !== undefined && Object.hasOwn(LETTERS, letter)) piece = LETTERS[letter]!;
      else throw new SluiceError('SQL_SYNTAX', `formatDateTime: ${letter === undefined ? 'the format ends in a lone %' : `%${letter} is not a format letter ClickHouse knows`}`);
    }
    const last = pieces.at(-1);
    if ('strftime' in piece && last && 'strftime' in last) pieces[pieces.length - 1] = { strftime: last.strftime + piece.strftime };
    else pieces.push(piece);
  }
  if (pieces.length === 0) return "''";
  const render = (piece: Piece) => {
    if (!('strftime' in piece)) return piece.sql(shown);
    // Text without letters is its own output.
    const text = piece.strftime.replaceAll('%%', '');
    return text.includes('%') ? `strftime(${shown}, ${quoteLiteral(piece.strftime)})` : quoteLiteral(piece.strftime.replaceAll('%%', '%'));
  };
  return pieces.map(render).join(' || ');
}
