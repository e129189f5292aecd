/**
 * From raw measurements to what people read: medians over rounds, ratios to
 * nginx's figure in the same round, then a CSV (for the chart and for anyone's
 * spreadsheet) and a markdown report.
 */
import type { ActorCost } from './actor-cost-runner.js';
import type { MachineDescription } from './machine.js';
import type { Product } from './products.js';
import type { Scenario } from './scenarios.js';

/** One product under one scenario in one round. */
export interface Measurement {
  round: number;
  product: string;
  scenario: string;
  requests: number;
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU time of the proxy's processes per request; null when there is no proxy (direct). */
  cpuUsPerRequest: number | null;
  peakRssMb: number | null;
}

/** The medians over rounds for one product and scenario. */
export interface SummaryRow {
  scenario: string;
  product: string;
  rounds: number;
  requestsPerS: number;
  /** Median over rounds of (this product's req/s ÷ nginx's req/s in that round). */
  requestsVsNginx: number | null;
  p50Ms: number;
  p99Ms: number;
  /** Summed over all rounds: any error is worth seeing. */
  errors: number;
  cpuUsPerRequest: number | null;
  cpuVsNginx: number | null;
  peakRssMb: number | null;
  /** req/s × payload size, for the 64 KiB rows; null otherwise. */
  payloadMiBPerS: number | null;
}

export const REFERENCE_PRODUCT = 'nginx';

/** The median; null for no values. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export const present = (values: ReadonlyArray<number | null>): number[] => values.filter((value): value is number => value !== null);

export function summarize(measurements: readonly Measurement[], scenarios: readonly Scenario[], products: readonly Product[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const scenario of scenarios) {
    const reference = new Map(
      measurements.filter((m) => m.scenario === scenario.name && m.product === REFERENCE_PRODUCT).map((m) => [m.round, m]),
    );
    for (const product of products) {
      const own = measurements.filter((m) => m.scenario === scenario.name && m.product === product.name);
      if (own.length === 0) continue;
      const ratio = (pick: (m: Measurement) => number | null): number | null =>
        median(
          present(
            own.map((m) => {
              const ours = pick(m);
              const theirs = reference.get(m.round);
              const base = theirs === undefined ? null : pick(theirs);
              return ours === null || base === null || base === 0 ? null : ours / base;
            }),
          ),
        );
      const requestsPerS = median(own.map((m) => m.requestsPerS)) ?? 0;
      rows.push({
        scenario: scenario.name,
        product: product.name,
        rounds: own.length,
        requestsPerS,
        requestsVsNginx: ratio((m) => m.requestsPerS),
        p50Ms: median(own.map((m) => m.p50Ms)) ?? 0,
        p99Ms: median(own.map((m) => m.p99Ms)) ?? 0,
        errors: own.reduce((sum, m) => sum + m.errors, 0),
        cpuUsPerRequest: median(present(own.map((m) => m.cpuUsPerRequest))),
        cpuVsNginx: ratio((m) => m.cpuUsPerRequest),
        peakRssMb: median(present(own.map((m) => m.peakRssMb))),
        payloadMiBPerS: scenario.payloadBytes > 0 ? (requestsPerS * scenario.payloadBytes) / 2 ** 20 : null,
      });
    }
  }
  return rows;
}

const CSV_COLUMNS: ReadonlyArray<keyof SummaryRow> = [
  'scenario',
  'product',
  'rounds',
  'requestsPerS',
  'requestsVsNginx',
  'p50Ms',
  'p99Ms',
  'errors',
  'cpuUsPerRequest',
  'cpuVsNginx',
  'peakRssMb',
  'payloadMiBPerS',
];

export function toCsv(rows: readonly SummaryRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of rows) {
    lines.push(
      CSV_COLUMNS.map((column) => {
        const value = row[column];
        if (value === null) return '';
        return typeof value === 'number' ? String(Number(value.toFixed(4))) : value;
      }).join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Reads back what `toCsv` wrote (the chart is drawn from the CSV file). */
export function fromCsv(text: string): SummaryRow[] {
  const [header, ...lines] = text.trim().split('\n');
  const columns = (header ?? '').split(',') as Array<keyof SummaryRow>;
  return lines.map((line) => {
    const cells = line.split(',');
    const row: Record<string, string | number | null> = {};
    columns.forEach((column, index) => {
      const cell = cells[index] ?? '';
      row[column] = column === 'scenario' || column === 'product' ? cell : cell === '' ? null : Number(cell);
    });
    return row as unknown as SummaryRow;
  });
}

const fixed = (value: number | null, digits: number): string => (value === null ? '–' : value.toFixed(digits));

