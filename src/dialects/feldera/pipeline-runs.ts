import { randomUUID } from 'node:crypto';

/** What one table's HTTP input took in during a run. */
interface InputCounts {
  records: number;
  parseErrors: number;
}

/** One run of a pipeline: from a start (or the server's start, for a pipeline left running) to its stop. */
interface PipelineRun {
  incarnation: string;
  startedAt: Date;
  inputs: Map<string, InputCounts>;
}

/**
 * The counters of each deployed pipeline's current run, for Feldera's `/stats`: kept in memory and
 * begun afresh by every start, as a Feldera pipeline's are. Pushes are processed as they commit, so
 * every record taken in is processed and complete at once.
 */
export class PipelineRuns {
  private readonly runs = new Map<string, PipelineRun>();

  /** A new run of the pipeline (by namespace id) begins. */
  start(pipelineId: string): void {
    this.runs.set(pipelineId, newRun());
  }

  stop(pipelineId: string): void {
    this.runs.delete(pipelineId);
  }

  /** Counts a push's records into the table's input. */
  noteInput(pipelineId: string, table: string, counts: InputCounts): void {
    const inputs = this.run(pipelineId).inputs;
    const total = inputs.get(table) ?? { records: 0, parseErrors: 0 };
    inputs.set(table, { records: total.records + counts.records, parseErrors: total.parseErrors + counts.parseErrors });
  }

  /** Feldera's `/stats` body for a deployed pipeline whose tables are `tables`. */
  stats(pipelineId: string, state: 'Running' | 'Paused', tables: string[]) {
    const run = this.run(pipelineId);
    const inputs = tables.map((table) => {
      const counts = run.inputs.get(table) ?? { records: 0, parseErrors: 0 };
      return {
        endpoint_name: `api-ingress-${table}`,
        config: { stream: table },
        metrics: { total_records: counts.records, buffered_records: 0, num_parse_errors: counts.parseErrors, num_transport_errors: 0, end_of_input: false },
        fatal_error: null,
      };
    });
    const records = inputs.reduce((sum, input) => sum + input.metrics.total_records, 0);
    return {
      global_metrics: {
        state,
        bootstrap_in_progress: false,
        incarnation_uuid: run.incarnation,
        start_time: Math.floor(run.startedAt.getTime() / 1000),
        uptime_msecs: Date.now() - run.startedAt.getTime(),
        buffered_input_records: 0,
        total_input_records: records,
        total_processed_records: records,
        total_completed_records: records,
        // HTTP inputs never reach their end.
        pipeline_complete: false,
        transaction_id: 0,
      },
      suspend_error: null,
      inputs,
      outputs: [],
    };
  }

  /** The current run; a pipeline left running across a restart began its run when the server did. */
  private run(pipelineId: string): PipelineRun {
    let run = this.runs.get(pipelineId);
    if (!run) this.runs.set(pipelineId, (run = newRun()));
    return run;
  }
}

function newRun(): PipelineRun {
  return { incarnation: randomUUID(), startedAt: new Date(), inputs: new Map() };
}
