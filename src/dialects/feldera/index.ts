import type { Dialect } from '../../server/dialect.ts';
import { renderFelderaError } from './errors.ts';
import { isPipeline, Pipelines } from './pipelines.ts';
import { egressRoutes } from './routes/egress.ts';
import { ingressRoutes } from './routes/ingress.ts';
import { pipelineRoutes } from './routes/pipelines.ts';
import { queryRoutes } from './routes/query.ts';

/** Feldera's pipelines, ingress, completion tokens and ad-hoc queries over the core. */
export const feldera: Dialect = {
  name: 'feldera',
  allowQueryToken: false,
  prefixes: ['/v0/pipelines', '/v0/config'],
  renderError: renderFelderaError,
  configure(core) {
    core.manageNamespaces('feldera', isPipeline);
  },
  async routes(app, core) {
    const pipelines = new Pipelines(core);
    await pipelines.compileInterrupted();
    pipelineRoutes(app, pipelines);
    ingressRoutes(app, core, pipelines);
    queryRoutes(app, core, pipelines);
    egressRoutes(app, core, pipelines);
  },
};
