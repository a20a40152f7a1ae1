import type { Transaction } from '../../storage/duckdb/duckdb-storage.ts';
import { quoteIdentifier, quoteLiteral } from '../../storage/duckdb/sql.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { physicalName } from '../catalog/catalog.ts';
import { QUARANTINE_COLUMNS, type Column, type Table } from '../catalog/model.ts';
import { SluiceError } from '../errors.ts';
import { coerceProjectedText, passesTyped, type CoercionOptions, type TypeDescriber } from '../ingest/coercion.ts';
import { RAW_STAGE_COLUMNS, STAGE_CONTROL_COLUMNS, type DirectSource, type MergedPart, type StagedInput } from '../ingest/staged-input.ts';
import { MAX_REPORTED_ERRORS, MAX_REPORTED_TEXT, type RowError, type WriteCounts, type WriteKind, type WriteRequest } from './write-command.ts';

/** The effect of one request, before the version and write-log entry are added. */
export interface WriteEffect extends WriteCounts {
  /** Set when this request alone fails (its rows rejected); the others of its group go on. */
  failure?: SluiceError;
  /** The table's exact row count after the write, when the write replaced all rows. */
  replacedRowCount?: number;
  /** Written straight to the table, without a stage. */
  direct?: boolean;
}

const describeNeutral: TypeDescriber = ({ type }) => type.kind;

/**
 * A table without a key stores each copy a weight asks for as a row, so the copies beyond one per
 * record that one batch may add are bounded; a batch asking for more is refused whole.
 */
const MAX_EXTRA_COPIES = 10_000_000;

let stageCounter = 0;

/**
 * A name of the stage's own in the tables and queries that also hold the table's columns under
 * their names (the typed stage, a batch's folded changes): it opens with \x01, a character no
 * column name may hold (see `checkName`), so that a column named `_req`, `_row` or `v0` is never
 * read for one of the stage's columns, nor one of those for it.
 */
const own = (name: string): string => quoteIdentifier(`\u0001${name}`);

/** The stage's own columns of the typed stage, beside the table's (see `own`). */
const OWN = {
  req: own('req'), row: own('row'), weight: own('weight'), undecodable: own('undecodable'), source: own('source'),
  group: own('group'), sets: own('sets'), failures: own('failures'), texts: own('texts'), dropped: own('dropped'),
} as const;

/**
 * Thrown when a write tried without a stage met a row that is not valid (or a record its reader
 * could not decode). DuckDB cannot continue a transaction after a failed statement: the caller
 * rolls the transaction back and runs it again with `direct: false`, where the stage sorts
 * every row out exactly as it always does.
 */
export class DirectWriteMissed extends SluiceError {
  constructor(cause: unknown) {
    super('INTERNAL', 'A direct write met an invalid row', null, { cause });
  }
}

export interface RunOptions {
  /** Whether an append or lone upsert whose input allows it is tried straight into its table first (see `appendDirect`, `upsertDirect`). */
  direct: boolean;
}

/**
 * Runs a run of requests against one table inside `tx`. Requests in one run share a staging
 * table: their rows are appended together, coerced and validated by one SQL statement, and
 * written with one statement per kind, so that a group of small writes costs a few statements,
 * not a few per request. Only appends are ever grouped into one run.
 */
export async function executeRun(tx: Transaction, catalog: Catalog, requests: WriteRequest[], options: RunOptions = { direct: false }): Promise<WriteEffect[]> {
  const first = requests[0]!;
  const table = catalog.findTableById(first.table.id);
  if (!table) throw new SluiceError('TABLE_NOT_FOUND', `Table "${first.table.name}" was dropped before this write was applied`, { table: first.table.name });
  // A table made a view in its place, keeping its id (a Tinybird materialized view's target).
  if (table.kind === 'view') throw new SluiceError('INVALID_ARGUMENT', `"${table.name}" became a view before this write was applied; views cannot be written to`, { table: table.name });
  if (first.kind === 'delete_where') return [await deleteWhere(tx, table, first)];

  const inputColumns = first.input?.columns ?? [];
  const checkedColumns = first.kind === 'delete' ? keyColumns(table) : table.columns;
  const stage = new Stage(tx, table, inputColumns, checkedColumns, first.describeType ?? describeNeutral, first.coercion, first.kind, first.input?.controls ?? false);
  if (options.direct && first.kind === 'append') {
    const direct = directSource(requests);
    if (direct) return appendDirect(tx, table, requests, direct);
  }
  if (options.direct && first.kind === 'upsert' && requests.length === 1 && first.input?.direct && upsertsDirectly(table)) {
    return upsertDirect(tx, table, first);
  }
  try {
    await stage.load(requests.map((request) => request.input));
    const validation = await stage.validate(requests.length);
    const effects: WriteEffect[] = requests.map((request, index) => {
      const stats = validation.get(index) ?? { valid: 0, invalid: 0, undecodable: 0, errors: [] };
      const effect: WriteEffect = {
        rowsInserted: 0, rowsUpdated: 0, rowsDeleted: 0, rowsAccepted: stats.valid, rowsQuarantined: 0,
        rowsInvalid: stats.invalid, linesInvalid: stats.undecodable, errors: stats.errors,
      };
      if (stats.invalid > 0 && request.onInvalid === 'reject') {
        effect.failure = new SluiceError('INVALID_ROWS', invalidRowsMessage(stats.invalid, stats.errors), { errors: stats.errors, invalidRows: stats.invalid });
      }
      return effect;
    });
    const accepted = effects.flatMap((effect, index) => (effect.failure ? [] : [index]));
    if (accepted.length === 0) return effects;

    const quarantined = accepted.filter((index) => requests[index]!.onInvalid === 'quarantine' && effects[index]!.rowsInvalid > 0);
    if (quarantined.length > 0) {
      const counts = await stage.quarantine(catalog, quarantined, requests.map((request) => request.importId ?? null));
      for (const index of quarantined) effects[index]!.rowsQuarantined = counts.get(index) ?? 0;
    }
    if (first.kind === 'append') {
      // Into a keyed table, a key given twice is the request's mistake (400), not a clash with the table (409).
      const inserted = await stage.appendValid(accepted, undefined, 'reject');
      for (const index of accepted) effects[index]!.rowsInserted = inserted.get(index) ?? 0;
      return effects;
    }
    Object.assign(effects[0]!, await KIND_WRITERS[first.kind](stage, first));
    return effects;
  } finally {
    // After a failure the transaction is rolled back and takes the temporary tables with it.
    await stage.drop().catch(() => undefined);
  }
}

