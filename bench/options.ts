/** The flags of `npm run bench -- …`. */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  smoke: boolean;
  rounds: number;
  /** Seconds of measured load per row (wrk takes whole seconds). */
  seconds: number;
  /** Seconds of unmeasured load before each row; 0 skips it. */
  warmupSeconds: number;
  /**
   * Seconds of unmeasured keep-alive load once per product start, before its
   * first row: smoke mode has no per-row warm-up, and a cold Node proxy pinned
   * to a busy core can complete nothing in its first second.
   */
  startWarmupSeconds: number;
  /** Product names to run (nginx is always added: every ratio needs it). */
  only: string[] | null;
  scenarios: string[] | null;
  /** Where the results go; null: bench/results (full runs) or bench/results/tmp (smoke). */
  out: string | null;
  install: boolean;
  /**
   * A checkout whose dist/ is run as balancebeam instead of this one's: the
   * same harness measures a change's before and after. Not recorded in BENCHMARKS.md.
   */
  balancebeam: string | null;
}

export const USAGE = `usage: npm run bench -- [--smoke] [--rounds N] [--seconds S] [--warmup S]
                        [--only product,product] [--scenarios name,name] [--out DIR] [--no-install]
                        [--balancebeam DIR (a built checkout to measure instead of this one)]`;

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      smoke: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      only: { type: 'string' },
      scenarios: { type: 'string' },
      out: { type: 'string' },
      balancebeam: { type: 'string' },
      'no-install': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const smoke = values.smoke;
  const count = (text: string | undefined, fallback: number, minimum: number): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < minimum) throw new Error(`expected an integer ≥ ${minimum}, got ${text}\n${USAGE}`);
    return value;
  };
  const list = (text: string | undefined): string[] | null => (text === undefined ? null : text.split(',').filter(Boolean));
  return {
    smoke,
    rounds: count(values.rounds, smoke ? 1 : 3, 1),
    seconds: count(values.seconds, smoke ? 1 : 3, 1),
    warmupSeconds: count(values.warmup, smoke ? 0 : 1, 0),
    startWarmupSeconds: smoke ? 1 : 0,
    only: list(values.only),
    scenarios: list(values.scenarios),
    out: values.out ?? null,
    install: !values['no-install'],
    balancebeam: values.balancebeam ?? null,
  };
}
