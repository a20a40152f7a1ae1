import { randomUUID } from 'node:crypto';
import { allows, requireActsIn, requireScope, type Action, type Principal } from '../../core/auth/scopes.ts';
import type { Namespace, Table } from '../../core/catalog/model.ts';
import type { SchemaChange } from '../../core/catalog/schema-change.ts';
import { SluiceError } from '../../core/errors.ts';
import { Mutex } from '../../core/mutex.ts';
import type { Sluice } from '../../core/sluice.ts';
import { columnTypeOf } from './column-type.ts';
import { FelderaError } from './errors.ts';
import { FELDERA_VIEWS } from './feldera-sql.ts';
import { PipelineRuns } from './pipeline-runs.ts';
import { lineAndColumn, normalizeName, parseProgram, ProgramError, withColumnNames, type ProgramTable, type ViewKind } from './program.ts';
import { UnsentChanges } from './unsent-changes.ts';

/** Where a pipeline keeps its state in its namespace's properties. */
const STATE_KEY = 'feldera';

export type DeploymentStatus = 'Stopped' | 'Running' | 'Paused';

/** One compiler message, as Feldera reports SQL errors. */
export interface SqlMessage {
  start_line_number: number;
  start_column: number;
  end_line_number: number;
  end_column: number;
  warning: boolean;
  error_type: string;
  message: string;
  snippet: string;
}

/** A pipeline's state: the program and its compilation, and the deployment. It survives restarts. */
export interface PipelineState {
  id: string;
  description: string;
  program_code: string;
  runtime_config: Record<string, unknown>;
  program_config: Record<string, unknown>;
  udf_rust: string;
  udf_toml: string;
  program_status: 'Pending' | 'Success' | 'SqlError';
  program_error: SqlMessage | null;
  program_status_since: string;
  program_version: number;
  version: number;
  deployment_status: DeploymentStatus;
  deployment_status_since: string;
  /**
   * The status a deployed pipeline was started into (`/start?initial=…`), which only a stop
   * resets; absent while stopped (and in states saved before it was kept).
   */
  deployment_initial?: 'Running' | 'Paused';
  /** Whether the pipeline holds data: from its first start until cleared (absent in states saved before it was kept). */
  storage_status?: 'Cleared' | 'InUse';
}

/** The fields of a pipeline a client sets (POST, PUT, PATCH). */
export interface PipelineDescriptor {
  name?: string;
  description?: string;
  program_code?: string;
  runtime_config?: Record<string, unknown>;
  program_config?: Record<string, unknown>;
  udf_rust?: string;
  udf_toml?: string;
}

export interface Pipeline {
  namespace: Namespace;
  state: PipelineState;
}

/** What a table or view of a pipeline keeps in its properties. */
type RelationProperties = {
  /** A table's `WITH (…)` properties. */
  with?: Record<string, string>;
  view?: ViewKind;
};

const NAME = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * The pipelines of one server: each is a namespace whose properties hold a `PipelineState`.
 * Control requests (create, change, start, stop …) run one at a time; pushes waiting for a paused
 * pipeline are woken when its status changes.
 */
export class Pipelines {
  private readonly control = new Mutex();
  private readonly waiting = new Map<string, Set<() => void>>();
  /** Per pipeline, by namespace id: aborted when it stops, so that pushes still arriving end (see `stopSignal`). */
  private readonly deployments = new Map<string, AbortController>();
  /** The counters of each deployed pipeline's run (see `stats`). */
  readonly runs = new PipelineRuns();
  /** The changes egress streams have read and not yet written (see UnsentChanges). */
  readonly unsent = new UnsentChanges();

  constructor(private readonly core: Sluice) {}