/** How a run of appends reads its rows in one query, if it can (see `appendDirect`). */
interface DirectRun {
  read(tx: Transaction): Promise<DirectSource>;
  /** The rows each request gives, for a run of more than one. */
  rowCounts?: number[];
}

function directSource(requests: WriteRequest[]): DirectRun | undefined {
  const inputs = requests.map((request) => request.input);
  const [first] = inputs;
  if (!first) return undefined;
  if (inputs.length === 1) return first.direct && { read: (tx) => first.direct!(tx) };
  const key = first.merge?.key;
  const rowCounts = inputs.map((input) => input?.merge?.rowCount);
  if (key === undefined || inputs.some((input) => input?.merge?.key !== key) || rowCounts.some((count) => count === undefined)) return undefined;
  return { read: (tx) => first.merge!.direct(tx, inputs.map((input, request) => ({ input: input!, request }))), rowCounts: rowCounts as number[] };
}

/**
 * Appends in one statement from the inputs' reader to the table, for the common case where
 * every row is valid: each value is coerced by the same expression the stage uses, and the first
 * row that the stage would find invalid makes DuckDB's `error()` fail the statement (CASE only
 * evaluates it for such rows). Then nothing of it counts: the caller runs the write again
 * through the stage, so quarantine, rejection and reports, with their messages, are the stage's own.
 */
async function appendDirect(tx: Transaction, table: Table, requests: WriteRequest[], direct: DirectRun): Promise<WriteEffect[]> {
  let rowsInserted: number;
  try {
    const source = await direct.read(tx);
    const { columns, checked } = checkedSelect(table, requests[0]!, source);
    rowsInserted = await runSource(tx, source, `INSERT INTO ${physicalName(table)} (${columns}) ${checked}`);
    await source.release?.(tx);
  } catch (error) {
    throw new DirectWriteMissed(error);
  }
  const counts = direct.rowCounts ?? [rowsInserted];
  if (counts.reduce((sum, count) => sum + count, 0) !== rowsInserted) throw new DirectWriteMissed(new Error('the rows written do not add up to the rows given'));
  return counts.map((count) => ({ rowsInserted: count, rowsUpdated: 0, rowsDeleted: 0, rowsAccepted: count, rowsQuarantined: 0, rowsInvalid: 0, linesInvalid: 0, errors: [], direct: true }));
}

/** Runs a statement over a direct source, prepared once when the source passes its rows as parameters. */
function runSource(tx: Transaction, source: DirectSource, sql: string): Promise<number> {
  return source.params ? tx.runPrepared(sql, source.params.values, source.params.types) : tx.run(sql);
}

/**
 * A query over a direct source giving the table's columns, coerced by the stage's expressions, that
 * fails (DuckDB's `error()`) at the first row the stage would find invalid. With `ordinal`, it
 * also gives `_ord`: the record's position in the source, numbered as the stage numbers `_row`.
 */
function checkedSelect(table: Table, request: WriteRequest, source: DirectSource, ordinal = false): { columns: string; checked: string } {
  const input = request.input!;
  const describeType = request.describeType ?? describeNeutral;
  const coerced = table.columns.map((column, index) => {
    const position = input.columns.indexOf(column.name);
    const nativeType = position < 0 ? undefined : source.nativeTypes?.[position];
    const typed = nativeType !== undefined && passesTyped(column, nativeType, request.coercion);
    const text = position < 0 ? 'CAST(NULL AS VARCHAR)' : `${typed ? 'n' : 'v'}${position}`;
    return { name: `c${index}`, ...coerceProjectedText(column, text, `t${index}`, describeType, request.coercion, typed) };
  });
  const failures = [
    '_error IS NOT NULL',
    // Appends and upserts take whole rows: a partial row is a failure (see `Stage.validate`).
    ...(input.controls ? ['_sets IS NOT NULL'] : []),
    ...coerced.map(({ name, failed }) => failed(name)),
  ];
  const names = coerced.map(({ name }) => name);
  const [firstColumn, ...otherColumns] = names;
  const checkedColumns = firstColumn === undefined ? [] : [`CASE WHEN ${failures.join(' OR ')} THEN error('sluice: not every row is valid') ELSE ${firstColumn} END AS ${firstColumn}`, ...otherColumns];
  const rows = !ordinal ? source.sql : `SELECT *, ${source.numbered ? '_row' : 'row_number() OVER ()'} AS _ord FROM (${source.sql})`;
  return {
    columns: table.columns.map((column) => quoteIdentifier(column.name)).join(', '),
    checked: `SELECT ${checkedColumns.join(', ')}${ordinal ? ', _ord' : ''} FROM (SELECT *, ${coerced.map(({ name, value }) => `${value} AS ${name}`).join(', ')}
              FROM (SELECT *${coerced.map(({ text }) => `, ${text}`).join('')} FROM (${rows})))`,
  };
}

/**
 * Upserts in one statement from the input's reader, for the common case where every row is valid
 * (and, when duplicate keys are refused, no key comes twice): the rows are checked as in
 * `appendDirect`, deduplicated by key (the last record wins) and written with
 * `INSERT … ON CONFLICT DO UPDATE`. Any failure leaves the write to the stage, whose results and
 * messages are the ones given. Counts come from the table's growth and DuckDB's changed rows.
 */
