import { isSafeNumber, LosslessNumber, parse, stringify } from 'lossless-json';

/**
 * A JSON number that a double would change (9007199254740993, a decimal of 20 digits), kept as
 * its text: a filter on an int64, uint64 or decimal column compares with the number sent.
 */
export class ExactNumber {
  constructor(readonly text: string) {}
}

/**
 * `JSON.parse`, except that each number a double cannot hold as written becomes an `ExactNumber`
 * (Node 20's `JSON.parse` gives a reviver no source text); the others are plain numbers.
 */
export function parseExactJson(text: string): unknown {
  return parse(text, null, (number) => (isSafeNumber(number) ? Number(number) : new ExactNumber(number)));
}

/** `JSON.stringify`, writing an `ExactNumber` as the number it holds, every digit kept. */
export function stringifyExactJson(value: unknown): string {
  return stringify(value, (_key, member: unknown) => (member instanceof ExactNumber ? new LosslessNumber(member.text) : member)) ?? 'null';
}