  /**
   * The pipeline with this name; the principal needs `action` on its namespace (null: the caller
   * checks the principal's scopes on the tables it acts on).
   */
  get(name: string, principal: Principal, action: Action | null): Pipeline {
    // Checked before the lookup, so that a token without a right there learns nothing of which pipelines exist.
    if (action) requireScope(principal, action, { namespace: name });
    else requireActsIn(principal, name);
    const namespace = this.core.catalog.findNamespace(name);
    const state = namespace && stateOf(namespace);
    if (!namespace || !state) throw new FelderaError('UnknownPipelineName', `Unknown pipeline name '${name}'`, { pipeline_name: name });
    return { namespace, state };
  }

  exists(name: string): boolean {
    const namespace = this.core.catalog.findNamespace(name);
    return namespace !== undefined && isPipeline(namespace);
  }

  /** Every pipeline the principal may read. */
  list(principal: Principal): Pipeline[] {
    return this.core.catalog.listNamespaces().flatMap((namespace) => {
      const state = stateOf(namespace);
      return state && allows(principal, 'read', { namespace: namespace.name }) ? [{ namespace, state }] : [];
    });
  }

  /**
   * Compiles the programs whose compile a stop of the server cut off (saved 'Pending'): the program
   * is saved before it is compiled, so a pipeline killed mid-compile would stay 'Pending', never
   * startable, and a PUT of the same program changes nothing. Run once at start, before requests.
   */
  async compileInterrupted(): Promise<void> {
    const principal: Principal = { tokenId: 'feldera-recovery', name: 'recovery at start', scopes: [{ action: 'admin' }], dialect: 'feldera' };
    for (const namespace of this.core.catalog.listNamespaces()) {
      const state = stateOf(namespace);
      if (state?.program_status === 'Pending') await this.control.run(() => this.compile(principal, { namespace, state }));
    }
  }

  async create(principal: Principal, descriptor: PipelineDescriptor): Promise<Pipeline> {
    return this.control.run(() => this.createNow(principal, descriptor));
  }

  /** Creates the pipeline `name`, or replaces its fields when it exists; `created` says which. */
  async put(principal: Principal, name: string, descriptor: PipelineDescriptor): Promise<{ pipeline: Pipeline; created: boolean }> {
    return this.control.run(async () => {
      if (this.exists(name)) return { pipeline: await this.updateNow(principal, name, descriptor), created: false };
      return { pipeline: await this.createNow(principal, { ...descriptor, name }), created: true };
    });
  }

  private async createNow(principal: Principal, descriptor: PipelineDescriptor): Promise<Pipeline> {
    const name = checkPipelineName(descriptor.name);
    requireScope(principal, 'create', { namespace: name });
    const now = new Date().toISOString();
    const state: PipelineState = {
      id: randomUUID(), description: descriptor.description ?? '', program_code: descriptor.program_code ?? '',
      runtime_config: descriptor.runtime_config ?? {}, program_config: descriptor.program_config ?? {},
      udf_rust: descriptor.udf_rust ?? '', udf_toml: descriptor.udf_toml ?? '',
      program_status: 'Pending', program_error: null, program_status_since: now, program_version: 1, version: 1,
      deployment_status: 'Stopped', deployment_status_since: now, storage_status: 'Cleared',
    };
    let namespace: Namespace;
    try {
      namespace = await this.core.catalog.createNamespace(name, { [STATE_KEY]: state });
    } catch (error) {
      throw this.asDuplicateName(error, name);
    }
    return this.compile(principal, { namespace, state });
  }

  /**
   * A namespace's name taken, as Feldera says it: by a pipeline, or by another dialect's namespace
   * (a Catalyzed dataset, the Tinybird workspace), which is no pipeline to read; any other error as it is.
   */
  private asDuplicateName(error: unknown, name: string): unknown {
    if (!(error instanceof SluiceError && error.code === 'NAMESPACE_EXISTS')) return error;
    const existing = this.core.catalog.findNamespace(name);
    if (existing && !isPipeline(existing)) {
      return new FelderaError('DuplicateName', `The name '${name}' is taken by another dialect's namespace (a Catalyzed dataset or the Tinybird workspace): a pipeline needs a name of its own`, { name });
    }
    return new FelderaError('DuplicateName', `A pipeline named '${name}' already exists`, { name });
  }