async function upsertDirect(tx: Transaction, table: Table, request: WriteRequest): Promise<WriteEffect[]> {
  const target = physicalName(table);
  const keys = table.primaryKey.map((name) => `c${table.columns.findIndex((column) => column.name === name)}`);
  const rowCount = async () => Number((await tx.rows(`SELECT count(*) AS n FROM ${target}`))[0]?.['n'] ?? 0);
  const duplicateKeys = request.duplicateKeys ?? 'reject';
  let rowsInserted: number;
  let changed: number;
  let given: number | undefined;
  try {
    const source = await request.input!.direct!(tx);
    const { columns, checked } = checkedSelect(table, request, source, true);
    const names = table.columns.map((_, index) => `c${index}`);
    // The checked rows name columns by position.
    const versionName = table.versionColumn === undefined ? undefined : `c${table.columns.findIndex((column) => column.name === table.versionColumn)}`;
    const partition = `PARTITION BY ${keys.join(', ')}`;
    // Checked rows first (every row, so that an invalid one fails the statement), then one per key.
    const rows = duplicateKeys === 'reject'
      ? `SELECT ${names.join(', ')} FROM (SELECT *, count(*) OVER (${partition}) AS _copies FROM (${checked}))
         WHERE CASE WHEN _copies > 1 THEN error('sluice: a key comes more than once') ELSE true END`
      : `SELECT ${names.join(', ')} FROM (${checked}) QUALIFY row_number() OVER (${partition} ORDER BY ${newestFirst(table, '_ord', versionName)}) = 1`;
    const updates = table.columns
      .filter((column) => !table.primaryKey.includes(column.name))
      .map((column) => `${quoteIdentifier(column.name)} = excluded.${quoteIdentifier(column.name)}`);
    const before = await rowCount();
    // In key order, as DuckDB inserts into its key index fastest.
    changed = await runSource(tx, source,
      `INSERT INTO ${target} (${columns}) SELECT ${names.join(', ')} FROM (${rows}) ORDER BY ${keys.join(', ')}
       ON CONFLICT (${table.primaryKey.map(quoteIdentifier).join(', ')}) DO UPDATE SET ${updates.join(', ')}${replacesOnlyOlder(table)}`,
    );
    rowsInserted = (await rowCount()) - before;
    // Rows may give way to others of their key (see WriteCounts.rowsSuperseded): then the rows
    // given are counted apart, every one of them valid, as the statement succeeded.
    if (duplicateKeys === 'last_wins' || versionName !== undefined) {
      given = Number((await tx.rows(`SELECT count(*) AS n FROM (${source.sql})`, source.params?.values, source.params?.types))[0]?.['n'] ?? 0);
    }
    await source.release?.(tx);
  } catch (error) {
    throw new DirectWriteMissed(error);
  }
  const superseded = given === undefined ? 0 : given - changed;
  return [{
    rowsInserted, rowsUpdated: changed - rowsInserted, rowsDeleted: 0, ...(superseded > 0 && { rowsSuperseded: superseded }),
    rowsAccepted: changed + superseded, rowsQuarantined: 0, rowsInvalid: 0, linesInvalid: 0, errors: [], direct: true,
  }];
}

/**
 * The order that puts the row that wins its key first: the greatest version (see
 * `Table.versionColumn`), then the latest, by `position`. `versionName` is the version column's
 * name in the rows ordered, when not the column's own.
 */
function newestFirst(table: Table, position: string, versionName = table.versionColumn && quoteIdentifier(table.versionColumn)): string {
  return versionName ? `${versionName} DESC, ${position} DESC` : `${position} DESC`;
}

/** The condition of an upsert's update, with a version column: a row replaces one of its key only if it is not older. */
function replacesOnlyOlder(table: Table): string {
  if (!table.versionColumn) return '';
  const version = quoteIdentifier(table.versionColumn);
  return ` WHERE excluded.${version} >= ${version}`;
}

type KindWriter = (stage: Stage, request: WriteRequest) => Promise<Partial<WriteEffect>>;

const KIND_WRITERS: Record<Exclude<WriteKind, 'append' | 'delete_where'>, KindWriter> = {
  upsert: async (stage, request) => stage.upsert(request.duplicateKeys ?? 'reject'),
  delete: async (stage) => ({ rowsDeleted: await stage.deleteByKey() }),
  overwrite: async (stage, request) => {
    if (request.emptyInput === 'keep' && (await stage.holdsNoValidRow())) return {};
    const rowsDeleted = await stage.tx.run(`DELETE FROM ${physicalName(stage.table)}`);
    const rowsInserted = (await stage.appendValid([0], undefined, request.duplicateKeys ?? 'reject')).get(0) ?? 0;
    return { rowsDeleted, rowsInserted, replacedRowCount: rowsInserted };
  },
  replace_where: async (stage, request) => {
    const predicate = requirePredicate(request);
    if (request.emptyInput === 'keep' && (await stage.holdsNoValidRow())) return {};
    const rowsDeleted = await stage.tx.run(`DELETE FROM ${physicalName(stage.table)} WHERE ${predicate}`);
    // Into a table whose later rows replace earlier ones of their key (a ReplacingMergeTree), a new
    // row may meet a row of its key that the condition left: it replaces that one too.
    if (stage.table.primaryKey.length > 0 && request.duplicateKeys === 'last_wins') {
      return { rowsDeleted, ...(await stage.upsert('last_wins', stage.validRowsWhere(predicate))) };
    }
    const rowsInserted = (await stage.appendValid([0], predicate, request.duplicateKeys ?? 'reject')).get(0) ?? 0;
    return { rowsDeleted, rowsInserted };
  },
  changes: async (stage) => stage.applyChanges(),
};

