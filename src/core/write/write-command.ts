import type { Table } from '../catalog/model.ts';
import type { CoercionOptions } from '../ingest/coercion.ts';
import type { StagedInput } from '../ingest/staged-input.ts';
import type { FieldType } from '../types/data-type.ts';

/** The kinds of write a request can make to one table. */
export type WriteKind = 'append' | 'upsert' | 'delete' | 'delete_where' | 'overwrite' | 'replace_where' | 'changes';

/** What happens to rows that fail validation, chosen by the dialect. */
export type InvalidRowPolicy =
  /** stored in the table's quarantine companion; the valid rows are committed */
  | 'quarantine'
  /** nothing is committed; the request fails listing the first errors */
  | 'reject'
  /** the valid rows are committed; the errors are listed in the result */
  | 'report';

/**
 * Rows as decoded from a request, before coercion: each value is text (numbers as their digits,
 * nested values as JSON text) or null. `columns` names the target columns the values are for.
 */
export interface RecordBatch {
  columns: string[];
  rows: Array<Array<string | null>>;
  /** For change batches: the weight of each row (+n inserts n copies, −n deletes n copies). */
  weights?: number[];
  /** Line or record numbers of the rows in the request (for error messages); 1-based row index otherwise. */
  lineNumbers?: number[];
  /** Fields of the source that no column takes (see `StagedInput.ignoredFields`). */
  ignoredFields?: string[];
}

export interface IdempotencyKey {
  key: string;
  /** A hash of everything that defines the request; the same key with another hash is a conflict. */
  requestHash: string;
}

export interface WriteRequest {
  table: Table;
  kind: WriteKind;
  /** The request's rows (none for delete_where). */
  input?: StagedInput;
  /** A validated SQL predicate over the table's columns (delete_where, replace_where). */
  predicate?: string;
  onInvalid: InvalidRowPolicy;
  idempotency?: IdempotencyKey;
  /** Upsert: what two rows with the same key in one request mean. */
  duplicateKeys?: 'reject' | 'last_wins';
  /**
   * Overwrite and replace-where: whether an input without valid rows (none at all, or only rows
   * quarantined or rejected) still deletes ('apply', the default) or leaves the table alone ('keep').
   */
  emptyInput?: 'apply' | 'keep';
  /** An id naming this import in quarantine rows and results. */
  importId?: string;
  /** Names a type in the caller's vocabulary, for error messages. */
  describeType?: (field: FieldType) => string;
  /** How text becomes typed values where the caller's clients read it differently from the engine. */
  coercion?: CoercionOptions;
  /**
   * Stops the write, while it waits or runs, when it aborts (a delete job cancelled): its statements
   * are interrupted and nothing of it commits. Only writes that commit alone take it (not appends,
   * which share their commits).
   */
  signal?: AbortSignal;
}

export interface RowError {
  /** 1-based row (or line) number in the request. */
  row: number;
  /** For a record that could not be decoded: its text. */
  source?: string;
  columns: string[];
  values: Array<string | null>;
  messages: string[];
}

/** What a write did to its table's rows. */
export interface WriteCounts {
  rowsInserted: number;
  rowsUpdated: number;
  rowsDeleted: number;
  /**
   * Valid rows of an upsert that changed nothing as another took their place: a later row of the
   * same key in the same write (duplicate keys 'last_wins'), or a row older than the table's by
   * its version column. They were accepted, not lost; absent when none.
   */
  rowsSuperseded?: number;
  /**
   * Valid rows the write took in, whatever they changed: a row another of its key superseded, a
   * delete or update of a key the table lacks and a weighted row each count one (a debezium update
   * is two rows, its delete and its insert). Invalid rows are counted apart, in `rowsInvalid`.
   */
  rowsAccepted: number;
  rowsQuarantined: number;
  /** Rows that failed validation (quarantined or reported), whatever was done with them. */
  rowsInvalid: number;
  /** Of those, records that could not be decoded at all (a broken CSV line, invalid JSON). */
  linesInvalid: number;
  /** The first errors, for the caller to show. */
  errors: RowError[];
}

export interface WriteResult extends WriteCounts {
  writeId: string;
  kind: WriteKind;
  tableId: string;
  /** The table's data version after this write. */
  version: number;
  /** Position of this write in the server's commit order; completion tokens are built on it. */
  sequence: number;
  importId: string | null;
  durationMs: number;
  /** True when this result was answered from the idempotency record of an earlier request. */
  replayed: boolean;
  /** Fields of the input whose values were not written, as no column takes them; absent when none. */
  ignoredFields?: string[];
  /** There were more such fields than `ignoredFields` lists. */
  moreIgnoredFields?: boolean;
}

export const MAX_REPORTED_ERRORS = 1000;

/**
 * A value or record an error report shows is cut to this many characters, as Feldera cuts its error
 * texts (4096 bytes), so that a thousand failed rows of huge values cannot make a huge answer; the
 * quarantine keeps them whole.
 */
export const MAX_REPORTED_TEXT = 4096;