  /** Changes a pipeline's fields; the program, and the name, only while it is stopped. */
  async update(principal: Principal, name: string, descriptor: PipelineDescriptor): Promise<Pipeline> {
    return this.control.run(() => this.updateNow(principal, name, descriptor));
  }

  private async updateNow(principal: Principal, name: string, descriptor: PipelineDescriptor): Promise<Pipeline> {
    let pipeline = this.get(name, principal, 'create');
    const { state } = pipeline;
    const newName = descriptor.name !== undefined && descriptor.name !== name ? checkPipelineName(descriptor.name) : undefined;
    const programChanged = descriptor.program_code !== undefined && descriptor.program_code !== state.program_code;
    if ((programChanged || newName !== undefined) && state.deployment_status !== 'Stopped') {
      throw new FelderaError('IllegalPipelineAction', `Pipeline '${name}' must be stopped before its ${programChanged ? 'program' : 'name'} is changed`, { pipeline_name: name });
    }
    if (newName !== undefined) {
      requireScope(principal, 'create', { namespace: newName });
      try {
        pipeline = { ...pipeline, namespace: await this.core.catalog.updateNamespace(pipeline.namespace.id, { name: newName }) };
      } catch (error) {
        throw this.asDuplicateName(error, newName);
      }
    }
    const { name: _name, ...fields } = descriptor;
    // As in Feldera, the version counts changes: a request that changes nothing leaves it as it is.
    const changed = newName !== undefined || Object.entries(fields).some(([field, value]) => JSON.stringify(state[field as keyof PipelineState]) !== JSON.stringify(value));
    if (!changed) return pipeline;
    pipeline = await this.save(pipeline, {
      ...fields, version: state.version + 1,
      ...(programChanged && { program_version: state.program_version + 1, program_status: 'Pending' as const }),
    });
    return programChanged ? this.compile(principal, pipeline) : pipeline;
  }

  async delete(principal: Principal, name: string): Promise<void> {
    await this.control.run(async () => {
      const { namespace, state } = this.get(name, principal, 'create');
      if (state.deployment_status !== 'Stopped') throw new FelderaError('IllegalPipelineAction', `Pipeline '${name}' must be stopped before it is deleted`, { pipeline_name: name });
      await this.core.dropNamespace(principal, namespace);
      this.runs.stop(namespace.id);
      this.wake(namespace.id);
    });
  }

  /** Moves a pipeline to the deployment status `to` gives for its state (which throws when the move is illegal). */
  async transition(principal: Principal, name: string, to: (state: PipelineState) => DeploymentStatus): Promise<Pipeline> {
    return this.control.run(async () => {
      const pipeline = this.get(name, principal, 'create');
      const status = to(pipeline.state);
      if (status === pipeline.state.deployment_status) return pipeline;
      const starting = pipeline.state.deployment_status === 'Stopped';
      const saved = await this.save(pipeline, {
        deployment_status: status, deployment_status_since: new Date().toISOString(),
        ...(starting && status !== 'Stopped' && { storage_status: 'InUse' as const, deployment_initial: status }),
        ...(status === 'Stopped' && { deployment_initial: undefined }),
      });
      this.wake(pipeline.namespace.id);
      if (starting) this.runs.start(pipeline.namespace.id);
      if (status === 'Stopped') {
        this.runs.stop(pipeline.namespace.id);
        // A stopped pipeline's pushes and egress streams end, as its inputs and outputs do.
        const name = pipeline.namespace.name;
        this.deployments.get(pipeline.namespace.id)?.abort(new FelderaError('PipelineInteractionNotDeployed', `Pipeline '${name}' was stopped while the push was arriving: the records committed before stay, the rest were not written`, { pipeline_name: name, status }));
        this.deployments.delete(pipeline.namespace.id);
        await this.core.changes.closeNamespace(pipeline.namespace.id);
      }
      return saved;
    });
  }

