import { open } from 'node:fs/promises';
import type { Transaction } from '../../../storage/duckdb/duckdb-storage.ts';
import { quoteIdentifier, quoteLiteral } from '../../../storage/duckdb/sql.ts';
import { DUCKDB_LINE_LIMITS } from './line-limits.ts';
import { defaultSqlOf, type Column } from '../../catalog/model.ts';
import { SluiceError } from '../../errors.ts';
import { undecodableInput, type StagedInput } from '../staged-input.ts';
import { CsvQuoting } from './csv-quoting.ts';
import { findTextAfterQuotes, patchStrayReturns, STRAY_RETURN_REASON, TEXT_AFTER_QUOTE_REASON } from './csv-record-scans.ts';
import { asMalformed, checkSomeFieldMatches } from './malformed.ts';

export interface CsvDialect {
  delimiter: string;
  quote: string;
  escape: string;
  newline: '\n' | '\r\n' | '\r';
}

export interface CsvOptions {
  delimiter?: string;
  quote?: string;
  escape?: string;
  /** Whether the first record names the columns; 'detect' decides from that record. */
  header: boolean | 'detect';
  /** With a header, fields are matched to columns by name (unless `byPosition`); without one, by position. */
  caseInsensitive: boolean;
  /** Map fields to columns by position even when there is a header (the file the table was inferred from). */
  byPosition?: boolean;
  /**
   * An empty field of a non-nullable text column is the empty string rather than a missing value;
   * with 'withoutDefault', only in a column without a DEFAULT, which a missing value takes (as
   * ClickHouse's input_format_csv_empty_as_default reads one).
   */
  emptyTextIsEmptyString?: boolean | 'withoutDefault';
  /**
   * Missing trailing fields are NULL and extra fields ignored; otherwise such records are invalid.
   * A lenient read tells a missing field from an empty one: a non-nullable text column with
   * `emptyTextIsEmptyString` takes an empty field as '' and a missing one as missing (its DEFAULT, or
   * an error), and every other column takes both as NULL, quoted ("") or not, as Feldera's CSV reader does.
   */
  lenient: boolean;
  /**
   * Whether a quoted empty field ("") is NULL like an unquoted empty one (the default), or an empty
   * string; `outsideText`: the empty string in a String column, NULL in any other (where no text is a value).
   */
  quotedEmptyIsNull?: boolean | 'outsideText';
  /**
   * An unquoted field of just this text is NULL too, as an unquoted empty one is (ClickHouse writes
   * NULL as `\N` in CSV); quoted, it is the text itself.
   */
  nullText?: string;
  /** Records of this file are numbered after this many (a file that continues an earlier one). */
  recordOffset?: number;
  /**
   * The file is known to hold no carriage return outside quotes (none at all, as its spooling saw,
   * or none unquoted, as its writer quotes every text), sparing the search for them.
   */
  noStrayReturns?: boolean;
}

let scanCounter = 0;

/** A null string no CSV file holds as a field, so that DuckDB reads every field as its text. */
const NO_NULL_TEXT = '\u0001sluice: no field is NULL\u0001';

/**
 * A spooled CSV file, read by DuckDB's own CSV reader (typed later by the write path). Records with
 * the wrong number of fields or broken quoting land in DuckDB's rejects table and are staged as
 * undecodable records with DuckDB's reason and the line's text. The direct read fails at the first
 * such record instead. A record with a carriage return outside quotes in a file of \n lines, which
 * DuckDB cannot reject, is found by a scan of the file and staged alike (see patchStrayReturns).
 *
 * DuckDB's readers can lose a record while keeping rejects, without an error: the parallel one a
 * line past the line limit that falls across its buffers in some layouts, the sequential one an
 * unterminated quote at the end of the file. Neither loses what the other does, and neither adds a
 * record, so the staged read counts the records the other reader accounts for (rows and rejected
 * lines) and reads again with it when that finds more.
 */
