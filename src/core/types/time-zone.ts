/**
 * Whether a type's time zone names one: an IANA name (`Europe/Paris`, `UTC`) or a fixed offset
 * (`+02:00`), the two forms Arrow and ClickHouse types carry. A time zone is only shown back with the
 * type (values are stored as UTC instants), so a misspelt one would otherwise pass unnoticed.
 */
export function isTimeZone(name: string): boolean {
  if (/^[+-]\d{2}:\d{2}$/.test(name)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
