import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tryCastTrimmed } from '../../../src/core/ingest/coercion.ts';
import type { DataType } from '../../../src/core/types/data-type.ts';
import { toDuckDBType } from '../../../src/core/types/duckdb-types.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';
import { TestCore } from '../../helpers/test-server.ts';

let harness: TestCore;
before(async () => {
  harness = await TestCore.open();
});
after(() => harness.close());

/** Texts near every shape a value's text takes, edited with signs, ASCII and Unicode spaces and junk. */
function awkwardTexts(templates: string[], count: number, seed: number): string[] {
  const random = seededRandom(seed);
  const pieces = [' ', '  ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u3000', '\u2028', '\ufeff', 'é', '-', '+', '.', ':', 'e', 'E', '_', ',', '0x', 'inf', 'NaN', '0', '9', '00', ''];
  const texts: string[] = [];
  for (let index = 0; index < count; index += 1) {
    let text = templates[random(templates.length)]!;
    // Edits fall at either end half of the time, where trimming matters.
    for (let edits = random(4); edits > 0; edits -= 1) {
      const at = random(2) === 0 ? (random(2) === 0 ? 0 : text.length) : random(text.length + 1);
      text = text.slice(0, at) + pieces[random(pieces.length)]! + text.slice(at);
    }
    texts.push(text);
  }
  return texts;
}

const NUMBERS = ['42', '-7', '+0', '3.25', '-0.5', '1e3', '2.5E-2', '12345678901234567890', '99999999999999999999999999999999999999999', '1_000', '.5', '5.', '0.000001'];
const CASES: Array<{ types: DataType[]; templates: string[] }> = [
  {
    types: [
      { kind: 'int', bits: 8, signed: true }, { kind: 'int', bits: 32, signed: true }, { kind: 'int', bits: 64, signed: true },
      { kind: 'int', bits: 64, signed: false }, { kind: 'int', bits: 128, signed: true },
      { kind: 'float', bits: 32 }, { kind: 'float', bits: 64 },
      { kind: 'decimal', precision: 10, scale: 2 }, { kind: 'decimal', precision: 38, scale: 10 },
    ],
    templates: NUMBERS,
  },
  { types: [{ kind: 'boolean' }], templates: ['true', 'false', 'TRUE', 't', 'f', '1', '0', 'yes'] },
  { types: [{ kind: 'uuid' }], templates: ['0f8fad5b-d9cb-469f-a165-70867728950e', '{0f8fad5b-d9cb-469f-a165-70867728950e}', '0f8fad5bd9cb469fa16570867728950e'] },
  { types: [{ kind: 'time' }], templates: ['12:00:00', '23:59:59.999999', '1:2:3', '24:00:00'] },
];

test('casts of trimmed text give the same values when they skip the trim, on any text', async () => {
  const source = `SELECT unnest(string_split($1::VARCHAR, chr(1))) AS v`;
  for (const [index, { types, templates }] of CASES.entries()) {
    const texts = awkwardTexts(templates, 50_000, index + 1);
    for (const type of types) {
      const duckdbType = toDuckDBType(type);
      const [result] = await harness.core.storage.query(
        `SELECT count(*) AS texts, count(*) FILTER (WHERE shortcut IS DISTINCT FROM general) AS differing,
                count(*) FILTER (WHERE general IS NOT NULL) AS valid, count(*) FILTER (WHERE general IS NOT NULL AND v <> trim(v)) AS spaced,
                any_value(v) FILTER (WHERE shortcut IS DISTINCT FROM general) AS example
         FROM (SELECT v, ${tryCastTrimmed('v', type)} AS shortcut, TRY_CAST(trim(v) AS ${duckdbType}) AS general FROM (${source}))`,
        [texts.join('\u0001')],
      );
      assert.equal(Number(result!['texts']), texts.length);
      assert.equal(Number(result!['differing']), 0, `${duckdbType}: e.g. ${JSON.stringify(result!['example'])}`);
      assert.ok(Number(result!['valid']) > texts.length / 10, `${duckdbType}: many of the texts are values`);
      assert.ok(Number(result!['spaced']) > texts.length / 50, `${duckdbType}: many of the values have spaces around them`);
    }
  }
});
