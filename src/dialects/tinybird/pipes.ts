import type { Action, Principal } from '../../core/auth/scopes.ts';
import { defaultSqlOf, type Column, type Namespace, type Table } from '../../core/catalog/model.ts';
import type { SchemaChange } from '../../core/catalog/schema-change.ts';
import { SluiceError } from '../../core/errors.ts';
import { TokenReader } from '../../core/query/sql-rewriter.ts';
import { tokensOrUndefined } from '../../core/query/sql-tokens.ts';
import { newId } from '../../core/ids.ts';
import type { Sluice } from '../../core/sluice.ts';
import { toDuckDBType } from '../../core/types/index.ts';
import { declaredLength } from '../../core/types/declared-length.ts';
import { withinLength } from '../../core/ingest/coercion.ts';
import { zeroValueSql } from '../../core/types/zero-value.ts';
import { quoteIdentifier } from '../../storage/duckdb/sql.ts';
import { tinybirdProperties, tinybirdTime, type TinybirdTableProperties } from './datasource.ts';
import { checkDatasourceName } from './import.ts';
import { TINYBIRD_COERCION } from './schema.ts';
import { requireCreate, WORKSPACE } from './scopes.ts';
import { conversionOf, rewriteClickHouseSql } from './sql/clickhouse-sql.ts';
import { isDataSourceName } from './sql/left-join-defaults.ts';

/** Where the workspace keeps its pipes, in its namespace's properties. */
const PIPES_KEY = 'pipes';

export interface PipeNode {
  id: string;
  name: string;
  /** The node's SQL as its client wrote it (ClickHouse's). */
  sql: string;
  description: string | null;
  /** The id of the data source the node materializes into, if it does. */
  materializedInto?: string;
  createdAt: string;
}

export interface Pipe {
  id: string;
  name: string;
  description: string;
  nodes: PipeNode[];
  createdAt: string;
  updatedAt: string;
}

/** A node as a request describes it (`type: materialized` with a `datasource` materializes it). */
export interface NodeSpec {
  name?: string;
  sql: string;
  description?: string;
  type?: string;
  datasource?: string;
}

/** What a materialized view's target keeps in its properties beside Tinybird's own (engine, description). */
interface TargetProperties extends TinybirdTableProperties {
  pipe?: string;
}

/**
 * Tinybird's pipes: named lists of SQL nodes, kept in the workspace's properties. A materialized
 * node (Tinybird's materialized view) makes its target data source a view of the node's SQL over
 * the data sources it reads: the target equals that SQL over their current rows after every write
 * to them (append, replace, delete, truncate), through chains of such views too, as the view is
 * evaluated when read. Its rows are the pipe's: writes to it are refused, and it goes with the pipe.
 */
export class Pipes {
  constructor(private readonly core: Sluice) {}

  list(): Pipe[] {
    return (this.workspace().properties[PIPES_KEY] as Pipe[] | undefined) ?? [];
  }

  /** The pipe of this name, or else of this id; 404 when there is none. */
  get(nameOrId: string): Pipe {
    const pipe = this.find(nameOrId);
    if (!pipe) throw new SluiceError('NOT_FOUND', `Pipe "${nameOrId}" does not exist`, { pipe: nameOrId });
    return pipe;
  }

  /** The pipe of this name, or else of this id (a name is never another pipe's id). */
  find(nameOrId: string): Pipe | undefined {
    const pipes = this.list();
    return pipes.find((candidate) => candidate.name === nameOrId) ?? pipes.find((candidate) => `t_${candidate.id}` === nameOrId);
  }

  /** The names of the pipes whose materialized views read a data source (they keep it from being dropped). */
  readersOf(table: Table): string[] {
    const reads = (pipe: Pipe) => pipe.nodes.some((node) => node.materializedInto !== undefined && this.core.catalog.findTableById(node.materializedInto)?.definition?.reads.includes(table.id));
    return this.list().filter(reads).map((pipe) => pipe.name);
  }

  /**
   * The pipes that read a data source, for its `used_by`: those whose materialized views read it,
   * and the endpoints one of whose nodes names it where no earlier node of that name stands for it
   * (nor a CTE of its own).
   */
  usersOf(table: Table): Pipe[] {
    const materializing = new Set(this.readersOf(table));
    const endpointReads = (pipe: Pipe) => !this.targetOf(pipe.nodes.at(-1)!)
      && pipe.nodes.some((node, index) => tableNamesRead(node.sql).has(table.name) && !pipe.nodes.slice(0, index).some((earlier) => earlier.name === table.name));
    return this.list().filter((pipe) => materializing.has(pipe.name) || endpointReads(pipe));
  }

