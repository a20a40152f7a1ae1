export type { DataType, DataTypeKind, DataTypeOf, FieldType, KindTable, StructField, TimeUnit } from './data-type.ts';
export { applyKindTable, getTimeUnitForDigits, getTypeNesting, getTypeNestingProblem, MAX_TYPE_NESTING, TIME_UNIT_DIGITS } from './data-type.ts';
export { TypeNameError } from './type-name-error.ts';
export { parseClickHouseType, printClickHouseType, readClickHouseType } from './clickhouse-types.ts';
export { parseSqlType, printSqlType, readSqlType } from './sql-types.ts';
export { parseArrowType, printArrowType } from './arrow-types.ts';
export {
  fromDuckDBTypeName,
  getStorableIntegerRange,
  toDuckDBType,
  WIDE_INTEGER_STORAGE_NOTE,
} from './duckdb-types.ts';
