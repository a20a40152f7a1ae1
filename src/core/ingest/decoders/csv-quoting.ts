/**
 * Whether each byte of CSV text stands outside quotes, as bytes arrive: a quote character opens
 * and closes a quoted field (a doubled one inside it closes and opens again), and inside quotes an
 * escape character other than the quote escapes the byte after it. A line feed or a carriage
 * return that `outside` says is outside quotes ends or breaks a record.
 */
export class CsvQuoting {
  private quoted = false;
  private escaping = false;

  constructor(
    private readonly quote: number,
    private readonly escape: number,
  ) {}

  /** Whether the text so far ends inside a quoted field. */
  get inQuotes(): boolean {
    return this.quoted;
  }

  /** Takes the next byte: whether it stands outside quotes (a quote or escape character itself never does). */
  outside(byte: number): boolean {
    if (this.escaping) {
      this.escaping = false;
      return false;
    }
    if (this.quoted && byte === this.escape && this.escape !== this.quote) {
      this.escaping = true;
      return false;
    }
    if (byte === this.quote) {
      this.quoted = !this.quoted;
      return false;
    }
    return !this.quoted;
  }
}