export async function csvInput(path: string, columns: Column[], options: CsvOptions): Promise<StagedInput> {
  const dialect = await detectDialect(path, options);
  const firstRecord = await readFirstRecord(path, dialect);
  const header = options.header === 'detect' ? looksLikeHeader(firstRecord, columns) : options.header;
  // Without a header a record has one field per column; a lenient read takes a longer first record's extra fields too (and ignores them).
  const fieldCount = header ? firstRecord.length : options.lenient ? Math.max(firstRecord.length, columns.length) : columns.length;
  const sources = mapFields(columns, header && !options.byPosition ? firstRecord : null, options.caseInsensitive);
  const mapped = columns.flatMap((column, index) => (sources[index] === undefined ? [] : [{ column, field: sources[index]! }]));
  const taken = new Set(mapped.map(({ field }) => field));
  const ignoredFields = header && !options.byPosition ? firstRecord.flatMap((name, field) => (taken.has(field) ? [] : [name.trim() || `field ${field + 1}`])) : [];
  // A header none of whose names is a column is most likely a first row of data.
  if (header && !options.byPosition) checkSomeFieldMatches('the CSV header', firstRecord, columns, mapped.length);
  // The strict reader fails a whole file on a carriage return outside quotes that does not end its line: such
  // records are found first, to be staged as undecodable lines (the lenient reader takes one for a line break).
  const strayReturns = !options.lenient && !options.noStrayReturns && dialect.newline === '\n' ? await patchStrayReturns(path, dialect.quote, dialect.escape, dialect.delimiter, header) : [];
  // The lenient reader mangles a field with text after its closing quote, where the strict one rejects the record.
  const textAfterQuotes = options.lenient ? await findTextAfterQuotes(path, dialect.quote, dialect.escape, dialect.delimiter, header) : [];
  const unreadable = [
    ...strayReturns.map((record) => ({ ...record, reason: STRAY_RETURN_REASON })),
    ...textAfterQuotes.map((record) => ({ ...record, reason: TEXT_AFTER_QUOTE_REASON })),
  ];
  // A lenient read's only NULLs are the missing fields it pads: no field is read as NULL (the
  // null string is one no file holds), and empty ones are made NULL below where they are.
  const nullStrings = options.lenient ? `nullstr = ${quoteLiteral(NO_NULL_TEXT)}` : nullStringsOption(options.nullText, [dialect.quote, dialect.escape]);
  const fields = Array.from({ length: Math.max(fieldCount, 1) }, (_, index) => `${quoteLiteral(`f${index}`)}: 'VARCHAR'`);
  const reader = (rejects?: string, parallel = true) => `read_csv(${quoteLiteral(path)}, auto_detect = false, header = false, skip = ${header ? 1 : 0},
        delim = ${quoteLiteral(dialect.delimiter)}, quote = ${quoteLiteral(dialect.quote)}, escape = ${quoteLiteral(dialect.escape)},
        new_line = ${quoteLiteral(newLineOption(dialect, options.lenient))}, columns = {${fields.join(', ')}}, ${DUCKDB_LINE_LIMITS},
        allow_quoted_nulls = ${(options.quotedEmptyIsNull ?? true) === true}${nullStrings ? `, ${nullStrings}` : ''}${rejects ? `, store_rejects = true, rejects_table = ${quoteLiteral(rejects)}, rejects_scan = ${quoteLiteral(`${rejects}_scan`)}` : ''}
        ${options.lenient ? ', strict_mode = false, null_padding = true' : ''}${!parallel || options.lenient ? ', parallel = false' : ''})`;
  const values = mapped.map(({ column, field }) => {
    const value = quoteIdentifier(`f${field}`);
    const emptyIsText = (options.emptyTextIsEmptyString === 'withoutDefault' ? defaultSqlOf(column) === undefined : options.emptyTextIsEmptyString === true)
      && column.type.kind === 'string' && !column.nullable;
    if (options.lenient) return emptyIsText ? value : `nullif(${value}, '')`;
    if (column.type.kind !== 'string') return options.quotedEmptyIsNull === 'outsideText' ? `nullif(${value}, '')` : value;
    return emptyIsText ? `coalesce(${value}, '')` : value;
  });
  return {
    columns: mapped.map(({ column }) => column.name),
    ...(ignoredFields.length > 0 && { ignoredFields }),
    async load(tx: Transaction, rawTable: string, request: number) {
      const offset = options.recordOffset ?? 0;
      const skipped = header ? 1 : 0;
      const nulls = mapped.map(() => ', NULL').join('');
      /**
       * Stages the file's rows and rejected lines read with one reader; gives how many records that
       * accounts for. Each is numbered by its record in the file (the first after a header is 1):
       * DuckDB's rejects give a rejected record's number (counting the header), and the rows it kept
       * are numbered in order and then moved past the rejected records before them.
       */
      const stage = (parallel: boolean) =>
        withRejects(tx, path, async (rejects) => {
          const rows = await tx.run(
            `INSERT INTO ${rawTable} SELECT ${request}, ${offset} + row_number() OVER (), 1, NULL, NULL${values.map((value) => `, ${value}`).join('')} FROM ${reader(rejects, parallel)}`,
          );
          const lines = await tx.run(
            `INSERT INTO ${rawTable} SELECT ${request}, ${offset} + line - ${skipped}, 1, 'line ' || (${offset} + line) || ': ' || error_message, csv_line${nulls} FROM ${rejects}
             WHERE line IS NOT NULL QUALIFY row_number() OVER (PARTITION BY line ORDER BY column_idx) = 1`,
          );
          // The k-th kept record comes after every rejected one (the j-th, record r) with fewer than k kept records before it (r - j).
          if (lines > 0 && rows > 0) {
            await tx.run(
              `UPDATE ${rawTable} SET _row = _row + (SELECT count(*) FROM (SELECT line - ${skipped} - row_number() OVER (ORDER BY line) AS kept_before FROM (SELECT DISTINCT line FROM ${rejects} WHERE line IS NOT NULL))
                 WHERE kept_before < ${rawTable}._row - ${offset}) WHERE _req = ${request} AND _error IS NULL`,
            );
          }
          return rows + lines;
        });
      const staged = await stage(true);
      const sequential = await withRejects(tx, path, async (rejects) => {
        const [counted] = await tx.rows(`SELECT count(*) AS n FROM ${reader(rejects, false)}`);
        const [rejected] = await tx.rows(`SELECT count(DISTINCT line) AS n FROM ${rejects} WHERE line IS NOT NULL`);
        return Number(counted?.['n'] ?? 0) + Number(rejected?.['n'] ?? 0);
      });
      if (sequential > staged) {
        await tx.run(`DELETE FROM ${rawTable} WHERE _req = ${request}`);
        await stage(false);
      }
      if (unreadable.length > 0) {
        // What was read from a record whose carriage returns were patched (see patchStrayReturns), or
        // whose quoted field was followed by text, is not what was sent: the record is an undecodable line instead.
        const records = unreadable.map(({ line, source, reason }) => ({ line: offset + line - skipped, error: `line ${offset + line}: ${reason}`, source }));
        for (let from = 0; from < records.length; from += 1000) {
          await tx.run(`DELETE FROM ${rawTable} WHERE _req = ${request} AND _row IN (${records.slice(from, from + 1000).map(({ line }) => line).join(', ')})`);
        }
        await undecodableInput(mapped.map(({ column }) => column.name), records).load(tx, rawTable, request);
      }
    },
    // Without a rejects table DuckDB's reader fails on a record it would have rejected; a patched or mangled record it would read as a row.
    ...(unreadable.length === 0 && {
      async direct() {
        return { sql: `SELECT NULL::VARCHAR AS _error${values.map((value, index) => `, ${value} AS v${index}`).join('')} FROM ${reader()}` };
      },
    }),
  };
}

