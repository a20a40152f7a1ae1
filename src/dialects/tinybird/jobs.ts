import type { Job } from '../../core/jobs/jobs.ts';
import type { Sluice } from '../../core/sluice.ts';
import { tinybirdTime } from './datasource.ts';

/** What the Tinybird dialect keeps in a job's properties. */
export interface TinybirdJobProperties {
  mode?: string;
  datasource?: { id: string; name: string };
  url?: string;
  importId?: string;
  deleteCondition?: string;
}

const CANCELLABLE = new Set(['waiting', 'working']);

/** A job as Tinybird's Jobs API shows it. */
export function renderJob(job: Job, baseUrl: string) {
  const properties = job.properties as TinybirdJobProperties;
  const answered = tinybirdResult(job);
  const result = answered ?? {};
  return {
    kind: job.kind,
    id: job.id,
    job_id: job.id,
    job_url: `${baseUrl}/v0/jobs/${job.id}`,
    status: job.status,
    created_at: tinybirdTime(job.createdAt),
    updated_at: tinybirdTime(job.updatedAt),
    started_at: tinybirdTime(job.startedAt),
    is_cancellable: CANCELLABLE.has(job.status),
    mode: properties.mode ?? null,
    datasource: jobDatasource(properties, result),
    ...(properties.importId !== undefined && { import_id: properties.importId }),
    ...(properties.url !== undefined && { url: properties.url }),
    ...(properties.deleteCondition !== undefined && { delete_condition: properties.deleteCondition, delete_id: job.id }),
    statistics: { bytes: job.progress['bytesRead'] ?? 0, row_count: Number(result['successful_rows'] ?? result['rows_deleted'] ?? 0) },
    quarantine_rows: Number(result['quarantine_rows'] ?? 0),
    invalid_lines: Number(result['invalid_lines'] ?? 0),
    ...(job.error !== null && { error: job.error }),
    ...(answered !== null && { result: answered }),
  };
}

/**
 * A job's result in Tinybird's words: as the job answered it, or, for a job found done at a start
 * after a crash cut it off, from the write it had committed (`{write}`, the core's write result).
 */
function tinybirdResult(job: Job): Record<string, unknown> | null {
  const fields = job.result as Record<string, unknown> | null;
  const write = fields?.['write'] as { rowsInserted?: number; rowsDeleted?: number; rowsQuarantined?: number; linesInvalid?: number } | undefined;
  if (!write) return fields;
  if (job.kind === 'delete_data') return { rows_deleted: write.rowsDeleted ?? 0 };
  return { successful_rows: write.rowsInserted ?? 0, quarantine_rows: write.rowsQuarantined ?? 0, invalid_lines: write.linesInvalid ?? 0 };
}

/**
 * The data source a job works on. An import that creates its data source starts before the data
 * source has an id: once done, the id is the one its result shows.
 */
function jobDatasource(properties: TinybirdJobProperties, result: Record<string, unknown>): { id: string; name: string } | null {
  const datasource = properties.datasource;
  if (!datasource) return null;
  const created = result['datasource'] as { id?: unknown } | undefined;
  if (datasource.id === '' && typeof created?.id === 'string') return { ...datasource, id: created.id };
  return datasource;
}

/** The answer to a request that started a job. */
export function jobEnvelope(job: Job, baseUrl: string, extra: Record<string, unknown> = {}) {
  return { id: job.id, job_id: job.id, job_url: `${baseUrl}/v0/jobs/${job.id}`, job: renderJob(job, baseUrl), status: job.status, ...extra };
}

export function baseUrlOf(request: { protocol: string; headers: Record<string, string | string[] | undefined> }): string {
  return `${request.protocol}://${String(request.headers['host'] ?? 'localhost')}`;
}

export type { Sluice };
