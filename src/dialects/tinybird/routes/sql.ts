import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireReadsIn, type Principal } from '../../../core/auth/scopes.ts';
import { SluiceError } from '../../../core/errors.ts';
import type { ResultFormat } from '../../../core/query/encode-query.ts';
import { tokensOrUndefined } from '../../../core/query/sql-tokens.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { printClickHouseType } from '../../../core/types/index.ts';
import { mediaTypeOf, readBody } from '../../../server/body.ts';
import { clientGone } from '../../../server/client-gone.ts';
import { Params } from '../params.ts';
import { Pipes, type Pipe } from '../pipes.ts';
import { rewriteClickHouseQuery } from '../sql/clickhouse-sql.ts';
import { filledQuery } from '../sql/with-fill.ts';
import { totalsQuery } from '../sql/with-totals.ts';
import { mayCreate, WORKSPACE } from '../scopes.ts';

/** ClickHouse's FORMAT names and the result encoding each stands for. */
const FORMATS: Record<string, ResultFormat> = {
  JSON: 'json',
  JSONEachRow: 'ndjson',
  CSV: 'csv',
  CSVWithNames: 'csv-with-names',
  TSV: 'tsv',
  TabSeparated: 'tsv',
  TSVWithNames: 'tsv-with-names',
  TabSeparatedWithNames: 'tsv-with-names',
  Parquet: 'parquet',
  PrettyCompact: 'pretty-compact',
};

/**
 * Splits a trailing `FORMAT X` clause off the query (JSON when absent), found among its tokens, so
 * that one in a comment or a string is not taken and a comment may follow it; a `SETTINGS …`
 * clause may follow it, as ClickHouse allows, and stays with the query (whose rewrite drops it). A
 * query that does not tokenize is left whole, for the rewrite to report.
 */
export function splitFormat(sql: string): { sql: string; format: ResultFormat } {
  const tokens = tokensOrUndefined(sql, { clickhouse: true });
  if (!tokens) return { sql: sql.trimEnd(), format: 'json' };
  let last = tokens.length - 1;
  if (tokens[last]?.kind === 'symbol' && tokens[last]!.text === ';') last -= 1;
  const isWord = (index: number, word: string) => tokens[index]?.kind === 'word' && tokens[index]!.text.toUpperCase() === word;
  const settings = tokens.findIndex((token, index) => index > 1 && index <= last && isWord(index, 'SETTINGS') && isWord(index - 2, 'FORMAT'));
  const clauseAt = settings > 0 ? settings - 2 : last - 1;
  const [clause, written] = [tokens[clauseAt], tokens[clauseAt + 1]];
  if (!isWord(clauseAt, 'FORMAT') || written?.kind !== 'word') {
    return { sql: sql.slice(0, tokens[last]?.end ?? 0), format: 'json' };
  }
  const name = Object.keys(FORMATS).find((candidate) => candidate.toLowerCase() === written.text.toLowerCase());
  if (!name) throw new SluiceError('INVALID_ARGUMENT', `Unknown format "${written.text}": supported formats are ${Object.keys(FORMATS).join(', ')}`);
  const after = settings > 0 ? ` ${sql.slice(tokens[settings]!.start, tokens[last]!.end)}` : '';
  return { sql: `${sql.slice(0, clause!.start).trimEnd()}${after}`, format: FORMATS[name]! };
}

/**
 * Runs a query in ClickHouse's SQL as Tinybird users write it, in the workspace, and sends its
 * result in `format` (the SQL API's, and pipes' endpoints').
 */
export async function sendClickHouseQuery(core: Sluice, principal: Principal, written: string, format: ResultFormat, reply: FastifyReply) {
  const { namespace, rewritten } = await rewriteInWorkspace(core, written);
  // ORDER BY … WITH FILL adds rows of zeros, and WITH TOTALS a row with keys at zero: their types
  // are those of the query's own columns.
  let sql: string;
  let totalsSql: string | undefined;
  if ('fill' in rewritten) sql = filledQuery(rewritten.fill, await core.describeQuery(principal, namespace, rewritten.fill.head));
  else if ('totals' in rewritten) {
    sql = rewritten.totals.sql;
    totalsSql = totalsQuery(rewritten.totals, await core.describeQuery(principal, namespace, sql));
  } else sql = rewritten.sql;
  const encoded = await core.query(principal, namespace, sql, format, {
    ...CLICKHOUSE_OUTPUT, signal: clientGone(reply), ...(totalsSql !== undefined && { totalsSql }),
  });
  reply.type(encoded.contentType);
  return reply.send(Readable.from(encoded.body));
}

/** Checks a query as `sendClickHouseQuery` would run it, without running it: its syntax, the data sources it reads, the principal's scopes. */
export async function checkClickHouseQuery(core: Sluice, principal: Principal, written: string): Promise<void> {
  const { namespace, rewritten } = await rewriteInWorkspace(core, written);
  await core.describeQuery(principal, namespace, 'fill' in rewritten ? rewritten.fill.head : 'totals' in rewritten ? rewritten.totals.sql : rewritten.sql);
}

