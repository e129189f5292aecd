/**
 * An SVG plot of the latency distribution: one panel per scenario × load,
 * one line per product, the fraction of requests (y) answered within a
 * latency (x, log scale, 1 ms … 2 s). Drawn by hand like bench/chart.ts:
 * polylines and text, no dependencies.
 */
import { escapeXml } from '../chart.js';
import type { Cell } from './report.js';

const PANEL_WIDTH = 420;
const PANEL_HEIGHT = 240;
const MARGIN_LEFT = 50;
const MARGIN_TOP = 40;
const PANEL_GAP_X = 60;
const PANEL_GAP_Y = 70;
const LEGEND_WIDTH = 230;
const MIN_MS = 1;
const MAX_MS = 2000;
const COLOURS = ['#e65100', '#ffa726', '#c2185b', '#6a1b9a', '#1e88e5', '#00897b', '#2e7d32', '#7cb342', '#9e9d24', '#1565c0', '#5c6bc0', '#6d4c41', '#546e7a'];

const xOf = (valueMs: number): number =>
  (Math.log10(Math.min(Math.max(valueMs, MIN_MS), MAX_MS) / MIN_MS) / Math.log10(MAX_MS / MIN_MS)) * PANEL_WIDTH;

/** At most ~200 points per line: the quantiles, which is all a CDF at this size shows. */
function cdfPoints(sorted: readonly number[]): Array<[number, number]> {
  const points: Array<[number, number]> = [];
  const step = Math.max(1, Math.floor(sorted.length / 200));
  for (let index = 0; index < sorted.length; index += step) points.push([sorted[index] ?? 0, (index + 1) / sorted.length]);
  const last = sorted[sorted.length - 1];
  if (last !== undefined) points.push([last, 1]);
  return points;
}

export function drawLatencyCdf(cells: readonly Cell[], title: string): string {
  const panels = [...new Set(cells.map((cell) => `${cell.scenario} · ${cell.load} loop`))];
  const products = [...new Set(cells.map((cell) => cell.product))];
  const columns = 2;
  const rows = Math.ceil(panels.length / columns);
  const width = MARGIN_LEFT + columns * (PANEL_WIDTH + PANEL_GAP_X) + LEGEND_WIDTH;
  const height = MARGIN_TOP + rows * (PANEL_HEIGHT + PANEL_GAP_Y) + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${MARGIN_LEFT}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  panels.forEach((panel, panelIndex) => {
    const left = MARGIN_LEFT + (panelIndex % columns) * (PANEL_WIDTH + PANEL_GAP_X);
    const top = MARGIN_TOP + Math.floor(panelIndex / columns) * (PANEL_HEIGHT + PANEL_GAP_Y) + 20;
    out.push(`<text x="${left}" y="${top - 8}" font-weight="bold">${escapeXml(panel)}</text>`);
    out.push(`<rect x="${left}" y="${top}" width="${PANEL_WIDTH}" height="${PANEL_HEIGHT}" fill="none" stroke="#999"/>`);
    for (const tick of [1, 10, 100, 1000]) {
      const x = left + xOf(tick);
      out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + PANEL_HEIGHT}" stroke="#ddd"/>`);
      out.push(`<text x="${x}" y="${top + PANEL_HEIGHT + 14}" text-anchor="middle">${tick} ms</text>`);
    }
    for (const fraction of [0, 0.5, 0.9, 0.99, 1]) {
      const y = top + PANEL_HEIGHT * (1 - fraction);
      out.push(`<line x1="${left}" y1="${y}" x2="${left + PANEL_WIDTH}" y2="${y}" stroke="#eee"/>`);
      out.push(`<text x="${left - 4}" y="${y + 4}" text-anchor="end">${fraction}</text>`);
    }
    for (const cell of cells.filter((candidate) => `${candidate.scenario} · ${candidate.load} loop` === panel)) {
      const colour = COLOURS[products.indexOf(cell.product) % COLOURS.length] ?? '#000';
      const points = cdfPoints(cell.sortedMs)
        .map(([value, fraction]) => `${(left + xOf(value)).toFixed(1)},${(top + PANEL_HEIGHT * (1 - fraction)).toFixed(1)}`)
        .join(' ');
      out.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${points}"/>`);
    }
  });
  const legendLeft = MARGIN_LEFT + columns * (PANEL_WIDTH + PANEL_GAP_X);
  out.push(`<text x="${legendLeft}" y="${MARGIN_TOP + 12}" font-weight="bold">fraction answered within x</text>`);
  products.forEach((product, index) => {
    const y = MARGIN_TOP + 32 + index * 18;
    const colour = COLOURS[index % COLOURS.length] ?? '#000';
    out.push(`<line x1="${legendLeft}" y1="${y - 4}" x2="${legendLeft + 20}" y2="${y - 4}" stroke="${colour}" stroke-width="3"/>`);
    out.push(`<text x="${legendLeft + 26}" y="${y}">${escapeXml(product)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
