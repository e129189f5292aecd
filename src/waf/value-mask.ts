/**
 * A value's character mask: which ASCII characters a rule may see in it after
 * the rule's transformations, so a rule whose required characters
 * (required-chars.ts) are all absent is skipped.
 *
 * Why the mask of the value is enough: on an ASCII value without `%`, `+`,
 * `&` or `\`, every transformation but `base64Decode` only drops characters,
 * changes the case of letters, or adds spaces (comment and whitespace
 * compression, `$IFS`) and slashes (path normalisation); the decoders have
 * nothing to decode. So the characters after any such chain are among the
 * value's own, case-folded, plus space and `/` (test/unit/waf-skip.test.ts
 * checks this of every transformation on random values). After `fullDecode`
 * the same holds of the decoded value for the non-decoding transformations,
 * which is how an encoded benign value (`a+b`, `caf%C3%A9`... the latter not:
 * it is not ASCII) is still judged by its decoded characters. A value with a
 * character above 127 gets no mask: NFKC and case mappings turn some of those
 * into ASCII, so it is offered to every rule.
 */
import { LETTER_BITS } from './required-chars.js';
import type { TransformName } from './transforms.js';

/** Transformations that, on ASCII text, only drop characters, fold case or add spaces and slashes. */
export const NON_DECODING: ReadonlySet<TransformName> = new Set(['nfkc', 'lowercase', 'removeNulls', 'compressWhitespace', 'sqlCommentCompress', 'shellNormalize', 'normalizePath']);

/** Space (word 1, bit 0) and `/` (word 1, bit 15): transformations may create both. */
const ADDED_WORD1 = (1 << 0) | (1 << 15);

/**
 * Fills `out` (4 words at `offset`) with the value's mask; false when the value gets none (it holds a
 * character above 127, or — with `decoders` — one of `%+&\`, which a decoder could turn into anything).
 */
export function fillMask(text: string, decoders: boolean, out: Int32Array, offset: number): boolean {
  out[offset] = 0;
  out[offset + 1] = ADDED_WORD1;
  out[offset + 2] = 0;
  out[offset + 3] = 0;
  const stops = decoders ? DECODER_START : NON_ASCII;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || stops[code] === 1) return false;
    const word = offset + (code >>> 5);
    out[word] = (out[word] as number) | (1 << (code & 31));
  }
  const upper = out[offset + 2] as number;
  const lower = out[offset + 3] as number;
  out[offset + 2] = upper | (lower & LETTER_BITS);
  out[offset + 3] = lower | (upper & LETTER_BITS);
  return true;
}

/** `%`, `&`, `+`, `\`: what the URL, entity and escape decoders start from. */
const DECODER_START = new Uint8Array(128);
for (const ch of '%&+\\') DECODER_START[ch.charCodeAt(0)] = 1;
const NON_ASCII = new Uint8Array(128);

/** Whether some clause (4 words each, in `clauses`) has no character in the mask at `offset`. */
export function someClauseUnmet(clauses: Int32Array, mask: Int32Array, offset: number): boolean {
  const m0 = mask[offset] as number;
  const m1 = mask[offset + 1] as number;
  const m2 = mask[offset + 2] as number;
  const m3 = mask[offset + 3] as number;
  for (let i = 0; i < clauses.length; i += 4) {
    if ((((clauses[i] as number) & m0) | ((clauses[i + 1] as number) & m1) | ((clauses[i + 2] as number) & m2) | ((clauses[i + 3] as number) & m3)) === 0) return true;
  }
  return false;
}
