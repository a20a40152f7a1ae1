import type { Readable } from 'node:stream';
import { RecordBatchReader } from 'apache-arrow';
import type { RecordBatch as ArrowBatch, Schema } from 'apache-arrow';
import type { Column } from '../../catalog/model.ts';
import { SluiceError, isSluiceError } from '../../errors.ts';
import type { RecordBatch } from '../../write/write-command.ts';
import { followArrowFraming } from './arrow-framing.ts';
import { bindReader } from './arrow-values.ts';
import type { BindReader, ValueReader } from './arrow-values.ts';
import { asMalformed, checkSomeFieldMatches, fieldFor } from './malformed.ts';

export interface ArrowIpcOptions {
  /** Match field names to columns regardless of case; an exact match still wins. */
  caseInsensitive: boolean;
  /** Rows per emitted batch (the last may have fewer); Arrow's own batches are split or joined to this size. */
  batchRows?: number;
}

const DEFAULT_BATCH_ROWS = 8192;

type Row = Array<string | null>;

/** The field that feeds a target column, with a reader for its type (built once per schema). */
interface FieldSource {
  field: string;
  index: number;
  bind: BindReader;
}

/**
 * Which field feeds each target column. Fields that match no column are ignored (a client may send
 * whole rows where only some columns exist, as for deletes by key), but not all of them (see
 * `checkSomeFieldMatches`).
 */
function planColumns(schema: Schema, columns: Column[], caseInsensitive: boolean): Array<FieldSource | undefined> {
  const names = schema.fields.map((field) => field.name);
  const sources = columns.map((column) => {
    const index = fieldFor('the Arrow stream', names, column.name, caseInsensitive);
    if (index === undefined) return undefined;
    const field = schema.fields[index]!;
    return { field: field.name, index, bind: bindReader(field.type) };
  });
  checkSomeFieldMatches('the Arrow stream', schema.fields.map((field) => field.name), columns, sources.filter((source) => source !== undefined).length);
  return sources;
}

/** apache-arrow's batches, read as the bytes arrive; failures of the bytes become MALFORMED_BODY, failures of the stream itself pass through. */
async function* readArrowBatches(stream: Readable): AsyncGenerator<ArrowBatch> {
  let streamFailure: unknown;
  // The stream's owner decides what becomes of bytes left unread, so stopping early must not destroy it.
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of stream.iterator({ destroyOnReturn: false })) yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    } catch (error) {
      streamFailure = error;
      throw error;
    }
  }
  try {
    const reader = await RecordBatchReader.from(followArrowFraming(chunks()));
    for await (const batch of reader) if (batch.numRows > 0) yield batch;
  } catch (error) {
    throw error === streamFailure || isSluiceError(error) ? error : asMalformed(error, 'Arrow IPC');
  }
}

function appendRows(rows: Row[], readers: Array<{ field: string; reader: ValueReader } | undefined>, start: number, end: number): void {
  const first = rows.length;
  for (let index = start; index < end; index += 1) rows.push(new Array<string | null>(readers.length).fill(null));
  // Column by column, so each loop calls one reader.
  readers.forEach((entry, position) => {
    if (entry === undefined) return;
    try {
      for (let index = start; index < end; index += 1) rows[first + index - start]![position] = entry.reader.text(index);
    } catch (error) {
      throw new SluiceError('MALFORMED_BODY', `The Arrow IPC stream is malformed: field "${entry.field}" has unreadable values: ${(error as Error).message}`, { field: entry.field }, { cause: error });
    }
  });
}

/**
 * Decodes an Arrow IPC stream (an Arrow IPC file is read too) into batches of text rows as its
 * bytes arrive, holding about one Arrow batch and one emitted batch in memory. Every batch has
 * all of `columns`, in order; a column no field matches is null in every row. Values are text as
 * `arrow-values.ts` writes them.
 */
export async function* decodeArrowIpc(stream: Readable, columns: Column[], options: ArrowIpcOptions): AsyncGenerator<RecordBatch> {
  const names = columns.map((column) => column.name);
  const batchRows = Math.max(1, Math.floor(options.batchRows ?? DEFAULT_BATCH_ROWS));
  let plan: { schema: Schema; sources: Array<FieldSource | undefined>; ignoredFields: string[] } | undefined;
  let rows: Row[] = [];
  let nextRow = 1;
  const take = (): RecordBatch => {
    const ignoredFields = plan?.ignoredFields ?? [];
    const batch = { columns: names, rows, lineNumbers: Array.from(rows, (_, index) => nextRow + index), ...(ignoredFields.length > 0 && { ignoredFields }) };
    nextRow += rows.length;
    rows = [];
    return batch;
  };
  for await (const batch of readArrowBatches(stream)) {
    if (plan?.schema !== batch.schema) {
      const sources = planColumns(batch.schema, columns, options.caseInsensitive);
      const taken = new Set(sources.map((source) => source?.index));
      plan = { schema: batch.schema, sources, ignoredFields: batch.schema.fields.flatMap((field, index) => (taken.has(index) ? [] : [field.name])) };
    }
    const readers = plan.sources.map((source) => source && { field: source.field, reader: source.bind(batch.data.children[source.index]!) });
    for (let start = 0; start < batch.numRows; ) {
      const end = Math.min(batch.numRows, start + batchRows - rows.length);
      appendRows(rows, readers, start, end);
      start = end;
      if (rows.length === batchRows) yield take();
    }
  }
  if (rows.length > 0) yield take();
}