export interface ReportInput {
  rows: readonly SummaryRow[];
  scenarios: readonly Scenario[];
  products: readonly Product[];
  machine: MachineDescription;
  actorCost: readonly ActorCost[];
  settings: {
    rounds: number;
    seconds: number;
    warmupSeconds: number;
    smoke: boolean;
    startedAt: string;
    wallSeconds: number;
    /** The command that produced the report, e.g. `npm run bench -- --rounds 5`. */
    command: string;
  };
  pinning: string;
  /** What drove the load, what the origins were, which products were skipped for a missing tool. */
  harness: string;
  chartFile: string;
  /** balancebeam with the admin server on (no page; page open) beside it off, per scenario (empty when a row did not run). */
  adminOverhead?: readonly AdminOverheadRow[];
  /** bench/admin-cost.ts: CPU ns the admin server's figures add to each request, measured alone. */
  adminFiguresNs?: number | null;
}

export const ADMIN_ON = 'balancebeam-admin';
/** The admin server on with what an open page asks of it (bench/page-watcher.ts). */
export const ADMIN_WATCHED = 'balancebeam-admin-watched';
export const ADMIN_OFF = 'balancebeam';

/** Each "on" row against ADMIN_OFF, with issue 15's target for its CPU ratio. */
const ADMIN_COMPARISONS = [
  { product: ADMIN_ON, title: 'Admin server on, no page open, vs off', what: 'nobody scraping /metrics or watching the page', target: 1.01 },
  {
    product: ADMIN_WATCHED,
    title: 'Admin server on with the page open, vs off',
    what: 'the page\'s calls made without a browser: the SSE feed read, /api/upstreams every 2 s, /api/changes every 3 s, with the token',
    target: 1.03,
  },
] as const;

export interface AdminOverheadRow {
  /** ADMIN_ON or ADMIN_WATCHED. */
  product: string;
  scenario: string;
  rounds: number;
  cpuOffUs: number | null;
  cpuOnUs: number | null;
  /** Median over rounds of (CPU µs/req with the admin server on ÷ off, in the same round). */
  cpuRatio: number | null;
  /** The spread of that ratio over the rounds: on a noisy machine, read the median against it. */
  cpuRatioMin: number | null;
  cpuRatioMax: number | null;
  /** The same for req/s. */
  requestsRatio: number | null;
}

/** The admin server's cost with nobody watching: per round the on/off ratio of the two balancebeam rows, then the median. */
export function adminOverhead(measurements: readonly Measurement[], scenarios: readonly Scenario[]): AdminOverheadRow[] {
  const rows: AdminOverheadRow[] = [];
  for (const { product } of ADMIN_COMPARISONS) for (const scenario of scenarios) {
    const of = (name: string): Map<number, Measurement> =>
      new Map(measurements.filter((m) => m.scenario === scenario.name && m.product === name).map((m) => [m.round, m]));
    const on = of(product);
    const off = of(ADMIN_OFF);
    const rounds = [...on.keys()].filter((round) => off.has(round));
    if (rounds.length === 0) continue;
    const ratio = (pick: (m: Measurement) => number | null): number | null =>
      median(
        present(
          rounds.map((round) => {
            const a = pick(on.get(round) as Measurement);
            const b = pick(off.get(round) as Measurement);
            return a === null || b === null || b === 0 ? null : a / b;
          }),
        ),
      );
    const ratios = present(
      rounds.map((round) => {
        const a = (on.get(round) as Measurement).cpuUsPerRequest;
        const b = (off.get(round) as Measurement).cpuUsPerRequest;
        return a === null || b === null || b === 0 ? null : a / b;
      }),
    );
    rows.push({
      product,
      scenario: scenario.name,
      rounds: rounds.length,
      cpuRatioMin: ratios.length === 0 ? null : Math.min(...ratios),
      cpuRatioMax: ratios.length === 0 ? null : Math.max(...ratios),
      cpuOffUs: median(present([...off.values()].map((m) => m.cpuUsPerRequest))),
      cpuOnUs: median(present([...on.values()].map((m) => m.cpuUsPerRequest))),
      cpuRatio: ratio((m) => m.cpuUsPerRequest),
      requestsRatio: ratio((m) => m.requestsPerS),
    });
  }
  return rows;
}

export function actorCostTable(actorCost: readonly ActorCost[]): string {
  const lines = ['| actor path (no sockets) | µs each | heap bytes each |', '|---|---:|---:|'];
  for (const cost of actorCost) {
    lines.push(`| ${cost.label} | ${cost.microsecondsPerRequest.toFixed(2)} | ${cost.heapBytesPerRequest ?? 'n/a (a GC ran)'} |`);
  }
  return lines.join('\n');
}

