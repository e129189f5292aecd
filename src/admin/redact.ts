/**
 * The effective configuration as the API shows it: secrets replaced. A key
 * whose name says secret (token, password, secret, credential) loses its
 * value; a URL's password (`redis://user:pw@host`) is blanked. Other
 * branches' secrets (a Redis URL, a WAF key) are caught by the same rules.
 */
export const REDACTED = '[redacted]';

const SECRET_KEY = /token|password|passwd|secret|credential|api[-_]?key/i;

export function redactSecrets(value: unknown, key = ''): unknown {
  if (value === null || value === undefined) return value;
  if (SECRET_KEY.test(key) && typeof value !== 'object') return REDACTED;
  if (typeof value === 'string') return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*):[^@/\s]*@/i, `$1:${REDACTED}@`);
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item));
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([name, inner]) => [name, redactSecrets(inner, name)]));
  }
  return value;
}
