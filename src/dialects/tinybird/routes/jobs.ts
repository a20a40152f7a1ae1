import type { FastifyInstance } from 'fastify';
import type { Sluice } from '../../../core/sluice.ts';
import { baseUrlOf, renderJob } from '../jobs.ts';
import { Params } from '../params.ts';
import { requireCreate } from '../scopes.ts';

const LISTED_HOURS = 48;
const LISTED_JOBS = 100;

export function jobRoutes(app: FastifyInstance, core: Sluice): void {
  // The jobs of the last 48 hours, the newest first, at most 100; `status` and `kind` keep those of one (as `tb job ls --status` asks).
  app.get('/v0/jobs', async (request) => {
    requireCreate(await request.principal());
    const params = Params.ofQuery(request);
    const [status, kind] = [params.get('status'), params.get('kind')];
    const since = Date.now() - LISTED_HOURS * 3_600_000;
    const jobs = core.jobs.list().filter((job) => job.createdAt.getTime() >= since && (status === undefined || job.status === status) && (kind === undefined || job.kind === kind));
    return { jobs: jobs.slice(0, LISTED_JOBS).map((job) => renderJob(job, baseUrlOf(request))) };
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
