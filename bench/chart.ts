/**
 * An SVG chart drawn by hand from the results CSV: for each scenario, one bar
 * per product, in two panels side by side — requests/s relative to nginx
 * (longer is better, the dashed line is nginx) and CPU µs per request
 * (shorter is better). No dependencies: it is rectangles and text.
 *
 *   node dist/bench/chart.js results.csv chart.svg
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromCsv, type SummaryRow } from './report.js';

const COLOURS: Record<string, string> = {
  direct: '#9e9e9e',
  nginx: '#2e7d32',
  haproxy: '#1565c0',
  'node-http-proxy': '#8e24aa',
  'fastify-reply-from': '#00897b',
  'undici-minimal': '#6d4c41',
  balancebeam: '#e65100',
  'balancebeam-w2': '#ffa726',
  'balancebeam-w2-2cpu': '#ffd180',
  'balancebeam-admin': '#bf360c',
};
const FALLBACK_COLOURS = ['#546e7a', '#c2185b', '#7cb342', '#5c6bc0'];

const BAR = 13;
const BAR_GAP = 2;
const GROUP_GAP = 18;
const LABEL_WIDTH = 130;
const PANEL_WIDTH = 380;
const PANEL_GAP = 90;
const TOP = 96;

/** Text for an SVG element or attribute. */
export const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMaximum(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

interface Panel {
  title: string;
  left: number;
  /** Value → bar length in pixels (0 … PANEL_WIDTH). */
  scale: (value: number) => number;
  ticks: number[];
  value: (row: SummaryRow) => number | null;
  format: (value: number) => string;
  referenceLine?: number;
}

function linearPanelScale(maximum: number): Pick<Panel, 'scale' | 'ticks'> {
  return {
    scale: (value) => (Math.min(value, maximum) / maximum) * PANEL_WIDTH,
    ticks: [0, 1, 2, 3, 4].map((tick) => (maximum * tick) / 4),
  };
}

/** CPU per request spans orders of magnitude (nginx ≈ 20 µs, a stalled row ≈ 40 ms): a log axis keeps every bar readable. */
function logPanelScale(values: readonly number[]): Pick<Panel, 'scale' | 'ticks'> {
  const positive = values.filter((value) => value > 0);
  const low = 10 ** Math.floor(Math.log10(Math.min(...positive, 10)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...positive, low * 10)));
  const span = Math.log10(high / low);
  const ticks: number[] = [];
  for (let tick = low; tick <= high; tick *= 10) ticks.push(tick);
  return {
    scale: (value) => (Math.log10(Math.min(Math.max(value, low), high) / low) / span) * PANEL_WIDTH,
    ticks,
  };
}