/**
 * Runs `read` with a fresh name for a rejects table, then drops the table. A failure is the file's
 * (malformed); the transaction is then rolled back, taking the table with it.
 */
async function withRejects<T>(tx: Transaction, path: string, read: (rejects: string) => Promise<T>): Promise<T> {
  const rejects = `sluice_csv_rejects_${(scanCounter += 1)}`;
  let result: T;
  try {
    result = await read(rejects);
  } catch (error) {
    throw asMalformed(explained(error), 'CSV', path);
  }
  await tx.run(`DROP TABLE IF EXISTS ${rejects}`);
  await tx.run(`DROP TABLE IF EXISTS ${rejects}_scan`);
  return result;
}

/**
 * DuckDB's strict reader fails a whole file on a carriage return that neither ends the line as the
 * first line ends nor stands inside quotes, with a message that names no line and suggests a reader
 * option the client cannot set: such a failure (lines ending both with \r\n and otherwise; a stray
 * one in a file of \n lines is patched before, see patchStrayReturns) is said in the client's terms.
 */
function explained(error: unknown): unknown {
  if (!(error instanceof Error) || !error.message.includes('The CSV Parser state machine reached an invalid state')) return error;
  return new Error('its lines do not all end alike (\\n, \\r\\n or \\r), or a carriage return stands outside quotes inside a line (a value holding a line break must be quoted)', { cause: error });
}

/**
 * Which field feeds each column: by header name when there is a header (an exact name first, else
 * one that differs only in case, as the header was recognised by), else by position.
 */
function mapFields(columns: Column[], header: string[] | null, caseInsensitive: boolean): Array<number | undefined> {
  if (!header) return columns.map((_, index) => index);
  const fieldsNamed = (matches: (name: string) => boolean) => header.flatMap((name, index) => (matches(name.trim()) ? [index + 1] : []));
  return columns.map((column) => {
    const exact = caseInsensitive ? [] : fieldsNamed((name) => name === column.name);
    const fields = exact.length > 0 ? exact : fieldsNamed((name) => name.toLowerCase() === column.name.toLowerCase());
    if (fields.length > 1) {
      throw new SluiceError('MALFORMED_BODY', `The CSV header names column "${column.name}" more than once (fields ${fields.join(', ')}), so which value it takes is unclear`, {
        column: column.name,
        fields,
      });
    }
    return fields[0] === undefined ? undefined : fields[0] - 1;
  });
}

