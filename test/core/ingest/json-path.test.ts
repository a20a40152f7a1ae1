import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonPath, toDuckDBJsonPath } from '../../../src/core/ingest/json-path.ts';

test("a key's backslashes and quotes are escaped in DuckDB's path, so that a trailing backslash does not escape the closing quote", () => {
  assert.equal(toDuckDBJsonPath(parseJsonPath("$.['a\\\\']")), '$."a\\\\"');
  assert.equal(toDuckDBJsonPath(parseJsonPath('$.[\'q"\'].b[:]')), '$."q\\""."b"[*]');
});

test('a path with an empty key or a NUL in a key is refused: DuckDB cannot read it', () => {
  assert.throws(() => parseJsonPath("$.['']"), /a key must not be empty nor hold a NUL character/);
  assert.throws(() => parseJsonPath("$.['a\u0000b']"), /a key must not be empty nor hold a NUL character/);
});
