import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBStorage } from '../../../storage/duckdb/duckdb-storage.ts';
import type { QueryLimits } from '../../../storage/duckdb/query-lease.ts';
import { quoteIdentifier, quoteLiteral } from '../../../storage/duckdb/sql.ts';
import { SluiceError } from '../../errors.ts';
import type { GuardedQuery } from '../sql-guard.ts';
import { megabytes } from '../chunk-reader.ts';
import type { EncodedOutput } from './encoder-input.ts';

export interface ParquetEncodeOptions extends QueryLimits {
  maxRows?: number | undefined;
}

/**
 * Parquet written by DuckDB itself: the query is copied into a file in the spool folder (the one
 * place the sandbox lets DuckDB write), the file is streamed out and then deleted. A file left by
 * a caller that stopped reading early is deleted when the iteration is closed, or at the next start.
 *
 * DuckDB writes HUGEINT and UHUGEINT to Parquet as DOUBLE, which rounds them; such columns (and
 * nested values holding them) are written as their exact decimal text instead.
 */
export async function* encodeParquet(storage: DuckDBStorage, guarded: GuardedQuery, options: ParquetEncodeOptions = {}): EncodedOutput {
  const path = join(storage.spoolDir, `query-${randomUUID()}.parquet`);
  const limit = options.maxRows === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(options.maxRows))}`;
  try {
    const selectList = await exactSelectList(storage, guarded);
    const allowance = storage.maxExportBytes ?? (await halfTheFreeSpace(storage.spoolDir));
    const lease = await storage.leaseQuery({ ...options, owner: guarded.owner });
    // DuckDB writes the file as fast as it computes rows: it is watched, and stopped before it fills the disk.
    let outgrown = false;
    const watch = setInterval(() => {
      stat(path).then(
        ({ size }) => {
          if (size <= allowance) return;
          outgrown = true;
          lease.stop('cancelled');
        },
        () => undefined,
      );
    }, EXPORT_WATCH_MS);
    const tooLarge = () => new SluiceError('QUERY_FAILED', `The Parquet result grew past the ${megabytes(allowance)} the server may write for one query: ask for fewer rows`, {
      limitBytes: allowance,
    });
    try {
      await lease.run((connection) => connection.run(`COPY (SELECT ${selectList} FROM (${guarded.sql})${limit}) TO ${quoteLiteral(path)} (FORMAT parquet)`));
    } catch (error) {
      if (!outgrown) throw error;
      throw tooLarge();
    } finally {
      clearInterval(watch);
      lease.end();
    }
    // A file written between two looks of the watch is measured once it is whole.
    if ((await stat(path)).size > allowance) throw tooLarge();
    for await (const chunk of createReadStream(path)) yield chunk as Buffer;
  } finally {
    await rm(path, { force: true });
  }
}

const EXPORT_WATCH_MS = 100;

/** By default a Parquet result may take half the disk space left where it is written. */
async function halfTheFreeSpace(directory: string): Promise<number> {
  const { bavail, bsize } = await statfs(directory);
  return Math.floor((bavail * bsize) / 2);
}

async function exactSelectList(storage: DuckDBStorage, guarded: GuardedQuery): Promise<string> {
  const columns = await storage.query(`DESCRIBE (${guarded.sql})`);
  if (!columns.some((column) => String(column['column_type']).includes('HUGEINT'))) return '*';
  // Positional references: a query's column names need not be unique.
  return columns
    .map((column, index) => {
      const name = quoteIdentifier(String(column['column_name']));
      return String(column['column_type']).includes('HUGEINT') ? `CAST(#${index + 1} AS VARCHAR) AS ${name}` : `#${index + 1} AS ${name}`;
    })
    .join(', ');
}