async function rewriteInWorkspace(core: Sluice, written: string) {
  const namespace = await core.catalog.ensureNamespace(WORKSPACE);
  // A pipe read by name is its endpoint's SQL.
  const sql = new Pipes(core).withPipesRead(written, (name) => core.catalog.findTable(namespace.id, name) !== undefined);
  // A LEFT JOIN's unmatched columns take their type's default, as in ClickHouse: the rewrite needs the data sources' columns.
  return { namespace, rewritten: rewriteClickHouseQuery(sql, { columnsOf: (name) => core.catalog.findTable(namespace.id, name)?.columns }) };
}

/**
 * The pipe of this name, for a principal that may read what it gives. A token that reads nothing
 * in the workspace learns nothing of its pipes; only one that sees the pipes (DATASOURCES:CREATE)
 * learns whether one exists and what it reads: to another, a pipe it may not read and no pipe at
 * all are the same 403.
 */
export async function readablePipe(core: Sluice, pipes: Pipes, principal: Principal, name: string): Promise<Pipe> {
  requireReadsIn(principal, WORKSPACE);
  if (!mayCreate(principal) && !(await readsResult(core, pipes, principal, pipes.find(name)))) {
    throw new SluiceError('FORBIDDEN', `The token may not read pipe "${name}"`, { pipe: name });
  }
  return pipes.get(name);
}

/** Whether the principal may read what the pipe gives: its endpoint's data sources, or its target. */
async function readsResult(core: Sluice, pipes: Pipes, principal: Principal, pipe: Pipe | undefined): Promise<boolean> {
  if (!pipe) return false;
  const target = pipes.targetOf(pipe.nodes.at(-1)!);
  if (target) return core.mayAct(principal, 'read', target);
  try {
    await checkClickHouseQuery(core, principal, pipes.endpointSql(pipe));
    return true;
  } catch (error) {
    if (error instanceof SluiceError && error.code === 'FORBIDDEN') return false;
    throw error;
  }
}

/** A query's text (`q`) and the pipe it reads as `_` (`pipeline`). */
export interface QueryRequest {
  q?: string;
  pipeline?: string;
}

/**
 * `q` and `pipeline` from the query string or, in a POST, the body: a form, a JSON object, or
 * the query's text itself (a body of another type).
 */
export async function queryRequest(request: FastifyRequest): Promise<QueryRequest> {
  const params = Params.ofQuery(request);
  const given = { q: params.get('q'), pipeline: params.get('pipeline') };
  if (given.q !== undefined || request.method === 'GET') return given;
  const body = (await readBody(request, 8 * 1024 * 1024)).toString('utf8');
  const mediaType = mediaTypeOf(request);
  if (mediaType === 'application/json') {
    let object: Record<string, unknown> | null;
    try {
      object = JSON.parse(body) as Record<string, unknown> | null;
    } catch {
      throw new SluiceError('MALFORMED_BODY', 'The request body is not valid JSON');
    }
    const member = (name: 'q' | 'pipeline'): string | undefined => {
      const value = object?.[name];
      if (value !== undefined && value !== null && typeof value !== 'string') throw new SluiceError('INVALID_ARGUMENT', `The ${name} member must be a string`);
      return value || undefined;
    };
    return { q: member('q'), pipeline: given.pipeline ?? member('pipeline') };
  }
  if (mediaType === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(body);
    return { q: form.get('q') || undefined, pipeline: given.pipeline ?? (form.get('pipeline') || undefined) };
  }
  return { q: body.trim() === '' ? undefined : body, pipeline: given.pipeline };
}

/**
 * Results written as ClickHouse writes them: its type names in meta; in text formats arrays, tuples
 * and maps in its syntax (['a','b'], (1,'x'), {'k':1}); a difference of two times as its seconds,
 * as ClickHouse's DateTime - DateTime is; a DateTime64(3) with its three digits (`.500`); in JSON
 * NaN and ±infinity as null (text formats write nan, inf, -inf).
 */
export const CLICKHOUSE_OUTPUT = { printType: printClickHouseType, nested: 'clickhouse', intervals: 'seconds', timestampDigits: 'declared', nonFinite: 'null' } as const;

export function sqlRoutes(app: FastifyInstance, core: Sluice): void {
  const pipes = new Pipes(core);
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = await request.principal();
    const { q, pipeline } = await queryRequest(request);
    if (!q) throw new SluiceError('INVALID_ARGUMENT', 'The q parameter (the SQL query) is required');
    const { sql, format } = splitFormat(q);
    const over = pipeline === undefined ? sql : pipes.overPipe(await readablePipe(core, pipes, principal, pipeline), sql);
    return sendClickHouseQuery(core, principal, over, format, reply);
  };
  app.get('/v0/sql', handler);
  app.post('/v0/sql', handler);
}
