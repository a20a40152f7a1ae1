import type { DuckDBStorage } from '../../storage/duckdb/duckdb-storage.ts';
import type { QueryLimits } from '../../storage/duckdb/query-lease.ts';
import { SluiceError } from '../errors.ts';
import type { FieldType } from '../types/data-type.ts';
import { encodeCsv } from './encoders/encode-csv.ts';
import { encodeHash } from './encoders/encode-hash.ts';
import { encodeJson } from './encoders/encode-json.ts';
import { encodeNdjson } from './encoders/encode-ndjson.ts';
import { encodeParquet } from './encoders/encode-parquet.ts';
import { encodeTextTable } from './encoders/encode-text-table.ts';
import { encodeTsv } from './encoders/encode-tsv.ts';
import { inputFromResult, type EncodedOutput, type EncoderInput, type TotalsOption } from './encoders/encoder-input.ts';
import { runQuery, streamQuery, type QueryResult, type ResultTypeOptions } from './query-runner.ts';
import type { RenderOptions } from './render-value.ts';
import type { GuardedQuery } from './sql-guard.ts';

/** The result encodings; each dialect maps its own format names onto these. */
export type ResultFormat =
  | 'json' | 'ndjson' | 'csv' | 'csv-with-names' | 'tsv' | 'tsv-with-names' | 'pretty-compact' | 'ascii-table' | 'arrow' | 'parquet' | 'hash';

export interface EncodeQueryOptions extends RenderOptions, QueryLimits, ResultTypeOptions, TotalsOption {
  /** Names result types in the `json` format's meta; required for it. */
  printType?: ((type: FieldType) => string) | undefined;
  /** Bounds the result (and reports truncation); without it the rows stream through unbounded. */
  maxRows?: number | undefined;
}

export interface EncodedQuery {
  contentType: string;
  body: EncodedOutput;
  /** With maxRows, the bounded result (row count, truncation) for response headers; else null. */
  result: QueryResult | null;
}

type EncodeRows = (input: EncoderInput, options: EncodeQueryOptions) => EncodedOutput;

interface FormatEntry {
  contentType: string;
  /** Row formats read the runner's rows; Parquet is written by DuckDB from the query itself. */
  encode: EncodeRows | 'parquet';
  /** The format reports how many rows the query gives without its own LIMIT (JSON's rows_before_limit_at_least). */
  countsRowsBeforeLimit?: true;
}

export const RESULT_FORMATS: Record<ResultFormat, FormatEntry> = {
  json: {
    contentType: 'application/json; charset=utf-8',
    encode: (input, options) => {
      const { printType } = options;
      if (!printType) throw new SluiceError('INTERNAL', 'The json format needs printType');
      return encodeJson(input, { ...options, printType });
    },
    countsRowsBeforeLimit: true,
  },
  ndjson: { contentType: 'application/x-ndjson; charset=utf-8', encode: encodeNdjson },
  csv: { contentType: 'text/csv; charset=utf-8', encode: (input, options) => encodeCsv(input, { ...options, header: false }) },
  'csv-with-names': { contentType: 'text/csv; charset=utf-8', encode: (input, options) => encodeCsv(input, { ...options, header: true }) },
  tsv: { contentType: 'text/tab-separated-values; charset=utf-8', encode: (input, options) => encodeTsv(input, { ...options, header: false }) },
  'tsv-with-names': { contentType: 'text/tab-separated-values; charset=utf-8', encode: (input, options) => encodeTsv(input, { ...options, header: true }) },
  'pretty-compact': { contentType: 'text/plain; charset=utf-8', encode: (input, options) => encodeTextTable(input, { ...options, style: 'pretty-compact' }) },
  'ascii-table': { contentType: 'text/plain; charset=utf-8', encode: (input, options) => encodeTextTable(input, { ...options, style: 'ascii' }) },
  arrow: { contentType: 'application/vnd.apache.arrow.stream', encode: encodeArrowLazily },
  hash: { contentType: 'text/plain; charset=utf-8', encode: encodeHash },
  parquet: { contentType: 'application/vnd.apache.parquet', encode: 'parquet' },
};

/**
 * Runs a guarded query into one format. The first chunk is produced before this resolves, so
 * that a failing query rejects here, while a response status can still say so; later chunks are
 * produced as the body is read. Read the body to the end or call its iterator's `return()`: an
 * unbounded query holds a read connection until then.
 */
export async function encodeQuery(storage: DuckDBStorage, guarded: GuardedQuery, format: ResultFormat, options: EncodeQueryOptions = {}): Promise<EncodedQuery> {
  const { contentType, encode, countsRowsBeforeLimit } = RESULT_FORMATS[format];
  if (encode === 'parquet') return { contentType, body: await startOutput(encodeParquet(storage, guarded, options)), result: null };
  const runOptions = { ...options, countBeforeLimit: countsRowsBeforeLimit === true };
  if (options.maxRows !== undefined) {
    const result = await runQuery(storage, guarded, runOptions);
    return { contentType, body: await startOutput(encode(inputFromResult(result), options)), result };
  }
  const stream = await streamQuery(storage, guarded, runOptions);
  // An encoder may stop before it reads any batch (a client gone after the Arrow schema), so the
  // connection is freed when the body ends, not when the batches do.
  return { contentType, body: await startOutput(encode(stream, options), () => stream.close()), result: null };
}

/**
 * Pulls the output's first chunk now, and hands back an output that replays it. `onEnd` runs once
 * when the output is read to the end, fails, or is abandoned (`return()`), even before it started.
 */
async function startOutput(output: EncodedOutput, onEnd: () => Promise<void> = async () => {}): Promise<EncodedOutput> {
  const iterator = output[Symbol.asyncIterator]();
  let ended = false;
  const end = async (): Promise<void> => {
    if (ended) return;
    ended = true;
    await onEnd();
  };
  const settle = async (step: Promise<IteratorResult<Uint8Array>>): Promise<IteratorResult<Uint8Array>> => {
    try {
      const result = await step;
      if (result.done) await end();
      return result;
    } catch (error) {
      await end();
      throw error;
    }
  };
  let first: IteratorResult<Uint8Array> | null = await settle(iterator.next());
  return {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        if (first) {
          const replay = first;
          first = null;
          return replay;
        }
        return ended ? { done: true, value: undefined } : settle(iterator.next());
      },
      return: async () => {
        first = null;
        if (!ended) await iterator.return?.();
        await end();
        return { done: true, value: undefined };
      },
    }),
  };
}

/** Arrow output, with Apache Arrow's library loaded on first use (it is large, and most servers never need it). */
async function* encodeArrowLazily(input: EncoderInput): EncodedOutput {
  const { encodeArrow } = await import('./encoders/encode-arrow.ts');
  yield* encodeArrow(input);
}
