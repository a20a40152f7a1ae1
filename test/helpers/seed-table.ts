import type { Column, Table } from '../../src/core/catalog/model.ts';
import { recordsInput } from '../../src/core/ingest/staged-input.ts';
import type { Sluice } from '../../src/core/sluice.ts';
import { ADMIN_TOKEN } from './test-server.ts';

/** Creates a table in a namespace through the core and appends text rows to it. */
export async function seedTable(core: Sluice, namespaceName: string, name: string, columns: Column[], rows: Array<Array<string | null>>): Promise<Table> {
  const admin = await core.authenticate(ADMIN_TOKEN);
  const namespace = await core.catalog.ensureNamespace(namespaceName);
  const table = await core.createTable(admin, namespace, { name, columns });
  if (rows.length > 0) await core.write(admin, { table, kind: 'append', onInvalid: 'reject', input: recordsInput({ columns: columns.map((column) => column.name), rows }) });
  return core.catalog.getTableById(table.id);
}