async function deleteWhere(tx: Transaction, table: Table, request: WriteRequest): Promise<WriteEffect> {
  const rowsDeleted = await tx.run(`DELETE FROM ${physicalName(table)} WHERE ${requirePredicate(request)}`);
  return { rowsInserted: 0, rowsUpdated: 0, rowsDeleted, rowsAccepted: 0, rowsQuarantined: 0, rowsInvalid: 0, linesInvalid: 0, errors: [] };
}

function requirePredicate(request: WriteRequest): string {
  if (!request.predicate) throw new SluiceError('INVALID_PREDICATE', `A ${request.kind} write needs a condition`);
  return request.predicate;
}

/** A keyed table with columns besides its key (DO NOTHING would not count the rows it updates). */
function upsertsDirectly(table: Table): boolean {
  return table.primaryKey.length > 0 && table.columns.some((column) => !table.primaryKey.includes(column.name));
}

function keyColumns(table: Table): Column[] {
  if (table.primaryKey.length === 0) {
    throw new SluiceError('PRIMARY_KEY_REQUIRED', `Table "${table.name}" has no primary key`, { table: table.name });
  }
  return table.primaryKey.map((name) => table.columns.find((column) => column.name === name)!);
}

function invalidRowsMessage(count: number, errors: RowError[]): string {
  const firstError = errors[0];
  const detail = firstError ? ` (row ${firstError.row}: ${firstError.messages.join('; ')})` : '';
  return `${count} row${count === 1 ? '' : 's'} failed validation${detail}`;
}

interface RequestValidation {
  valid: number;
  invalid: number;
  /** Rows that could not be decoded at all. */
  undecodable: number;
  errors: RowError[];
}

/**
 * The rows of a run, first as text in a temporary table (`raw`), then coerced to the table's types
 * with each row's failures (`typed`). Both live only inside the write's transaction.
 */
class Stage {
  private readonly raw: string;
  private readonly typed: string;
  /** A batch of changes folded into one outcome per key, or per distinct row without a key (see `applyChanges`). */
  private readonly folded: string;
  private readonly id = (stageCounter += 1);

  constructor(
    readonly tx: Transaction,
    readonly table: Table,
    private readonly inputColumns: string[],
    private readonly checkedColumns: Column[],
    private readonly describeType: TypeDescriber,
    private readonly coercion: CoercionOptions = {},
    private readonly kind: WriteKind = 'append',
    /** Whether the inputs give the STAGE_CONTROL_COLUMNS (groups and partial rows). */
    private readonly controls = false,
  ) {
    this.raw = `sluice_raw_${this.id}`;
    this.typed = `sluice_typed_${this.id}`;
    this.folded = `sluice_folded_${this.id}`;
    for (const name of inputColumns) {
      if (!table.columns.some((column) => column.name === name)) {
        throw new SluiceError('INVALID_ARGUMENT', `Table "${table.name}" has no column "${name}"`, { column: name });
      }
    }
  }

  /** SQL for the text given for a column, NULL when the input has no such column. */
  private textOf(column: string): string {
    const index = this.inputColumns.indexOf(column);
    return index < 0 ? 'CAST(NULL AS VARCHAR)' : `v${index}`;
  }

  async load(inputs: Array<StagedInput | undefined>): Promise<void> {
    const valueColumns = this.inputColumns.map((_, index) => `, v${index} VARCHAR`).join('');
    await this.tx.run(`CREATE TEMP TABLE ${this.raw} (${RAW_STAGE_COLUMNS}${valueColumns}${this.controls ? `, ${STAGE_CONTROL_COLUMNS}` : ''})`);
    // Inputs that merge load together, one load per kind; the others one by one.
    const merged = new Map<string, MergedPart[]>();
    for (const [request, input] of inputs.entries()) {
      if (!input) continue;
      if (input.columns.join('\u0000') !== this.inputColumns.join('\u0000')) throw new Error('the requests of a run must share their columns');
      if ((input.controls ?? false) !== this.controls) throw new Error('the requests of a run must all give control columns or none');
      if (input.merge && inputs.length > 1) {
        const parts = merged.get(input.merge.key) ?? [];
        parts.push({ input, request });
        merged.set(input.merge.key, parts);
      } else await input.load(this.tx, this.raw, request);
    }
    for (const parts of merged.values()) await parts[0]!.input.merge!.load(this.tx, this.raw, parts);
  }

