/**
 * A flame graph (as an icicle: callers on top) of a V8 CPU profile, as a
 * self-contained SVG: each frame's width is its inclusive time, its colour the
 * request part its own function belongs to (categories.ts), its tooltip the
 * function, file and share. Idle time is left out; frames under 0.1% too.
 */
import { escapeXml } from '../chart.js';
import { PARTS, type CpuProfile } from './categories.js';

const WIDTH = 1200;
const ROW = 16;
const MIN_SHARE = 0.001;
const PALETTE = ['#d62728', '#ff7f0e', '#e6a700', '#2ca02c', '#17becf', '#1f77b4', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#aec7e8', '#ffbb78', '#98df8a', '#c5b0d5', '#c49c94', '#dbdb8d'];

type ProfileNode = CpuProfile['nodes'][number];

export function flameGraphSvg(profile: CpuProfile, title: string): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const inclusive = new Map<number, number>();
  const total = (node: ProfileNode): number => {
    if (node.callFrame.functionName === '(idle)') return 0;
    let sum = selfUs.get(node.id) ?? 0;
    for (const child of node.children ?? []) sum += total(byId.get(child) as ProfileNode);
    inclusive.set(node.id, sum);
    return sum;
  };
  const root = profile.nodes[0] as ProfileNode;
  const rootUs = total(root);
  const frames: string[] = [];
  let maxDepth = 0;
  const draw = (node: ProfileNode, x: number, depth: number): void => {
    const us = inclusive.get(node.id) ?? 0;
    if (us / rootUs < MIN_SHARE) return;
    const width = (us / rootUs) * WIDTH;
    maxDepth = Math.max(maxDepth, depth);
    const { functionName, url } = node.callFrame;
    const name = depth === 0 ? 'all (busy)' : functionName || '(anonymous)';
    const partIndex = PARTS.findIndex((part) => part.matches(url, functionName));
    const colour = depth === 0 ? '#cccccc' : (PALETTE[partIndex % PALETTE.length] as string);
    const file = url.replace(/^.*?\/(node_modules|dist)\//, '$1/');
    const label = width > 40 ? `<text x="${(x + 3).toFixed(1)}" y="${depth * ROW + 12}">${escapeXml(name.slice(0, Math.floor(width / 7)))}</text>` : '';
    frames.push(
      `<g><title>${escapeXml(`${name} ${file} — ${((100 * us) / rootUs).toFixed(1)}% ${depth === 0 ? '' : ` (${PARTS[partIndex]?.name ?? ''})`}`)}</title>` +
        `<rect x="${x.toFixed(1)}" y="${depth * ROW}" width="${width.toFixed(1)}" height="${ROW - 1}" fill="${colour}"/>${label}</g>`,
    );
    let childX = x;
    for (const child of node.children ?? []) {
      const childNode = byId.get(child) as ProfileNode;
      draw(childNode, childX, depth + 1);
      childX += ((inclusive.get(child) ?? 0) / rootUs) * WIDTH;
    }
  };
  draw(root, 0, 0);
  const height = (maxDepth + 1) * ROW + 40;
  const legend = PARTS.map((part, index) => `<tspan fill="${PALETTE[index % PALETTE.length] as string}">■ ${escapeXml(part.name)}</tspan>`).join(' ');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="monospace" font-size="11">` +
    `<g transform="translate(0,20)">${frames.join('')}</g>` +
    `<text x="4" y="13" font-size="13">${escapeXml(title)}</text>` +
    `<text x="4" y="${height - 6}" font-size="10">${legend}</text></svg>\n`
  );
}
