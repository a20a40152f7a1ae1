import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { JsonKeyCollector, splitJsonValues, type JsonValueText, type SplitJsonOptions } from '../../../../src/core/ingest/sources/json-values.ts';

const PLAIN: SplitJsonOptions = { unwrapArrays: false };
const UNWRAP: SplitJsonOptions = { unwrapArrays: true };

/** Every entry, each batch flattened, from the given chunks (each chunk arrives separately). */
async function split(chunks: Array<string | Buffer>, options: SplitJsonOptions = PLAIN): Promise<JsonValueText[]> {
  const entries: JsonValueText[] = [];
  const buffers = chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
  for await (const batch of splitJsonValues(Readable.from(buffers), options)) entries.push(...batch);
  return entries;
}

async function texts(input: string, options: SplitJsonOptions = PLAIN): Promise<string[]> {
  const entries = await split([input], options);
  assert.deepEqual(entries.filter((entry) => entry.error !== undefined), [], 'no errors expected');
  return entries.map((entry) => entry.text);
}

function bytesOf(input: string): Buffer[] {
  return [...Buffer.from(input)].map((byte) => Buffer.from([byte]));
}

describe('splitJsonValues: well-formed input', () => {
  test('splits NDJSON into one value per line, numbered from 1', async () => {
    const entries = await split(['{"a":1}\n{"a":2}\r\n{"a":3}']);
    assert.deepEqual(entries, [
      { text: '{"a":1}', index: 1, topLevelIndex: 1 },
      { text: '{"a":2}', index: 2, topLevelIndex: 2 },
      { text: '{"a":3}', index: 3, topLevelIndex: 3 },
    ]);
  });

  test('keeps pretty-printed values whole, with their inner whitespace', async () => {
    const first = '{\n  "a": [\n    1,\n    2\n  ],\n  "b": {}\n}';
    const second = '{\n\t"c" : "d"\n}';
    assert.deepEqual(await texts(`\n${first}\n\n${second}\n`), [first, second]);
  });

  test('splits values that follow each other without separators, scalars included', async () => {
    assert.deepEqual(await texts('{"a":1}{"b":2}[3,4]"s" 42 -1.5e3 true false null'), ['{"a":1}', '{"b":2}', '[3,4]', '"s"', '42', '-1.5e3', 'true', 'false', 'null']);
  });

  test('without unwrapArrays a top-level array is a single value', async () => {
    assert.deepEqual(await texts('[{"a":1},{"b":2}]\n[]'), ['[{"a":1},{"b":2}]', '[]']);
  });

  test('with unwrapArrays each element of a top-level array is a value, tagged with its array', async () => {
    const entries = await split(['[{"a":1}, [2, 3] ,"x"]\n[]\n[ {"c":[4]} ]'], UNWRAP);
    assert.deepEqual(entries, [
      { text: '{"a":1}', index: 1, topLevelIndex: 1 },
      { text: '[2, 3]', index: 2, topLevelIndex: 1 },
      { text: '"x"', index: 3, topLevelIndex: 1 },
      { text: '{"c":[4]}', index: 4, topLevelIndex: 3 },
    ]);
  });

  test('with unwrapArrays a top-level value that is not an array is a bad record, and the arrays around it are read', async () => {
    const entries = await split(['{"a":1}\n[{"b":2}]\n7'], UNWRAP);
    assert.deepEqual(
      entries.map(({ text, error }) => [text, error ?? null]),
      [
        ['{"a":1}', 'expected an array of records, found an object at line 1, column 1'],
        ['{"b":2}', null],
        ['7', 'expected an array of records, found a bare value at line 3, column 1'],
      ],
    );
  });

  test('does not mistake brackets, quotes, escapes or line-break escapes inside strings for structure', async () => {
    const tricky = String.raw`{"s":"]}[{,:","q":"say \"hi\"","b":"back\\","n":"line\nbreak","u":"\u00e9\"","e":"😀 ✓ é"}`;
    assert.deepEqual(await texts(`${tricky}\n["]", "\\"[", "\\\\"]`), [tricky, '["]", "\\"[", "\\\\"]']);
  });

  test('skips a UTF-8 byte order mark and ignores whitespace-only input', async () => {
    assert.deepEqual(await texts('\ufeff{"a":1}\n'), ['{"a":1}']);
    assert.deepEqual((await split(bytesOf('\ufeff{"a":1}'))).map((entry) => entry.text), ['{"a":1}']);
    assert.deepEqual(await split([' \n\t\r\n ']), []);
    assert.deepEqual(await split([]), []);
  });
});

