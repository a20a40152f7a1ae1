import type { Column } from '../../core/catalog/model.ts';
import { readSqlType, TypeNameError } from '../../core/types/index.ts';
import { SqlTextError, tokenizeSql, type Token } from '../../core/query/sql-tokens.ts';
import { quoteIdentifier } from '../../storage/duckdb/sql.ts';
import { translateViewQuery, type TranslatedQuery } from './feldera-sql.ts';

/**
 * Feldera's SQL programs: `;`-separated statements with `--` and `/* *\/` comments. Tables become
 * core tables, views core views. Unquoted names are folded to lower case, as Feldera does; quoted
 * names are kept exactly. A view's query is DuckDB SQL, with the Feldera constructs DuckDB cannot read
 * (TUMBLE and HOP windows, `…_TRUNC(x, UNIT)`, `FLOOR(x TO UNIT)`, functions of other names) rewritten
 * into it and its unquoted names folded too (see `translateViewQuery`), for the core to check.
 */

export interface ProgramTable {
  name: string;
  columns: Column[];
  primaryKey: string[];
  /** `WITH ('k' = 'v', …)` */
  properties: Record<string, string>;
  /** Where the statement starts in the program. */
  offset: number;
}

export type ViewKind = 'materialized' | 'local' | 'view';

export interface ProgramView {
  name: string;
  kind: ViewKind;
  /** The view's query in DuckDB's SQL (see `translateViewQuery`). */
  sql: string;
  /** Where a position of `sql` comes from in the program. */
  programOffset(position: number): number;
  /** See `TranslatedQuery.nameAfterColumns`. */
  nameAfterColumns?: TranslatedQuery['nameAfterColumns'];
  /** The view's column list (`CREATE VIEW v (a, b) AS …`): its columns' names, as many as `sql` gives (see `withColumnNames`). */
  columns?: string[];
  offset: number;
}

export interface Program {
  tables: ProgramTable[];
  views: ProgramView[];
}

/** A problem at a place in the program text. */
export class ProgramError extends SqlTextError {
  override name = 'ProgramError';
}

/** A view's query with its columns named in order, as its column list names them. */
export function withColumnNames(sql: string, columns: readonly string[]): string {
  return `SELECT * FROM (${sql}) AS listed(${columns.map(quoteIdentifier).join(', ')})`;
}

/** 1-based line and column of an offset in a text. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines.at(-1)!.length + 1 };
}

/** An unquoted name folds to lower case; a quoted one (`"Name"`, with `""` for a quote) is exact. */
export function normalizeName(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1).replaceAll('""', '"') : text.toLowerCase();
}

/** What `read` gives; a problem at a place in the program text (a string never closed, say) is a ProgramError. */
function readingProgram<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof SqlTextError && !(error instanceof ProgramError)) throw new ProgramError(error.message, error.offset, error.length);
    throw error;
  }
}

/** Parses a program; throws ProgramError at the first problem. */
export function parseProgram(program: string): Program {
  const tokens = readingProgram(() => tokenizeSql(program));
  const result: Program = { tables: [], views: [] };
  let start = 0;
  for (let index = 0; index <= tokens.length; index += 1) {
    const token = tokens[index];
    if (token && !(token.kind === 'symbol' && token.text === ';')) continue;
    const statement = tokens.slice(start, index);
    start = index + 1;
    if (statement.length === 0) continue;
    const parser = new StatementParser(program, statement, token?.start ?? program.length);
    parser.expectWord('CREATE');
    if (parser.acceptWord('TABLE')) result.tables.push(parser.table());
    else result.views.push(parser.view(new Set([...result.tables, ...result.views].map((relation) => relation.name))));
  }
  checkNames(result);
  return result;
}

/** Names are unique among a program's tables and views; column names unique regardless of case. */
function checkNames(program: Program): void {
  const seen = new Set<string>();
  for (const { name, offset } of [...program.tables, ...program.views].sort((a, b) => a.offset - b.offset)) {
    if (seen.has(name)) throw new ProgramError(`"${name}" is declared twice`, offset);
    seen.add(name);
  }
}

const UNSUPPORTED_COLUMN_CLAUSES = ['REFERENCES', 'CHECK', 'UNIQUE'];

/** The words that start a column's clause, and so end the expression of the clause before. */
const COLUMN_CLAUSES = ['PRIMARY', 'NOT', 'NULL', 'DEFAULT', 'LATENESS', 'WATERMARK', 'FOREIGN', 'INTERNED', ...UNSUPPORTED_COLUMN_CLAUSES];

class StatementParser {
  private position = 0;