  /**
   * The SQL a pipe's endpoint runs: its last node's, which reads the earlier nodes by their names
   * (each a common table expression, as Tinybird's nodes read one another). A pipe whose last node
   * materializes has no endpoint: its rows are in its target.
   */
  endpointSql(pipe: Pipe): string {
    const last = pipe.nodes.at(-1)!;
    const target = this.targetOf(last);
    if (target) throw new SluiceError('INVALID_ARGUMENT', `Pipe "${pipe.name}" has no endpoint: its node "${last.name}" materializes into Data Source "${target.name}", which is queried instead`, { pipe: pipe.name });
    return endpointSqlOf(pipe.nodes);
  }

  /**
   * Refuses a write to a materialized view's target (400, naming its pipe): its rows are the pipe's.
   * A principal without the `action` scope on it is refused that first (403), as for any data source.
   */
  static refuseWrite(core: Sluice, principal: Principal, action: Action, table: Table): never {
    core.authorize(principal, action, table);
    throw new SluiceError('INVALID_ARGUMENT', `Data Source "${table.name}" is the materialized view of pipe "${String(table.properties['pipe'] ?? '')}": its rows are the pipe's, and change with the data sources it reads`, { table: table.name });
  }

  /** Refuses to drop a data source that a pipe's materialized view reads (409), naming the pipes. */
  checkUnread(table: Table): void {
    const readers = this.readersOf(table);
    if (readers.length === 0) return;
    throw new SluiceError('HAS_DEPENDENTS', `Data Source "${table.name}" is used by ${readers.map((name) => `pipe "${name}"`).join(', ')}: delete ${readers.length === 1 ? 'it' : 'them'} first`, { table: table.name, dependents: readers });
  }

  /** The names of the data sources a materialized node's target reads (none for another node). */
  readsOf(target: Table | undefined): string[] {
    return (target?.definition?.reads ?? []).flatMap((id) => this.core.catalog.findTableById(id)?.name ?? []);
  }

  /** The data source a node materializes into, while it exists. */
  targetOf(node: PipeNode): Table | undefined {
    const target = node.materializedInto === undefined ? undefined : this.core.catalog.findTableById(node.materializedInto);
    return target?.kind === 'view' ? target : undefined;
  }

  /**
   * Creates a pipe, its materialized node's target with it, in one transaction. A target that
   * exists must be an empty data source without a key: it becomes the view, its columns (and
   * engine settings) kept, each of the node's values converted to its column's type (`castInto`).
   * `checkEndpoint` checks an endpoint's SQL as it will run.
   */
  async create(principal: Principal, spec: { name: string; description?: string; nodes: NodeSpec[] }, checkEndpoint: (sql: string) => Promise<unknown>): Promise<Pipe> {
    requireCreate(principal);
    checkPipeName(spec.name);
    if (spec.nodes.length === 0) throw new SluiceError('INVALID_ARGUMENT', `Pipe "${spec.name}" needs at least one node with its sql`);
    const workspace = this.workspace();
    const now = new Date().toISOString();
    const nodes = spec.nodes.map((node, index): PipeNode & { target?: string } => ({
      id: newId(), name: node.name ?? `${spec.name}_${index}`, sql: checkNodeSql(node.sql), description: node.description ?? null, createdAt: now,
      ...(materializes(node) && { target: checkDatasourceName(node.datasource!) }),
    }));
    checkNodeNames(nodes.map((node) => node.name));
    // A pipe is an endpoint or a materialized view: its last node is the one served or materialized.
    if (nodes.slice(0, -1).some((node) => node.target !== undefined)) throw new SluiceError('INVALID_ARGUMENT', `Pipe "${spec.name}" materializes a node that is not its last: only the last node may be materialized`);
    const target = nodes.at(-1)!.target;
    if (target === spec.name) throw new SluiceError('INVALID_ARGUMENT', `Pipe "${spec.name}" cannot materialize into a data source of its own name: pipes and data sources share their names`, { pipe: spec.name });
    const pipe: Pipe = { id: newId(), name: spec.name, description: spec.description ?? '', nodes: [], createdAt: now, updatedAt: now };
    // An endpoint's SQL is checked now (its syntax, the data sources it reads), not when it is first called.
    if (target === undefined) await checkEndpoint(endpointSqlOf(nodes));
    return this.core.changeSchema(principal, workspace, async (change) => {
      // Checked here, in the schema change's turn, so that two creates of one name cannot both pass.
      if (this.find(spec.name)) throw new SluiceError('INVALID_ARGUMENT', `Pipe "${spec.name}" already exists`, { pipe: spec.name });
      if (change.find(spec.name)) throw new SluiceError('INVALID_ARGUMENT', `There is already a Data Source named "${spec.name}": pipes and data sources share their names`, { pipe: spec.name });
      for (const { target, ...node } of nodes) {
        const view = target === undefined ? undefined : await this.materialize(change, pipe, node, target);
        pipe.nodes.push({ ...node, ...(view && { materializedInto: view.id }) });
      }
      change.setNamespaceProperties({ [PIPES_KEY]: [...this.list(), pipe] });
      return pipe;
    });
  }

