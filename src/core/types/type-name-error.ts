/** A type name that a dialect does not know, cannot parse, or cannot represent. */
export class TypeNameError extends Error {
  override readonly name = 'TypeNameError';

  constructor(
    /** The whole type text as the caller gave it (or the type being printed). */
    readonly typeName: string,
    message = `Unknown type "${typeName}"`,
  ) {
    super(message);
  }
}
