/**
 * The admin server's guard: `Authorization: Bearer <token>`, compared in
 * constant time. Both sides are hashed first (SHA-256), so
 * `timingSafeEqual` always compares two 32-byte digests: neither the
 * token's length nor how much of a guess matches shows in the time taken.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export class BearerToken {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(token);
  }

  /** Whether an Authorization header carries this token. */
  accepts(authorization: string | undefined): boolean {
    const given = /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1] ?? '';
    // Compared even when the header is missing or malformed: every refusal costs the same.
    const matches = timingSafeEqual(digest(given), this.expected);
    return matches && given !== '';
  }
}
