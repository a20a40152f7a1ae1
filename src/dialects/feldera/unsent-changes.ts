/**
 * Per pipeline (by namespace id), the egress streams holding changes they have read from their
 * feed but not yet written: a stream gathers one change's deletes and inserts into one chunk, and
 * its feed counts them passed on once read. A completion token is not complete while any is held,
 * so that a complete token's changes are in every open stream, not only read for it.
 */
export class UnsentChanges {
  private readonly held = new Map<string, number>();

  hold(pipelineId: string): void {
    this.held.set(pipelineId, (this.held.get(pipelineId) ?? 0) + 1);
  }

  release(pipelineId: string): void {
    const count = (this.held.get(pipelineId) ?? 0) - 1;
    if (count > 0) this.held.set(pipelineId, count);
    else this.held.delete(pipelineId);
  }

  /** Whether some stream of the pipeline holds changes it has not written. */
  any(pipelineId: string): boolean {
    return this.held.has(pipelineId);
  }
}
