/**
 * HTTP dates (RFC 9110 §5.6.7): IMF-fixdate, and the obsolete RFC 850 and
 * asctime forms a recipient must still accept. Anything else is invalid (NaN):
 * `Date.parse` would accept "0", "2024" or "tomorrow 10am", and an invalid
 * Expires must mean "already expired" (RFC 9111 §5.3), not some date.
 */

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11,
};

// Case-insensitive: HTTP-date is case-sensitive (RFC 9110 §5.6.7), but origins that send `THU` or `gmt`
// mean the date all the same, and reading it as invalid would make the response stale at once.
const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/i;
const RFC_850 = /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/i;
const ASCTIME = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i;

function utc(year: number, monthName: string, day: number, hour: number, minute: number, second: number): number {
  const month = MONTHS[monthName.charAt(0).toUpperCase() + monthName.slice(1).toLowerCase()];
  if (month === undefined || hour > 23 || minute > 59 || second > 60) return Number.NaN;
  const time = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls 31 Feb over into March: such a date is invalid, not another day.
  if (new Date(time).getUTCDate() !== day) return Number.NaN;
  return time;
}

/** Milliseconds since the epoch, or NaN when the text is not an HTTP date. */
export function parseHttpDate(text: string | undefined, now = Date.now()): number {
  if (text === undefined) return Number.NaN;
  const value = text.trim();
  let match = IMF_FIXDATE.exec(value);
  if (match !== null) return utc(Number(match[3]), match[2] as string, Number(match[1]), Number(match[4]), Number(match[5]), Number(match[6]));
  match = RFC_850.exec(value);
  if (match !== null) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past century.
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(match[3]);
    if (year > thisYear + 50) year -= 100;
    return utc(year, match[2] as string, Number(match[1]), Number(match[4]), Number(match[5]), Number(match[6]));
  }
  match = ASCTIME.exec(value);
  if (match !== null) return utc(Number(match[6]), match[1] as string, Number((match[2] as string).trim()), Number(match[3]), Number(match[4]), Number(match[5]));
  return Number.NaN;
}

/** An IMF-fixdate, as Date and Last-Modified are sent. */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
