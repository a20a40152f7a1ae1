import { quoteLiteral } from '../../storage/duckdb/sql.ts';
import type { DataType } from './data-type.ts';

/**
 * The SQL for a type's zero value: what ClickHouse gives a row for a column it has no value for
 * (0, '', false, the epoch, an empty list or map, a tuple of zeros). Cast it to the column's type.
 */
export function zeroValueSql(type: DataType): string {
  switch (type.kind) {
    case 'boolean':
      return 'false';
    case 'int':
    case 'float':
    case 'decimal':
      return '0';
    case 'string':
      // A FixedString(N)'s zero is N NUL bytes, as a value given to it is padded.
      return type.fixed && type.length !== undefined ? `repeat(chr(0), ${type.length})` : "''";
    case 'binary':
      return "''::BLOB";
    case 'uuid':
      return "'00000000-0000-0000-0000-000000000000'";
    case 'date':
      return "DATE '1970-01-01'";
    case 'time':
      return "TIME '00:00:00'";
    case 'timestamp':
      return "TIMESTAMP '1970-01-01 00:00:00'";
    case 'list':
      return type.size === undefined ? '[]' : `[${Array.from({ length: type.size }, () => zeroValueSql(type.element)).join(', ')}]`;
    case 'map':
      return 'MAP {}';
    case 'struct':
      return `{${type.fields.map((field) => `${quoteLiteral(field.name)}: ${field.nullable ? 'NULL' : zeroValueSql(field.type)}`).join(', ')}}`;
    case 'json':
      return "'{}'";
    case 'null':
      return 'NULL';
  }
}
