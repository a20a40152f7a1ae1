import duckdb from '@duckdb/node-bindings';
import { DuckDBTypeId, type DuckDBDataChunk, type DuckDBType } from '@duckdb/node-api';

/**
 * About what one value costs once turned into JavaScript values, before it is: a cell for every
 * value (number, object slot) plus the bytes of every string and blob. Results are read in chunks
 * of up to 2048 rows, and one row can be far larger than its DuckDB form suggests (a list of a
 * hundred million TINYINTs is 100 MB in DuckDB and gigabytes as JS numbers), so the query runner
 * measures rows first and converts them in groups that fit its budget.
 *
 * The sizes are read from the chunk's own vectors (string lengths, list entries), without
 * converting anything; a value past `limit` stops being counted, so measuring a huge value is cheap.
 */
const CELL_BYTES = 16;

/** The approximate JS bytes of each row of `chunk`, each counted up to a little past `limit`. */
export function measureRows(chunk: DuckDBDataChunk, types: readonly DuckDBType[], limit: number): Float64Array {
  const rows = chunk.rowCount;
  const sizes = new Float64Array(rows);
  types.forEach((type, column) => {
    const size = sizeOf(duckdb.data_chunk_get_vector(chunk.chunk, column), type, rows);
    for (let row = 0; row < rows; row += 1) sizes[row]! += typeof size === 'number' ? size : size(row, limit);
  });
  return sizes;
}

/** Whether values of this type can differ in size (so rows are worth measuring). */
export function hasVariableSize(type: DuckDBType): boolean {
  return typeof sizeOfType(type) !== 'number';
}

/** A fixed size for every value, or the size of the value at an index (counted up to about `limit`). */
type Size = number | ((index: number, limit: number) => number);

function sizeOfType(type: DuckDBType): Size | null {
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.BLOB:
    case DuckDBTypeId.BIT:
    case DuckDBTypeId.BIGNUM:
    case DuckDBTypeId.GEOMETRY:
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.MAP:
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.UNION:
      return null;
    default:
      return CELL_BYTES;
  }
}

function sizeOf(vector: duckdb.Vector, type: DuckDBType, count: number): Size {
  const fixed = sizeOfType(type);
  if (fixed !== null) return fixed;
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
      return listSize(vector, count, (child, childCount) => sizeOf(child, type.valueType, childCount));
    case DuckDBTypeId.MAP:
      // A MAP is a list of {key, value} structs.
      return listSize(vector, count, (child, childCount) => structSize(child, [type.keyType, type.valueType], 0, childCount));
    case DuckDBTypeId.ARRAY: {
      const { length } = type;
      const element = sizeOf(duckdb.array_vector_get_child(vector), type.valueType, count * length);
      return typeof element === 'number' ? CELL_BYTES + length * element : (index, limit) => CELL_BYTES + sumOf(element, index * length, length, limit);
    }
    case DuckDBTypeId.STRUCT:
      return structSize(vector, type.entryTypes, 0, count);
    case DuckDBTypeId.UNION:
      // A UNION is a struct of its tag and one entry per member.
      return structSize(vector, type.memberTypes, 1, count);
    default:
      return stringSize(vector, count);
  }
}

/** Variable-size values are string_t: 16 bytes whose first 4 hold the length. */
function stringSize(vector: duckdb.Vector, count: number): Size {
  const data = duckdb.vector_get_data(vector, count * 16);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const valid = validity(vector, count);
  return (index) => CELL_BYTES + (valid(index) ? view.getUint32(index * 16, true) : 0);
}

/** A list's entries are (offset, length) pairs into one child vector holding every list's elements. */
function listSize(vector: duckdb.Vector, count: number, elementSize: (child: duckdb.Vector, childCount: number) => Size): Size {
  const data = duckdb.vector_get_data(vector, count * 16);
  const entries = new BigUint64Array(data.buffer, data.byteOffset, count * 2);
  const valid = validity(vector, count);
  const element = elementSize(duckdb.list_vector_get_child(vector), duckdb.list_vector_get_size(vector));
  return (index, limit) => {
    if (!valid(index)) return CELL_BYTES;
    const offset = Number(entries[index * 2]);
    const length = Number(entries[index * 2 + 1]);
    return CELL_BYTES + (typeof element === 'number' ? length * element : sumOf(element, offset, length, limit));
  };
}

function structSize(vector: duckdb.Vector, entryTypes: readonly DuckDBType[], firstEntry: number, count: number): Size {
  const entries = entryTypes.map((type, index) => sizeOf(duckdb.struct_vector_get_child(vector, firstEntry + index), type, count));
  const fixed = entries.reduce<number>((total, entry) => total + (typeof entry === 'number' ? entry : 0), CELL_BYTES);
  const varying = entries.filter((entry): entry is Exclude<Size, number> => typeof entry !== 'number');
  if (varying.length === 0) return fixed;
  return (index, limit) => varying.reduce((total, entry) => total + entry(index, limit), fixed);
}

function sumOf(size: Exclude<Size, number>, offset: number, length: number, limit: number): number {
  let total = 0;
  for (let index = offset; index < offset + length && total <= limit; index += 1) total += size(index, limit - total);
  return total;
}

function validity(vector: duckdb.Vector, count: number): (index: number) => boolean {
  const bits = duckdb.vector_get_validity(vector, Math.ceil(count / 64) * 8);
  if (!bits) return () => true;
  // 64-bit little-endian words: row i is bit i % 8 of byte i / 8.
  return (index) => ((bits[index >> 3]! >> (index & 7)) & 1) === 1;
}
