import type { QueryResult, QueryStatistics, ResultColumn } from '../query-runner.ts';
import type { SqlValue } from '../sql-values.ts';

/**
 * What every row encoder reads: the columns, then the rows in batches, so that an unbounded
 * stream (streamQuery) and a bounded result (runQuery, via inputFromResult) encode alike.
 * Every encoder returns the encoded bytes as an async iterable of chunks.
 */
export interface EncoderInput {
  columns: readonly ResultColumn[];
  batches: AsyncIterable<readonly (readonly SqlValue[])[]>;
  /** Known once the rows are read: for formats that end with a summary (JSON). */
  summary?: () => ResultSummary;
}

export interface ResultSummary {
  rowsBeforeLimit: number;
  statistics: QueryStatistics;
}

export type EncodedOutput = AsyncIterable<Uint8Array>;

/**
 * A totals row of the result's columns (ClickHouse's WITH TOTALS): JSON writes it as `totals`, CSV
 * and TSV after the rows and a blank line; the other formats leave it out, as ClickHouse's row
 * formats do.
 */
export interface TotalsOption {
  totals?: readonly SqlValue[] | undefined;
}

export function inputFromResult(result: QueryResult): EncoderInput {
  return {
    columns: result.columns,
    batches: (async function* () {
      yield result.rows;
    })(),
    summary: () => ({ rowsBeforeLimit: result.rowsBeforeLimit, statistics: result.statistics }),
  };
}

/** Encodes text pieces as UTF-8 chunks, joining small pieces so that a chunk is not a row. */
export async function* encodeUtf8(pieces: AsyncIterable<string>, chunkSize = 64 * 1024): EncodedOutput {
  let pending = '';
  for await (const piece of pieces) {
    pending += piece;
    if (pending.length >= chunkSize) {
      yield Buffer.from(pending, 'utf8');
      pending = '';
    }
  }
  if (pending) yield Buffer.from(pending, 'utf8');
}

/** The whole output in one buffer, for small responses and tests. */
export async function collectOutput(output: EncodedOutput): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of output) chunks.push(chunk);
  return Buffer.concat(chunks);
}
