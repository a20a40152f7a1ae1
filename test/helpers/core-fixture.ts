import type { Principal } from '../../src/core/auth/scopes.ts';
import { physicalName } from '../../src/core/catalog/catalog.ts';
import type { Column, Table } from '../../src/core/catalog/model.ts';
import type { Sluice } from '../../src/core/sluice.ts';
import type { Row } from '../../src/storage/duckdb/duckdb-storage.ts';
import { ADMIN_TOKEN, TestCore } from './test-server.ts';

/**
 * The core over a real DuckDB file, with the `default` namespace and the admin principal: for
 * tests of core behaviour below the dialects. Tables get fresh names, so tests do not collide.
 */
export class CoreFixture {
  private tables = 0;

  private constructor(
    private readonly harness: TestCore,
    public admin: Principal,
  ) {}

  static async open(): Promise<CoreFixture> {
    const harness = await TestCore.open();
    await harness.core.catalog.ensureNamespace('default');
    return new CoreFixture(harness, await harness.core.authenticate(ADMIN_TOKEN));
  }

  get core(): Sluice {
    return this.harness.core;
  }

  async createTable(columns: Column[], options: { primaryKey?: string[] } = {}): Promise<Table> {
    this.tables += 1;
    const namespace = this.core.catalog.getNamespace('default');
    return this.core.createTable(this.admin, namespace, { name: `t${this.tables}`, columns: structuredClone(columns), ...options });
  }

  /** The table as the catalog holds it now (version, row count). */
  current(table: Table): Table {
    return this.core.catalog.getTableById(table.id);
  }

  rows(table: Table, orderBy = '1'): Promise<Row[]> {
    return this.core.storage.query(`SELECT * FROM ${physicalName(table)} ORDER BY ${orderBy}`);
  }

  /** Closes the core cleanly and opens it again over the same data directory. */
  async reopen(): Promise<void> {
    await this.harness.reopen();
    this.admin = await this.core.authenticate(ADMIN_TOKEN);
  }

  close(): Promise<void> {
    return this.harness.close();
  }
}
