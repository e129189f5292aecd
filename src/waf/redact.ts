/**
 * What a WAF log line may say of a matched value: at most 80 characters of
 * it, printable, and nothing at all of a part whose name says it holds a
 * secret (a password field, an Authorization header, a session cookie) —
 * the log says which rule matched there and how long the match was.
 */
const SECRET_NAME = /pass|pwd|secret|token|auth|session|sess_?id|api.?key|credential|card|cvv|ssn|jwt|bearer|csrf/i;

export const SNIPPET_LENGTH = 80;

export function redactedSnippet(partName: string, matched: string): string {
  if (SECRET_NAME.test(partName)) return `[redacted, ${matched.length} characters]`;
  // eslint-disable-next-line no-control-regex
  const printable = matched.replace(/[\x00-\x1f\x7f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return printable.length > SNIPPET_LENGTH ? `${printable.slice(0, SNIPPET_LENGTH)}…` : printable;
}
