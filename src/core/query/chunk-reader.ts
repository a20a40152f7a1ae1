import type { DuckDBDataChunk, DuckDBType } from '@duckdb/node-api';
import { hasVariableSize, measureRows } from '../../storage/duckdb/value-sizes.ts';
import { SluiceError } from '../errors.ts';
import { convertVectorItem, type SqlValue } from './sql-values.ts';

/**
 * Turns DuckDB's chunks into rows of SqlValues. A chunk holds up to 2048 rows, and rows of long
 * strings or lists can make it far larger as JS values than in DuckDB; rows are measured first
 * (see measureRows) and converted in groups that fit the budget, and a single row larger than the
 * whole budget fails the query rather than the server.
 */
export class ChunkReader {
  /** Rows need measuring only when some column's values can differ in size. */
  private readonly varying: boolean;

  constructor(
    private readonly types: readonly DuckDBType[],
    private readonly budget: number,
  ) {
    this.varying = types.some(hasVariableSize);
  }

  /** The approximate JS bytes of the chunk's first `count` rows; a row over the budget fails. */
  measure(chunk: DuckDBDataChunk, count: number): number {
    if (!this.varying) return count * this.types.length * FIXED_VALUE_BYTES;
    const sizes = measureRows(chunk, this.types, this.budget);
    let total = 0;
    for (let row = 0; row < count; row += 1) {
      if (sizes[row]! > this.budget) throw rowTooLarge(sizes[row]!, this.budget);
      total += sizes[row]!;
    }
    return total;
  }

  /** The chunk's rows in groups, each converted when the caller asks for it. */
  *batches(chunk: DuckDBDataChunk): Generator<SqlValue[][]> {
    if (!this.varying) {
      yield this.convert(chunk, 0, chunk.rowCount);
      return;
    }
    const sizes = measureRows(chunk, this.types, this.budget);
    let start = 0;
    let held = 0;
    for (let row = 0; row < chunk.rowCount; row += 1) {
      if (sizes[row]! > this.budget) throw rowTooLarge(sizes[row]!, this.budget);
      if (held + sizes[row]! > this.budget / BATCHES_PER_BUDGET && row > start) {
        yield this.convert(chunk, start, row - start);
        start = row;
        held = 0;
      }
      held += sizes[row]!;
    }
    yield this.convert(chunk, start, chunk.rowCount - start);
  }

  /** Rows `start` to `start + count` of the chunk, as positional rows. */
  convert(chunk: DuckDBDataChunk, start: number, count: number): SqlValue[][] {
    const whole = start === 0 && count === chunk.rowCount;
    const columns = this.types.map((type, index) => {
      // A slice is a fresh view of the rows: the values it converts are not kept by the chunk's own vector.
      const vector = whole ? chunk.getColumnVector(index) : chunk.getColumnVector(index).slice(start, count);
      return Array.from({ length: count }, (_, row) => convertVectorItem(vector, row, type));
    });
    return Array.from({ length: count }, (_, row) => columns.map((column) => column[row]!));
  }
}

/** What a value of fixed size (a number, a date) costs as a JS value, for the budget. */
const FIXED_VALUE_BYTES = 16;
/**
 * A streamed batch takes a fraction of the budget: the encoder's output for it, and the next
 * batch, are in memory too.
 */
const BATCHES_PER_BUDGET = 4;

function rowTooLarge(bytes: number, budget: number): SluiceError {
  return new SluiceError(
    'QUERY_FAILED',
    `A row of the result holds about ${megabytes(bytes)} of values, more than the ${megabytes(budget)} a query's result may hold in the server's memory: select fewer or shorter values`,
    { rowBytes: Math.round(bytes), limitBytes: budget },
  );
}

/** A size as people read it: GB with a decimal, MB, or KB under a megabyte (a 4 KB limit is no "1 MB"). */
export function megabytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  return bytes >= 1024 ** 2 ? `${Math.round(bytes / 1024 ** 2)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}