  /** Coerces every row and returns, per request, how many rows are valid and the first errors. */
  async validate(requestCount: number): Promise<Map<number, RequestValidation>> {
    const coerced = this.checkedColumns.map((column, index) => ({ column, ...coerceProjectedText(column, this.textOf(column.name), `t${index}`, this.describeType, this.coercion) }));
    const values = coerced.map(({ column, value }) => `${value} AS ${quoteIdentifier(column.name)}`);
    const failures = coerced.map(({ column, error }) => `{'c': ${quoteLiteral(column.name)}, 'e': ${this.checkedOnly(column, error)}}`);
    if (this.controls && (this.kind !== 'changes' || this.table.primaryKey.length === 0)) {
      failures.push(`{'c': NULL, 'e': CASE WHEN r._sets IS NOT NULL THEN 'setting some columns of a row needs a table with a primary key' END}`);
    }
    // A record that could not be decoded has no values to check: its one failure is why. (The
    // failures are read by subscript: `f.e` would be a column `f`'s field, were a column so named.)
    const columnFailures = `list_filter([${failures.join(', ')}]::STRUCT(c VARCHAR, e VARCHAR)[], f -> f['e'] IS NOT NULL)`;
    // A value the input found of the wrong kind fails as such, in place of its text's failure.
    const failureList = `CASE WHEN r._error IS NOT NULL THEN [{'c': NULL::VARCHAR, 'e': r._error}]
      ${this.controls ? `WHEN r._mismatches IS NOT NULL THEN list_concat(r._mismatches, list_filter(${columnFailures}, f -> NOT list_contains(list_transform(r._mismatches, m -> m['c']), f['c'])))` : ''}
      ELSE ${columnFailures} END`;
    // The input text is kept only for failed rows, for the quarantine and the error report.
    const rawTexts = this.inputColumns.map((_, index) => own(`v${index}`));
    const controls = this.controls ? `r._group AS ${OWN.group}, r._sets AS ${OWN.sets}` : `NULL::BIGINT AS ${OWN.group}, NULL::VARCHAR[] AS ${OWN.sets}`;
    const { req, row, failures: failed, group } = OWN;
    let checked = `SELECT r._req AS ${req}, r._row AS ${row}, r._weight AS ${OWN.weight}, r._error IS NOT NULL AS ${OWN.undecodable}, r._source AS ${OWN.source}, ${controls},
               ${[...values, `${failureList} AS ${failed}`, ...this.inputColumns.map((_, index) => `r.v${index} AS ${rawTexts[index]}`)].join(', ')}
             FROM (SELECT *${coerced.map(({ text }) => `, ${text}`).join('')} FROM ${this.raw}) r`;
    if (this.controls) {
      // The rows of a group stand or fall together: a failed row takes the rest of its group with it.
      // Those are not written and not reported one by one (a bad element of an array of 60,000
      // would be hidden behind 1,000 reports of its siblings, as Feldera reports only the failure):
      // each failed row's report says how many of its group it took.
      const groupFailed = `${group} IS NOT NULL AND count(*) FILTER (WHERE len(${failed}) > 0) OVER g > 0`;
      const others = `count(*) FILTER (WHERE len(${failed}) = 0) OVER g`;
      checked = `SELECT * REPLACE (
          CASE WHEN len(${failed}) = 0 AND ${groupFailed} THEN [{'c': NULL::VARCHAR, 'e': 'not applied: its group failed'}]
               WHEN len(${failed}) > 0 AND ${group} IS NOT NULL AND ${others} > 0
               THEN list_append(${failed}, {'c': NULL::VARCHAR, 'e': 'the ' || ${others} || ' other change' || CASE WHEN ${others} = 1 THEN '' ELSE 's' END || ' of its group (its array, or its record) not applied'})
               ELSE ${failed} END AS ${failed}),
          (len(${failed}) = 0 AND ${groupFailed}) AS ${OWN.dropped}
        FROM (${checked}) WINDOW g AS (PARTITION BY ${req}, ${group})`;
    } else {
      checked = `SELECT *, false AS ${OWN.dropped} FROM (${checked})`;
    }
    await this.tx.run(
      `CREATE TEMP TABLE ${this.typed} AS SELECT * ${rawTexts.length > 0 ? `EXCLUDE (${rawTexts.join(', ')})` : ''},
         CASE WHEN len(${failed}) > 0 THEN [${rawTexts.join(', ')}]::VARCHAR[] END AS ${OWN.texts}
       FROM (${checked}) r`,
    );
    const result = new Map<number, RequestValidation>();
    for (let request = 0; request < requestCount; request += 1) result.set(request, { valid: 0, invalid: 0, undecodable: 0, errors: [] });
    const counts = await this.tx.rows(
      `SELECT ${req} AS _req, count(*) FILTER (WHERE len(${failed}) = 0) AS valid, count(*) FILTER (WHERE len(${failed}) > 0 AND NOT ${OWN.dropped}) AS invalid,
         count(*) FILTER (WHERE ${OWN.undecodable}) AS undecodable
       FROM ${this.typed} GROUP BY ${req}`,
    );
    for (const row of counts) {
      const entry = result.get(Number(row['_req']))!;
      entry.valid = Number(row['valid']);
      entry.invalid = Number(row['invalid']);
      entry.undecodable = Number(row['undecodable']);
    }
    if ([...result.values()].some((entry) => entry.invalid > 0)) {
      const rows = await this.tx.rows(
        `SELECT ${req} AS _req, ${row} AS _row, ${failed} AS _failures, list_transform(${OWN.texts}, t -> left(t, ${MAX_REPORTED_TEXT})) AS _texts,
           left(${OWN.source}, ${MAX_REPORTED_TEXT}) AS _source FROM ${this.typed}
         WHERE len(${failed}) > 0 AND NOT ${OWN.dropped}
         QUALIFY row_number() OVER (PARTITION BY ${req} ORDER BY ${row}) <= ${MAX_REPORTED_ERRORS}
         ORDER BY ${req}, ${row}`,
      );
      for (const row of rows) {
        const failuresOfRow = row['_failures'] as Array<{ c: string | null; e: string }>;
        const texts = row['_texts'] as Array<string | null>;
        const source = row['_source'] as string | null;
        result.get(Number(row['_req']))!.errors.push({
          row: Number(row['_row']),
          columns: failuresOfRow.flatMap((failure) => (failure.c === null ? [] : [failure.c])),
          values: failuresOfRow.flatMap((failure) => (failure.c === null ? [] : [texts[this.inputColumns.indexOf(failure.c)] ?? null])),
          messages: failuresOfRow.map((failure) => failure.e),
          ...(source !== null && { source }),
        });
      }
    }
    return result;
  }

  /**
   * A column's error, for the rows that must give it. In changes to a keyed table a delete names
   * its row by key only, and a partial row gives only the columns it sets: their other columns
   * are not checked.
   */
  private checkedOnly(column: Column, error: string): string {
    if (this.kind !== 'changes' || this.table.primaryKey.length === 0 || this.table.primaryKey.includes(column.name)) return error;
    const given = this.controls ? ` AND (r._sets IS NULL OR list_contains(r._sets, ${quoteLiteral(column.name)}))` : '';
    return `CASE WHEN r._weight > 0${given} THEN ${error} END`;
  }

