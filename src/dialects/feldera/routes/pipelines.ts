import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError } from '../../../core/errors.ts';
import { readJsonBody } from '../../../server/body.ts';
import { SLUICE_VERSION } from '../../../server/version.ts';
import { FelderaError } from '../errors.ts';
import { QueryParams } from '../params.ts';
import type { DeploymentStatus, PipelineDescriptor, Pipelines, PipelineState } from '../pipelines.ts';

type PipelineRequest = FastifyRequest<{ Params: { pipeline: string } }>;

const STRING_FIELDS = ['name', 'description', 'program_code', 'udf_rust', 'udf_toml'] as const;
const OBJECT_FIELDS = ['runtime_config', 'program_config'] as const;

/**
 * The pipeline fields of a JSON body; other fields are ignored, a field of the wrong type refused.
 * A whole pipeline (POST, PUT) must give its program, as Feldera's API requires: a PUT without
 * `program_code` would otherwise replace the program with an empty one, dropping every table and
 * its rows. (PUT may leave out the name, which its path gives.)
 */
async function descriptorOf(request: FastifyRequest, whole: boolean): Promise<PipelineDescriptor> {
  let body: unknown;
  try {
    body = await readJsonBody(request);
  } catch (error) {
    if (error instanceof SluiceError && error.status === 400) throw new FelderaError('InvalidParam', error.message);
    throw error;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new FelderaError('InvalidParam', 'The request body must be a JSON object');
  const fields = body as Record<string, unknown>;
  const descriptor: Record<string, unknown> = {};
  for (const field of STRING_FIELDS) {
    const value = fields[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw new FelderaError('InvalidParam', `Field '${field}' must be a string`, { field });
    descriptor[field] = value;
  }
  if (whole && descriptor['program_code'] === undefined) {
    throw new FelderaError('InvalidParam', "Field 'program_code' is required: a pipeline is created or replaced with its program", { field: 'program_code' });
  }
  for (const field of OBJECT_FIELDS) {
    const value = fields[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new FelderaError('InvalidParam', `Field '${field}' must be an object`, { field });
    descriptor[field] = value;
  }
  return descriptor as PipelineDescriptor;
}

/** Each lifecycle action: the deployment status it leads to from the current state. */
const ACTIONS: Record<string, (state: PipelineState, params: QueryParams) => DeploymentStatus> = {
  // Start deploys a stopped pipeline into its initial status. A deployed pipeline stays as it is,
  // paused or running (`resume` and `pause` move it), as in Feldera, whose start only asks for the
  // pipeline's resources; but the initial status it was started into cannot change until it stops.
  start: (state, params) => {
    const initial = params.choice('initial', ['running', 'paused'], 'running') === 'paused' ? 'Paused' : 'Running';
    if (state.program_status !== 'Success') throw new FelderaError('IllegalPipelineAction', `The program ${state.program_status === 'SqlError' ? 'does not compile' : 'is not compiled yet'}: the pipeline cannot start`);
    if (state.deployment_status === 'Stopped') return initial;
    if (state.deployment_initial !== undefined && state.deployment_initial !== initial) {
      throw new FelderaError('InitialImmutableUnlessStopped', `The pipeline was started ${state.deployment_initial.toLowerCase()}: its initial status cannot change to ${initial.toLowerCase()} unless it is stopped (to move a started pipeline, pause or resume it)`, { deployment_initial: state.deployment_initial, initial });
    }
    return state.deployment_status;
  },
  pause: (state) => deployed(state, 'Paused'),
  resume: (state) => deployed(state, 'Running'),
  stop: (_state, params) => {
    params.flag('force', false);
    return 'Stopped';
  },
};

function deployed(state: PipelineState, to: DeploymentStatus): DeploymentStatus {
  if (state.deployment_status === 'Stopped') throw new FelderaError('IllegalPipelineAction', 'The pipeline is stopped: start it first');
  return to;
}

/** The instance's configuration; pipelines: create, replace, change, read, list and delete; their lifecycle and statistics. */
export function pipelineRoutes(app: FastifyInstance, pipelines: Pipelines): void {
  // The instance's configuration, which Feldera's Python SDK reads before anything else.
  app.get('/v0/config', async (request) => {
    await request.principal();
    return { version: SLUICE_VERSION, edition: 'Open source', revision: '', runtime_version: SLUICE_VERSION, telemetry: '', changelog_url: null, license_validity: null, update_info: null };
  });

  app.get('/v0/pipelines', async (request) => pipelines.list(await request.principal()).map((pipeline) => pipelines.render(pipeline)));

  app.post('/v0/pipelines', async (request, reply) => {
    const principal = await request.principal();
    const pipeline = await pipelines.create(principal, await descriptorOf(request, true));
    return reply.status(201).send(pipelines.render(pipeline));
  });

  app.get('/v0/pipelines/:pipeline', async (request: PipelineRequest) =>
    pipelines.render(pipelines.get(request.params.pipeline, await request.principal(), 'read')));

  // PUT sets every field (absent optional ones to their defaults), creating the pipeline when there is none.
  app.put('/v0/pipelines/:pipeline', async (request: PipelineRequest, reply: FastifyReply) => {
    const principal = await request.principal();
    const name = request.params.pipeline;
    const descriptor = await descriptorOf(request, true);
    const full: PipelineDescriptor = {
      description: '', runtime_config: {}, program_config: {}, udf_rust: '', udf_toml: '', ...descriptor,
    };
    if (!pipelines.exists(name) && descriptor.name !== undefined && descriptor.name !== name) {
      throw new FelderaError('InvalidParam', `The body names pipeline '${descriptor.name}', the path '${name}'`);
    }
    const { pipeline, created } = await pipelines.put(principal, name, full);
    return reply.status(created ? 201 : 200).send(pipelines.render(pipeline));
  });

  app.patch('/v0/pipelines/:pipeline', async (request: PipelineRequest) => {
    const principal = await request.principal();
    return pipelines.render(await pipelines.update(principal, request.params.pipeline, await descriptorOf(request, false)));
  });

  app.delete('/v0/pipelines/:pipeline', async (request: PipelineRequest, reply: FastifyReply) => {
    await pipelines.delete(await request.principal(), request.params.pipeline);
    return reply.status(200).send();
  });

  for (const [action, target] of Object.entries(ACTIONS)) {
    app.post(`/v0/pipelines/:pipeline/${action}`, async (request: PipelineRequest, reply: FastifyReply) => {
      const params = new QueryParams(request);
      await pipelines.transition(await request.principal(), request.params.pipeline, (state) => target(state, params));
      return reply.status(202).send();
    });
  }

  app.get('/v0/pipelines/:pipeline/stats', async (request: PipelineRequest) =>
    pipelines.stats(pipelines.get(request.params.pipeline, await request.principal(), 'read')));

  app.post('/v0/pipelines/:pipeline/clear', async (request: PipelineRequest, reply: FastifyReply) => {
    await pipelines.clear(await request.principal(), request.params.pipeline);
    return reply.status(202).send();
  });
}
