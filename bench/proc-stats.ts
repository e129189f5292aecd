/**
 * What a product's processes cost, read from /proc: CPU time (utime + stime)
 * summed over a process and all its descendants, and their resident memory.
 * Descendants are found afresh on each reading, via the ppid field of every
 * /proc/<pid>/stat, so cluster workers and nginx's worker are included.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone between listing and reading
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { pid, ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

/** `root` and every process descended from it. */
export function processTree(root: number): ProcStat[] {
  const all: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat !== undefined) all.push(stat);
  }
  const inTree = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const stat of all) {
      if (!inTree.has(stat.pid) && inTree.has(stat.ppid)) {
        inTree.add(stat.pid);
        grew = true;
      }
    }
  }
  return all.filter((stat) => inTree.has(stat.pid));
}

/** CPU seconds (user + system) used so far by `root` and its descendants. */
export function treeCpuSeconds(root: number): number {
  return processTree(root).reduce((sum, stat) => sum + stat.cpuTicks, 0) / CLOCK_TICKS_PER_S;
}

function residentBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

/**
 * Samples the summed RSS of the tree every `intervalMs` until stopped, and
 * returns the peak. (VmHWM would be each process's peak since it started, over
 * every scenario of the round; summing per-process peaks would also overstate.)
 */
export function samplePeakRss(root: number, intervalMs = 100): { stop(): number } {
  let peak = 0;
  const sample = (): void => {
    const total = processTree(root).reduce((sum, stat) => sum + residentBytes(stat.pid), 0);
    if (total > peak) peak = total;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop(): number {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
