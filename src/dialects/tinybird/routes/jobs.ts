import type { FastifyInstance } from 'fastify';
import { requireScope } from '../../../core/auth/scopes.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { baseUrlOf, renderJob } from '../jobs.ts';
import { WORKSPACE } from '../scopes.ts';

const LISTED_HOURS = 48;

export function jobRoutes(app: FastifyInstance, core: Sluice): void {
  app.get('/v0/jobs', async (request) => {
    requireScope(await request.principal(), 'create', { namespace: WORKSPACE });
    const since = Date.now() - LISTED_HOURS * 3_600_000;
    return { jobs: core.jobs.list().filter((job) => job.createdAt.getTime() >= since).map((job) => renderJob(job, baseUrlOf(request))) };
  });

  app.get<{ Params: { id: string } }>('/v0/jobs/:id', async (request) => {
    requireScope(await request.principal(), 'create', { namespace: WORKSPACE });
    return renderJob(core.jobs.get(request.params.id), baseUrlOf(request));
  });

  app.post<{ Params: { id: string } }>('/v0/jobs/:id/cancel', async (request) => {
    requireScope(await request.principal(), 'create', { namespace: WORKSPACE });
    return renderJob(await core.jobs.cancel(request.params.id), baseUrlOf(request));
  });
}
