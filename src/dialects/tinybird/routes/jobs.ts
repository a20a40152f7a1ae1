import type { FastifyInstance } from 'fastify';
import type { Sluice } from '../../../core/sluice.ts';
import { baseUrlOf, renderJob } from '../jobs.ts';
import { requireCreate } from '../scopes.ts';

const LISTED_HOURS = 48;

export function jobRoutes(app: FastifyInstance, core: Sluice): void {
  app.get('/v0/jobs', async (request) => {
    requireCreate(await request.principal());
    const since = Date.now() - LISTED_HOURS * 3_600_000;
    return { jobs: core.jobs.list().filter((job) => job.createdAt.getTime() >= since).map((job) => renderJob(job, baseUrlOf(request))) };
  });

  app.get<{ Params: { id: string } }>('/v0/jobs/:id', async (request) => {
    requireCreate(await request.principal());
    return renderJob(core.jobs.get(request.params.id), baseUrlOf(request));
  });

  app.post<{ Params: { id: string } }>('/v0/jobs/:id/cancel', async (request) => {
    requireCreate(await request.principal());
    return renderJob(await core.jobs.cancel(request.params.id), baseUrlOf(request));
  });
}
