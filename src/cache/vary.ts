/**
 * Vary (RFC 9111 §4.1): a stored response is reused only for a request whose
 * listed header fields match the ones it was stored for. The secondary key
 * is those fields' values, normalised so that equivalent requests share a
 * variant: several field lines joined with ", ", whitespace around commas
 * and at the ends removed, runs of spaces collapsed. A field that is absent
 * differs from one that is present but empty. `Vary: *` never matches (such
 * responses are not stored).
 */
import type { IncomingHttpHeaders } from 'node:http';

/** The lower-cased field names a Vary value lists ([] for none); null for `*`. */
export function varyFieldNames(vary: string | undefined): string[] | null {
  if (vary === undefined) return [];
  const names: string[] = [];
  for (const part of vary.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '*') return null;
    if (name !== '' && !names.includes(name)) names.push(name);
  }
  return names.sort();
}

function normalise(value: string | string[] | undefined): string {
  if (value === undefined) return '\u0000absent';
  const text = Array.isArray(value) ? value.join(', ') : value;
  return text.trim().replace(/[ \t]*,[ \t]*/g, ',').replace(/[ \t]+/g, ' ');
}

/** The secondary key of a request for a response that varies on `names` ('' when it varies on nothing). */
export function secondaryKey(names: readonly string[], headers: IncomingHttpHeaders): string {
  if (names.length === 0) return '';
  let key = '';
  for (const name of names) key += `${name}:${normalise(headers[name])}\n`;
  return key;
}
