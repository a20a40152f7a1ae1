import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { DuckDBStorage } from '../../../../src/storage/duckdb/duckdb-storage.ts';

/** A real storage in a fresh temporary folder for the enclosing suite, closed after it. */
export function useStorage(): { storage: () => DuckDBStorage; spool: (name: string, content: string | Buffer) => Promise<string> } {
  let storage: DuckDBStorage | undefined;
  before(async () => {
    storage = await DuckDBStorage.open({ dataDir: await mkdtemp(join(tmpdir(), 'sluice-')) });
  });
  after(() => storage?.close());
  const get = (): DuckDBStorage => {
    if (storage === undefined) throw new Error('storage is opened in before()');
    return storage;
  };
  return {
    storage: get,
    spool: async (name, content) => {
      const path = join(get().spoolDir, name);
      await writeFile(path, content);
      return path;
    },
  };
}
