import { coerceColumn, type CoercionOptions } from '../../src/core/ingest/coercion.ts';
import type { DataType } from '../../src/core/types/data-type.ts';
import type { TestCore } from './test-server.ts';

/**
 * Each text converted to `type` as a nullable column by the write path's coercion, in one query of a
 * real DuckDB: the value as JSON text, or `invalid: ` and the message.
 */
export async function convertValues(harness: TestCore, type: DataType, texts: Array<string | null>, options: CoercionOptions = {}): Promise<Array<string | null>> {
  const coerced = coerceColumn({ name: 'c', type, nullable: true }, 'v', (field) => field.type.kind, options);
  const rows = await harness.core.storage.query(
    `SELECT CASE WHEN ${coerced.failed('value')} THEN 'invalid: ' || (${coerced.error}) ELSE CAST(to_json(value) AS VARCHAR) END AS result
     FROM (SELECT v, n, ${coerced.value} AS value FROM (SELECT unnest(texts) AS v, generate_subscripts(texts, 1) AS n FROM (SELECT CAST($1::JSON AS VARCHAR[]) AS texts))) ORDER BY n`,
    [JSON.stringify(texts)],
  );
  return rows.map((row) => row['result'] as string | null);
}
