import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError } from '../../../core/errors.ts';
import { encodeQuery, type ResultFormat } from '../../../core/query/encode-query.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { clientGone } from '../../../server/client-gone.ts';
import { FELDERA_JSON } from '../encodings.ts';
import { FelderaError } from '../errors.ts';
import { FELDERA_SEMANTICS, foldAdHocQuery } from '../feldera-sql.ts';
import { QueryParams } from '../params.ts';
import type { Pipelines } from '../pipelines.ts';

/** Feldera's query formats and the result encoding each stands for. */
const FORMATS = {
  text: 'ascii-table',
  json: 'ndjson',
  parquet: 'parquet',
  arrow_ipc: 'arrow',
  hash: 'hash',
} as const satisfies Record<string, ResultFormat>;

type QueryFormat = keyof typeof FORMATS;

/** Ad-hoc SELECTs over a running (or paused) pipeline's tables and materialized views. */
export function queryRoutes(app: FastifyInstance, core: Sluice, pipelines: Pipelines): void {
  app.get('/v0/pipelines/:pipeline/query', async (request: FastifyRequest<{ Params: { pipeline: string } }>, reply: FastifyReply) => {
    const principal = await request.principal();
    const params = new QueryParams(request);
    const format = params.choice('format', Object.keys(FORMATS) as QueryFormat[], 'text');
    const sql = params.get('sql');
    if (!sql?.trim()) throw new FelderaError('InvalidParam', "The 'sql' parameter (a SELECT query) is required");
    const pipeline = pipelines.get(request.params.pipeline, principal, null);
    pipelines.requireDeployed(pipeline, 'query it');
    let encoded;
    try {
      const guarded = await core.guardBoundQuery(principal, pipeline.namespace, foldAdHocQuery(sql.trim().replace(/;\s*$/, '')), (name, qualifier) => {
        if (qualifier !== null) throw new FelderaError('AdHocQueryError', `'${qualifier}.${name}': a query reads only the pipeline's own tables and views`);
        return pipelines.adHocRelation(pipeline, name, principal);
      }, FELDERA_SEMANTICS);
      encoded = await encodeQuery(core.storage, guarded, FORMATS[format], { ...(format === 'json' && FELDERA_JSON), signal: clientGone(reply) });
    } catch (error) {
      throw asQueryError(error);
    }
    reply.type(encoded.contentType);
    return reply.send(Readable.from(encoded.body));
  });
}

/** A query the client got wrong is an AdHocQueryError, whatever the core called it; permissions stay 403. */
function asQueryError(error: unknown): unknown {
  if (!(error instanceof SluiceError) || error instanceof FelderaError || error.status >= 500 || error.code === 'FORBIDDEN') return error;
  return new FelderaError('AdHocQueryError', error.message, error.details);
}