describe('splitJsonValues: chunk boundaries', () => {
  const inputs: Array<[string, SplitJsonOptions]> = [
    [String.raw`{"a":"x\"y\\","b":[1,{"c":"]}"}],"d":-12.5e-3}` + '\n{"e":"😀é✓"}\n"top" 17 true\n[1,2]', PLAIN],
    ['[{"a":"😀"},{"b":[1,[2]]}, 3, "s\\"]"]\n[4]\n{"z":null}', UNWRAP],
    ['{"a":1}\n{"a":2\n{"a":"x\n{"b":"😀"}\n]\n{"c":3}', PLAIN],
    ['{"a":1,\n"bb" 5}\n{"c":3,\n"dd"\n7}\n[1,\nxyz 2]', PLAIN],
    ['[{"a":"x\u0001\\"]"}, {"b":[1}, "c"} {"d":2},\n{"e":"y\n{"f":3},\n{"g":4,\n{"h":5}\n]\n[{"i" 6}]', UNWRAP],
  ];

  test('gives the same values when the input arrives one byte at a time', async () => {
    for (const [input, options] of inputs) {
      assert.deepEqual(await split(bytesOf(input), options), await split([input], options), input);
    }
  });

  test('gives the same values wherever the input is cut in two', async () => {
    for (const [input, options] of inputs) {
      const whole = await split([input], options);
      const bytes = Buffer.from(input);
      for (let cut = 1; cut < bytes.length; cut += 1) {
        assert.deepEqual(await split([bytes.subarray(0, cut), bytes.subarray(cut)], options), whole, `${input} cut at ${cut}`);
      }
    }
  });

  test('rejoins multi-byte characters split between chunks', async () => {
    const bytes = Buffer.from('{"e":"😀"}');
    const cut = bytes.indexOf(0xf0) + 2;
    assert.deepEqual(
      (await split([bytes.subarray(0, cut), bytes.subarray(cut)])).map((entry) => entry.text),
      ['{"e":"😀"}'],
    );
  });
});

