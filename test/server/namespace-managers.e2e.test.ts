import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CatalyzedClient } from '../helpers/catalyzed-client.ts';
import { FelderaClient } from '../dialects/feldera/feldera-fixture.ts';
import { TestServer } from '../helpers/test-server.ts';

describe("a namespace another dialect manages keeps its schema: Catalyzed cannot change a Feldera pipeline's or Tinybird's workspace", () => {
  let server: TestServer;
  let catalyzed: CatalyzedClient;
  let feldera: FelderaClient;
  let pipelineDataset: string;
  let itemsTable: string;
  before(async () => {
    server = await TestServer.start();
    catalyzed = new CatalyzedClient(server);
    feldera = new FelderaClient(server);
    await feldera.pipeline('shop', 'CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR);\nCREATE MATERIALIZED VIEW names AS SELECT name FROM items;');
    const datasets = (await (await server.fetch('/datasets')).json()) as { datasets: Array<{ datasetId: string; name: string }> };
    pipelineDataset = datasets.datasets.find((dataset) => dataset.name === 'shop')!.datasetId;
    const tables = (await (await server.fetch(`/dataset-tables?datasetId=${pipelineDataset}`)).json()) as { tables: Array<{ tableId: string; tableName: string }> };
    itemsTable = tables.tables.find((table) => table.tableName === 'items')!.tableId;
  });
  after(() => server.stop());

  const refused = async (response: Response) => {
    assert.equal(response.status, 409);
    const body = await response.json();
    assert.equal(body.code, 'CONFLICT');
    assert.match(body.message, /managed by the (feldera|tinybird) API/);
  };
  const json = (method: string, body: unknown) => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  test("dropping, renaming, or adding, changing or dropping tables of a pipeline's dataset is a 409, and the pipeline keeps working", async () => {
    await refused(await server.fetch(`/datasets/${pipelineDataset}`, { method: 'DELETE' }));
    await refused(await server.fetch(`/datasets/${pipelineDataset}`, json('PUT', { name: 'renamed' })));
    await refused(await server.fetch('/dataset-tables', json('POST', { datasetId: pipelineDataset, tableName: 'extra', fields: [{ name: 'a', arrowType: 'int32' }] })));
    await refused(await server.fetch(`/dataset-tables/${itemsTable}`, json('PUT', { fields: [{ name: 'id', arrowType: 'int64' }, { name: 'name', arrowType: 'utf8' }, { name: 'added', arrowType: 'int32' }] })));
    await refused(await server.fetch(`/dataset-tables/${itemsTable}`, { method: 'DELETE' }));
    await feldera.pushOk('shop', 'items', '{"insert": {"id": 1, "name": "kept"}}');
    assert.deepEqual(await feldera.rows('shop', 'SELECT name FROM names'), [{ name: 'kept' }]);
  });

  test("rows of a pipeline's table can still be written and read through Catalyzed", async () => {
    const { status, body } = await catalyzed.write(itemsTable, 'mode=upsert', JSON.stringify([{ id: 2, name: 'from catalyzed' }]), 'application/json');
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(await feldera.rows('shop', 'SELECT id, name FROM items ORDER BY id'), [{ id: 1, name: 'kept' }, { id: 2, name: 'from catalyzed' }]);
  });

  test("Tinybird's workspace cannot be dropped or given tables through Catalyzed", async () => {
    const datasets = (await (await server.fetch('/datasets')).json()) as { datasets: Array<{ datasetId: string; name: string }> };
    const workspace = datasets.datasets.find((dataset) => dataset.name === 'default')!.datasetId;
    await refused(await server.fetch(`/datasets/${workspace}`, { method: 'DELETE' }));
    await refused(await server.fetch('/dataset-tables', json('POST', { datasetId: workspace, tableName: 'extra', fields: [{ name: 'a', arrowType: 'int32' }] })));
  });

  test('a dataset Catalyzed created can be dropped through Catalyzed', async () => {
    const datasetId = await catalyzed.createDataset('mine');
    await catalyzed.createTable(datasetId, 't', [{ name: 'a', arrowType: 'int32' }]);
    assert.equal((await server.fetch(`/datasets/${datasetId}`, { method: 'DELETE' })).status, 204);
  });
});
