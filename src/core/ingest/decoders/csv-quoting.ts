const SPACE = 0x20;
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Whether each byte of CSV text stands outside quotes, as bytes arrive, told apart as DuckDB's CSV
 * reader tells them: a quote character opens a quoted field only where a field starts (after
 * spaces at most), and closes it (a doubled one inside it closes and opens again); a quote inside
 * a field that did not start with one is text (`a"b`). Inside quotes an escape character other
 * than the quote escapes the byte after it. After a quoted field's closing quote, another quote
 * opens again, as DuckDB's lenient reader takes it (`"ab"cd"…`). A line feed or a carriage return
 * that `outside` says is outside quotes ends or breaks a record.
 */
export class CsvQuoting {
  private quoted = false;
  private escaping = false;
  /** The field so far has been quoted: a quote after it opens again. */
  private fieldQuoted = false;
  /** The field so far is unquoted text: a quote in it is text. */
  private fieldText = false;

  constructor(
    private readonly quote: number,
    private readonly escape: number,
    private readonly delimiter: number,
  ) {}

  /** Whether the text so far ends inside a quoted field. */
  get inQuotes(): boolean {
    return this.quoted;
  }

  /** Takes the next byte: whether it stands outside quotes (a quote or escape character that quotes never does). */
  outside(byte: number): boolean {
    if (this.escaping) {
      this.escaping = false;
      return false;
    }
    if (this.quoted) {
      if (byte === this.escape && this.escape !== this.quote) this.escaping = true;
      else if (byte === this.quote) this.quoted = false;
      return false;
    }
    if (byte === this.delimiter || byte === LINE_FEED || byte === CARRIAGE_RETURN) {
      this.fieldQuoted = false;
      this.fieldText = false;
      return true;
    }
    if (byte === this.quote && !this.fieldText) {
      this.quoted = true;
      this.fieldQuoted = true;
      return false;
    }
    if (byte !== SPACE && !this.fieldQuoted) this.fieldText = true;
    return true;
  }
}
