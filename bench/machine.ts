/** What the numbers were measured on: the machine and the version of everything in the race. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { locateTool, type Tool } from './tools.js';

export interface MachineDescription {
  cpuModel: string;
  cpuCount: number;
  kernel: string;
  versions: Record<string, string>;
}

function commandOutput(command: string, args: string[]): string {
  try {
    // nginx -v and wrk -v write to stderr, and wrk exits 1 after printing its version.
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
  }
}

function bothStreams(command: string, args: string[]): string {
  const result = execFileSync('sh', ['-c', `"$0" "$@" 2>&1 || true`, command, ...args], { encoding: 'utf8' });
  return result.split('\n')[0]?.trim() ?? '';
}

function packageVersion(repoRoot: string, name: string): string {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/** A tool's version line, or "not installed". */
function toolVersion(name: Tool, args: string[], clean: (line: string) => string): string {
  const path = locateTool(name);
  return path === null ? 'not installed' : clean(bothStreams(path, args));
}

export function describeMachine(repoRoot: string): MachineDescription {
  const own = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const commit = commandOutput('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']).trim();
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCount: cpus().length,
    kernel: `Linux ${release()}`,
    versions: {
      balancebeam: `${own.version} (${commit})`,
      node: process.version,
      nginx: toolVersion('nginx', ['-v'], (line) => line.replace('nginx version: nginx/', '')),
      haproxy: toolVersion('haproxy', ['-v'], (line) => line.replace('HAProxy version ', '').replace(/ - https.*$/, '')),
      wrk: toolVersion('wrk', ['-v'], (line) => line.replace(/^wrk /, '').replace(/ Copyright.*$/, '')),
      'http-proxy': packageVersion(repoRoot, 'http-proxy'),
      fastify: packageVersion(repoRoot, 'fastify'),
      '@fastify/reply-from': packageVersion(repoRoot, '@fastify/reply-from'),
      undici: packageVersion(repoRoot, 'undici'),
    },
  };
}
