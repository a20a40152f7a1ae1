import type { DataType } from '../../core/types/data-type.ts';

/**
 * A column's type as Feldera's `program_info` gives it, in Calcite's JSON form: the type's name,
 * with a length as `precision` (-1 for none), a decimal's precision and scale, an array's
 * `component`, a map's `key` and `value`, a row's `fields`. Feldera's Python SDK reads it.
 */
export interface ColumnType {
  type: string;
  nullable: boolean;
  precision?: number;
  scale?: number;
  component?: ColumnType;
  key?: ColumnType;
  value?: ColumnType;
  fields?: Array<{ name: string; case_sensitive: boolean; columntype: ColumnType }>;
}

const INTEGERS: Record<number, [signed: string, unsigned: string]> = {
  8: ['TINYINT', 'UTINYINT'], 16: ['SMALLINT', 'USMALLINT'], 32: ['INTEGER', 'UINT'], 64: ['BIGINT', 'UBIGINT'],
};

export function columnTypeOf(type: DataType, nullable: boolean): ColumnType {
  switch (type.kind) {
    case 'boolean':
      return { type: 'BOOLEAN', nullable };
    case 'int': {
      const names = INTEGERS[type.bits];
      // Calcite has no integer wider than 64 bits; a view's sum of integers (DuckDB's HUGEINT) is
      // given as Feldera's widest exact number, not as a type name with arguments no client reads.
      return names ? { type: names[type.signed ? 0 : 1], nullable } : { type: 'DECIMAL', nullable, precision: 38, scale: 0 };
    }
    case 'float':
      return { type: type.bits === 64 ? 'DOUBLE' : 'REAL', nullable };
    case 'decimal':
      return { type: 'DECIMAL', nullable, precision: type.precision, scale: type.scale };
    case 'string':
      return { type: type.fixed ? 'CHAR' : 'VARCHAR', nullable, precision: type.length ?? -1 };
    case 'binary':
      return { type: type.fixed ? 'BINARY' : 'VARBINARY', nullable, precision: type.length ?? -1 };
    case 'date':
      return { type: 'DATE', nullable };
    case 'time':
      return { type: 'TIME', nullable, precision: 0 };
    case 'timestamp':
      return { type: 'TIMESTAMP', nullable, precision: 0 };
    case 'list':
      return { type: 'ARRAY', nullable, component: columnTypeOf(type.element, type.elementNullable) };
    case 'map':
      return { type: 'MAP', nullable, key: columnTypeOf(type.key, false), value: columnTypeOf(type.value, type.valueNullable) };
    case 'struct':
      return {
        type: 'STRUCT', nullable,
        fields: type.fields.map((field) => ({ name: field.name, case_sensitive: field.name !== field.name.toLowerCase(), columntype: columnTypeOf(field.type, field.nullable) })),
      };
    case 'json':
      return { type: 'VARIANT', nullable };
    case 'uuid':
      return { type: 'UUID', nullable };
    case 'null':
      return { type: 'NULL', nullable: true };
  }
}
