import { SluiceError } from '../../errors.ts';
import { getTimeUnitForDigits } from '../../types/data-type.ts';
import type { DataType, FieldType } from '../../types/data-type.ts';
import type { DuckDBStorage } from '../../../storage/duckdb/duckdb-storage.ts';
import { quoteLiteral } from '../../../storage/duckdb/sql.ts';
import { assignColumnNames } from './assign-column-names.ts';
import { readOrMalformed, resolveInferenceInput } from './inference-input.ts';
import { nullStringsOption } from '../decoders/csv-input.ts';
import { shortYear } from '../coercion.ts';
import { DUCKDB_LINE_LIMITS } from '../decoders/line-limits.ts';

export interface CsvInferenceOptions {
  /** One character; sniffed when absent. */
  delimiter?: string;
  /** `\n` or `\r`; sniffed when absent. `\n` also covers CRLF files. */
  newline?: string;
  /** One character escaping a quote inside a quoted field; sniffed when absent. */
  escape?: string;
  /** Forces whether the first row names the columns; detected when absent. */
  header?: boolean;
  /** `false`: every column is a (non-nullable) String. */
  typeGuessing?: boolean;
  /** Rows read to guess the dialect, the types and the nullability. */
  sampleRows?: number;
  /** An unquoted field of just this text is a missing value, as an empty one is (ClickHouse writes NULL as `\N`). */
  nullText?: string;
}

export interface CsvDialect {
  delimiter: string;
  hasHeader: boolean;
  /** `\n`, `\r\n` or `\r`. */
  newline: string;
  /** null: no escape character; a quote inside a quoted field is doubled (RFC 4180). */
  escape: string | null;
  /** `"` unless the file quotes with another character. */
  quote: string;
  encoding: 'utf-8';
}

export interface CsvColumn {
  name: string;
  /** The header cell the name was made from, as written; null without a header. */
  sourceName: string | null;
  field: FieldType;
}

export interface CsvInference {
  dialect: CsvDialect;
  columns: CsvColumn[];
}

const STRING: DataType = { kind: 'string' };
const INT32: DataType = { kind: 'int', bits: 32, signed: true };
const INT64: DataType = { kind: 'int', bits: 64, signed: true };
const FLOAT64: DataType = { kind: 'float', bits: 64 };
const DATE: DataType = { kind: 'date' };

// Tinybird guesses only numbers, dates, datetimes and text: booleans (`true`) and times of day
// (`12:30:00`) are left out of the sniffer's candidates, so such columns are String.
const SNIFF_TYPE_CANDIDATES = ['BIGINT', 'DOUBLE', 'DATE', 'TIMESTAMP', 'TIMESTAMPTZ', 'VARCHAR'];

/** DuckDB spells the newline it found as escaped text. */
const NEWLINES: Record<string, string> = { '\\n': '\n', '\\r\\n': '\r\n', '\\r': '\r' };

/**
 * How a column type the sniffer chose becomes a model type. The sniffer's choice is checked against
 * the sample with aggregates over each value's trimmed text (`measures`, NULL when empty), so that the
 * guess is one the ingest casts can read back and the narrowest that holds the sample.
 */
interface GuessRule {
  measures: Record<string, (value: string) => string>;
  decide: (measured: Record<string, unknown>) => DataType;
}

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const fitsInt32 = (value: unknown): boolean => typeof value !== 'bigint' || (value >= INT32_MIN && value <= INT32_MAX);

const TIMESTAMP_RULE: GuessRule = {
  measures: {
    unparsed: (value) => `count(${value}) - count(CASE WHEN NOT ${shortYear(value)} THEN COALESCE(TRY_CAST(${value} AS TIMESTAMP), TRY_CAST(${value} AS TIMESTAMPTZ)) END)`,
    digits: (value) => `max(length(regexp_extract(${value}, ':[0-9]{2}[.,]([0-9]+)', 1)))`,
  },
  // Whole seconds are a DateTime; written fractions keep their precision (DateTime64(3) for ms).
  decide: ({ unparsed, digits }) =>
    Number(unparsed) > 0 ? STRING : { kind: 'timestamp', unit: getTimeUnitForDigits(Math.min(Number(digits ?? 0), 9)) ?? 'ns' },
};