  /**
   * The query with each pipe it reads by name (`FROM top_pages`, as Tinybird's SQL API reads a
   * pipe's endpoint) defined before it as a common table expression of the pipe's endpoint SQL,
   * the pipes those read before them. A name that is a data source (`isDatasource`), a CTE of the
   * query, or a pipe without an endpoint stays what it is.
   */
  withPipesRead(sql: string, isDatasource: (name: string) => boolean): string {
    const byName = new Map(this.list().filter((pipe) => !this.targetOf(pipe.nodes.at(-1)!)).map((pipe) => [pipe.name, pipe]));
    if (byName.size === 0) return sql;
    const read: Pipe[] = [];
    const seen = new Set<string>();
    const visit = (text: string): void => {
      for (const name of tableNamesRead(text)) {
        const pipe = byName.get(name);
        if (!pipe || seen.has(name) || isDatasource(name)) continue;
        seen.add(name);
        visit(endpointSqlOf(pipe.nodes));
        read.push(pipe);
      }
    };
    visit(sql);
    return withCtes(sql, read.map((pipe) => ({ name: pipe.name, sql: endpointSqlOf(pipe.nodes) })));
  }

  /**
   * A query over a pipe, as Tinybird's SQL API runs one with `pipeline=name` and an endpoint with
   * `q`: `_` is the pipe's result (its endpoint, or a materialized pipe's target) and each of its
   * nodes is read by its name. Only the nodes the query needs are defined before it, so that one it
   * does not read cannot fail it.
   */
  overPipe(pipe: Pipe, sql: string): string {
    const names = tableNamesRead(sql);
    const target = this.targetOf(pipe.nodes.at(-1)!);
    const needed = names.has('_') && !target ? pipe.nodes.length : Math.max(-1, ...pipe.nodes.map((node, index) => (names.has(node.name) ? index : -1))) + 1;
    const result = { name: '_', sql: target ? `SELECT * FROM ${quoteIdentifier(target.name)}` : `SELECT * FROM ${quoteIdentifier(pipe.nodes.at(-1)!.name)}` };
    return withCtes(sql, [...pipe.nodes.slice(0, needed), ...(names.has('_') ? [result] : [])]);
  }

  /** Deletes a pipe, and the data sources its nodes materialize into (refused while another pipe reads one). */
  async drop(principal: Principal, pipe: Pipe): Promise<void> {
    requireCreate(principal);
    await this.core.changeSchema(principal, this.workspace(), async (change) => {
      for (const node of pipe.nodes) {
        const target = this.targetOf(node);
        if (!target) continue;
        this.checkUnread(target);
        await change.drop(target);
      }
      change.setNamespaceProperties({ [PIPES_KEY]: this.list().filter((candidate) => candidate.id !== pipe.id) });
    });
  }

