import type { DataType } from '../types/data-type.ts';

export interface Column {
  name: string;
  type: DataType;
  nullable: boolean;
  /** The expression used when a row has no value for the column, as its definition gave it (and shows it back). */
  defaultExpression?: string | undefined;
  /** That expression as checked SQL (see `guardDefault`): what runs. Set whenever `defaultExpression` is, once stored. */
  defaultSql?: string | undefined;
  /** Where to find the value in a JSON record (`$.a.b`, `$.arr[:]`, `$`). */
  jsonPath?: string | undefined;
}

/** The SQL of a column's DEFAULT; catalogs written before `defaultSql` existed kept the checked SQL in `defaultExpression`. */
export function defaultSqlOf(column: Column): string | undefined {
  return column.defaultSql ?? column.defaultExpression;
}

export type TableKind = 'table' | 'quarantine' | 'view';

export interface Namespace {
  id: string;
  name: string;
  /** What a dialect keeps about its namespace (a description, a pipeline's program …); opaque to the core. */
  properties: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export interface Table {
  id: string;
  namespaceId: string;
  name: string;
  kind: TableKind;
  /** For a quarantine table: the table whose rejected rows it holds. */
  parentId: string | null;
  columns: Column[];
  primaryKey: string[];
  sortingKey: string[];
  partitionKey: string[];
  /**
   * With a primary key: the column whose greater value wins when two rows of one key meet (in a
   * write, or a write and the table), as in ClickHouse's ReplacingMergeTree(ver); equal values go
   * to the later row. Without it the later row always wins.
   */
  versionColumn?: string;
  /** Table metadata a dialect keeps (engine settings, a description …); opaque to the core. */
  properties: Record<string, unknown>;
  /** Bumped by every committed write. */
  version: number;
  rowCount: number;
  createdAt: Date;
  updatedAt: Date;
  /** For a view: the query it stands for. */
  definition?: ViewDefinition;
  /** See `TableSpec.provisional`; absent once a write to the table has committed. */
  provisional?: boolean;
}

/** A view's query as it was given, and the tables and views of its namespace it reads (their ids). */
export interface ViewDefinition {
  sql: string;
  /** The ids of the tables and views its query reads, once each. */
  reads: string[];
  /**
   * How many tables DuckDB binds each time the view is read: its query's references, each one to a
   * view or CTE counted as all that reads (see checkExpandedReads). Absent for views made before it
   * was kept, counted as 1.
   */
  expandedReads?: number;
}

export interface ViewSpec {
  name: string;
  /** A SELECT over tables and views of the view's namespace. */
  sql: string;
  properties?: Record<string, unknown>;
}

export interface TableSpec {
  name: string;
  columns: Column[];
  primaryKey?: string[];
  sortingKey?: string[];
  partitionKey?: string[];
  /** See `Table.versionColumn`. */
  versionColumn?: string;
  properties?: Record<string, unknown>;
  /**
   * Whether the table gets a `<name>_quarantine` companion for the rows writes set aside (the
   * default). A dialect whose writes never quarantine (they reject or report bad rows) leaves it
   * out, so that the name stays free.
   */
  quarantine?: boolean;
  /**
   * The table is created for the write that follows (a data source created from its first file):
   * until a write to it commits, which clears this in its own transaction, a start of the server
   * drops it, so that a create cut off by a crash leaves nothing, as a failed one does.
   */
  provisional?: boolean;
}

/** A change to an existing table; what is left out stays as it is. */
export interface TableChange {
  /**
   * The columns to add at the end (nullable, or with a default, once the table has rows), given the
   * table as it is when the change runs: a change queued behind another sees what that one added.
   */
  addColumns?: (current: Table) => Column[];
  /**
   * Rows already in the table take their type's zero value (see `zeroValueSql`) for added columns
   * that are neither nullable nor defaulted, as ClickHouse fills them; without it such a column is
   * refused once the table has rows.
   */
  zeroFill?: boolean;
  name?: string;
  /** Properties set (merged over the current ones). */
  properties?: Record<string, unknown>;
  /** Check the change (columns added, their defaults) without making it. */
  dryRun?: boolean;
}

/** Columns every quarantine table has after the original columns (stored as text). */
export const QUARANTINE_COLUMNS = {
  errorColumns: 'c__error_column',
  errors: 'c__error',
  importId: 'c__import_id',
  insertedAt: 'insertion_date',
} as const;

export const QUARANTINE_SUFFIX = '_quarantine';