  /** Deletes every row of a stopped pipeline's tables; the program stays. */
  async clear(principal: Principal, name: string): Promise<void> {
    await this.control.run(async () => {
      const { namespace, state } = this.get(name, principal, 'create');
      if (state.deployment_status !== 'Stopped') throw new FelderaError('IllegalPipelineAction', `Pipeline '${name}' must be stopped before it is cleared`, { pipeline_name: name });
      for (const table of this.core.catalog.listTables(namespace.id)) {
        await this.core.write(principal, { table, kind: 'delete_where', predicate: 'true', onInvalid: 'reject' });
      }
      await this.save({ namespace, state }, { storage_status: 'Cleared' });
    });
  }

  /** Feldera's `/stats` of a deployed pipeline: its run's counters, by table. */
  stats(pipeline: Pipeline) {
    this.requireDeployed(pipeline, 'read its statistics');
    const tables = this.core.catalog.listTables(pipeline.namespace.id).map((table) => table.name);
    return this.runs.stats(pipeline.namespace.id, pipeline.state.deployment_status as 'Running' | 'Paused', tables);
  }

  /** A signal that aborts, with the error a push gets, when the pipeline next stops. */
  stopSignal(pipeline: Pipeline): AbortSignal {
    let deployment = this.deployments.get(pipeline.namespace.id);
    if (!deployment) this.deployments.set(pipeline.namespace.id, (deployment = new AbortController()));
    return deployment.signal;
  }

  /** Refuses what only a deployed (running or paused) pipeline answers: queries, completion status. */
  requireDeployed(pipeline: Pipeline, what: string): void {
    if (pipeline.state.deployment_status !== 'Stopped') return;
    const name = pipeline.namespace.name;
    throw new FelderaError('PipelineInteractionNotDeployed', `Pipeline '${name}' is not deployed: start it to ${what}`, { pipeline_name: name });
  }