  private async materialize(change: SchemaChange, pipe: Pipe, node: PipeNode, target: string): Promise<Table> {
    const columnsOf = (name: string) => change.find(name)?.columns;
    const sql = rewriteClickHouseSql(withoutFinalSemicolon(node.sql), { columnsOf });
    const existing = change.find(target);
    if (existing?.kind === 'view') {
      const owner = tinybirdProperties(existing) as TargetProperties;
      throw new SluiceError('INVALID_ARGUMENT', `Data Source "${target}" is already the target of pipe "${owner.pipe ?? target}"`, { table: target });
    }
    if (existing && existing.kind !== 'table') throw new SluiceError('INVALID_ARGUMENT', `"${target}" is a quarantine data source: it cannot be a materialized view's target`, { table: target });
    if (existing && existing.rowCount > 0) {
      throw new SluiceError('INVALID_ARGUMENT', `Data Source "${target}" holds rows: a materialized view's target holds only what its pipe gives; truncate it first, or materialize into a new data source`, { table: target });
    }
    const quarantined = existing && change.list().find((table) => table.kind === 'quarantine' && table.parentId === existing.id);
    if (quarantined && quarantined.rowCount > 0) {
      throw new SluiceError('INVALID_ARGUMENT', `Data Source "${target}" has ${quarantined.rowCount} rows in "${quarantined.name}", which would go with it: truncate that first, or materialize into a new data source`, { table: target });
    }
    if (existing && existing.primaryKey.length > 0) {
      throw new SluiceError('INVALID_ARGUMENT', `Data Source "${target}" is keyed (ReplacingMergeTree with a sorting key): a materialized view's target cannot keep one row per key yet; materialize into a data source without a key`, { table: target });
    }
    const properties: Record<string, unknown> = { ...(existing && tinybirdProperties(existing)), pipe: pipe.name } satisfies TargetProperties;
    if (existing) await change.drop(existing);
    const view = await change.createView({ name: target, sql, properties });
    // The target's columns are fixed when it is made, as a table's are: a `SELECT *` does not take
    // a column added to its source later.
    const columns = existing?.columns ?? view.columns;
    const missing = columns.filter((column) => !view.columns.some((given) => given.name === column.name)).map((column) => column.name);
    if (missing.length > 0) {
      throw new SluiceError('INVALID_ARGUMENT', `The node "${node.name}" gives no column ${missing.map((name) => `"${name}"`).join(', ')} of Data Source "${target}": name its columns as the data source's`, { table: target, missing });
    }
    await change.drop(view);
    // A data source that becomes the target stays the same data source, by its id too.
    return change.createView({ name: target, sql: `SELECT ${columns.map(castInto).join(', ')} FROM (\n${sql}\n)`, properties }, { columns, ...(existing && { replacing: existing }) });
  }

  private workspace(): Namespace {
    return this.core.catalog.getNamespace(WORKSPACE);
  }
}

/**
 * A node's value as the target's column takes it: converted to its type, NULL where it does not
 * convert (a view cannot quarantine a row; one value that fails would fail every read of the
 * target), and where the column is not Nullable, its DEFAULT or its type's default instead of NULL,
 * as ClickHouse inserts a NULL there.
 */
function castInto(column: Column): string {
  const type = toDuckDBType(column.type);
  // As ClickHouse's cast converts it: an integer drops a number's fraction, a String is a float as toString writes it.
  const conversion = conversionOf(column.type, true);
  const converted = conversion ? `CAST(${conversion}(${quoteIdentifier(column.name)}) AS ${type})` : `TRY_CAST(${quoteIdentifier(column.name)} AS ${type})`;
  // A FixedString's value is padded to its length, as the column stores it; a longer one does not fit.
  const length = declaredLength(column.type);
  const value = length === undefined ? converted : withinLength(converted, column.type, length, TINYBIRD_COERCION);
  const filled = column.nullable ? value : `coalesce(${value}, CAST((${defaultSqlOf(column) ?? zeroValueSql(column.type)}) AS ${type}))`;
  return `${filled} AS ${quoteIdentifier(column.name)}`;
}

/**
 * The SQL of a pipe's last node over the earlier ones: each earlier node a common table expression
 * of its name before it (a last node with a WITH clause of its own takes them at its start). Each
 * node is closed on a line of its own, so that one ending in a comment or a `;` still reads.
 */
function endpointSqlOf(nodes: readonly PipeNode[]): string {
  return withCtes(nodes.at(-1)!.sql, nodes.slice(0, -1));
}

