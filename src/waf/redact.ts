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
  return printable(matched, SNIPPET_LENGTH);
}

/** A part's name as a log line shows it (`args:NAME`): a name is the client's text too. */
export function partLabel(kind: string, name: string | null): string {
  return name === null ? kind : `${kind}:${printable(name, 40)}`;
}

/** At most `length` characters (cut before escaping), control characters as `\xNN`. */
function printable(text: string, length: number): string {
  const cut = text.length > length ? `${text.slice(0, length)}…` : text;
  // eslint-disable-next-line no-control-regex
  return cut.replace(/[\x00-\x1f\x7f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