  /** Whether the request (of a write with one) holds no valid row: none at all, or only rows set aside as invalid. */
  async holdsNoValidRow(): Promise<boolean> {
    const [row] = await this.tx.rows(`SELECT NOT EXISTS ${this.validRows([0])} AS none`);
    return row?.['none'] === true;
  }

  private validRows(requests: number[], predicate?: string): string {
    const filter = predicate ? ` AND (${predicate})` : '';
    return `(SELECT * FROM ${this.typed} WHERE len(${OWN.failures}) = 0 AND ${OWN.req} IN (${requests.join(', ')})${filter})`;
  }

  private columnList(): string {
    return this.table.columns.map((column) => quoteIdentifier(column.name)).join(', ');
  }

  /**
   * Inserts the valid rows of the requests (those the predicate holds for, when given). On a keyed
   * table, `duplicateKeys` first makes them one row per key (see `onePerKey`), as a replacement of
   * the table's rows must; without it, a key already there or given twice fails the insert.
   */
  async appendValid(requests: number[], predicate?: string, duplicateKeys?: 'reject' | 'last_wins'): Promise<Map<number, number>> {
    const columns = this.columnList();
    const valid = this.validRows(requests, predicate);
    const source = duplicateKeys && this.table.primaryKey.length > 0 ? await this.onePerKey(valid, duplicateKeys) : valid;
    const counted = await this.tx.rows(`SELECT ${OWN.req} AS _req, count(*) AS n FROM ${source} GROUP BY ${OWN.req}`);
    await this.tx.run(`INSERT INTO ${physicalName(this.table)} (${columns}) SELECT ${columns} FROM ${source}`);
    return new Map(counted.map((row) => [Number(row['_req']), Number(row['n'])]));
  }

  async quarantine(catalog: Catalog, requests: number[], importIds: Array<string | null>): Promise<Map<number, number>> {
    const target = catalog.quarantineOf(this.table);
    if (!target) throw new SluiceError('INTERNAL', `Table "${this.table.name}" has no quarantine table`);
    const originals = this.table.columns.map((column) => quoteIdentifier(column.name));
    const texts = this.table.columns.map((column) => {
      const index = this.inputColumns.indexOf(column.name);
      return index < 0 ? 'NULL' : `t.${OWN.texts}[${index + 1}]`;
    });
    const names = [...originals, ...[QUARANTINE_COLUMNS.errorColumns, QUARANTINE_COLUMNS.errors, QUARANTINE_COLUMNS.importId, QUARANTINE_COLUMNS.insertedAt].map(quoteIdentifier)];
    const { req, row, failures, source: text } = OWN;
    const source = `${this.typed} t WHERE len(t.${failures}) > 0 AND t.${req} IN (${requests.join(', ')})`;
    const counted = await this.tx.rows(`SELECT t.${req} AS _req, count(*) AS n FROM ${source} GROUP BY t.${req}`);
    await this.tx.run(
      `INSERT INTO ${physicalName(target)} (${names.join(', ')})
       SELECT ${texts.join(', ')}, list_filter(list_transform(t.${failures}, f -> f['c']), c -> c IS NOT NULL),
         list_transform(t.${failures}, f -> CASE WHEN t.${text} IS NULL THEN f['e'] ELSE f['e'] || ': ' || left(t.${text}, 1000) END),
         CAST(? AS VARCHAR[])[t.${req} + 1], now()::TIMESTAMP
       FROM ${source} ORDER BY t.${req}, t.${row}`,
      [JSON.stringify(importIds)],
    );
    const rows = counted.map((row) => [Number(row['_req']), Number(row['n'])] as const);
    catalog.recordWrite(this.tx, target, { versions: 1, rowDelta: rows.reduce((sum, [, n]) => sum + n, 0) });
    return new Map(rows);
  }

  private keyMatch(left: string, right: string): string {
    return keyColumns(this.table).map((column) => `${left}.${quoteIdentifier(column.name)} = ${right}.${quoteIdentifier(column.name)}`).join(' AND ');
  }

  private keyList(prefix = ''): string {
    return keyColumns(this.table).map((column) => `${prefix}${quoteIdentifier(column.name)}`).join(', ');
  }

  /** The rows of `source`, one per key: the last of a key's rows (`last_wins`), or refused when a key has several (`reject`). */
  private async onePerKey(source: string, duplicateKeys: 'reject' | 'last_wins'): Promise<string> {
    const keys = this.keyList();
    if (duplicateKeys === 'last_wins') return `(SELECT * FROM ${source} QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY ${newestFirst(this.table, OWN.row)}) = 1)`;
    // The keys as text, as SQL writes them (a date as 2024-01-01).
    const shownKeys = keyColumns(this.table).map((column, index) => `CAST(${quoteIdentifier(column.name)} AS VARCHAR) AS k${index}`);
    const duplicates = await this.tx.rows(`SELECT ${shownKeys.join(', ')} FROM ${source} GROUP BY ${keys} HAVING count(*) > 1 LIMIT 10`);
    if (duplicates.length > 0) {
      const shown = duplicates.map((row) => keyColumns(this.table).map((_, index) => String(row[`k${index}`])).join(', '));
      throw new SluiceError('DUPLICATE_KEY_IN_BATCH', `The request has more than one row for the key ${shown.map((key) => `(${key})`).join(', ')}`, { keys: shown });
    }
    return source;
  }

