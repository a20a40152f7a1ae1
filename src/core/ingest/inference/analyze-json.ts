import { SluiceError } from '../../errors.ts';
import { getTimeUnitForDigits } from '../../types/data-type.ts';
import type { DataType, FieldType } from '../../types/data-type.ts';
import type { DuckDBStorage } from '../../../storage/duckdb/duckdb-storage.ts';
import { checkStreamEnded } from '../../../storage/duckdb/stream-end.ts';
import { assignColumnNames } from './assign-column-names.ts';
import { ndjsonRecords, readOrMalformed, resolveInferenceInput } from './inference-input.ts';
import { isReadableKey } from '../json-path.ts';

export interface JsonAnalysisColumn {
  /** JSONPath: `$.a.b`, `$.['a.b']`, `$.arr[:]`, `$.arr[:].f`. */
  path: string;
  name: string;
  field: FieldType;
  /**
   * Values found at the path per sampled record: for a plain path the share of records holding it
   * (0–1); under `[:]` every array element counts, so `[1,2,3]` in one record gives 3.
   */
  presentPct: number;
}

export interface JsonAnalysis {
  columns: JsonAnalysisColumn[];
}

/**
 * What one value tells about its column. Kinds of one family widen to the later one (Int → Float,
 * Date → DateTime); values of different families make the column a String.
 */
type Guess =
  | { kind: 'boolean' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'float' }
  | { kind: 'date' }
  | { kind: 'timestamp'; digits: number }
  | { kind: 'string' };
type GuessKind = Guess['kind'];

const WIDENING: Record<GuessKind, { family: string; rank: number }> = {
  boolean: { family: 'boolean', rank: 0 },
  int: { family: 'number', rank: 0 },
  float: { family: 'number', rank: 1 },
  date: { family: 'time', rank: 0 },
  timestamp: { family: 'time', rank: 1 },
  string: { family: 'string', rank: 0 },
};

const STRING_GUESS: Guess = { kind: 'string' };
const FLOAT64: DataType = { kind: 'float', bits: 64 };

// Like Tinybird's analyze (`[1,2,3]` → `Array(Int16)`): the narrowest of Int16, Int32, Int64 holding the
// sample, UInt64 above Int64, Float64 beyond. JSON numbers are doubles here, so near 2^63 the edge is approximate.
const INTEGER_TYPES: Array<{ min: number; max: number; type: DataType }> = [
  { min: -(2 ** 15), max: 2 ** 15 - 1, type: { kind: 'int', bits: 16, signed: true } },
  { min: -(2 ** 31), max: 2 ** 31 - 1, type: { kind: 'int', bits: 32, signed: true } },
  { min: -(2 ** 63), max: 2 ** 63 - 1, type: { kind: 'int', bits: 64, signed: true } },
  { min: 0, max: 2 ** 64 - 1, type: { kind: 'int', bits: 64, signed: false } },
];

const GUESS_TYPES: { [K in GuessKind]: (guess: Extract<Guess, { kind: K }>) => DataType } = {
  boolean: () => ({ kind: 'boolean' }),
  int: ({ min, max }) => INTEGER_TYPES.find((range) => min >= range.min && max <= range.max)?.type ?? FLOAT64,
  float: () => FLOAT64,
  date: () => ({ kind: 'date' }),
  timestamp: ({ digits }) => ({ kind: 'timestamp', unit: getTimeUnitForDigits(Math.min(digits, 9)) ?? 'ns' }),
  string: () => ({ kind: 'string' }),
};

const toDataType = (guess: Guess): DataType => (GUESS_TYPES[guess.kind] as (guess: Guess) => DataType)(guess);

/** The values the ingest casts read as dates and datetimes: ISO 8601 / RFC 3339 and `YYYY-MM-DD HH:MM:SS[.f]`. */
const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;

function isCalendarDate(year: string, month: string, day: string): boolean {
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  return date.getUTCFullYear() === Number(year) && date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
}