describe('splitJsonValues: malformed input', () => {
  test('an unclosed value is reported and the values on the lines around it are kept', async () => {
    const entries = await split(['{"a":1}\n{"a":2\n{"a":3}\n']);
    assert.deepEqual(entries.map((entry) => entry.text), ['{"a":1}', '{"a":2', '{"a":3}']);
    assert.match(entries[1]!.error ?? '', /line 2, column 1 is not closed/);
    assert.equal(entries[0]!.error, undefined);
    assert.equal(entries[2]!.error, undefined);
    assert.deepEqual(entries.map((entry) => entry.index), [1, 2, 3]);
  });

  test('an unterminated string is reported and splitting resumes on the next line', async () => {
    const entries = await split(['{"a":"x\n{"b":2}']);
    assert.equal(entries.length, 2);
    assert.equal(entries[0]!.text, '{"a":"x');
    assert.match(entries[0]!.error ?? '', /unterminated string/);
    assert.deepEqual(entries[1], { text: '{"b":2}', index: 2, topLevelIndex: 2 });
  });

  test('a mismatched bracket is reported with the rest of its line', async () => {
    const entries = await split(['{"a":1}\n{"b":[1}, "x"}\n{"c":3}']);
    assert.deepEqual(entries.map((entry) => [entry.text, entry.error !== undefined]), [
      ['{"a":1}', false],
      ['{"b":[1}, "x"}', true],
      ['{"c":3}', false],
    ]);
    assert.match(entries[1]!.error!, /expected ',' or '\]' at line 2, column 8/);
  });

  test('garbage between values is reported and the values around it are kept', async () => {
    const entries = await split(['{"a":1}\n}\n{"b":2} nonsense {"c":3}\n, {"d":4}\n{"e":5}']);
    assert.deepEqual(entries.map((entry) => [entry.text, entry.error === undefined ? 'ok' : 'error']), [
      ['{"a":1}', 'ok'],
      ['}', 'error'],
      ['{"b":2}', 'ok'],
      ['nonsense', 'error'],
      ['{"c":3}', 'ok'],
      [', {"d":4}', 'error'],
      ['{"e":5}', 'ok'],
    ]);
    assert.match(entries[1]!.error!, /unexpected '}' at line 2, column 1/);
    assert.match(entries[3]!.error!, /unexpected 'nonsense'/);
  });

  test('words of garbage in a row on one line are one bad record, so the records after it keep their numbers', async () => {
    const entries = await split(['{"a":1}\nnot json at all\n{"b":2}\nagain\nand again {"c":3}\n']);
    assert.deepEqual(entries.map((entry) => [entry.index, entry.text, entry.error === undefined ? 'ok' : 'error']), [
      [1, '{"a":1}', 'ok'],
      [2, 'not json at all', 'error'],
      [3, '{"b":2}', 'ok'],
      [4, 'again', 'error'],
      [5, 'and again', 'error'],
      [6, '{"c":3}', 'ok'],
    ]);
  });

  test('a missing comma, colon or key inside a value is an error, not a silent split', async () => {
    for (const bad of ['{"a":1 "b":2}', '{"a" 1}', '{1:2}', '[1 2]', '{"a":1,}', '[1,]', '[,1]']) {
      const entries = await split([`${bad}\n{"ok":true}`]);
      assert.equal(entries.length, 2, bad);
      assert.notEqual(entries[0]!.error, undefined, bad);
      assert.deepEqual(entries[1]!.text, '{"ok":true}', bad);
    }
  });

  test('a truncated last value is reported as the end of input inside a value', async () => {
    const entries = await split(['{"a":1}\n{"b":[1,2']);
    assert.equal(entries[1]!.text, '{"b":[1,2');
    assert.match(entries[1]!.error!, /unexpected end of input inside a value/);
  });

  test('a top-level array left open is reported after its elements', async () => {
    const entries = await split(['[{"a":1},{"b":2}'], UNWRAP);
    assert.deepEqual(entries.map((entry) => entry.text), ['{"a":1}', '{"b":2}', '']);
    assert.match(entries[2]!.error!, /top-level array is not closed/);
    assert.equal(entries[2]!.topLevelIndex, 1);
  });

  test('an element error inside an unwrapped array carries that array’s topLevelIndex', async () => {
    const entries = await split(['[{"a":1}]\n[{"b":2}, {"c" 3}]\n[{"d":4}]'], UNWRAP);
    assert.deepEqual(entries.map((entry) => [entry.text, entry.topLevelIndex, entry.error === undefined]), [
      ['{"a":1}', 1, true],
      ['{"b":2}', 2, true],
      ['{"c" 3}', 2, false],
      ['{"d":4}', 3, true],
    ]);
  });

  test('a bad element of an unwrapped array is one error: the elements after it and the array’s end are read as such', async () => {
    const body = '[\n{"id":1,"s":"nul\u0000"},\n{"id":2,"s":"good"}\n]\n[{"id":3}]';
    const entries = await split([body], UNWRAP);
    assert.deepEqual(entries.map(({ text, index, topLevelIndex, error }) => [text, index, topLevelIndex, error ?? null]), [
      ['{"id":1,"s":"nul\u0000"}', 1, 1, 'unescaped control character in a string at line 2, column 17'],
      ['{"id":2,"s":"good"}', 2, 1, null],
      ['{"id":3}', 3, 2, null],
    ]);
  });

  test('a bad element is skipped to its end by its brackets and strings, over lines, whatever went wrong in it', async () => {
    const body = [
      '[{"a":1 "b":"],"}, {"c":[1}, {"d":2} {"e":3}, {"f":4},',
      '  {',
      '    "g": 5',
      '    "h": [6, {"i": "}"}]',
      '  },',
      '  {"j": 7}]',
    ].join('\n');
    const entries = await split([body], UNWRAP);
    assert.deepEqual(entries.map(({ text, error }) => [text, error?.replace(/ at line.*/, '') ?? null]), [
      ['{"a":1 "b":"],"}', "unexpected '\"'"],
      ['{"c":[1}', "expected ',' or ']'"],
      ['{"d":2}', null],
      ['{"e":3}', "expected ',' or ']'"],
      ['{"f":4}', null],
      ['{\n    "g": 5\n    "h": [6, {"i": "}"}]\n  }', "unexpected '\"'"],
      ['{"j": 7}', null],
    ]);
    assert.deepEqual(entries.map((entry) => entry.topLevelIndex), [1, 1, 1, 1, 1, 1, 1]);
  });

  test('in an unwrapped array, a line break inside a string or a line opening with the next element ends the bad element there', async () => {
    const entries = await split(['[\n{"a":"x\n{"b":2},\n{"c":3,\n{"d":4}\n]\n{"e":5}'], UNWRAP);
    assert.deepEqual(entries.map(({ text, error }) => [text, error?.replace(/ at line.*/, '') ?? null]), [
      ['{"a":"x', 'unterminated string (a line break in a string must be escaped)'],
      ['{"b":2}', null],
      ['{"c":3,', 'value starting'],
      ['{"d":4}', null],
      ['{"e":5}', 'expected an array of records, found an object'],
    ]);
  });

  test('a bad element at the end of input is reported, then its array as not closed', async () => {
    const entries = await split(['[{"a":1},\n{"b":[2 3]'], UNWRAP);
    assert.deepEqual(entries.map(({ text, error }) => [text, error?.replace(/ at line.*/, '') ?? null]), [
      ['{"a":1}', null],
      ['{"b":[2 3]', "expected ',' or ']'"],
      ['', 'unexpected end of input: the top-level array is not closed'],
    ]);
  });

  test('a value over maxValueBytes is reported, shortened, without losing its neighbours', async () => {
    const big = `{"s":"${'x'.repeat(5000)}"}`;
    const entries = await split([`{"a":1}\n${big.slice(0, 2000)}`, big.slice(2000), '\n{"b":2}'], { unwrapArrays: false, maxValueBytes: 1000 });
    assert.deepEqual(entries.map((entry) => entry.error === undefined), [true, false, true]);
    assert.match(entries[1]!.error!, /larger than the limit of 1000 bytes/);
    assert.ok(entries[1]!.text.length <= 1025);
    assert.ok(entries[1]!.text.startsWith('{"s":"xxx'));
    assert.equal(entries[2]!.text, '{"b":2}');
  });

  test('the text of a long malformed line is shortened to about a kilobyte', async () => {
    const entries = await split([`{"a": 1 2 ${'"x", '.repeat(2000)}}\n{"b":2}`]);
    assert.ok(entries[0]!.error !== undefined && entries[0]!.text.length <= 1030);
    assert.equal(entries[1]!.text, '{"b":2}');
  });
});

