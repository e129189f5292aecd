/**
 * The hash `consistent-hash` puts keys and upstream ids through. It must give
 * the same number in every worker process and every run, so that a key lands
 * on the same upstream whichever worker its connection reached: FNV-1a 64
 * over the text's UTF-8, no seed, no randomness. FNV-1a's last step only
 * multiplies, so keys differing in their last byte (`user-1`, `user-2`) would
 * land at evenly spaced slots; the 64 bits are folded to 32 and finished with
 * murmur3's fmix32, which makes every input bit move every output bit.
 *
 * No allocation: the UTF-8 bytes are produced on the fly from the UTF-16
 * units, and the 64-bit state is held in four 16-bit limbs (exact in doubles).
 */

/** FNV-1a 64's prime is 2^40 + 0x1b3: a multiply is `h × 0x1b3 + (h << 40)`. */
const PRIME_LOW = 0x1b3;

/** The 64-bit state as four 16-bit limbs, low first; module-level so `hashKey` allocates nothing. */
let h0 = 0;
let h1 = 0;
let h2 = 0;
let h3 = 0;

function mixByte(byte: number): void {
  h0 ^= byte;
  const t0 = h0 * PRIME_LOW;
  const t1 = h1 * PRIME_LOW + (t0 >>> 16);
  const t2 = h2 * PRIME_LOW + (t1 >>> 16) + (h0 << 8);
  const t3 = h3 * PRIME_LOW + (t2 >>> 16) + (h1 << 8);
  h0 = t0 & 0xffff;
  h1 = t1 & 0xffff;
  h2 = t2 & 0xffff;
  h3 = t3 & 0xffff;
}

/** The code point's UTF-8 bytes, as `TextEncoder` writes them (a lone surrogate is U+FFFD). */
function mixCodePoint(code: number): void {
  if (code < 0x80) {
    mixByte(code);
  } else if (code < 0x800) {
    mixByte(0xc0 | (code >> 6));
    mixByte(0x80 | (code & 0x3f));
  } else if (code < 0x10000) {
    mixByte(0xe0 | (code >> 12));
    mixByte(0x80 | ((code >> 6) & 0x3f));
    mixByte(0x80 | (code & 0x3f));
  } else {
    mixByte(0xf0 | (code >> 18));
    mixByte(0x80 | ((code >> 12) & 0x3f));
    mixByte(0x80 | ((code >> 6) & 0x3f));
    mixByte(0x80 | (code & 0x3f));
  }
}

function fnv1a64(text: string): void {
  // The offset basis, 0xcbf29ce484222325.
  h0 = 0x2325;
  h1 = 0x8422;
  h2 = 0x9ce4;
  h3 = 0xcbf2;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) {
      mixCodePoint(unit);
    } else if (unit <= 0xdbff && i + 1 < length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      mixCodePoint(0x10000 + ((unit - 0xd800) << 10) + (text.charCodeAt(i + 1) - 0xdc00));
      i++;
    } else {
      mixCodePoint(0xfffd);
    }
  }
}

/** FNV-1a 64 of the text's UTF-8, as 16 hex digits (for tests against published vectors). */
export function fnv1a64Hex(text: string): string {
  fnv1a64(text);
  return [h3, h2, h1, h0].map((limb) => limb.toString(16).padStart(4, '0')).join('');
}

/** murmur3's 32-bit finaliser. */
function fmix32(value: number): number {
  let x = value;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A 32-bit hash of the text, identical in every process and run. */
export function hashKey(text: string): number {
  fnv1a64(text);
  return fmix32((((h3 << 16) | h2) ^ ((h1 << 16) | h0)) >>> 0);
}
