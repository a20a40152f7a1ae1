import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBStorage } from '../../../storage/duckdb/duckdb-storage.ts';
import type { QueryLimits } from '../../../storage/duckdb/query-lease.ts';
import { quoteIdentifier, quoteLiteral } from '../../../storage/duckdb/sql.ts';
import type { GuardedQuery } from '../sql-guard.ts';
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
    const lease = await storage.leaseQuery({ ...options, owner: guarded.owner });
    try {
      await lease.run((connection) => connection.run(`COPY (SELECT ${selectList} FROM (${guarded.sql})${limit}) TO ${quoteLiteral(path)} (FORMAT parquet)`));
    } finally {
      lease.end();
    }
    for await (const chunk of createReadStream(path)) yield chunk as Buffer;
  } finally {
    await rm(path, { force: true });
  }
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
