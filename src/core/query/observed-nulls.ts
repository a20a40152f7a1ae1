import type { DataType, FieldType } from '../types/data-type.ts';
import { SqlMap, type SqlValue } from './sql-values.ts';

/**
 * DuckDB's result types do not say whether a value may be NULL, at the top or inside a container:
 * every list element, map value and struct field of a result type is nullable. A printer that
 * trusted them would name a column declared `Array(String)` `Array(Nullable(String))`. So the
 * nullability a result reports is what its values show: a level is nullable only when a NULL was
 * seen there, which gives a declared column's type back as declared when its values are there, and
 * for a computed expression what ClickHouse would name it (`[1, NULL]` → `Array(Nullable(Int32))`).
 */
export class ObservedNulls {
  private sawNull = false;
  private readonly children = new Map<string, ObservedNulls>();

  constructor(private readonly type: DataType) {}

  /** Notes one value of this type. */
  observe(value: SqlValue): void {
    if (value === null) {
      this.sawNull = true;
      return;
    }
    const { type } = this;
    if (type.kind === 'list' && Array.isArray(value)) {
      const element = this.child('', type.element);
      for (const item of value) element.observe(item);
    } else if (type.kind === 'map' && value instanceof SqlMap) {
      const mapValue = this.child('', type.value);
      for (const [, item] of value.entries) mapValue.observe(item);
    } else if (type.kind === 'struct' && isRecord(value)) {
      for (const field of type.fields) this.child(field.name, field.type).observe(value[field.name] ?? null);
    }
  }

  /** The type with each level nullable only where a NULL was seen. */
  field(): FieldType {
    return { type: this.narrowed(), nullable: this.sawNull };
  }

  private narrowed(): DataType {
    const { type } = this;
    const seen = (name: string): FieldType | undefined => this.children.get(name)?.field();
    switch (type.kind) {
      case 'list': {
        const element = seen('');
        return element ? { ...type, element: element.type, elementNullable: element.nullable } : { ...type, elementNullable: false };
      }
      case 'map': {
        const value = seen('');
        return value ? { ...type, value: value.type, valueNullable: value.nullable } : { ...type, valueNullable: false };
      }
      case 'struct':
        return { ...type, fields: type.fields.map((field) => ({ ...field, ...(seen(field.name) ?? { nullable: false }) })) };
      default:
        return type;
    }
  }

  private child(name: string, type: DataType): ObservedNulls {
    let child = this.children.get(name);
    if (!child) {
      child = new ObservedNulls(type);
      this.children.set(name, child);
    }
    return child;
  }
}

function isRecord(value: SqlValue): value is { [field: string]: SqlValue } {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}
