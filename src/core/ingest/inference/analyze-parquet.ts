import type { DataType } from '../../types/data-type.ts';
import { fromDuckDBTypeName } from '../../types/duckdb-types.ts';
import type { DuckDBStorage, Row } from '../../../storage/duckdb/duckdb-storage.ts';
import { quoteIdentifier, quoteLiteral } from '../../../storage/duckdb/sql.ts';
import { formatJsonPathStep, type JsonAnalysis } from './analyze-json.ts';
import { assignColumnNames } from './assign-column-names.ts';
import { readOrMalformed, resolveInferenceInput } from './inference-input.ts';

/**
 * Proposes a column per top-level column of a Parquet file, typed from its schema, in the shape of
 * an NDJSON analysis: paths `$.col` (`$.col[:]` for lists, as Array columns take). Null counts come
 * from the row-group statistics when every row group has them; otherwise, and for nested columns
 * (whose statistics are per leaf), that column is counted. As for JSON, list columns are not
 * Nullable and their presentPct counts elements per row; other columns are Nullable when they hold
 * a null, and their presentPct is the share of non-null rows.
 */
export async function analyzeParquet(storage: DuckDBStorage, filePath: string): Promise<JsonAnalysis> {
  const { path } = resolveInferenceInput(storage, filePath, undefined);
  const source = `read_parquet(${quoteLiteral(path)})`;
  const [described, statistics, [file]] = await readOrMalformed(
    () =>
      Promise.all([
        storage.query(`DESCRIBE SELECT * FROM ${source}`),
        storage.query(
          `SELECT path_in_schema, count(*) = count(stats_null_count) AS complete, sum(stats_null_count) AS nulls
           FROM parquet_metadata(${quoteLiteral(path)}) GROUP BY path_in_schema`,
        ),
        storage.query(`SELECT sum(num_rows) AS num_rows FROM parquet_file_metadata(${quoteLiteral(path)})`),
      ]),
    'The Parquet file could not be read',
  );
  const rowCount = Number(file?.['num_rows'] ?? 0);
  const columns = described.map((row) => ({ name: String(row['column_name']), type: fromDuckDBTypeName(String(row['column_type'])) }));

  const nullsFromStatistics = new Map<string, number>();
  for (const row of statistics) {
    if (row['complete'] === true) nullsFromStatistics.set(String(row['path_in_schema']), Number(row['nulls']));
  }
  const counted = columns.flatMap((column, index) =>
    column.type.kind === 'list' || !nullsFromStatistics.has(column.name) ? [{ ...column, index }] : [],
  );
  const counts: Row =
    counted.length === 0
      ? {}
      : (await readOrMalformed(() => storage.query(countNullsAndElements(source, counted)), 'The Parquet file could not be read'))[0]!;

  const names = assignColumnNames(columns.map(({ name }) => name));
  const share = (count: number): number => (rowCount === 0 ? 0 : Math.round((count / rowCount) * 100) / 100);
  return {
    columns: columns.map(({ name, type }, index) => {
      const step = `$${formatJsonPathStep(name)}`;
      if (type.kind === 'list') {
        return { path: `${step}[:]`, name: names[index]!, field: { type, nullable: false }, presentPct: share(Number(counts[`elements${index}`])) };
      }
      const nulls = nullsFromStatistics.get(name) ?? Number(counts[`nulls${index}`]);
      return { path: step, name: names[index]!, field: { type, nullable: nulls > 0 }, presentPct: share(rowCount - nulls) };
    }),
  };
}

/** Null counts (`nulls<i>`) and, for lists, element counts (`elements<i>`), by position `i` in the file. */
function countNullsAndElements(source: string, columns: Array<{ name: string; type: DataType; index: number }>): string {
  const aggregates = columns.flatMap(({ name, type, index }) => [
    `count(*) - count(${quoteIdentifier(name)}) AS nulls${index}`,
    ...(type.kind === 'list' ? [`coalesce(sum(len(${quoteIdentifier(name)})), 0) AS elements${index}`] : []),
  ]);
  return `SELECT ${aggregates.join(', ')} FROM ${source}`;
}