describe('splitJsonValues: batches', () => {
  test('batches are bounded by batchBytes and keep the stream order', async () => {
    const input = Array.from({ length: 500 }, (_, index) => `{"n":${index}}`).join('\n');
    const batches: JsonValueText[][] = [];
    for await (const batch of splitJsonValues(Readable.from([Buffer.from(input)]), { unwrapArrays: false, batchBytes: 200 })) batches.push(batch);
    assert.ok(batches.length > 10);
    for (const batch of batches) assert.ok(batch.reduce((sum, entry) => sum + entry.text.length, 0) < 200 + 20);
    assert.deepEqual(
      batches.flat().map((entry) => entry.index),
      Array.from({ length: 500 }, (_, index) => index + 1),
    );
  });

  test('yields values as the stream delivers them, before it ends', async () => {
    const source = new Readable({ read() {} });
    source.push('{"a":1}\n{"a":2}\n');
    const iterator = splitJsonValues(source, { unwrapArrays: false, batchBytes: 1 })[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.deepEqual(first.value, [{ text: '{"a":1}', index: 1, topLevelIndex: 1 }]);
    source.push(null);
    await iterator.return?.();
  });
});

describe('splitJsonValues: keys of the values', () => {
  const BODY = '[{"id": 1, "name": "a", "extra": {"inner": 1}}, {"id": 2, "na\\u006de": "b", "extra": 2, "more": [{"deep": 1}]}, {"id": 3, "other\\"key": 3}, 4]';

  async function keysOf(chunks: Array<string | Buffer>, max = 10): Promise<{ keys: string[]; more: boolean }> {
    const keys = new JsonKeyCollector((key) => key !== 'id' && key !== 'name', max);
    await split(chunks, { ...UNWRAP, keys });
    return { keys: keys.keys, more: keys.more };
  }

  test('collects each wanted key of the values once, escapes undone, and none of the objects inside them', async () => {
    assert.deepEqual(await keysOf([BODY]), { keys: ['extra', 'more', 'other"key'], more: false });
  });

  test('finds the same keys whichever way the stream is cut, a key split between chunks included', async () => {
    assert.deepEqual(await keysOf(bytesOf(BODY)), { keys: ['extra', 'more', 'other"key'], more: false });
    assert.deepEqual(await keysOf([BODY.slice(0, 30), BODY.slice(30, 75), BODY.slice(75)]), { keys: ['extra', 'more', 'other"key'], more: false });
  });

  test('keeps at most max keys and says that there were more', async () => {
    assert.deepEqual(await keysOf([BODY], 2), { keys: ['extra', 'more'], more: true });
  });
});
