import type { FastifyInstance } from 'fastify';
import { requireAdmin, type Scope } from '../../../core/auth/scopes.ts';
import type { StoredToken } from '../../../core/auth/token-store.ts';
import { SluiceError } from '../../../core/errors.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { readJsonBody } from '../../../server/body.ts';
import { Params } from '../params.ts';
import { parseTinybirdScope, printTinybirdScope } from '../scopes.ts';

interface TokenRequestBody {
  name?: string;
  description?: string;
  /** JWT-style scopes */
  scopes?: Array<{ type: string; resource?: string }>;
  /** Static-token scope strings */
  scope?: string | string[];
}

function renderToken(token: StoredToken) {
  return { id: token.id, name: token.name, description: String(token.properties['description'] ?? ''), scopes: token.scopes.map(printTinybirdScope) };
}

/** Tokens: created with scopes, listed (secrets are stored hashed, so they are shown only at creation), deleted. */
export function tokenRoutes(app: FastifyInstance, core: Sluice): void {
  app.post('/v0/tokens', async (request) => {
    requireAdmin(await request.principal());
    const isJson = String(request.headers['content-type'] ?? '').startsWith('application/json');
    const body = isJson ? ((await readJsonBody(request)) as TokenRequestBody | undefined) : undefined;
    const params = isJson ? Params.ofQuery(request) : await Params.of(request);
    const name = body?.name ?? params.get('name');
    if (!name) throw new SluiceError('INVALID_ARGUMENT', 'The name parameter is required');
    const scopeStrings = body?.scope === undefined ? params.all('scope') : [body.scope].flat();
    const scopes: Scope[] = body?.scopes
      ? body.scopes.map((scope) => parseTinybirdScope(scope.type, scope.resource))
      : scopeStrings.map((scope) => parseTinybirdScope(scope));
    if (scopes.length === 0) throw new SluiceError('INVALID_ARGUMENT', 'At least one scope is required, as in scope=DATASOURCES:READ:events');
    const expiration = params.get('expiration_time');
    if (expiration !== undefined) {
      // An expiring token is a JWT: signed, not stored, valid until its expiration time (Unix seconds).
      const seconds = Number(expiration);
      if (!Number.isInteger(seconds) || seconds * 1000 <= Date.now()) throw new SluiceError('INVALID_ARGUMENT', 'expiration_time must be a Unix time in the future');
      const token = await core.tokens.signJwt({ name, scopes: scopes.map(printTinybirdScope) }, new Date(seconds * 1000));
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