  /**
   * Waits until the pipeline takes input: at once when running (or paused with `force`), until it
   * resumes when paused, up to the configured time; never when stopped. A push whose client goes
   * (`clientGone`) while it waits is not taken: its client, having had no answer, may send it again.
   */
  async awaitInput(pipeline: Pipeline, force: boolean, clientGone?: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.core.config.pausedIngressTimeoutMs;
    const name = pipeline.namespace.name;
    for (;;) {
      // A server closing does not wait out the pause: the push is refused, to be retried.
      if (this.core.closing) throw new SluiceError('UNAVAILABLE', `The server is shutting down: the push to pipeline '${name}', paused, was not taken; retry once the server is back`);
      if (clientGone?.aborted) throw new SluiceError('UNAVAILABLE', `The client went away while its push to pipeline '${name}', paused, waited: it was not taken`);
      const namespace = this.core.catalog.getNamespaceById(pipeline.namespace.id);
      const status = stateOf(namespace)?.deployment_status;
      if (status === 'Running' || (status === 'Paused' && force)) return;
      if (status !== 'Paused') throw new FelderaError('PipelineInteractionNotDeployed', `Pipeline '${name}' is not deployed: start it first`, { pipeline_name: name, status: status ?? 'Stopped' });
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new FelderaError('PipelineInteractionUnreachable', `Pipeline '${name}' is paused and did not resume in time; resume it, or push with force=true`, { pipeline_name: name });
      }
      await this.changeOf(namespace.id, remaining, clientGone);
    }
  }

  /** A table (not a view) of the pipeline by the name in a URL: `t1` and `T1` are `t1`; `"T1"` is exactly `T1`. */
  inputTable(pipeline: Pipeline, urlName: string): Table {
    const table = this.tableNamed(pipeline, normalizeName(urlName));
    if (!table) throw new FelderaError('UnknownInputStream', `Pipeline '${pipeline.namespace.name}' has no table '${urlName}'`, { pipeline_name: pipeline.namespace.name, table_name: urlName });
    return table;
  }

  /** A table (not a view) of the pipeline by its exact name. */
  tableNamed(pipeline: Pipeline, name: string): Table | undefined {
    const table = this.core.catalog.findTable(pipeline.namespace.id, name);
    return table?.kind === 'table' ? table : undefined;
  }

  /** A table or output view (not a LOCAL one) of the pipeline by the name in a URL, as `inputTable` reads it. */
  outputRelation(pipeline: Pipeline, urlName: string): Table {
    const name = normalizeName(urlName);
    const table = this.core.catalog.listTables(pipeline.namespace.id, { includeViews: true }).find((candidate) => candidate.name === name);
    if (!table || table.kind === 'quarantine' || relationProperties(table).view === 'local') {
      throw new FelderaError('UnknownOutputStream', `Pipeline '${pipeline.namespace.name}' has no table or view '${urlName}'`, { pipeline_name: pipeline.namespace.name, stream_name: urlName });
    }
    return table;
  }

  /** The names of the pipeline's tables and views, as an ad-hoc query names them (see `foldAdHocQuery`). */
  relationNames(pipeline: Pipeline): Set<string> {
    return new Set(this.core.catalog.listTables(pipeline.namespace.id, { includeViews: true }).map((table) => table.name));
  }

  /**
   * A table or materialized view an ad-hoc query names, exactly: the query's unquoted names are
   * already folded to lower case (see `foldAdHocQuery`), and a quoted name is exact. Feldera
   * keeps the contents of materialized relations only (a plain or LOCAL view's rows exist only as
   * they flow past), so its ad-hoc queries read no other view; tables are read here whether
   * declared materialized or not. A view the principal may not read is refused as such first, so
   * that its token learns nothing more of it.
   */
  adHocRelation(pipeline: Pipeline, name: string, principal: Principal): Table {
    const tables = this.core.catalog.listTables(pipeline.namespace.id, { includeViews: true });
    const table = tables.find((candidate) => candidate.name === name);
    if (!table) throw new FelderaError('AdHocQueryError', `Table or view '${name}' does not exist in pipeline '${pipeline.namespace.name}'`, { name });
    this.core.authorize(principal, 'read', table);
    const kind = relationProperties(table).view;
    if (table.kind === 'view' && kind !== 'materialized') {
      throw new FelderaError(
        'AdHocQueryError',
        `${kind === 'local' ? 'LOCAL view' : 'View'} '${name}' of pipeline '${pipeline.namespace.name}' is not materialized: ad-hoc queries read only tables and materialized views; declare it CREATE MATERIALIZED VIEW to query it`,
        { name },
      );
    }
    return table;
  }

  /** The pipeline object of Feldera's responses. */
  render(pipeline: Pipeline) {
    const { namespace, state } = pipeline;
    const relations = this.core.catalog.listTables(namespace.id, { includeViews: true });
    const compiled = state.program_status === 'Success';
    const deployed = state.deployment_status !== 'Stopped';
    return {
      id: state.id,
      name: namespace.name,
      description: state.description,
      created_at: namespace.createdAt.toISOString(),
      version: state.version,
      platform_version: 'sluice',
      runtime_config: state.runtime_config,
      program_config: state.program_config,
      program_code: state.program_code,
      udf_rust: state.udf_rust,
      udf_toml: state.udf_toml,
      program_version: state.program_version,
      program_status: state.program_status,
      program_status_since: state.program_status_since,
      program_error: {
        sql_compilation: state.program_status === 'Pending' ? null : { exit_code: compiled ? 0 : 1, messages: state.program_error ? [state.program_error] : [] },
        rust_compilation: null,
        system_error: null,
      },
      program_info: compiled
        ? {
            schema: {
              inputs: relations.filter((table) => table.kind === 'table').map(renderRelation),
              outputs: relations.filter((table) => table.kind === 'view' && relationProperties(table).view !== 'local').map(renderRelation),
            },
          }
        : null,
      deployment_status: state.deployment_status,
      deployment_status_since: state.deployment_status_since,
      deployment_initial: deployed ? (state.deployment_initial ?? null) : null,
      // Moves are made at once: the desired status is the status. The resources and runtime
      // statuses are Feldera's newer, finer view of the same.
      deployment_desired_status: state.deployment_status,
      deployment_desired_status_since: state.deployment_status_since,
      deployment_resources_status: deployed ? 'Provisioned' : 'Stopped',
      deployment_resources_status_since: state.deployment_status_since,
      deployment_resources_desired_status: deployed ? 'Provisioned' : 'Stopped',
      deployment_resources_desired_status_since: state.deployment_status_since,
      deployment_runtime_status: deployed ? state.deployment_status : null,
      deployment_runtime_status_since: deployed ? state.deployment_status_since : null,
      deployment_runtime_desired_status: deployed ? state.deployment_status : null,
      deployment_runtime_desired_status_since: deployed ? state.deployment_status_since : null,
      deployment_error: null,
      storage_status: state.storage_status ?? 'InUse',
      refresh_version: state.version,
    };
  }

  /**
   * Compiles the program into the pipeline's namespace, all or nothing: tables whose definition
   * did not change are kept with their rows (their WITH properties updated), changed or removed
   * tables are dropped, new ones created, and every view is created afresh.
   */
  private async compile(principal: Principal, pipeline: Pipeline): Promise<Pipeline> {
    const code = pipeline.state.program_code;
    let error: SqlMessage | null = null;
    try {
      const program = parseProgram(code);
      await this.core.changeSchema(principal, pipeline.namespace, async (change) => {
        await change.dropViews();
        const wanted = new Map(program.tables.map((table) => [table.name, table]));
        for (const table of change.list().filter((existing) => existing.kind === 'table')) {
          const spec = wanted.get(table.name);
          if (!spec || definitionOf(table) !== definitionOf(spec)) await change.drop(table);
        }
        for (const spec of program.tables) await placed(spec.offset, undefined, () => applyTable(change, spec));
        for (const view of program.views) {
          const create = (sql: string) =>
            change.createView({ name: view.name, sql, properties: { view: view.kind } satisfies RelationProperties }, FELDERA_VIEWS);
          await placed(view.offset, view.programOffset, async () => {
            const created = await create(view.sql);
            if (view.columns) {
              // The query is created as written first, for the number of its columns.
              if (view.columns.length !== created.columns.length) {
                throw new SluiceError('INVALID_SCHEMA', `View '${view.name}' names ${view.columns.length} columns, but its query gives ${created.columns.length}`);
              }
              await change.drop(created);
              await create(withColumnNames(view.sql, view.columns));
              return;
            }
            if (!view.nameAfterColumns) return;
            // An unaliased expression after a `*` is named after its place, known now that the view's columns are.
            await change.drop(created);
            await create(view.nameAfterColumns(created.columns.map((column) => column.name)).sql);
          });
        }
      });
    } catch (failure) {
      if (failure instanceof ProgramError) error = sqlMessage(code, failure.offset, failure.length, failure.message, 'Error parsing SQL');
      else if (failure instanceof SluiceError && typeof failure.details?.['programOffset'] === 'number') {
        error = sqlMessage(code, failure.details['programOffset'], 1, failure.message, 'Compilation error');
      } else throw failure;
    }
    const now = new Date().toISOString();
    return this.save(pipeline, { program_status: error ? 'SqlError' : 'Success', program_error: error, program_status_since: now });
  }

  private async save(pipeline: Pipeline, change: Partial<PipelineState>): Promise<Pipeline> {
    const current = this.core.catalog.getNamespaceById(pipeline.namespace.id);
    const state: PipelineState = { ...stateOf(current)!, ...change };
    const namespace = await this.core.catalog.updateNamespace(current.id, { properties: { [STATE_KEY]: state } });
    return { namespace, state };
  }

  /** Waits for a change of the namespace's pipeline, up to `timeoutMs`, the server's closing or `signal`. */
  private changeOf(namespaceId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.waiting.get(namespaceId) ?? new Set();
      this.waiting.set(namespaceId, waiters);
      const signals = [this.core.closingSignal, ...(signal ? [signal] : [])];
      const wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        for (const each of signals) each.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      waiters.add(wake);
      for (const each of signals) each.addEventListener('abort', wake, { once: true });
    });
  }

  private wake(namespaceId: string): void {
    for (const wake of [...(this.waiting.get(namespaceId) ?? [])]) wake();
  }
}

