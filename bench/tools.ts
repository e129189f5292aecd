/**
 * The non-Node tools the benchmark can drive (nginx, HAProxy, wrk), found on
 * PATH or in /usr/sbin. A fresh machine with only Node.js has none of them:
 * the run then measures what it can and says what it skipped.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export type Tool = 'nginx' | 'haproxy' | 'wrk' | 'redis-server' | 'ss';

/** The tool's path, or null when it is not installed. nginx and haproxy are in /usr/sbin, which is not on every PATH. */
export function locateTool(name: Tool): string | null {
  for (const directory of (process.env['PATH'] ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const candidate = join(directory, name);
    if (directory !== '' && isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function requireTool(name: Tool): string {
  const path = locateTool(name);
  if (path === null) throw new Error(`${name} is not installed (bench/install.sh installs it)`);
  return path;
}