export function drawChart(rows: readonly SummaryRow[], title: string): string {
  const scenarios = [...new Set(rows.map((row) => row.scenario))];
  const products = [...new Set(rows.map((row) => row.product))];
  const colour = (product: string): string =>
    COLOURS[product] ?? FALLBACK_COLOURS[products.indexOf(product) % FALLBACK_COLOURS.length] ?? '#000';
  const groupHeight = products.length * (BAR + BAR_GAP) + GROUP_GAP;
  const height = TOP + scenarios.length * groupHeight + 50;
  const width = LABEL_WIDTH + 2 * PANEL_WIDTH + PANEL_GAP + 60;

  const ratioMax = niceMaximum(Math.max(1, ...rows.map((row) => row.requestsVsNginx ?? 0)));
  const cpuValues = rows.map((row) => row.cpuUsPerRequest).filter((value): value is number => value !== null);
  const panels: Panel[] = [
    {
      title: 'requests/s relative to nginx (longer is better)',
      left: LABEL_WIDTH,
      ...linearPanelScale(ratioMax),
      value: (row) => row.requestsVsNginx,
      format: (value) => `${value.toFixed(2)}×`,
      referenceLine: 1,
    },
    {
      title: 'proxy CPU µs per request, log scale (shorter is better)',
      left: LABEL_WIDTH + PANEL_WIDTH + PANEL_GAP,
      ...logPanelScale(cpuValues),
      value: (row) => row.cpuUsPerRequest,
      format: (value) => value.toFixed(0),
    },
  ];

  const svg: string[] = [];
  svg.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  svg.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  svg.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);

  // Legend, in product order, wrapped over two lines if needed.
  let legendX = LABEL_WIDTH;
  let legendY = 40;
  for (const product of products) {
    const itemWidth = 24 + product.length * 6.5;
    if (legendX + itemWidth > width - 20) {
      legendX = LABEL_WIDTH;
      legendY += 16;
    }
    svg.push(`<rect x="${legendX}" y="${legendY - 9}" width="12" height="10" fill="${colour(product)}"/>`);
    svg.push(`<text x="${legendX + 16}" y="${legendY}">${escapeXml(product)}</text>`);
    legendX += itemWidth;
  }

  const plotBottom = TOP + scenarios.length * groupHeight - GROUP_GAP / 2;
  for (const panel of panels) {
    const { scale } = panel;
    svg.push(`<text x="${panel.left + PANEL_WIDTH / 2}" y="${TOP - 14}" text-anchor="middle" font-weight="bold">${escapeXml(panel.title)}</text>`);
    for (const value of panel.ticks) {
      const x = panel.left + scale(value);
      svg.push(`<line x1="${x}" y1="${TOP - 6}" x2="${x}" y2="${plotBottom}" stroke="#e0e0e0"/>`);
      svg.push(`<text x="${x}" y="${plotBottom + 14}" text-anchor="middle" fill="#555">${panel.format(value)}</text>`);
    }
    if (panel.referenceLine !== undefined) {
      const x = panel.left + scale(panel.referenceLine);
      svg.push(`<line x1="${x}" y1="${TOP - 6}" x2="${x}" y2="${plotBottom}" stroke="#2e7d32" stroke-dasharray="4 3"/>`);
    }
    svg.push(`<line x1="${panel.left}" y1="${TOP - 6}" x2="${panel.left}" y2="${plotBottom}" stroke="#333"/>`);
  }

  scenarios.forEach((scenario, group) => {
    const groupTop = TOP + group * groupHeight;
    const groupMiddle = groupTop + (products.length * (BAR + BAR_GAP)) / 2;
    svg.push(`<text x="${LABEL_WIDTH - 8}" y="${groupMiddle + 4}" text-anchor="end" font-weight="bold">${escapeXml(scenario)}</text>`);
    products.forEach((product, index) => {
      const row = rows.find((candidate) => candidate.scenario === scenario && candidate.product === product);
      const y = groupTop + index * (BAR + BAR_GAP);
      for (const panel of panels) {
        const value = row === undefined ? null : panel.value(row);
        if (value === null) {
          svg.push(`<text x="${panel.left + 4}" y="${y + BAR - 3}" fill="#999">n/a</text>`);
          continue;
        }
        const barWidth = Math.max(1, panel.scale(value));
        svg.push(`<rect x="${panel.left}" y="${y}" width="${barWidth.toFixed(1)}" height="${BAR}" fill="${colour(product)}"><title>${escapeXml(`${product}, ${scenario}: ${panel.format(value)}`)}</title></rect>`);
        svg.push(`<text x="${(panel.left + barWidth + 4).toFixed(1)}" y="${y + BAR - 3}" fill="#333">${panel.format(value)}</text>`);
      }
    });
  });
  svg.push('</svg>');
  return `${svg.join('\n')}\n`;
}

export function drawChartFile(csvPath: string, svgPath: string, title: string): void {
  writeFileSync(svgPath, drawChart(fromCsv(readFileSync(csvPath, 'utf8')), title));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [csvPath, svgPath] = process.argv.slice(2);
  if (csvPath === undefined || svgPath === undefined) throw new Error('usage: node dist/bench/chart.js results.csv chart.svg');
  drawChartFile(csvPath, svgPath, 'balancebeam and peers, per scenario');
}
