import type { Dialect } from '../../server/dialect.ts';
import { renderEventsError, renderTinybirdError } from './errors.ts';
import { analyzeRoutes } from './routes/analyze.ts';
import { datasourceRoutes } from './routes/datasources.ts';
import { eventRoutes } from './routes/events.ts';
import { jobRoutes } from './routes/jobs.ts';
import { pipeRoutes } from './routes/pipes.ts';
import { sqlRoutes } from './routes/sql.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { parseJwtScopes, WORKSPACE } from './scopes.ts';

/** Tinybird's Data Sources, Events, SQL, Pipes (materialized views) and Tokens APIs over the core. */
export const tinybird: Dialect = {
  name: 'tinybird',
  allowQueryToken: true,
  prefixes: ['/v0/datasources', '/v0/events', '/v0/analyze', '/v0/jobs', '/v0/sql', '/v0/pipes', '/v0/tokens'],
  renderError: (error, request) => (request.url.startsWith('/v0/events') ? renderEventsError(error) : renderTinybirdError(error, request)),
  configure(core) {
    core.tokens.addJwtScopeParser(parseJwtScopes);
    core.manageNamespaces('tinybird', (namespace) => namespace.name === WORKSPACE);
  },
  async routes(app, core) {
    await core.catalog.ensureNamespace(WORKSPACE);
    datasourceRoutes(app, core);
    analyzeRoutes(app, core);
    eventRoutes(app, core);
    jobRoutes(app, core);
    sqlRoutes(app, core);
    pipeRoutes(app, core);
    tokenRoutes(app, core);
  },
};