function classifyString(text: string): Guess {
  const date = DATE_PATTERN.exec(text);
  if (date !== null) return isCalendarDate(date[1]!, date[2]!, date[3]!) ? { kind: 'date' } : STRING_GUESS;
  const datetime = DATETIME_PATTERN.exec(text);
  if (datetime === null) return STRING_GUESS;
  const [, year, month, day, hour, minute, second, fraction] = datetime;
  const isTime = Number(hour) < 24 && Number(minute) < 60 && Number(second) < 60;
  return isTime && isCalendarDate(year!, month!, day!) ? { kind: 'timestamp', digits: fraction?.length ?? 0 } : STRING_GUESS;
}

/** The guess for a JSON scalar, or null for JSON null. */
function classifyScalar(value: unknown): Guess | null {
  if (value === null) return null;
  if (typeof value === 'boolean') return { kind: 'boolean' };
  // `1.0` parses to 1 and counts as an integer.
  if (typeof value === 'number') return Number.isInteger(value) ? { kind: 'int', min: value, max: value } : { kind: 'float' };
  return typeof value === 'string' ? classifyString(value) : STRING_GUESS;
}

function widenGuess(current: Guess | null, next: Guess): Guess {
  if (current === null) return next;
  if (current.kind !== next.kind) {
    const [a, b] = [WIDENING[current.kind], WIDENING[next.kind]];
    if (a.family !== b.family) return STRING_GUESS;
    return a.rank > b.rank ? current : next;
  }
  if (current.kind === 'int' && next.kind === 'int') return { kind: 'int', min: Math.min(current.min, next.min), max: Math.max(current.max, next.max) };
  if (current.kind === 'timestamp' && next.kind === 'timestamp') return { kind: 'timestamp', digits: Math.max(current.digits, next.digits) };
  return current;
}

