import type { DataType } from './data-type.ts';

/** A declared length, for the string and binary kinds that have one (`FixedString(3)`, `VARCHAR(10)`, `BINARY(16)`). */
export function declaredLength(type: DataType): number | undefined {
  return (type.kind === 'string' || type.kind === 'binary') && type.length !== undefined ? type.length : undefined;
}

/**
 * What a declared length counts: bytes for binary, and for fixed-length strings when
 * `fixedInBytes` (ClickHouse's FixedString(N)); characters otherwise (SQL's CHAR(n), VARCHAR(n)).
 */
export function lengthUnit(type: DataType, fixedInBytes: boolean): 'bytes' | 'characters' {
  return type.kind === 'binary' || (type.kind === 'string' && type.fixed === true && fixedInBytes) ? 'bytes' : 'characters';
}

/** SQL for the size of a string or binary value, in the unit its declared length counts. */
export function sizeSql(value: string, type: DataType, fixedInBytes: boolean): string {
  if (type.kind === 'binary') return `octet_length(${value})`;
  return lengthUnit(type, fixedInBytes) === 'bytes' ? `strlen(${value})` : `length(${value})`;
}