const INTEGER_MEASURES: GuessRule['measures'] = {
  min: (value) => `min(TRY_CAST(${value} AS BIGINT))`,
  max: (value) => `max(TRY_CAST(${value} AS BIGINT))`,
};
// Int32 when the sample fits, else Int64: wider than the sample, but not so wide as to surprise.
const decideInteger = ({ min, max }: Record<string, unknown>): DataType => (fitsInt32(min) && fitsInt32(max) ? INT32 : INT64);

const GUESS_RULES: Record<string, GuessRule> = {
  BIGINT: { measures: INTEGER_MEASURES, decide: decideInteger },
  DOUBLE: {
    measures: {
      ...INTEGER_MEASURES,
      fractional: (value) => `count(*) FILTER (WHERE NOT regexp_full_match(${value}, '[-+]?[0-9]+'))`,
      beyondInt64: (value) => `count(${value}) - count(TRY_CAST(${value} AS BIGINT))`,
    },
    decide: (measured) => {
      if (Number(measured['fractional']) > 0) return FLOAT64;
      // Integers beyond Int64 sniff as DOUBLE; as floats they would lose digits (ids, hashes), so they stay text.
      if (Number(measured['beyondInt64']) > 0) return STRING;
      // The sniffer reads whole vectors, more rows than a small sample: the floats it saw may lie beyond
      // the sample, which then holds only integers, or no value at all.
      return measured['min'] === null ? FLOAT64 : decideInteger(measured);
    },
  },
  // The sniffer also takes dates like 02/01/2024, guessing the day/month order, and 03-02-24 (read
  // as the year 3); those stay text.
  DATE: {
    measures: { unparsed: (value) => `count(${value}) - count(CASE WHEN NOT ${shortYear(value)} THEN TRY_CAST(${value} AS DATE) END)` },
    decide: ({ unparsed }) => (Number(unparsed) > 0 ? STRING : DATE),
  },
  TIMESTAMP: TIMESTAMP_RULE,
  'TIMESTAMP WITH TIME ZONE': TIMESTAMP_RULE,
  VARCHAR: { measures: {}, decide: () => STRING },
};

interface SniffedCsv {
  delimiter: string;
  quote: string | null;
  escape: string | null;
  /** DuckDB's spelling (`\n` as two characters), for reading the file again. */
  newlineText: string;
  hasHeader: boolean;
  columnTypes: string[];
}

/** A field that is a number, a date or a time: data, never a column's name. */
const DATA_LIKE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?|\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/;

/**
 * Guesses how to read a CSV file and the table it holds, from a sample: the dialect and header
 * come from DuckDB's sniffer, the column types from the sniffer checked against the sample.
 * Columns are Nullable where the sample has an empty or missing value; unnamed ones are
 * `column_00`, `column_01`, ….
 */
