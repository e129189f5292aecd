/**
 * Processes a bench run left behind: their environment carries the run's
 * marker (Node children and balancebeam inherit it), or their command line
 * names the run's scratch directory (nginx and HAProxy, whose configs live
 * there). "pid: command line" each, for a readable failure.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { RUN_MARKER } from '../../bench/processes.js';

export function processesOfRun(scratch: string): string[] {
  const marker = `${RUN_MARKER}=${scratch}\0`;
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (commandLine.includes(scratch) || readFileSync(`/proc/${entry}/environ`, 'utf8').includes(marker)) {
        found.push(`${entry}: ${commandLine}`);
      }
    } catch {
      // exited while we looked, or not ours to read
    }
  }
  return found;
}