  constructor(
    private readonly program: string,
    private readonly tokens: Token[],
    /** Where the statement ends (its `;` or the end of the program). */
    private readonly end: number,
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private isWord(token: Token | undefined, word: string): boolean {
    return token?.kind === 'word' && token.text.toUpperCase() === word;
  }

  acceptWord(...words: string[]): boolean {
    if (!words.every((word, index) => this.isWord(this.tokens[this.position + index], word))) return false;
    this.position += words.length;
    return true;
  }

  expectWord(word: string): void {
    if (!this.acceptWord(word)) this.fail(`Expected ${word}`);
  }

  private acceptSymbol(symbol: string): boolean {
    const token = this.peek();
    if (token?.kind !== 'symbol' || token.text !== symbol) return false;
    this.position += 1;
    return true;
  }

  private expectSymbol(symbol: string): void {
    if (!this.acceptSymbol(symbol)) this.fail(`Expected "${symbol}"`);
  }

  private fail(message: string, token = this.peek()): never {
    if (!token) throw new ProgramError(`${message} before the end of the statement`, this.end);
    const found = token.kind === 'quoted' ? `"${token.text}"` : token.kind === 'string' ? `'${token.text}'` : token.text;
    throw new ProgramError(`${message}, found ${found}`, token.start, token.end - token.start);
  }

  private name(what: string): { name: string; token: Token } {
    const token = this.peek();
    if (token?.kind === 'word') {
      this.position += 1;
      return { name: token.text.toLowerCase(), token };
    }
    if (token?.kind === 'quoted') {
      this.position += 1;
      if (token.text === '') this.fail(`A ${what} name cannot be empty`, token);
      return { name: token.text, token };
    }
    return this.fail(`Expected a ${what} name`);
  }

  private nameList(what: string): Array<{ name: string; token: Token }> {
    this.expectSymbol('(');
    const names = [this.name(what)];
    while (this.acceptSymbol(',')) names.push(this.name(what));
    this.expectSymbol(')');
    return names;
  }

  private expectEnd(): void {
    if (this.peek()) this.fail('Unexpected text');
  }

  /**
   * `CREATE TABLE name (column TYPE [NOT NULL] [PRIMARY KEY] [DEFAULT expr] [LATENESS expr] [WATERMARK expr], …,
   * [PRIMARY KEY (a, b)]) [WITH ('k' = 'v', …)]`
   */
  table(): ProgramTable {
    const offset = this.tokens[0]!.start;
    const { name } = this.name('table');
    const table: ProgramTable = { name, columns: [], primaryKey: [], properties: {}, offset };
    const columnTokens = new Map<string, Token>();
    const foreignKeys: Array<{ name: string; token: Token }> = [];
    let keyToken: Token | undefined;
    const setKey = (names: Array<{ name: string; token: Token }>, at: Token) => {
      if (keyToken) this.fail('The primary key is declared twice', at);
      keyToken = at;
      table.primaryKey = names.map((key) => key.name);
    };
    this.expectSymbol('(');
    do {
      const first = this.peek();
      if (this.acceptWord('CONSTRAINT')) this.name('constraint');
      if (this.acceptWord('PRIMARY', 'KEY')) {
        setKey(this.nameList('column'), first!);
      } else if (this.acceptWord('FOREIGN', 'KEY')) {
        // `FOREIGN KEY (columns) REFERENCES table (columns)`: declared, and not enforced, as in Feldera.
        const columns = this.nameList('column');
        this.expectWord('REFERENCES');
        this.name('table');
        const referenced = this.nameList('column');
        if (referenced.length !== columns.length) this.fail(`A foreign key of ${columns.length} column${columns.length === 1 ? '' : 's'} must reference as many`, first!);
        foreignKeys.push(...columns);
      } else if (this.isWord(this.peek(), 'UNIQUE') || this.isWord(this.peek(), 'CHECK')) {
        // A table constraint, not a column of that name (both words are reserved).
        this.fail(`${this.peek()!.text.toUpperCase()} is not supported`);
      } else {
        const column = this.column(setKey);
        const other = table.columns.find((existing) => existing.name.toLowerCase() === column.column.name.toLowerCase());
        if (other) {
          const why = other.name === column.column.name ? 'is declared twice' : `differs from column "${other.name}" only in case, which the storage engine cannot tell apart`;
          this.fail(`Column "${column.column.name}" ${why}`, column.token);
        }
        table.columns.push(column.column);
        columnTokens.set(column.column.name, column.token);
      }
    } while (this.acceptSymbol(','));
    this.expectSymbol(')');
    for (const key of table.primaryKey) {
      const column = table.columns.find((candidate) => candidate.name === key);
      if (!column) this.fail(`Primary key column "${key}" is not a column of table "${name}"`, keyToken);
      column.nullable = false;
    }
    const unknown = foreignKeys.find((key) => !table.columns.some((column) => column.name === key.name));
    if (unknown) this.fail(`Foreign key column "${unknown.name}" is not a column of table "${name}"`, unknown.token);
    if (this.acceptWord('WITH')) table.properties = this.properties();
    this.expectEnd();
    return table;
  }

  private column(setKey: (names: Array<{ name: string; token: Token }>, at: Token) => void): { column: Column; token: Token } {
    const { name, token } = this.name('column');
    const typeToken = this.peek() ?? this.fail('Expected a type');
    let read;
    try {
      read = readSqlType(this.program, typeToken.start);
    } catch (error) {
      if (error instanceof TypeNameError) throw new ProgramError(error.message, typeToken.start, typeToken.end - typeToken.start);
      throw error;
    }
    while ((this.peek()?.start ?? Number.POSITIVE_INFINITY) < read.end) this.position += 1;
    const column: Column = { name, type: read.field.type, nullable: read.field.nullable };
    // A quoted name matches JSON keys exactly; unquoted ones match regardless of case.
    if (token.kind === 'quoted') column.jsonPath = `$.['${name.replace(/[\\']/g, '\\$&')}']`;
    for (;;) {
      const clause = this.peek();
      if (this.acceptWord('PRIMARY', 'KEY')) setKey([{ name, token }], clause!);
      else if (this.acceptWord('NOT', 'NULL')) column.nullable = false;
      else if (this.acceptWord('NULL')) column.nullable = true;
      else if (this.acceptWord('DEFAULT')) column.defaultExpression = this.clauseExpression('DEFAULT');
      // Lateness and watermarks bound what Feldera's engine keeps; views here are evaluated over every row, late or not.
      else if (this.acceptWord('LATENESS') || this.acceptWord('WATERMARK')) this.clauseExpression(clause!.text.toUpperCase());
      // `FOREIGN KEY REFERENCES table (column)`: declared, and not enforced, as in Feldera.
      else if (this.acceptWord('FOREIGN', 'KEY')) {
        this.expectWord('REFERENCES');
        this.name('table');
        if (this.nameList('column').length !== 1) this.fail('A column\'s foreign key references one column', clause);
      }
      // A hint to Feldera's compiler to intern the strings; nothing to do here.
      else if (this.acceptWord('INTERNED')) continue;
      else if (UNSUPPORTED_COLUMN_CLAUSES.some((word) => this.isWord(clause, word))) this.fail(`${clause!.text.toUpperCase()} is not supported`, clause);
      else break;
    }
    return { column, token };
  }

  /**
   * The text of a column clause's expression: up to the next clause, or the `,` or `)` ending the
   * column (not one inside its parentheses or brackets: `DEFAULT ARRAY[1, 2]`).
   */
  private clauseExpression(clause: string): string {
    const first = this.position;
    let depth = 0;
    for (let token = this.peek(); token; token = this.peek()) {
      if (token.kind === 'symbol' && (token.text === '(' || token.text === '[')) depth += 1;
      else if (token.kind === 'symbol' && (token.text === ')' || token.text === ']')) {
        if (depth === 0) break;
        depth -= 1;
      } else if (depth === 0 && ((token.kind === 'symbol' && token.text === ',') || (this.position > first && COLUMN_CLAUSES.some((word) => this.isWord(token, word))))) break;
      this.position += 1;
    }
    if (this.position === first) this.fail(`${clause} needs an expression`);
    return this.program.slice(this.tokens[first]!.start, this.tokens[this.position - 1]!.end);
  }

  private properties(): Record<string, string> {
    const properties: Record<string, string> = {};
    this.expectSymbol('(');
    do {
      const key = this.peek();
      if (key?.kind !== 'string') this.fail("Expected a property name in quotes ('name')");
      this.position += 1;
      this.expectSymbol('=');
      const value = this.peek();
      if (value?.kind !== 'string') this.fail("Expected a property value in quotes ('value')");
      this.position += 1;
      properties[key.text] = value.text;
    } while (this.acceptSymbol(','));
    this.expectSymbol(')');
    return properties;
  }

  /** `CREATE [MATERIALIZED | LOCAL] VIEW name [(column, …)] AS <query>`, over the `relations` declared before it. */
  view(relations: ReadonlySet<string>): ProgramView {
    const offset = this.tokens[0]!.start;
    const kind: ViewKind = this.acceptWord('MATERIALIZED') ? 'materialized' : this.acceptWord('LOCAL') ? 'local' : 'view';
    if (!this.acceptWord('VIEW')) {
      const next = this.peek();
      if (next?.kind === 'word' && ['FUNCTION', 'TYPE', 'INDEX', 'AGGREGATE'].includes(next.text.toUpperCase())) this.fail(`CREATE ${next.text.toUpperCase()} is not supported`);
      this.fail(kind === 'view' ? 'Expected TABLE or VIEW' : 'Expected VIEW');
    }
    const { name } = this.name('view');
    const listed = this.peek()?.text === '(' ? this.nameList('column') : undefined;
    // `WITH ('emit_final' = 'c', 'connectors' = '…')`: a view here is its query over every row, read
    // or followed as it is; the options are accepted, as a table's are.
    if (this.acceptWord('WITH')) this.properties();
    this.expectWord('AS');
    if (!this.peek()) this.fail('Expected the view\'s query');
    const query = readingProgram(() => translateViewQuery(this.program, this.tokens.slice(this.position), relations));
    // A column list names the query's columns in order: their own names (EXPR$n too) give way.
    if (listed !== undefined) return { name, kind, sql: query.sql, programOffset: query.programOffset, columns: listed.map((column) => column.name), offset };
    return { name, kind, sql: query.sql, programOffset: query.programOffset, ...(query.nameAfterColumns && { nameAfterColumns: query.nameAfterColumns }), offset };
  }
}