/** Whether a namespace is a pipeline's (it holds a pipeline's state). */
export function isPipeline(namespace: Namespace): boolean {
  return stateOf(namespace) !== undefined;
}

function stateOf(namespace: Namespace): PipelineState | undefined {
  return namespace.properties[STATE_KEY] as PipelineState | undefined;
}

function checkPipelineName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new FelderaError('InvalidParam', 'A pipeline name is 1 to 100 letters, digits, "_" and "-"', { name: name ?? null });
  }
  return name;
}

function relationProperties(table: Table): RelationProperties {
  return table.properties as RelationProperties;
}

async function applyTable(change: SchemaChange, spec: ProgramTable): Promise<void> {
  const properties: RelationProperties = { with: spec.properties };
  const existing = change.find(spec.name);
  if (existing?.kind !== 'table') {
    // Pushes report bad records rather than set them aside: no quarantine companion.
    await change.createTable({ name: spec.name, columns: spec.columns, primaryKey: spec.primaryKey, properties, quarantine: false });
  } else if (JSON.stringify(existing.properties) !== JSON.stringify(properties)) {
    await change.updateProperties(existing, properties);
  }
}

/**
 * Runs one statement's change; a client error it raises is tagged with where in the program the
 * statement (or, for a syntax error in a view's query, the error) is.
 */
