import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { analyzeParquet } from '../../../../src/core/ingest/inference/index.ts';
import { SluiceError } from '../../../../src/core/errors.ts';
import { printClickHouseType } from '../../../../src/core/types/index.ts';
import { quoteLiteral } from '../../../../src/storage/duckdb/sql.ts';
import { useStorage } from './spool-fixture.ts';

describe('analyzeParquet', () => {
  const { storage, spool } = useStorage();

  async function writeParquet(name: string, select: string): Promise<string> {
    const path = join(storage().spoolDir, name);
    await storage().query(`COPY (${select}) TO ${quoteLiteral(path)} (FORMAT parquet)`);
    return path;
  }

  const summarize = (analysis: Awaited<ReturnType<typeof analyzeParquet>>) =>
    analysis.columns.map(({ path, name, field, presentPct }) => [path, name, printClickHouseType(field), presentPct]);

  test('types come from the Parquet schema, nullability and presence from the null counts', async () => {
    const path = await writeParquet(
      'typed.parquet',
      `SELECT * FROM (VALUES
         (1, 'ann', [1, 2], 1.50::DECIMAL(10,2), TIMESTAMP '2024-01-02 03:04:05', true, 10::BIGINT),
         (2, NULL, [3], 2.25::DECIMAL(10,2), NULL, false, NULL),
         (3, 'cid', [], 3.00::DECIMAL(10,2), NULL, true, NULL),
         (4, 'dan', [4], 4.75::DECIMAL(10,2), TIMESTAMP '2024-01-05 03:04:05', false, NULL)
       ) AS t(id, name, tags, amount, "at", "is ok", score)`,
    );
    assert.deepEqual(summarize(await analyzeParquet(storage(), path)), [
      ['$.id', 'id', 'Int32', 1],
      ['$.name', 'name', 'Nullable(String)', 0.75],
      ['$.tags[:]', 'tags', 'Array(Nullable(Int32))', 1],
      ['$.amount', 'amount', 'Decimal(10, 2)', 1],
      ['$.at', 'at', 'Nullable(DateTime64(6))', 0.5],
      ["$.['is ok']", 'is_ok', 'Bool', 1],
      ['$.score', 'score', 'Nullable(Int64)', 0.25],
    ]);
  });

  test('nested columns, which have no top-level statistics, are counted', async () => {
    const path = await writeParquet(
      'nested.parquet',
      `SELECT * FROM (VALUES ({'x': 1, 'y': 'a'}, MAP {'k': 1}), (NULL, MAP {'k': 2})) AS t(point, attributes)`,
    );
    const analysis = await analyzeParquet(storage(), path);
    assert.deepEqual(
      analysis.columns.map(({ path: columnPath, field, presentPct }) => [columnPath, field.type.kind, field.nullable, presentPct]),
      [
        ['$.point', 'struct', true, 0.5],
        ['$.attributes', 'map', false, 1],
      ],
    );
  });

  test('a file that is not Parquet is a malformed body', async () => {
    const path = await spool('fake.parquet', 'id,name\n1,ann\n');
    await assert.rejects(analyzeParquet(storage(), path), (error: unknown) => error instanceof SluiceError && error.code === 'MALFORMED_BODY');
  });
});
