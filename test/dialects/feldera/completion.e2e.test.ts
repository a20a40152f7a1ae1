import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeToken, encodeToken } from '../../../src/dialects/feldera/completion-token.ts';
import { TestServer } from '../../helpers/test-server.ts';
import { FelderaClient, felderaError } from './feldera-fixture.ts';

const PROGRAM = 'CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v VARCHAR); CREATE MATERIALIZED VIEW upper_v AS SELECT id, upper(v) AS v FROM t;';

describe('Feldera completion tokens', () => {
  let server: TestServer;
  let client: FelderaClient;
  before(async () => {
    server = await TestServer.start();
    client = new FelderaClient(server);
    await client.pipeline('p', PROGRAM);
    await client.pipeline('other', PROGRAM);
  });
  after(() => server.stop());

  const statusOf = async (pipeline: string, token: string) => {
    const response = await server.fetch(`/v0/pipelines/${pipeline}/completion_status?token=${encodeURIComponent(token)}`);
    const body = (await response.json()) as { status: string; step: unknown };
    assert.equal(response.status, 200, JSON.stringify(body));
    return body.status;
  };

  test('a push answers a token that is complete, its rows then in the table and the view', async () => {
    const token = await client.pushOk('p', 't', '{"insert": {"id": 1, "v": "a"}}');
    assert.equal(await statusOf('p', token), 'complete');
    assert.deepEqual(await client.rows('p', 'SELECT * FROM upper_v'), [{ id: 1, v: 'A' }]);
  });

  test('a token for a write not committed yet is in progress, and complete once it settles', async () => {
    const token = await client.pushOk('p', 't', '{"insert": {"id": 2, "v": "b"}}');
    // A write's place taken in the commit order, its commit still to come.
    const sequence = server.core.writer.log.allocateSequence();
    const ahead = encodeToken({ ...decodeToken(token), sequence });
    assert.equal(await statusOf('p', ahead), 'inprogress');
    server.core.writer.log.settle([sequence]);
    assert.equal(await statusOf('p', ahead), 'complete');
  });

  test('a malformed token, one issued by another pipeline, or one never issued (a write yet to come), is 400 InvalidParam', async () => {
    for (const token of ['', 'not-a-token', Buffer.from('{"p": 1}').toString('base64url')]) {
      await felderaError(await server.fetch(`/v0/pipelines/p/completion_status?token=${encodeURIComponent(token)}`), 400, 'InvalidParam');
    }
    const token = await client.pushOk('other', 't', '{"insert": {"id": 1, "v": "x"}}');
    await felderaError(await server.fetch(`/v0/pipelines/p/completion_status?token=${token}`), 400, 'InvalidParam');
    await felderaError(await server.fetch(`/v0/pipelines/missing/completion_status?token=${token}`), 404, 'UnknownPipelineName');
    // A token of this pipeline's id but a write yet to come was never issued: it would never complete.
    const { id } = (await (await client.get('p')).json()) as { id: string };
    const forged = encodeToken({ pipelineId: id, sequence: server.core.writer.log.lastSequence + 1_000_000 });
    const refused = await felderaError(await server.fetch(`/v0/pipelines/p/completion_status?token=${forged}`), 400, 'InvalidParam');
    assert.match(refused.message, /not issued/);
  });

  test('a stopped pipeline answers no completion status: 503 PipelineInteractionNotDeployed, as its queries', async () => {
    const token = await client.pushOk('other', 't', '{"insert": {"id": 7, "v": "s"}}');
    assert.equal((await client.action('other', 'stop')).status, 202);
    await felderaError(await server.fetch(`/v0/pipelines/other/completion_status?token=${encodeURIComponent(token)}`), 503, 'PipelineInteractionNotDeployed');
    assert.equal((await client.action('other', 'start')).status, 202);
    assert.equal(await statusOf('other', token), 'complete');
  });

  test('tokens stay valid across a restart, and later pushes get tokens of their own', async () => {
    const before = await client.pushOk('p', 't', '{"insert": {"id": 3, "v": "c"}}');
    await server.restart();
    assert.equal(await statusOf('p', before), 'complete');
    const after = await client.pushOk('p', 't', '{"insert": {"id": 4, "v": "d"}}');
    assert.notEqual(after, before);
    assert.ok(decodeToken(after).sequence > decodeToken(before).sequence);
    assert.equal(await statusOf('p', after), 'complete');
    assert.deepEqual(await client.rows('p', 'SELECT id FROM upper_v ORDER BY id'), [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }]);
  });
});