export function toMarkdown(input: ReportInput): string {
  const { settings, machine } = input;
  const out: string[] = [];
  out.push(`# balancebeam benchmark results${settings.smoke ? ' (SMOKE run: not meaningful figures)' : ''}`);
  out.push('');
  out.push(
    `Run ${settings.startedAt}, ${settings.rounds} round(s) of ${settings.seconds} s per row after ${settings.warmupSeconds} s of warm-up; ` +
      `products interleaved within each round; medians over rounds; ratios are to nginx in the same round, then the median. ` +
      `The whole run took ${Math.round(settings.wallSeconds)} s.`,
  );
  out.push('');
  out.push(`**Command:** \`${settings.command}\``);
  out.push('');
  out.push(`**Machine:** ${machine.cpuCount} × ${machine.cpuModel}, ${machine.kernel}.`);
  out.push('');
  out.push(`**Versions:** ${Object.entries(machine.versions).map(([name, version]) => `${name} ${version}`).join('; ')}.`);
  out.push('');
  out.push(`**Pinning:** ${input.pinning}`);
  out.push('');
  out.push(`**Load, origins, skipped:** ${input.harness}`);
  out.push('');
  out.push('**CPU µs/req** is the proxy\'s own CPU time (utime + stime from /proc, summed over all its processes) divided by the requests served: the fair figure on a shared machine. **Peak RSS** is the highest summed VmRSS of the proxy\'s processes, sampled every 100 ms during the row.');
  out.push('');
  out.push('**Products:**');
  for (const product of input.products) out.push(`- \`${product.name}\`: ${product.description}`);
  out.push('');
  for (const scenario of input.scenarios) {
    const rows = input.rows.filter((row) => row.scenario === scenario.name);
    if (rows.length === 0) continue;
    const throughput = scenario.payloadBytes > 0;
    out.push(`## ${scenario.name}: ${scenario.description}`);
    out.push('');
    out.push(
      `| product | req/s | × nginx | p50 ms | p99 ms | errors | CPU µs/req | CPU × nginx | peak RSS MB |${throughput ? ' payload MiB/s |' : ''}`,
    );
    out.push(`|---|---:|---:|---:|---:|---:|---:|---:|---:|${throughput ? '---:|' : ''}`);
    for (const row of rows) {
      out.push(
        `| ${row.product} | ${Math.round(row.requestsPerS)} | ${fixed(row.requestsVsNginx, 2)} | ${fixed(row.p50Ms, 2)} | ${fixed(row.p99Ms, 2)} | ${row.errors} | ` +
          `${fixed(row.cpuUsPerRequest, 1)} | ${fixed(row.cpuVsNginx, 2)} | ${fixed(row.peakRssMb, 1)} |${throughput ? ` ${fixed(row.payloadMiBPerS, 1)} |` : ''}`,
      );
    }
    out.push('');
  }
  for (const comparison of ADMIN_COMPARISONS) {
    const rows = (input.adminOverhead ?? []).filter((row) => row.product === comparison.product);
    if (rows.length === 0) continue;
    out.push(`## ${comparison.title}`);
    out.push('');
    out.push(
      `\`${comparison.product}\` beside \`${ADMIN_OFF}\` in the same round (${comparison.what}); ratios per round, then the median, with the lowest and highest round. Target (issue 15): CPU × < ${comparison.target.toFixed(2)}.`,
    );
    out.push('');
    out.push('| scenario | rounds | CPU µs/req off | CPU µs/req on | CPU on ÷ off | lowest – highest round | req/s on ÷ off |');
    out.push('|---|---:|---:|---:|---:|---:|---:|');
    for (const row of rows) {
      out.push(
        `| ${row.scenario} | ${row.rounds} | ${fixed(row.cpuOffUs, 1)} | ${fixed(row.cpuOnUs, 1)} | ${fixed(row.cpuRatio, 3)} | ${fixed(row.cpuRatioMin, 3)} – ${fixed(row.cpuRatioMax, 3)} | ${fixed(row.requestsRatio, 3)} |`,
      );
    }
    out.push('');
    if (comparison.product === ADMIN_ON && input.adminFiguresNs != null) {
      const offUs = rows.find((row) => row.scenario === 'keepalive-50')?.cpuOffUs ?? null;
      const share = offUs === null ? '' : ` (${((input.adminFiguresNs / 1000 / offUs) * 100).toFixed(2)} % of keepalive-50's CPU µs/req off)`;
      out.push(
        `Measured alone (\`bench/admin-cost.ts\`, CPU time): the admin server's per-request figures add ${input.adminFiguresNs.toFixed(1)} ns to each request${share}.`,
      );
      out.push('');
    }
  }
  out.push('## Per-request cost of the actor path');
  out.push('');
  out.push('`bench/actor-cost.ts`: a connection actor driven through request.received → (rate-limit check) → choice → the response relayed and its end booked in the actor’s ledger (no events of their own), byte path stubbed, no sockets (figures per request); and a connection actor started, registered, ended as by a client leaving with nothing in flight (stopped, `clientLeft`) and unregistered as the listener does for each client connection (figures per connection). Pinned to the proxy CPU. Compare with the end-to-end CPU µs/req of `balancebeam` above.');
  out.push('');
  out.push(actorCostTable(input.actorCost));
  out.push('');
  out.push(`![requests/s relative to nginx and CPU µs per request](${input.chartFile})`);
  out.push('');
  return out.join('\n');
}
