/**
 * JSON that keeps numbers as their text. DuckDB's parse trees carry 64-bit integers (constants,
 * hugeint halves) that `JSON.parse` would round to the nearest double, silently changing a query's
 * literals when the tree is turned back into SQL.
 */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

const WHITESPACE = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const LITERALS = { true: true, false: false, null: null } as const;

export function parseJsonLosslessly(text: string): JsonValue {
  const parser = new Parser(text);
  const value = parser.readValue();
  parser.skipWhitespace();
  if (parser.position !== text.length) parser.fail();
  return value;
}

export function stringifyJsonLosslessly(value: JsonValue): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof JsonNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(stringifyJsonLosslessly).join(',')}]`;
  return `{${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}:${stringifyJsonLosslessly(item)}`).join(',')}}`;
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof JsonNumber);
}

class Parser {
  position = 0;

  constructor(private readonly text: string) {}

  readValue(): JsonValue {
    this.skipWhitespace();
    const char = this.text[this.position];
    if (char === '{') return this.readObject();
    if (char === '[') return this.readArray();
    if (char === '"') return this.readString();
    for (const [word, value] of Object.entries(LITERALS)) {
      if (this.text.startsWith(word, this.position)) {
        this.position += word.length;
        return value;
      }
    }
    return new JsonNumber(this.match(NUMBER));
  }

  skipWhitespace(): void {
    this.match(WHITESPACE);
  }

  fail(): never {
    throw new SyntaxError(`Invalid JSON at position ${this.position}`);
  }

  private readObject(): JsonObject {
    this.position += 1;
    // Keys come from DuckDB's serializer, but a null prototype keeps a "__proto__" key an ordinary key.
    const object: JsonObject = Object.create(null) as JsonObject;
    if (this.accept('}')) return object;
    do {
      this.skipWhitespace();
      const key = this.readString();
      if (!this.accept(':')) this.fail();
      object[key] = this.readValue();
    } while (this.accept(','));
    if (!this.accept('}')) this.fail();
    return object;
  }

  private readArray(): JsonValue[] {
    this.position += 1;
    const array: JsonValue[] = [];
    if (this.accept(']')) return array;
    do array.push(this.readValue());
    while (this.accept(','));
    if (!this.accept(']')) this.fail();
    return array;
  }

  private readString(): string {
    return JSON.parse(this.match(STRING)) as string;
  }

  private accept(char: string): boolean {
    this.skipWhitespace();
    if (this.text[this.position] !== char) return false;
    this.position += 1;
    return true;
  }

  private match(pattern: RegExp): string {
    pattern.lastIndex = this.position;
    const match = pattern.exec(this.text);
    if (!match) this.fail();
    this.position += match[0].length;
    return match[0];
  }
}
