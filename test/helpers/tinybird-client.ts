import assert from 'node:assert/strict';
import type { TestServer } from './test-server.ts';

/** Small helpers to call the Tinybird dialect the way curl does in the seed. */
export class TinybirdClient {
  constructor(readonly server: TestServer) {}

  /** `curl -F <part>=@<file>` */
  upload(query: string, part: string, fileName: string, content: string | Buffer, token?: string | null): Promise<Response> {
    const form = new FormData();
    form.append(part, new Blob([typeof content === "string" ? content : new Uint8Array(content)]), fileName);
    return this.server.fetch(`/v0/datasources?${query}`, { method: 'POST', body: form, ...(token !== undefined && { token }) });
  }

  /** `curl -d a=b -d c=d` */
  form(path: string, fields: Record<string, string>, token?: string | null): Promise<Response> {
    return this.server.fetch(path, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(),
      ...(token !== undefined && { token }),
    });
  }

  async sql<T = Record<string, unknown>>(query: string): Promise<T[]> {
    const response = await this.server.fetch(`/v0/sql?q=${encodeURIComponent(query)}`);
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    return body.data as T[];
  }

  /** Polls a job until it leaves waiting/working. */
  async waitForJob(id: string): Promise<Record<string, unknown>> {
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const job = await (await this.server.fetch(`/v0/jobs/${id}`)).json();
      if (!['waiting', 'working', 'cancelling'].includes(job.status)) return job;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`job ${id} did not finish`);
  }
}
