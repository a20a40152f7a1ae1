import type { CoercionOptions } from '../../core/ingest/coercion.ts';
import type { RenderOptions } from '../../core/query/render-value.ts';

/**
 * How Feldera's formats read values: JSON gives BINARY and VARBINARY values as arrays of bytes, as
 * its output does; its decoders take only whole numbers for integer columns (`2.5` and `1e2` are
 * errors, not rounded), and do not hold strings to a declared length (a `VARCHAR(4)` column takes
 * a longer string whole). A ROW's fields are matched to an object's keys in any case, as columns
 * are (an exact name first), and a key that names no field is ignored, as Feldera ignores one. A
 * boolean is `true` or `false` only (in CSV too: `t`, `1` or `TRUE` is an error, as Rust parses it).
 * A MAP's entries are kept in key order, as Feldera's sorted maps keep them.
 */
export const FELDERA_COERCION: CoercionOptions = {
  binary: 'bytes', integerFractions: 'refuse', declaredLengths: 'ignore', structMembers: { fieldNames: 'caseInsensitive' }, booleans: 'strict',
  sortedMaps: true,
};

/**
 * How Feldera's JSON writes values: every integer and decimal as a JSON number with all its digits,
 * as Feldera does (its Python SDK reads them with arbitrary precision), not as a string when a
 * double would not hold it.
 */
export const FELDERA_JSON: RenderOptions = { wideNumbers: 'number' };
