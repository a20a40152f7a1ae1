import { after, before } from 'node:test';
import type { Config } from '../../src/config.ts';
import { CatalyzedClient } from './catalyzed-client.ts';
import { TestServer } from './test-server.ts';

export interface CatalyzedSuite {
  server: TestServer;
  client: CatalyzedClient;
  /** The suite's dataset, when it asked for one. */
  datasetId: string;
}

/**
 * Registers the suite's hooks: a real server (with `config` overrides) and a client started before
 * its tests, and a dataset named `dataset` when given; the server is stopped after. The returned
 * object is filled in when the tests run.
 */
export function useCatalyzedSuite(options: { dataset?: string; config?: Partial<Config> } = {}): CatalyzedSuite {
  const suite = {} as CatalyzedSuite;
  before(async () => {
    suite.server = await TestServer.start(options.config);
    suite.client = new CatalyzedClient(suite.server);
    if (options.dataset !== undefined) suite.datasetId = await suite.client.createDataset(options.dataset);
  });
  after(() => suite.server.stop());
  return suite;
}