/** A first record is a header when every field names a column, or (when some do) none looks like data. */
function looksLikeHeader(record: string[], columns: Column[]): boolean {
  const names = new Set(columns.map((column) => column.name.toLowerCase()));
  const matching = record.filter((field) => names.has(field.trim().toLowerCase())).length;
  if (matching === record.length) return true;
  return matching > 0 && record.every((field) => field.trim() !== '' && Number.isNaN(Number(field)));
}

function checkSingleCharacter(name: string, value: string | undefined): void {
  if (value !== undefined && [...value].length !== 1) {
    throw new SluiceError('INVALID_ARGUMENT', `${name} must be a single character, got "${value}"`, { parameter: name, value });
  }
}

/** Given options win; the rest is RFC 4180, with the delimiter guessed from the first line when not given. */
async function detectDialect(path: string, options: CsvOptions): Promise<CsvDialect> {
  checkSingleCharacter('delimiter', options.delimiter);
  checkSingleCharacter('quote', options.quote);
  checkSingleCharacter('escape', options.escape);
  const head = await readHead(path, 64 * 1024);
  const firstLineEnd = head.indexOf('\n');
  const firstLine = firstLineEnd < 0 ? head : head.slice(0, firstLineEnd);
  const quote = options.quote ?? '"';
  const escape = options.escape ?? quote;
  const delimiter = options.delimiter ?? guessDelimiter(firstLine, quote);
  return { delimiter, quote, escape, newline: firstLineEnding(head, quote, escape, delimiter) };
}

/** How the first record ends, outside quotes: \r\n, \n, or a lone \r (as old Mac files end their lines). */
function firstLineEnding(head: string, quote: string, escape: string, delimiter: string): CsvDialect['newline'] {
  const quoting = new CsvQuoting(quote.charCodeAt(0), escape.charCodeAt(0), delimiter.charCodeAt(0));
  for (let index = 0; index < head.length; index += 1) {
    const char = head[index];
    if (!quoting.outside(head.charCodeAt(index))) continue;
    if (char === '\n') return '\n';
    if (char === '\r') return head[index + 1] === '\n' ? '\r\n' : '\r';
  }
  return '\n';
}

/**
 * DuckDB's option reading the empty field and `nullText` as NULL, if any: DuckDB refuses a null text
 * holding the file's quote or escape character (`\N` where `\` escapes), which is then text.
 */
export function nullStringsOption(nullText: string | undefined, reserved: Array<string | null | undefined>): string | undefined {
  if (nullText === undefined || reserved.some((char) => char && nullText.includes(char))) return undefined;
  return `nullstr = ['', ${quoteLiteral(nullText)}]`;
}

/**
 * DuckDB's `new_line` for a dialect. A lenient (non-strict) read is told \n, with which DuckDB ends a
 * record at \n, \r\n or a lone \r alike; told \r\n, it reads a record after a lone \r with its first
 * field NULL (`1,a\r2,b` gave the 2 as NULL), so a file whose line endings are mixed would lose values.
 */
function newLineOption(dialect: CsvDialect, lenient: boolean): string {
  if (lenient) return '\\n';
  return dialect.newline === '\r\n' ? '\\r\\n' : dialect.newline === '\r' ? '\\r' : '\\n';
}

function guessDelimiter(line: string, quote: string): string {
  const unquoted = line.split(quote).filter((_, index) => index % 2 === 0).join('');
  const candidates = [',', ';', '\t', '|'];
  const counts = candidates.map((candidate) => unquoted.split(candidate).length - 1);
  const best = counts.indexOf(Math.max(...counts));
  return counts[best]! > 0 ? candidates[best]! : ',';
}

async function readHead(path: string, bytes: number): Promise<string> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await file.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await file.close();
  }
}

/** The fields of the file's first record (RFC 4180 quoting, told apart as CsvQuoting tells them), read from its first megabyte. */
async function readFirstRecord(path: string, dialect: CsvDialect): Promise<string[]> {
  const text = await readHead(path, 1024 * 1024);
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (quoted) {
      if (char === dialect.escape && text[index + 1] === dialect.quote && dialect.escape !== dialect.quote) field += text[(index += 1)];
      else if (char === dialect.quote && text[index + 1] === dialect.quote) field += text[(index += 1)];
      else if (char === dialect.quote) quoted = false;
      else field += char;
    } else if (char === dialect.quote && field.trim() === '') {
      // A quote opens a field only where it starts, after spaces at most (which DuckDB drops); elsewhere it is text.
      [field, quoted] = ['', true];
    }
    else if (char === dialect.delimiter) {
      fields.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') break;
    else field += char;
  }
  if (text.length > 0) fields.push(field);
  return fields;
}
