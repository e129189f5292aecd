/**
 * One byte range of a stored full response (RFC 9110 §14): `bytes=a-b`,
 * `bytes=a-` and `bytes=-n`. Several ranges, or a unit other than bytes, are
 * not answered from the store (the request is served the full 200, which
 * RFC 9110 §14.2 allows); a range past the end is 416.
 */

export type RangeAnswer =
  | { readonly kind: 'full' }
  | { readonly kind: 'unsatisfiable' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number };

const FULL: RangeAnswer = { kind: 'full' };
const UNSATISFIABLE: RangeAnswer = { kind: 'unsatisfiable' };

export function singleRange(range: string, length: number): RangeAnswer {
  const match = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i.exec(range);
  if (match === null) return FULL;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return FULL;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return UNSATISFIABLE;
    return { kind: 'partial', start: Math.max(0, length - suffix), end: length - 1 };
  }
  const start = Number(first);
  const end = last === '' ? length - 1 : Math.min(Number(last), length - 1);
  if (last !== '' && Number(last) < start) return FULL; // invalid: ignored, per §14.1.1
  if (start >= length) return UNSATISFIABLE;
  return { kind: 'partial', start, end };
}
