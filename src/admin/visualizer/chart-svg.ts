/**
 * A laid-out chart as SVG text. Every state is a `<g class="state">` with
 * `data-kind` and `data-path` (its path as `countActorStates` names it), so
 * the page writes live counts into its `.count` text and highlights a
 * watched actor's state by path, without knowing the layout.
 */
import type { TriggerKind } from './chart-model.js';
import { FONT_PX, LINE_PX, type LaidChart, type LaidEdge, type LaidPseudo, type LaidState, type Point } from './chart-layout.js';

const TRIGGERS: readonly TriggerKind[] = ['event', 'always', 'after', 'done', 'error'];

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const fixed = (value: number): string => (Math.round(value * 10) / 10).toString();

export function chartSvg(chart: LaidChart): string {
  const markers = TRIGGERS.map(
    (trigger) =>
      `<marker id="arrow-${chart.kind}-${trigger}" class="arrow trigger-${trigger}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>`,
  ).join('');
  const margin = 4;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-kind="${escapeXml(chart.kind)}" width="${fixed(chart.width + 2 * margin)}" height="${fixed(chart.height + 2 * margin)}" viewBox="${-margin} ${-margin} ${fixed(chart.width + 2 * margin)} ${fixed(chart.height + 2 * margin)}" font-size="${FONT_PX}">`,
    `<defs>${markers}</defs>`,
    stateSvg(chart.kind, chart.root),
    '</svg>',
  ].join('');
}

function stateSvg(kind: string, laid: LaidState): string {
  const { state } = laid;
  const parts: string[] = [];
  const classes = ['state', `kind-${state.kind}`, laid.children.length > 0 ? 'container' : 'leaf', state.path === '' ? 'root' : ''].filter(Boolean).join(' ');
  parts.push(`<g class="${classes}" data-kind="${escapeXml(kind)}" data-path="${escapeXml(state.path)}" transform="translate(${fixed(laid.x)},${fixed(laid.y)})">`);
  parts.push(`<rect class="box" width="${fixed(laid.width)}" height="${fixed(laid.height)}" rx="7"/>`);
  if (state.kind === 'final') parts.push(`<rect class="box inner" x="3" y="3" width="${fixed(laid.width - 6)}" height="${fixed(laid.height - 6)}" rx="5"/>`);
  const marker = state.kind === 'final' ? ' (final)' : state.kind === 'parallel' ? ' ∥' : state.kind === 'history' ? (state.history === 'deep' ? ' (H*)' : ' (H)') : '';
  parts.push(`<text class="title" x="10" y="21">${escapeXml(state.key + marker)}</text>`);
  parts.push(`<text class="count" data-kind="${escapeXml(kind)}" data-path="${escapeXml(state.path)}" x="${fixed(laid.width - 10)}" y="21" text-anchor="end"></text>`);
  laid.rows.forEach((row, index) => {
    parts.push(`<text class="row" x="10" y="${fixed(21 + (index + 1) * LINE_PX)}">${escapeXml(row)}</text>`);
  });
  for (const pseudo of laid.pseudo) parts.push(pseudoSvg(pseudo));
  for (const edge of laid.edges) parts.push(edgeSvg(kind, edge));
  for (const child of laid.children) parts.push(stateSvg(kind, child));
  parts.push('</g>');
  return parts.join('');
}

function pseudoSvg(pseudo: LaidPseudo): string {
  if (pseudo.kind === 'initial') {
    return `<circle class="initial" cx="${fixed(pseudo.x + pseudo.width / 2)}" cy="${fixed(pseudo.y + pseudo.height / 2)}" r="5"/>`;
  }
  return (
    `<g class="any-state"><rect x="${fixed(pseudo.x)}" y="${fixed(pseudo.y)}" width="${fixed(pseudo.width)}" height="${fixed(pseudo.height)}" rx="10"/>` +
    `<text x="${fixed(pseudo.x + pseudo.width / 2)}" y="${fixed(pseudo.y + pseudo.height / 2 + 4)}" text-anchor="middle">any state</text></g>`
  );
}

/** Through dagre's points, with the corners rounded (a quadratic curve at each inner point). */
function pathThrough(points: readonly Point[]): string {
  const first = points[0];
  if (first === undefined) return '';
  let d = `M${fixed(first.x)},${fixed(first.y)}`;
  for (let i = 1; i < points.length - 1; i++) {
    const corner = points[i] as Point;
    const next = points[i + 1] as Point;
    d += ` Q${fixed(corner.x)},${fixed(corner.y)} ${fixed((corner.x + next.x) / 2)},${fixed((corner.y + next.y) / 2)}`;
  }
  const last = points[points.length - 1] as Point;
  if (points.length > 1) d += ` L${fixed(last.x)},${fixed(last.y)}`;
  return d;
}

function edgeSvg(kind: string, edge: LaidEdge): string {
  const { transition } = edge;
  const initial = transition.source.endsWith('#initial');
  const trigger = initial ? 'initial' : transition.trigger;
  const markerTrigger = initial ? 'event' : transition.trigger;
  const title = initial ? '' : `<title>${escapeXml(`${transition.source || '(root)'} → ${transition.targets.join(', ')}`)}</title>`;
  const path = `<path class="edge trigger-${trigger}" d="${pathThrough(edge.points)}" marker-end="url(#arrow-${escapeXml(kind)}-${markerTrigger})"/>`;
  const { lines } = edge.label;
  const top = edge.label.y - (lines.length * LINE_PX) / 2 + LINE_PX - 3;
  const label = lines
    .map((line, index) => `<text class="label trigger-${trigger}" x="${fixed(edge.label.x)}" y="${fixed(top + index * LINE_PX)}" text-anchor="middle">${escapeXml(line)}</text>`)
    .join('');
  return `<g class="transition" data-event="${escapeXml(transition.label)}">${title}${path}${label}</g>`;
}
