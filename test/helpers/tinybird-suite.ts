import { after, before } from 'node:test';
import { FileServer } from './file-server.ts';
import { TestServer } from './test-server.ts';
import { TinybirdClient } from './tinybird-client.ts';

export interface TinybirdSuite {
  server: TestServer;
  tb: TinybirdClient;
  /** A local HTTP server for URL imports. */
  files: FileServer;
}

/**
 * Registers the suite's hooks: a real server (and a file server for URL imports) started before
 * its tests and stopped after, with the configuration's `overrides`. The returned object is filled
 * in when the tests run.
 */
export function useTinybirdSuite(overrides: Parameters<typeof TestServer.start>[0] = {}): TinybirdSuite {
  const suite = {} as TinybirdSuite;
  before(async () => {
    suite.server = await TestServer.start(overrides);
    suite.files = await FileServer.start();
    suite.tb = new TinybirdClient(suite.server);
  });
  after(async () => {
    await suite.files.stop();
    await suite.server.stop();
  });
  return suite;
}