export async function inferCsv(storage: DuckDBStorage, filePath: string, options: CsvInferenceOptions = {}): Promise<CsvInference> {
  validateDialectOptions(options);
  const { path, sampleRows } = resolveInferenceInput(storage, filePath, options.sampleRows);
  const guessTypes = options.typeGuessing ?? true;

  const sniff = (header = options.header) => readOrMalformed(
    () => sniffCsv(storage, path, { ...options, header }, sampleRows),
    'The CSV dialect could not be detected: set the delimiter, newline or escape character',
  );
  let sniffed = await sniff();
  const unreadable = 'The CSV file could not be read with the detected dialect';
  const readFile = (header: boolean): string => readCsvAsText(path, sniffed, sniffed.columnTypes.length, header, options.nullText);
  let headerRow = sniffed.hasHeader ? await readOrMalformed(() => storage.query(`SELECT * FROM ${readFile(false)} LIMIT 1`).then((rows) => rows[0]), unreadable) : undefined;
  if (sniffed.hasHeader && headerRow === undefined) throw new SluiceError('MALFORMED_BODY', 'The CSV file is empty');
  // DuckDB's sniffer may take a first row of data for a header (`1,2` before `3,`, whose empty
  // field it types otherwise); names are never numbers or times, so such a row is data, and the
  // columns are typed again with it.
  if (headerRow !== undefined && options.header === undefined && Object.values(headerRow).some((field) => typeof field === 'string' && DATA_LIKE.test(field.trim()))) {
    headerRow = undefined;
    sniffed = await sniff(false);
  }
  const hasHeader = headerRow !== undefined;
  const columnCount = sniffed.columnTypes.length;
  const rules = sniffed.columnTypes.map((type) => (guessTypes && Object.hasOwn(GUESS_RULES, type) ? GUESS_RULES[type]! : GUESS_RULES['VARCHAR']!));
  const stats = await readOrMalformed(() => measureSample(storage, readFile(hasHeader), rules, sampleRows), unreadable);
  if (!hasHeader && Number(stats['row_count']) === 0) throw new SluiceError('MALFORMED_BODY', 'The CSV file is empty');

  const sourceNames = Array.from({ length: columnCount }, (_, index) =>
    headerRow === undefined ? null : ((headerRow[`c${index}`] as string | null) ?? ''),
  );
  const names = assignColumnNames(sourceNames);
  const columns = rules.map((rule, index): CsvColumn => {
    const measured = Object.fromEntries(Object.keys(rule.measures).map((name) => [name, stats[`m${index}_${name}`]]));
    // Without type guessing an empty field is simply an empty string, as in ClickHouse.
    const nullable = guessTypes && Number(stats[`empty${index}`]) > 0;
    return { name: names[index]!, sourceName: sourceNames[index]!, field: { type: rule.decide(measured), nullable } };
  });

  const quote = sniffed.quote ?? '"';
  return {
    dialect: {
      delimiter: sniffed.delimiter,
      hasHeader,
      newline: NEWLINES[sniffed.newlineText] ?? '\n',
      escape: sniffed.escape === quote ? null : sniffed.escape,
      quote,
      encoding: 'utf-8',
    },
    columns,
  };
}

function validateDialectOptions(options: CsvInferenceOptions): void {
  for (const parameter of ['delimiter', 'newline', 'escape'] as const) {
    const value = options[parameter];
    if (value !== undefined && [...value].length !== 1) {
      throw new SluiceError('INVALID_ARGUMENT', `Invalid ${parameter} ${JSON.stringify(value)}: it must be one character`, { parameter });
    }
  }
  if (options.newline !== undefined && options.newline !== '\n' && options.newline !== '\r') {
    throw new SluiceError('INVALID_ARGUMENT', `Invalid newline ${JSON.stringify(options.newline)}: it must be \\n or \\r`, {
      parameter: 'newline',
    });
  }
}