  /**
   * Inserts or updates a row per key of `source` (the valid rows of the first request, unless
   * given: those a condition holds for, say). Rows that gave way to another of their key (a later
   * one, or an older version) are counted as superseded.
   */
  async upsert(duplicateKeys: 'reject' | 'last_wins', source = this.validRows([0])): Promise<Partial<WriteEffect>> {
    const effect = await this.upsertRows(duplicateKeys, source);
    // Only a later row of a key, or an older version, gives way; otherwise every row counted.
    if (duplicateKeys === 'reject' && !this.table.versionColumn) return effect;
    const [given] = await this.tx.rows(`SELECT count(*) AS n FROM ${source}`);
    const superseded = Number(given?.['n'] ?? 0) - (effect.rowsInserted ?? 0) - (effect.rowsUpdated ?? 0);
    return superseded > 0 ? { ...effect, rowsSuperseded: superseded } : effect;
  }

  /** Like `validRows` of the first request, with a condition its rows must hold. */
  validRowsWhere(predicate: string): string {
    return this.validRows([0], predicate);
  }

  private async upsertRows(duplicateKeys: 'reject' | 'last_wins', source: string): Promise<Partial<WriteEffect>> {
    const keys = this.keyList();
    const rows = await this.onePerKey(source, duplicateKeys);
    const target = physicalName(this.table);
    const columns = this.columnList();
    const updates = this.table.columns
      .filter((column) => !this.table.primaryKey.includes(column.name))
      .map((column) => `${quoteIdentifier(column.name)} = excluded.${quoteIdentifier(column.name)}`);
    // In key order, as DuckDB inserts into its key index fastest.
    const insert = (conflict: string) => this.tx.run(`INSERT INTO ${target} (${columns}) SELECT ${columns} FROM ${rows} ORDER BY ${keys} ON CONFLICT (${keys}) ${conflict}`);
    if (updates.length === 0) {
      // DO NOTHING counts only the rows it inserts: the keys that were there are counted first.
      const [counts] = await this.tx.rows(
        `SELECT count(*) AS total, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ${target} t WHERE ${this.keyMatch('t', 's')})) AS existing FROM ${rows} s`,
      );
      await insert('DO NOTHING');
      const total = Number(counts?.['total'] ?? 0);
      const existing = Number(counts?.['existing'] ?? 0);
      return { rowsInserted: total - existing, rowsUpdated: existing };
    }
    // Each row of `rows` (one per key) either inserts or updates one row, and DuckDB counts both:
    // the table's growth is what was inserted, the rest was updated. No second join over the keys.
    const rowCount = async () => Number((await this.tx.rows(`SELECT count(*) AS n FROM ${target}`))[0]?.['n'] ?? 0);
    const before = await rowCount();
    const changed = await insert(`DO UPDATE SET ${updates.join(', ')}${replacesOnlyOlder(this.table)}`);
    const rowsInserted = (await rowCount()) - before;
    return { rowsInserted, rowsUpdated: changed - rowsInserted };
  }

  async deleteByKey(source = this.validRows([0])): Promise<number> {
    const target = physicalName(this.table);
    return this.tx.run(`DELETE FROM ${target} t USING (SELECT DISTINCT ${this.keyList()} FROM ${source}) k WHERE ${this.keyMatch('t', 'k')}`);
  }

  /**
   * Applies weighted changes. On a keyed table a positive weight upserts a whole row or sets some
   * columns of one, and a negative one deletes by key, as if one after the other in the order of
   * the records (see `applyKeyedChanges`). Without a key the table is a multiset, changed by each
   * distinct row's weights in the order of the records (see `applyMultisetChanges`).
   */
  async applyChanges(): Promise<Partial<WriteEffect>> {
    return this.table.primaryKey.length > 0 ? this.applyKeyedChanges() : this.applyMultisetChanges();
  }

  /**
   * A key's changes fold into what they leave, so a batch is three statements however many
   * changes it makes to a key. The key's last delete or whole row (its last "whole" change) decides
   * whether it ends without a row or with that row; the partial rows after it set the columns they
   * name in it, the last to name a column winning. A key with partial rows only has their columns
   * set in the row it has, if any. The counts are the net effect on the table: a row inserted and
   * deleted again in one batch counts as neither.
   */
  private async applyKeyedChanges(): Promise<Partial<WriteEffect>> {
    const keys = this.keyList();
    const { row, weight, sets } = OWN;
    const [seq, outcome] = [own('seq'), own('outcome')];
    // In record order; within a record, a delete before an insert before an update (a partial row).
    const changes = `(SELECT *, row_number() OVER (PARTITION BY ${keys} ORDER BY ${row}, ${weight}, ${sets} IS NOT NULL) AS ${seq} FROM ${this.validRows([0], `${weight} <> 0`)})`;
    // A column's value is the one its last upsert gives (a whole row or a partial one naming it): a
    // whole row after it would give another, a delete after it would end the key without a row.
    const values = this.table.columns
      .filter((column) => !this.table.primaryKey.includes(column.name))
      .map((column) => {
        const name = quoteIdentifier(column.name);
        return `arg_max_null(${name}, ${seq}) FILTER (WHERE ${weight} > 0 AND (${sets} IS NULL OR list_contains(${sets}, ${quoteLiteral(column.name)}))) AS ${name}`;
      });
    const lastWholeDeletes = `arg_max(${weight} < 0, ${seq}) FILTER (WHERE ${weight} < 0 OR ${sets} IS NULL)`;
    await this.tx.run(
      `CREATE TEMP TABLE ${this.folded} AS SELECT ${[
        keys,
        ...values,
        `CASE ${lastWholeDeletes} WHEN true THEN 'delete' WHEN false THEN 'row' ELSE 'set' END AS ${outcome}`,
        `list_distinct(flatten(list(${sets}) FILTER (WHERE ${sets} IS NOT NULL))) AS ${sets}`,
      ].join(', ')} FROM ${changes} GROUP BY ${keys}`,
    );
    const ending = (kind: string) => `(SELECT * FROM ${this.folded} WHERE ${outcome} = '${kind}')`;
    const rowsDeleted = await this.deleteByKey(ending('delete'));
    const { rowsInserted = 0, rowsUpdated = 0 } = await this.upsertRows('reject', ending('row'));
    return { rowsInserted, rowsUpdated: rowsUpdated + (await this.setColumns(ending('set'))), rowsDeleted };
  }

