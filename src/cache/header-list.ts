/**
 * Reading and editing a flat `[name, value, name, value, ...]` header list
 * (how the response pipeline and the store hold headers: order, case and
 * duplicates kept). Names are compared case-insensitively.
 */

/** Every value of `lowerName`, joined with ", " (RFC 9110 §5.3); undefined when absent. */
export function headerValue(headers: readonly string[], lowerName: string): string | undefined {
  let joined: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) {
      const value = headers[i + 1] as string;
      joined = joined === undefined ? value : `${joined}, ${value}`;
    }
  }
  return joined;
}

export function hasHeader(headers: readonly string[], lowerName: string): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return true;
  }
  return false;
}

/** A request header from node:http's parsed object, as one string. */
export function requestHeader(value: string | string[] | undefined): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  return value.join(', ');
}
