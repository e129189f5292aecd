/** A store URL fit for a log line or `check`'s summary: the password replaced. */
export function redactedUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_whole, auth: string) => `//${auth.includes(':') ? `${auth.slice(0, auth.indexOf(':'))}:***` : '***'}@`);
}
