import type { FastifyInstance } from 'fastify';
import { requireAdmin, type Scope } from '../../../core/auth/scopes.ts';
import { tokenExpirationProblem, type StoredToken } from '../../../core/auth/token-store.ts';
import { SluiceError } from '../../../core/errors.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { mediaTypeOf, readJsonBody } from '../../../server/body.ts';
import { Params } from '../params.ts';
import { parseScopeEntry, parseTinybirdScope, printTinybirdScope, WORKSPACE } from '../scopes.ts';

interface TokenRequestBody {
  name?: string;
  description?: string;
  /** JWT-style scopes: `[{type, resource, filter}]` */
  scopes?: unknown;
  /** Static-token scope strings */
  scope?: string | string[];
}

function renderToken(token: StoredToken) {
  return { id: token.id, name: token.name, description: String(token.properties['description'] ?? ''), scopes: token.scopes.map(printTinybirdScope) };
}

/** A row filter on an existing data source must be a condition over its columns (one on a data source yet to come is checked when it is read). */
async function checkRowFilters(core: Sluice, scopes: Scope[]): Promise<void> {
  const namespace = core.catalog.findNamespace(WORKSPACE);
  for (const scope of scopes) {
    if (scope.action !== 'read' || scope.filter === undefined || scope.table === undefined || !namespace) continue;
    const table = core.catalog.findTable(namespace.id, scope.table);
    if (table) await core.checkPredicate(table, scope.filter);
  }
}

/** Tokens: created with scopes, listed (secrets are stored hashed, so they are shown only at creation), deleted. */
export function tokenRoutes(app: FastifyInstance, core: Sluice): void {
  app.post('/v0/tokens', async (request) => {
    requireAdmin(await request.principal());
    const isJson = mediaTypeOf(request) === 'application/json';
    const body = isJson ? ((await readJsonBody(request)) as TokenRequestBody | undefined) : undefined;
    const params = isJson ? Params.ofQuery(request) : await Params.of(request);
    const name = body?.name ?? params.get('name');
    if (typeof name !== 'string' || name === '') throw new SluiceError('INVALID_ARGUMENT', 'The name parameter is required');
    const scopeStrings: unknown[] = body?.scope === undefined ? params.all('scope') : [body.scope].flat();
    if (scopeStrings.some((scope) => typeof scope !== 'string')) throw new SluiceError('INVALID_ARGUMENT', 'Each scope must be a string, as in DATASOURCES:READ:events');
    if (body?.scopes !== undefined && !Array.isArray(body.scopes)) {
      throw new SluiceError('INVALID_ARGUMENT', 'scopes must be an array of {"type", "resource", "filter"} objects', { scopes: body.scopes });
    }
    const scopes: Scope[] = Array.isArray(body?.scopes) ? body.scopes.map(parseScopeEntry) : scopeStrings.map((scope) => parseTinybirdScope(scope as string));
    await checkRowFilters(core, scopes);
    if (scopes.length === 0) throw new SluiceError('INVALID_ARGUMENT', 'At least one scope is required, as in scope=DATASOURCES:READ:events');
    const expiration = params.get('expiration_time');
    if (expiration !== undefined) {
      // An expiring token is a JWT: signed, not stored, valid until its expiration time (Unix seconds).
      const seconds = Number(expiration);
      const problem = tokenExpirationProblem(seconds);
      if (problem) throw new SluiceError('INVALID_ARGUMENT', `expiration_time ${problem}`, { expiration_time: expiration });
      const token = await core.tokens.signJwt({ name, scopes: scopes.map(printTinybirdScope) }, seconds);
      return { name, scopes: scopes.map(printTinybirdScope), token };
    }
    const description = body?.description ?? params.get('description');
    const { token, secret } = await core.tokens.create(name, scopes, description ? { description } : {});
    return { ...renderToken(token), token: secret };
  });

  app.get('/v0/tokens', async (request) => {
    requireAdmin(await request.principal());
    return { tokens: core.tokens.list().map(renderToken) };
  });

  app.get<{ Params: { name: string } }>('/v0/tokens/:name', async (request) => {
    requireAdmin(await request.principal());
    const token = core.tokens.find(request.params.name);
    if (!token) throw new SluiceError('TOKEN_NOT_FOUND', `Token "${request.params.name}" does not exist`);
    return renderToken(token);
  });

  app.delete<{ Params: { name: string } }>('/v0/tokens/:name', async (request, reply) => {
    requireAdmin(await request.principal());
    await core.tokens.delete(request.params.name);
    return reply.status(204).send();
  });
}
