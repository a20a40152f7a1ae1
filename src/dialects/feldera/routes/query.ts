import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../../core/auth/scopes.ts';
import { SluiceError } from '../../../core/errors.ts';
import { ingest } from '../../../core/ingest/ingest.ts';
import { encodeQuery, type ResultFormat } from '../../../core/query/encode-query.ts';
import type { GuardedQuery } from '../../../core/query/sql-guard.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { describeDuckDBType, toDuckDBType } from '../../../core/types/duckdb-types.ts';
import { clientGone } from '../../../server/client-gone.ts';
import { quoteIdentifier } from '../../../storage/duckdb/sql.ts';
import { castByPosition, parseAdHocInsert, type AdHocInsert } from '../ad-hoc-insert.ts';
import { FELDERA_COERCION, FELDERA_JSON } from '../encodings.ts';
import { FelderaError } from '../errors.ts';
import { FELDERA_SEMANTICS, foldAdHocQuery } from '../feldera-sql.ts';
import { QueryParams } from '../params.ts';
import type { Pipeline, Pipelines } from '../pipelines.ts';
import { describeType, writeKind } from './ingress.ts';

/** Feldera's query formats and the result encoding each stands for. */
const FORMATS = {
  text: 'ascii-table',
  json: 'ndjson',
  parquet: 'parquet',
  arrow_ipc: 'arrow',
  hash: 'hash',
} as const satisfies Record<string, ResultFormat>;

type QueryFormat = keyof typeof FORMATS;

/** Ad-hoc SELECTs over a running (or paused) pipeline's tables and materialized views, and INSERTs into its tables. */
export function queryRoutes(app: FastifyInstance, core: Sluice, pipelines: Pipelines): void {
  app.get('/v0/pipelines/:pipeline/query', async (request: FastifyRequest<{ Params: { pipeline: string } }>, reply: FastifyReply) => {
    const principal = await request.principal();
    const params = new QueryParams(request);
    const format = params.choice('format', Object.keys(FORMATS) as QueryFormat[], 'text');
    const sql = params.get('sql');
    if (!sql?.trim()) throw new FelderaError('InvalidParam', "The 'sql' parameter (a SELECT or INSERT query) is required");
    const pipeline = pipelines.get(request.params.pipeline, principal, null);
    pipelines.requireDeployed(pipeline, 'query it');
    const text = sql.trim().replace(/;\s*$/, '');
    const guard = (query: string) => core.guardBoundQuery(principal, pipeline.namespace, query, (name, qualifier) => {
      if (qualifier !== null) throw new FelderaError('AdHocQueryError', `'${qualifier}.${name}': a query reads only the pipeline's own tables and views`);
      return pipelines.adHocRelation(pipeline, name, principal);
    }, FELDERA_SEMANTICS);
    let encoded;
    try {
      const insert = parseAdHocInsert(text);
      // An INSERT answers the number of rows it wrote, as DataFusion's does (a `count` column).
      const query = insert ? `SELECT ${await insertRows(core, pipelines, pipeline, principal, insert, guard)}::BIGINT AS count` : foldAdHocQuery(text, pipelines.relationNames(pipeline));
      encoded = await encodeQuery(core.storage, await guard(query), FORMATS[format], { ...(format === 'json' && FELDERA_JSON), signal: clientGone(reply) });
    } catch (error) {
      throw asQueryError(error);
    }
    reply.type(encoded.contentType);
    return reply.send(Readable.from(encoded.body));
  });
}

/**
 * Runs an ad-hoc INSERT: its query is read as an ad-hoc SELECT is (over the pipeline's tables and
 * materialized views, in DuckDB's sandbox), each value cast to its column's type, and its rows go
 * into the table as a push of them would (an upsert on a keyed table), all of them or, when one
 * does not convert, none. Gives the number of rows written.
 */
async function insertRows(core: Sluice, pipelines: Pipelines, pipeline: Pipeline, principal: Principal, insert: AdHocInsert, guard: (sql: string) => Promise<GuardedQuery>): Promise<number> {
  const table = pipelines.tableNamed(pipeline, insert.table);
  if (!table) throw new FelderaError('AdHocQueryError', `Table '${insert.table}' does not exist in pipeline '${pipeline.namespace.name}'`, { name: insert.table });
  const columns = (insert.columns ?? table.columns.map((column) => column.name)).map((name) => {
    const column = table.columns.find((candidate) => candidate.name === name);
    if (!column) throw new FelderaError('AdHocQueryError', `Table '${table.name}' has no column '${name}'`, { name });
    return column;
  });
  const kind = writeKind(table, 'json', 'raw');
  core.authorizeWrite(principal, kind, table);
  const names = columns.map((column) => quoteIdentifier(column.name));
  const source = `(${foldAdHocQuery(insert.query, pipelines.relationNames(pipeline))}) AS sluice_insert(${names.join(', ')})`;
  const given = await core.storage.query(`DESCRIBE (${(await guard(`SELECT * FROM ${source}`)).sql})`);
  if (given.length !== columns.length) {
    throw new FelderaError('AdHocQueryError', `INSERT into '${table.name}' names ${columns.length} columns, but its query gives ${given.length}`);
  }
  const casts = columns.map((column, index) => {
    const givenType = describeDuckDBType(String(given[index]!['column_type']));
    return `${givenType ? castByPosition(names[index]!, givenType, column.type) : `CAST(${names[index]} AS ${toDuckDBType(column.type)})`} AS ${names[index]}`;
  });
  const rows = await guard(`SELECT ${casts.join(', ')} FROM ${source}`);
  const encoded = await encodeQuery(core.storage, rows, 'ndjson', FELDERA_JSON);
  const chunks: Buffer[] = [];
  for await (const chunk of encoded.body) chunks.push(Buffer.from(chunk));
  await pipelines.awaitInput(pipeline, false);
  const result = await ingest(core, principal, {
    table, kind, format: 'json', onInvalid: 'reject', describeType, coercion: FELDERA_COERCION,
    source: { kind: 'bytes', bytes: Buffer.concat(chunks) }, limits: { maxBytes: core.config.maxRequestBodyBytes },
    json: { updateFormat: 'raw', lineDelimited: true, arrays: false, caseInsensitive: false, positional: false, typedValues: true },
  });
  return result.rowsAccepted;
}

/** A query the client got wrong is an AdHocQueryError, whatever the core called it; permissions stay 403. */
function asQueryError(error: unknown): unknown {
  if (!(error instanceof SluiceError) || error instanceof FelderaError || error.status >= 500 || error.code === 'FORBIDDEN') return error;
  return new FelderaError('AdHocQueryError', error.message, error.details);
}