async function sniffCsv(storage: DuckDBStorage, path: string, options: CsvInferenceOptions, sampleRows: number): Promise<SniffedCsv> {
  // No leading lines are skipped and no comment lines recognised: the dialect returned must describe the whole file.
  const args = [
    quoteLiteral(path),
    'skip=0',
    "comment=''",
    // DuckDB's parallel reader cannot pad short rows where a quoted field holds a line break: a sample needs no parallel reader.
    'null_padding=true',
    'parallel=false',
    `sample_size=${sampleRows}`,
    DUCKDB_LINE_LIMITS,
    `auto_type_candidates=[${SNIFF_TYPE_CANDIDATES.map(quoteLiteral).join(', ')}]`,
  ];
  if (options.delimiter !== undefined) args.push(`delim=${quoteLiteral(options.delimiter)}`);
  // A given escape character may not fit every line (a doubled quote in a file escaped by `\`): such
  // a line must not make the sniffer choose another delimiter or quote; the load reports it.
  if (options.escape !== undefined) args.push(`escape=${quoteLiteral(options.escape)}`, 'strict_mode=false');
  // A CRLF file has `\n`-terminated lines too, so only a bare `\r` is forced on the sniffer.
  if (options.newline === '\r') args.push(`new_line=${quoteLiteral('\\r')}`);
  if (options.header !== undefined) args.push(`header=${options.header}`);
  // A column of numbers and `\N` is a column of numbers with missing values, not text.
  const nullStrings = nullStringsOption(options.nullText, [options.escape]);
  if (nullStrings) args.push(nullStrings);

  const [row] = await storage.query(
    `SELECT Delimiter, Quote, Escape, NewLineDelimiter, HasHeader, Columns FROM sniff_csv(${args.join(', ')})`,
  );
  const orNull = (text: unknown): string | null => (text === '(empty)' || text === null || text === '' ? null : String(text));
  return {
    delimiter: String(row!['Delimiter']),
    quote: orNull(row!['Quote']),
    escape: orNull(row!['Escape']),
    newlineText: String(row!['NewLineDelimiter']),
    hasHeader: row!['HasHeader'] === true,
    columnTypes: (row!['Columns'] as Array<{ type: string }>).map(({ type }) => type),
  };
}

/**
 * The file in the sniffed dialect with every column as text (`c0`, `c1`, …), so that the checks
 * see each value as written. Short rows are padded with NULLs (missing values); rows DuckDB cannot
 * parse at all are skipped rather than failing the guess.
 */
function readCsvAsText(path: string, sniffed: SniffedCsv, columnCount: number, header: boolean, nullText: string | undefined): string {
  const columns = Array.from({ length: columnCount }, (_, index) => `${quoteLiteral(`c${index}`)}: 'VARCHAR'`);
  const args = [
    quoteLiteral(path),
    'auto_detect=false',
    `delim=${quoteLiteral(sniffed.delimiter)}`,
    `new_line=${quoteLiteral(sniffed.newlineText)}`,
    `header=${header}`,
    'skip=0',
    'null_padding=true',
    'parallel=false',
    'ignore_errors=true',
    `columns={${columns.join(', ')}}`,
    DUCKDB_LINE_LIMITS,
  ];
  // Left unset, quote and escape are DuckDB's defaults: `"`, doubled inside quoted fields.
  if (sniffed.quote !== null) args.push(`quote=${quoteLiteral(sniffed.quote)}`);
  if (sniffed.escape !== null) args.push(`escape=${quoteLiteral(sniffed.escape)}`);
  const nullStrings = nullStringsOption(nullText, [sniffed.quote ?? '"', sniffed.escape]);
  if (nullStrings) args.push(nullStrings);
  return `read_csv(${args.join(', ')})`;
}

/**
 * Columns measured by one query. DuckDB's time to plan one query grows faster than its number of
 * aggregates: 2,000 columns measured at once took 41 s, by a hundred at a time 3.6 s.
 */
const MEASURED_COLUMNS_PER_QUERY = 100;

/** Aggregates over the sample: `row_count`, `empty<i>` and each rule's `m<i>_<measure>`, by a hundred columns at a time. */
async function measureSample(storage: DuckDBStorage, source: string, rules: GuessRule[], sampleRows: number): Promise<Record<string, unknown>> {
  const stats: Record<string, unknown> = {};
  for (let first = 0; first === 0 || first < rules.length; first += MEASURED_COLUMNS_PER_QUERY) {
    const aggregates = rules.slice(first, first + MEASURED_COLUMNS_PER_QUERY).flatMap((rule, offset) => {
      const index = first + offset;
      const value = `NULLIF(trim(c${index}), '')`;
      return [
        `count(*) - count(${value}) AS empty${index}`,
        ...Object.entries(rule.measures).map(([name, measure]) => `${measure(value)} AS m${index}_${name}`),
      ];
    });
    const [row] = await storage.query(`SELECT ${['count(*) AS row_count', ...aggregates].join(', ')} FROM (SELECT * FROM ${source} LIMIT ${sampleRows})`);
    Object.assign(stats, row);
  }
  return stats;
}