async function placed<T>(offset: number, programOffset: ((position: number) => number) | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof SluiceError) || error.status >= 500) throw error;
    const position = error.details?.['position'];
    const at = error.code === 'SQL_SYNTAX' && programOffset !== undefined && typeof position === 'number' ? programOffset(position) : offset;
    throw new SluiceError(error.code, error.message, { programOffset: at });
  }
}

/** What makes two table definitions the same: columns (names, types, nullability, JSON keys, defaults) and key. */
function definitionOf(table: Pick<Table, 'columns' | 'primaryKey'>): string {
  const columns = table.columns.map(({ name, type, nullable, jsonPath, defaultExpression }) => ({ name, type, nullable, jsonPath: jsonPath ?? null, default: defaultExpression ?? null }));
  return canonicalJson({ columns, key: table.primaryKey });
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, entry]) => entry !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function sqlMessage(code: string, offset: number, length: number, message: string, errorType: string): SqlMessage {
  const start = lineAndColumn(code, offset);
  const end = lineAndColumn(code, offset + Math.max(length, 1) - 1);
  const lineText = code.split('\n')[start.line - 1] ?? '';
  const gutter = `${start.line} | `;
  return {
    start_line_number: start.line, start_column: start.column, end_line_number: end.line, end_column: end.column,
    warning: false, error_type: errorType, message,
    snippet: `${gutter}${lineText}\n${' '.repeat(gutter.length + start.column - 1)}${'^'.repeat(end.line === start.line ? Math.max(1, end.column - start.column + 1) : 1)}\n`,
  };
}

function renderRelation(table: Table) {
  const caseSensitive = (name: string) => name !== name.toLowerCase();
  return {
    name: table.name,
    case_sensitive: caseSensitive(table.name),
    fields: table.columns.map((column) => ({
      name: column.name,
      case_sensitive: caseSensitive(column.name),
      columntype: columnTypeOf(column.type, column.nullable),
    })),
    materialized: relationProperties(table).view === 'materialized' || relationProperties(table).with?.['materialized'] === 'true',
    properties: relationProperties(table).with ?? {},
  };
}