/** A key as a JSONPath step: `.key` when it is a plain identifier, else `.['key']` with `\` and `'` escaped. */
export function formatJsonPathStep(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `.['${key.replace(/[\\']/g, '\\$&')}']`;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

interface PathState {
  keys: string[];
  /** The `…[:]` path of the array this path is inside, if any. */
  arrayPath: string | null;
  guess: Guess | null;
  /** Occurrences, null included; under `[:]` one per array element. */
  count: number;
  sawNull: boolean;
}

/** Walks sampled records, keeping one state per leaf path in first-seen order. */
class JsonPathCollector {
  records = 0;
  private readonly paths = new Map<string, PathState>();
  /** Per `…[:]` path: how many of its elements were objects, to tell when a member was missing. */
  private readonly objectElements = new Map<string, number>();
  /** Paths under which some value was found: an object with a member, or an array with an element. */
  private readonly parents = new Set<string>();

  addRecord(record: Record<string, unknown>): void {
    this.records += 1;
    this.walkObject(record, '$', [], null);
  }

  private walkObject(object: Record<string, unknown>, path: string, keys: string[], arrayPath: string | null): void {
    for (const [key, value] of Object.entries(object)) {
      // A key no path can read (empty, or with a NUL) makes no column: the value is left out, as unknown keys are.
      if (!isReadableKey(key)) continue;
      this.parents.add(path);
      this.walkValue(value, `${path}${formatJsonPathStep(key)}`, [...keys, key], arrayPath);
    }
  }

  private walkValue(value: unknown, path: string, keys: string[], arrayPath: string | null): void {
    if (isObject(value)) return this.walkObject(value, path, keys, arrayPath);
    if (!Array.isArray(value)) return this.addValue(path, keys, arrayPath, classifyScalar(value));
    // A JSONPath holds one `[:]` at most: an array inside an array is kept as its JSON text.
    if (arrayPath !== null) return this.addValue(path, keys, arrayPath, STRING_GUESS);
    const elementsPath = `${path}[:]`;
    if (value.length > 0) this.parents.add(path);
    for (const element of value) {
      if (isObject(element)) {
        this.objectElements.set(elementsPath, (this.objectElements.get(elementsPath) ?? 0) + 1);
        this.walkObject(element, elementsPath, keys, elementsPath);
      } else {
        this.addValue(elementsPath, keys, elementsPath, Array.isArray(element) ? STRING_GUESS : classifyScalar(element));
      }
    }
  }

  private addValue(path: string, keys: string[], arrayPath: string | null, guess: Guess | null): void {
    let state = this.paths.get(path);
    if (state === undefined) {
      state = { keys, arrayPath, guess: null, count: 0, sawNull: false };
      this.paths.set(path, state);
    }
    state.count += 1;
    if (guess === null) state.sawNull = true;
    else state.guess = widenGuess(state.guess, guess);
  }

  toColumns(): JsonAnalysisColumn[] {
    // A path seen only as null, where other records hold an object or array, is not a column of its own.
    const leaves = [...this.paths].filter(([path, state]) => state.guess !== null || !this.parents.has(path));
    const names = assignColumnNames(leaves.map(([, state]) => state.keys.join('_')));
    return leaves.map(([path, state], index) => ({
      path,
      name: names[index]!,
      field: this.fieldOf(path, state),
      presentPct: Math.round((state.count / this.records) * 100) / 100,
    }));
  }

  /**
   * A plain path is Nullable when some record lacks it or holds null. An array column is never
   * Nullable (ClickHouse has no Nullable(Array); a missing array is empty); its elements are, when an
   * element is null or, for `$.arr[:].f`, an object element lacks `f`.
   */
  private fieldOf(path: string, { arrayPath, guess, count, sawNull }: PathState): FieldType {
    const type = toDataType(guess ?? STRING_GUESS);
    if (arrayPath === null) return { type, nullable: sawNull || count < this.records };
    const elementNullable = sawNull || (path !== arrayPath && count < (this.objectElements.get(arrayPath) ?? 0));
    return { type: { kind: 'list', element: type, elementNullable }, nullable: false };
  }
}

/**
 * Proposes a column per leaf path of an NDJSON file, from its first `sampleRows` JSON objects:
 * nested objects flatten (`$.a.b` → `a_b`), arrays become `Array(T)` columns (`$.arr[:]`,
 * `$.arr[:].f`). Lines that are not JSON are skipped; records that are not objects hold no columns.
 */
export async function analyzeNdjson(storage: DuckDBStorage, filePath: string, options: { sampleRows?: number } = {}): Promise<JsonAnalysis> {
  const { path, sampleRows } = resolveInferenceInput(storage, filePath, options.sampleRows);
  const collector = new JsonPathCollector();
  // Streamed chunk by chunk, so only one chunk of records is in memory however large the sample.
  const sql = `SELECT json FROM ${ndjsonRecords(path)} LIMIT ${sampleRows}`;
  await readOrMalformed(
    () =>
      storage.withReader(async (connection) => {
        // In a transaction, so that a read that fails part-way is told from one that ended.
        await connection.run('BEGIN TRANSACTION');
        try {
          const result = await connection.stream(sql);
          for await (const rows of result.yieldRowsJs()) {
            for (const [text] of rows) {
              const record = parseRecord(String(text));
              if (record !== undefined) collector.addRecord(record);
            }
          }
          await checkStreamEnded(connection, sql);
        } finally {
          await connection.run('ROLLBACK');
        }
      }),
    'The NDJSON file could not be read',
  );
  if (collector.records === 0) throw new SluiceError('MALFORMED_BODY', 'The NDJSON file holds no JSON object');
  return { columns: collector.toColumns() };
}

/** DuckDB's JSON reader is more lenient than JSON.parse (NaN, trailing commas); such lines are skipped like invalid ones. */
function parseRecord(text: string): Record<string, unknown> | undefined {
  try {
    const record: unknown = JSON.parse(text);
    return isObject(record) ? record : undefined;
  } catch {
    return undefined;
  }
}