/** A query with common table expressions defined before it (before its own, when it has a WITH). */
function withCtes(sql: string, ctes: ReadonlyArray<{ name: string; sql: string }>): string {
  if (ctes.length === 0) return sql;
  const defined = ctes.map((cte) => `${quoteIdentifier(cte.name)} AS (\n${withoutFinalSemicolon(cte.sql)}\n)`).join(', ');
  const first = tokensOrUndefined(sql, { clickhouse: true })?.[0];
  if (first?.kind === 'word' && first.text.toUpperCase() === 'WITH') return `WITH ${defined}, ${sql.slice(first.end)}`;
  return `WITH ${defined}\n${sql}`;
}

/**
 * The names a query reads a table by (`FROM name`, `JOIN name`), less those it defines as common
 * table expressions (`name AS (`), found in its tokens.
 */
function tableNamesRead(sql: string): Set<string> {
  const reader = new TokenReader(tokensOrUndefined(sql, { clickhouse: true }) ?? []);
  const read = new Set<string>();
  const defined = new Set<string>();
  reader.tokens.forEach((token, index) => {
    if (isDataSourceName(reader, index)) read.add(token.text);
    else if ((token.kind === 'word' || token.kind === 'quoted') && reader.word(index + 1) === 'AS' && reader.isSymbol(index + 2, '(')) defined.add(token.text);
  });
  for (const name of defined) read.delete(name);
  return read;
}

function withoutFinalSemicolon(sql: string): string {
  const last = tokensOrUndefined(sql, { clickhouse: true })?.at(-1);
  return last?.kind === 'symbol' && last.text === ';' ? sql.slice(0, last.start) : sql;
}

/** Pipe names follow data source names' rule; `findDatasource`'s ids (`t_…`) are not names a pipe takes. */
function checkPipeName(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new SluiceError('INVALID_NAME', `Invalid Pipe name "${name}": use letters, digits and _, not starting with a digit`, { name });
}

function checkNodeNames(names: string[]): void {
  for (const [index, name] of names.entries()) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new SluiceError('INVALID_NAME', `Invalid node name "${name}": use letters, digits and _, not starting with a digit`, { name });
    if (names.indexOf(name) !== index) throw new SluiceError('INVALID_ARGUMENT', `Two nodes are named "${name}"`, { name });
  }
}

/** Tinybird's templates (`{{ … }}`, `{% … %}`) are not served: a node's SQL is plain SQL. */
function checkNodeSql(sql: string): string {
  if (sql.trim() === '') throw new SluiceError('INVALID_ARGUMENT', 'A node needs its sql');
  if (/\{\{|\{%/.test(sql)) throw new SluiceError('INVALID_ARGUMENT', 'Templates ({{ … }}, {% … %}) are not supported in a node\'s SQL: write plain SQL');
  return sql;
}

function materializes(node: NodeSpec): boolean {
  if (node.type === undefined || node.type === 'standard') {
    if (node.datasource !== undefined) throw new SluiceError('INVALID_ARGUMENT', 'A node with a datasource must be of type "materialized"');
    return false;
  }
  if (node.type !== 'materialized') throw new SluiceError('INVALID_ARGUMENT', `Unsupported node type "${node.type}": a node is "standard" or "materialized"`);
  if (node.datasource === undefined) throw new SluiceError('INVALID_ARGUMENT', 'A materialized node needs the datasource it materializes into');
  return true;
}

/** A pipe as Tinybird's API gives it. */
export function renderPipe(pipes: Pipes, pipe: Pipe) {
  const nodes = pipe.nodes.map((node) => {
    const target = pipes.targetOf(node);
    return {
      id: `t_${node.id}`, name: node.name, sql: node.sql, description: node.description,
      materialized: target ? target.name : null, node_type: target ? 'materialized' : 'standard', params: [],
      dependencies: pipes.readsOf(target), created_at: tinybirdTime(new Date(node.createdAt)), updated_at: tinybirdTime(new Date(node.createdAt)),
    };
  });
  const materialized = pipe.nodes.map((node) => pipes.targetOf(node)).find((target) => target !== undefined);
  return {
    id: `t_${pipe.id}`, name: pipe.name, description: pipe.description,
    type: materialized ? 'materialized' : 'endpoint',
    endpoint: materialized ? null : `t_${pipe.nodes.at(-1)!.id}`,
    materialized_datasource: materialized ? `t_${materialized.id}` : null,
    created_at: tinybirdTime(new Date(pipe.createdAt)), updated_at: tinybirdTime(new Date(pipe.updatedAt)), nodes,
  };
}
