import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError } from '../../../core/errors.ts';
import type { ResultFormat } from '../../../core/query/encode-query.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { mediaTypeOf, readJsonBody } from '../../../server/body.ts';
import { Params } from '../params.ts';
import { Pipes, renderPipe, type NodeSpec } from '../pipes.ts';
import { tinybirdMessage } from '../errors.ts';
import { requireCreate } from '../scopes.ts';
import { checkClickHouseQuery, queryRequest, readablePipe, sendClickHouseQuery, splitFormat } from './sql.ts';

/** A pipe's endpoint: its name and the format its extension asks for (pipe names have no dots). */
const ENDPOINT = /^(.+)\.(json|csv|ndjson|parquet)$/;
const ENDPOINT_FORMATS: Record<string, ResultFormat> = { json: 'json', csv: 'csv-with-names', ndjson: 'ndjson', parquet: 'parquet' };

interface PipeRequestBody {
  name?: unknown;
  description?: unknown;
  nodes?: unknown;
}

/** A JSON body's node, its members checked to be texts. */
function nodeSpec(node: unknown): NodeSpec {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) throw new SluiceError('INVALID_ARGUMENT', 'Each node must be an object with its sql, as in {"name": "daily", "sql": "SELECT …"}');
  const member = (name: string): string | undefined => {
    const value = (node as Record<string, unknown>)[name];
    if (value !== undefined && value !== null && typeof value !== 'string') throw new SluiceError('INVALID_ARGUMENT', `A node's ${name} must be a string`, { [name]: value });
    return value ?? undefined;
  };
  const sql = member('sql');
  if (sql === undefined) throw new SluiceError('INVALID_ARGUMENT', 'Each node needs its sql');
  const [name, description, type, datasource] = [member('name'), member('description'), member('type'), member('datasource')];
  return { sql, ...(name !== undefined && { name }), ...(description !== undefined && { description }), ...(type !== undefined && { type }), ...(datasource !== undefined && { datasource }) };
}

/**
 * Tinybird's Pipes API: a pipe is created from `name` and `sql` (one node, `type=materialized` and
 * `datasource` to materialize it) or from a JSON body with its `nodes`; listed, read and deleted
 * (which needs DATASOURCES:CREATE); and its endpoint queried (`/v0/pipes/name.json`).
 */
export function pipeRoutes(app: FastifyInstance, core: Sluice): void {
  const pipes = new Pipes(core);

  app.post('/v0/pipes', async (request) => {
    const principal = await request.principal();
    requireCreate(principal);
    const isJson = mediaTypeOf(request) === 'application/json';
    const body = isJson ? ((await readJsonBody(request)) as PipeRequestBody | undefined) : undefined;
    const params = isJson ? Params.ofQuery(request) : await Params.of(request);
    const name = body?.name ?? params.get('name');
    if (typeof name !== 'string' || name === '') throw new SluiceError('INVALID_ARGUMENT', 'The name parameter is required');
    const description = body?.description ?? params.get('description');
    if (description !== undefined && typeof description !== 'string') throw new SluiceError('INVALID_ARGUMENT', 'description must be a string');
    let nodes: NodeSpec[];
    if (body?.nodes !== undefined) {
      if (!Array.isArray(body.nodes)) throw new SluiceError('INVALID_ARGUMENT', 'nodes must be an array of {"name", "sql", "type", "datasource"} objects');
      nodes = body.nodes.map(nodeSpec);
    } else {
      const sql = params.get('sql');
      if (sql === undefined) throw new SluiceError('INVALID_ARGUMENT', 'The sql parameter (or a JSON body with nodes) is required');
      const [type, datasource] = [params.get('type'), params.get('datasource')];
      nodes = [{ sql, ...(type !== undefined && { type }), ...(datasource !== undefined && { datasource }) }];
    }
    try {
      const pipe = await pipes.create(principal, { name, ...(description !== undefined && { description }), nodes }, (sql) => checkClickHouseQuery(core, principal, sql));
      return renderPipe(pipes, pipe);
    } catch (error) {
      // A node reading a data source that does not exist makes the request wrong, not its address: a 400, not a 404.
      if (error instanceof SluiceError && error.code === 'TABLE_NOT_FOUND') throw new SluiceError('INVALID_ARGUMENT', tinybirdMessage(error), error.details);
      throw error;
    }
  });

  app.get('/v0/pipes', async (request) => {
    requireCreate(await request.principal());
    return { pipes: pipes.list().map((pipe) => renderPipe(pipes, pipe)) };
  });

  /**
   * A pipe's endpoint (`/v0/pipes/top.json`): its last node's rows, for any token that may read
   * what it reads; with `q`, that query over them as `_` (a POST may send `q` in its body).
   */
  const endpointHandler = async (request: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
    const principal = await request.principal();
    const endpoint = ENDPOINT.exec(request.params.name);
    if (!endpoint) {
      if (request.method === 'POST') throw new SluiceError('NOT_FOUND', `No route for POST /v0/pipes/${request.params.name}: a pipe's endpoint ends in .json, .csv, .ndjson or .parquet`);
      requireCreate(principal);
      return renderPipe(pipes, pipes.get(request.params.name));
    }
    const pipe = await readablePipe(core, pipes, principal, endpoint[1]!);
    const { q } = await queryRequest(request);
    const sql = q === undefined ? pipes.endpointSql(pipe) : pipes.overPipe(pipe, splitFormat(q).sql);
    return sendClickHouseQuery(core, principal, sql, ENDPOINT_FORMATS[endpoint[2]!]!, reply);
  };
  app.get('/v0/pipes/:name', endpointHandler);
  app.post('/v0/pipes/:name', endpointHandler);

  app.delete<{ Params: { name: string } }>('/v0/pipes/:name', async (request, reply) => {
    const principal = await request.principal();
    requireCreate(principal);
    await pipes.drop(principal, pipes.get(request.params.name));
    return reply.status(204).send();
  });
}