  /** Partial rows: each sets the columns it names in the row with its key; a key without a row is left alone. */
  private async setColumns(source: string): Promise<number> {
    const settable = this.table.columns.filter((column) => !this.table.primaryKey.includes(column.name));
    if (settable.length === 0) return 0;
    const assignments = settable.map((column) => {
      const name = quoteIdentifier(column.name);
      return `${name} = CASE WHEN list_contains(s.${OWN.sets}, ${quoteLiteral(column.name)}) THEN s.${name} ELSE t.${name} END`;
    });
    return this.tx.run(`UPDATE ${physicalName(this.table)} AS t SET ${assignments.join(', ')} FROM ${source} s WHERE ${this.keyMatch('t', 's')}`);
  }

  /**
   * Each distinct row's copies change by its weights one after the other, as separate commits would
   * change them: a delete of a copy that is not there does nothing (a row's count stays at zero), so
   * a delete and then an insert of an absent row leave one copy, however the records were batched.
   * Counting from the table's c copies, weights whose running sums are W_1 … W_n leave
   * c + W_n − min(0, c + m) copies, m being the lowest of 0 and the running sums (a count held at
   * zero rises again from there); only rows whose running sum dips below zero need c. The outcome
   * is folded into a temporary table before the table changes, then applied: deletes of as many
   * matching copies, inserts of copies.
   */
  private async applyMultisetChanges(): Promise<Partial<WriteEffect>> {
    const columns = this.columnList();
    const target = physicalName(this.table);
    const { row, weight } = OWN;
    const [copies] = await this.tx.rows(`SELECT coalesce(sum(${weight} - 1), 0)::BIGINT AS extra FROM ${this.validRows([0])} WHERE ${weight} > 1`);
    const extra = Number(copies?.['extra'] ?? 0);
    if (extra > MAX_EXTRA_COPIES) {
      throw new SluiceError('PAYLOAD_TOO_LARGE', `The weights of this batch add ${extra} copies of its rows; at most ${MAX_EXTRA_COPIES} are stored per batch`, { extraCopies: extra, limit: MAX_EXTRA_COPIES });
    }
    const [net, dip, id, copy, running, present, change] = [own('net'), own('dip'), own('id'), own('copy'), own('running'), own('present'), own('change')];
    const matches = (table: string, other: string) => this.table.columns.map((column) => `${table}.${quoteIdentifier(column.name)} IS NOT DISTINCT FROM ${other}.${quoteIdentifier(column.name)}`).join(' AND ');
    const changed = this.validRows([0], `${weight} <> 0`);
    // Each distinct row is numbered and its records' running sums taken by that number: a window
    // partitioned by the values themselves would give -0.0 back as 0.
    await this.tx.run(`CREATE TEMP TABLE ${this.folded} AS SELECT *, row_number() OVER () AS ${id} FROM (SELECT ${columns} FROM ${changed} GROUP BY ALL)`);
    const runningSums = `(SELECT n.${id}, c.${weight}, sum(c.${weight}) OVER (PARTITION BY n.${id} ORDER BY c.${row}, c.${weight} ROWS UNBOUNDED PRECEDING) AS ${running}
      FROM ${changed} c JOIN ${this.folded} n ON ${matches('c', 'n')})`;
    const sums = `SELECT ${id}, CAST(sum(${weight}) AS BIGINT) AS ${net}, CAST(least(0, min(${running})) AS BIGINT) AS ${dip} FROM ${runningSums} GROUP BY ${id}`;
    // The copies already in the table, counted only for rows whose running sum dips below zero.
    await this.tx.run(`CREATE OR REPLACE TEMP TABLE ${this.folded} AS
      WITH sums AS (${sums}), distinct_rows AS (SELECT n.*, s.${net}, s.${dip} FROM ${this.folded} n JOIN sums s ON s.${id} = n.${id}),
        counted AS (SELECT n.${id}, count(*) AS ${present} FROM ${target} t JOIN distinct_rows n ON ${matches('t', 'n')} WHERE n.${dip} < 0 GROUP BY n.${id})
      SELECT * FROM (SELECT n.*, n.${net} - least(0, coalesce(p.${present}, 0) + n.${dip}) AS ${change} FROM distinct_rows n LEFT JOIN counted p ON p.${id} = n.${id})
      WHERE ${change} <> 0`);
    // Each row to delete is matched with the table's copies of it, and as many of them as it deletes
    // are taken: only the matched copies are numbered, not every row of the table. (No column is
    // named rowid, which would hide DuckDB's row number: see `checkColumns`.)
    const rowsDeleted = await this.tx.run(
      `DELETE FROM ${target} WHERE rowid IN (
         SELECT rowid FROM (
           SELECT t.rowid, n.${change}, row_number() OVER (PARTITION BY n.${id}) AS ${copy}
           FROM ${target} t JOIN (SELECT * FROM ${this.folded} WHERE ${change} < 0) n ON ${matches('t', 'n')})
         WHERE ${copy} <= -${change})`,
    );
    const rowsInserted = await this.tx.run(
      `INSERT INTO ${target} (${columns}) SELECT ${columns} FROM (SELECT ${columns}, unnest(range(${change})) FROM ${this.folded} WHERE ${change} > 0)`,
    );
    return { rowsInserted, rowsDeleted };
  }

  async drop(): Promise<void> {
    await this.tx.run(`DROP TABLE IF EXISTS temp.${this.folded}`);
    await this.tx.run(`DROP TABLE IF EXISTS temp.${this.typed}`);
    await this.tx.run(`DROP TABLE IF EXISTS temp.${this.raw}`);
  }
}
