/**
 * Lays a chart out once, at start: each compound state's children are laid
 * out by dagre as a graph of their own (left to right), bottom up, and the
 * compound state becomes one box of that size in its parent's graph. A
 * transition is drawn at the level of the deepest state that holds both its
 * ends, between the boxes that contain them, so a chart of any depth is a
 * tree of small flat graphs, each of which dagre lays out well (dagre's own
 * compound mode mislays edges that end on a cluster). Parallel regions sit
 * side by side.
 *
 * Text is measured by an estimate per character (the server has no fonts);
 * the page's stylesheet uses a font at least that narrow.
 */
import dagre from '@dagrejs/dagre';
import type { ChartModel, ChartState, ChartTransition } from './chart-model.js';

export const FONT_PX = 11;
const CHAR_PX = 6.3;
const TITLE_CHAR_PX = 7.4;
export const LINE_PX = 14;
const TITLE_PX = 18;
const PAD = 10;
/** Room for the live count beside a state's name. */
const COUNT_PX = 44;

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** A pseudo-state: the initial dot, or "any state" for transitions a compound state takes from wherever it is. */
export interface LaidPseudo {
  readonly id: string;
  readonly kind: 'initial' | 'any';
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface LaidEdge {
  readonly transition: ChartTransition;
  /** In the frame of the state whose graph it belongs to. */
  readonly points: readonly Point[];
  readonly label: Point & { readonly lines: readonly string[] };
}

export interface LaidState {
  readonly state: ChartState;
  /** Top-left in the parent's frame. */
  x: number;
  y: number;
  readonly width: number;
  readonly height: number;
  /** Lines under the name: entry, exit, invoke, and the transitions that change no state. */
  readonly rows: readonly string[];
  readonly children: readonly LaidState[];
  readonly pseudo: readonly LaidPseudo[];
  readonly edges: readonly LaidEdge[];
}

export interface LaidChart {
  readonly kind: string;
  readonly width: number;
  readonly height: number;
  readonly root: LaidState;
}

/**
 * The part of dagre's graph this file uses. dagre's declarations name a graphlib package it bundles
 * instead of installing, so its own types do not resolve here.
 */
interface LayoutGraph {
  setGraph(label: { rankdir: string; nodesep: number; ranksep: number; edgesep: number; marginx: number; marginy: number }): void;
  setDefaultEdgeLabel(label: () => object): void;
  setNode(id: string, label: { width: number; height: number }): void;
  setEdge(from: string, to: string, label: { width: number; height: number; labelpos?: string; lines?: string[] }, name: string): void;
  node(id: string): Point;
  edge(from: string, to: string, name: string): { points: Point[]; x: number; y: number; lines?: string[] };
  graph(): { width?: number; height?: number };
}

const { Graph } = (dagre as unknown as { graphlib: { Graph: new (options: { multigraph: boolean }) => LayoutGraph } }).graphlib;
const newLayoutGraph = (): LayoutGraph => new Graph({ multigraph: true });
const runLayout = dagre.layout as unknown as (graph: LayoutGraph) => void;

const textWidth = (line: string): number => Math.ceil(line.length * CHAR_PX);

export function transitionLines(transition: ChartTransition): string[] {
  const lines = [transition.guard === null ? transition.label : `${transition.label} [${transition.guard}]`];
  if (transition.actions.length > 0) lines.push(`/ ${transition.actions.join(', ')}`);
  return lines;
}

function rowsOf(state: ChartState, internal: readonly ChartTransition[]): string[] {
  const rows: string[] = [];
  if (state.entry.length > 0) rows.push(`entry / ${state.entry.join(', ')}`);
  if (state.exit.length > 0) rows.push(`exit / ${state.exit.join(', ')}`);
  for (const source of state.invoke) rows.push(`invoke ${source}`);
  for (const transition of internal) rows.push(transitionLines(transition).join(' '));
  return rows;
}

const parentOf = (path: string): string => (path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '');
const holds = (ancestor: string, path: string): boolean => ancestor === '' || path === ancestor || path.startsWith(`${ancestor}.`);
/** The child of `level` that is `path` or holds it. */
function childOf(level: string, path: string): string {
  const rest = level === '' ? path : path.slice(level.length + 1);
  const head = rest.split('.')[0] ?? rest;
  return level === '' ? head : `${level}.${head}`;
}

interface EdgeEnds {
  readonly transition: ChartTransition;
  readonly from: string;
  readonly to: string;
}

/** Which state's graph draws each targeted transition, and between which of its boxes. */
function assignEdges(chart: ChartModel): Map<string, EdgeEnds[]> {
  const byLevel = new Map<string, EdgeEnds[]>();
  const add = (level: string, ends: EdgeEnds): void => {
    const list = byLevel.get(level) ?? [];
    list.push(ends);
    byLevel.set(level, list);
  };
  for (const transition of chart.transitions) {
    const source = transition.source;
    for (const target of transition.targets) {
      if (source === target) {
        if (source !== '') add(parentOf(source), { transition, from: source, to: source });
        continue;
      }
      let level = source;
      while (!holds(level, target)) level = parentOf(level);
      if (level === source) add(level, { transition, from: `${level}#any`, to: childOf(level, target) });
      else if (level === target) add(level, { transition, from: childOf(level, source), to: `${level}#initial` });
      else add(level, { transition, from: childOf(level, source), to: childOf(level, target) });
    }
  }
  return byLevel;
}

export function layoutChart(chart: ChartModel): LaidChart {
  const edgesByLevel = assignEdges(chart);
  const internalBySource = new Map<string, ChartTransition[]>();
  for (const transition of chart.transitions) {
    if (transition.targets.length > 0) continue;
    const list = internalBySource.get(transition.source) ?? [];
    list.push(transition);
    internalBySource.set(transition.source, list);
  }
  const root = layoutState(chart.root, edgesByLevel, internalBySource);
  return { kind: chart.kind, width: root.width, height: root.height, root };
}

function layoutState(
  state: ChartState,
  edgesByLevel: ReadonlyMap<string, readonly EdgeEnds[]>,
  internalBySource: ReadonlyMap<string, readonly ChartTransition[]>,
): LaidState {
  const rows = rowsOf(state, internalBySource.get(state.path) ?? []);
  const headerWidth = Math.max(Math.ceil(state.key.length * TITLE_CHAR_PX) + COUNT_PX + 12, ...rows.map(textWidth));
  const headerHeight = PAD + TITLE_PX + rows.length * LINE_PX;
  const children = state.children.map((child) => layoutState(child, edgesByLevel, internalBySource));
  if (children.length === 0) {
    return { state, x: 0, y: 0, width: headerWidth + 2 * PAD, height: headerHeight + PAD, rows, children, pseudo: [], edges: [] };
  }
  const ends = edgesByLevel.get(state.path) ?? [];
  const inner = state.kind === 'parallel' ? placeRegions(children, ends) : placeGraph(state, children, ends);
  const top = headerHeight + PAD / 2;
  for (const child of children) {
    child.x += PAD;
    child.y += top;
  }
  const shift = (point: Point): Point => ({ x: point.x + PAD, y: point.y + top });
  return {
    state,
    x: 0,
    y: 0,
    width: Math.max(headerWidth + 2 * PAD, inner.width + 2 * PAD),
    height: top + inner.height + PAD,
    rows,
    children,
    pseudo: inner.pseudo.map((pseudo) => ({ ...pseudo, ...shift(pseudo) })),
    edges: inner.edges.map((edge) => ({ transition: edge.transition, points: edge.points.map(shift), label: { ...edge.label, ...shift(edge.label) } })),
  };
}

interface Inner {
  readonly width: number;
  readonly height: number;
  readonly pseudo: LaidPseudo[];
  readonly edges: LaidEdge[];
}

/** Room above a box for its self-transitions: dagre draws loops on the box's side, through their labels. */
interface Loops {
  readonly ends: EdgeEnds[];
  readonly lines: string[][];
  readonly height: number;
  readonly width: number;
}

const LOOP_RISE = 14;

function loopsOf(ends: readonly EdgeEnds[]): Loops {
  const lines = ends.map((edge) => transitionLines(edge.transition));
  const height = lines.reduce((sum, label) => sum + label.length * LINE_PX + LOOP_RISE, 0);
  const width = Math.max(0, ...lines.flat().map(textWidth)) + 8;
  return { ends: [...ends], lines, height, width };
}

function placeGraph(state: ChartState, children: readonly LaidState[], ends: readonly EdgeEnds[]): Inner {
  const graph = newLayoutGraph();
  graph.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 64, edgesep: 14, marginx: 0, marginy: 0 });
  graph.setDefaultEdgeLabel(() => ({}));
  const loopsByChild = new Map<string, Loops>();
  for (const child of children) {
    const loops = loopsOf(ends.filter((edge) => edge.from === child.state.path && edge.to === child.state.path));
    loopsByChild.set(child.state.path, loops);
    graph.setNode(child.state.path, { width: Math.max(child.width, loops.width), height: child.height + loops.height });
  }
  const pseudo: { id: string; kind: LaidPseudo['kind']; width: number; height: number }[] = [];
  if (state.initial !== null) {
    pseudo.push({ id: `${state.path}#initial`, kind: 'initial', width: 10, height: 10 });
  }
  if (ends.some((edge) => edge.from === `${state.path}#any`)) {
    pseudo.push({ id: `${state.path}#any`, kind: 'any', width: 64, height: 20 });
  }
  for (const node of pseudo) graph.setNode(node.id, { width: node.width, height: node.height });
  const initialEdge = state.initial === null ? null : `${state.path}#initial-edge`;
  if (initialEdge !== null && state.initial !== null) graph.setEdge(`${state.path}#initial`, childOf(state.path, state.initial), { width: 0, height: 0 }, initialEdge);
  ends.forEach((edge, index) => {
    if (edge.from === edge.to) return;
    const lines = transitionLines(edge.transition);
    graph.setEdge(edge.from, edge.to, { width: Math.max(...lines.map(textWidth)) + 6, height: lines.length * LINE_PX, labelpos: 'c', lines }, `e${index}`);
  });
  runLayout(graph);
  const edges: LaidEdge[] = [];
  for (const child of children) {
    const placed = graph.node(child.state.path);
    const loops = loopsByChild.get(child.state.path) as Loops;
    child.x = placed.x - child.width / 2;
    child.y = placed.y - (child.height + loops.height) / 2 + loops.height;
    // Nested loops over the box's top edge, the innermost first, each label above its loop.
    let rise = 0;
    loops.ends.forEach((edge, index) => {
      const lines = loops.lines[index] as string[];
      rise += LOOP_RISE;
      const spread = Math.min(child.width / 2 - 8, 18 + rise);
      const start = { x: placed.x + spread, y: child.y };
      const end = { x: placed.x - spread, y: child.y };
      const top = child.y - rise;
      edges.push({
        transition: edge.transition,
        points: [start, { x: start.x, y: top }, { x: end.x, y: top }, end],
        label: { x: placed.x, y: top - (lines.length * LINE_PX) / 2 - 1, lines },
      });
      rise += lines.length * LINE_PX;
    });
  }
  // An edge dagre ends in a box's loop room is moved down onto the box.
  const byPath = new Map(children.map((child) => [child.state.path, child]));
  const onBox = (point: Point, path: string): Point => {
    const box = byPath.get(path);
    if (box === undefined || (loopsByChild.get(path)?.height ?? 0) === 0 || point.y >= box.y + 6) return point;
    return { x: point.x, y: box.y + box.height / 2 };
  };
  const onBoxes = (points: readonly Point[], from: string, to: string): Point[] => {
    const moved = [...points];
    if (moved.length > 0) {
      moved[0] = onBox(moved[0] as Point, from);
      moved[moved.length - 1] = onBox(moved[moved.length - 1] as Point, to);
    }
    return moved;
  };
  const laidPseudo = pseudo.map((node) => {
    const placed = graph.node(node.id);
    return { ...node, x: placed.x - node.width / 2, y: placed.y - node.height / 2 };
  });
  ends.forEach((edge, index) => {
    if (edge.from === edge.to) return;
    const placed = graph.edge(edge.from, edge.to, `e${index}`);
    edges.push({ transition: edge.transition, points: onBoxes(placed.points, edge.from, edge.to), label: { x: placed.x, y: placed.y, lines: placed.lines ?? [] } });
  });
  if (initialEdge !== null && state.initial !== null) {
    const placed = graph.edge(`${state.path}#initial`, childOf(state.path, state.initial), initialEdge);
    const initial: ChartTransition = { source: `${state.path}#initial`, targets: [state.initial], trigger: 'event', label: '', guard: null, actions: [], reenter: false };
    edges.push({ transition: initial, points: onBoxes(placed.points, '', childOf(state.path, state.initial)), label: { x: 0, y: 0, lines: [] } });
  }
  const size = graph.graph();
  return { width: size.width ?? 0, height: size.height ?? 0, pseudo: laidPseudo, edges };
}

/** Parallel regions side by side; a transition between regions is a straight line between their boxes. */
function placeRegions(children: readonly LaidState[], ends: readonly EdgeEnds[]): Inner {
  let x = 0;
  let height = 0;
  const gap = 40;
  for (const child of children) {
    child.x = x;
    child.y = 0;
    x += child.width + gap;
    height = Math.max(height, child.height);
  }
  const byPath = new Map(children.map((child) => [child.state.path, child]));
  const edges: LaidEdge[] = [];
  for (const edge of ends) {
    const from = byPath.get(edge.from);
    const to = byPath.get(edge.to);
    if (from === undefined || to === undefined) continue;
    const start = { x: from.x + from.width, y: from.y + from.height / 2 };
    const end = { x: to.x, y: to.y + to.height / 2 };
    edges.push({ transition: edge.transition, points: [start, end], label: { x: (start.x + end.x) / 2, y: start.y - LINE_PX, lines: transitionLines(edge.transition) } });
  }
  return { width: Math.max(0, x - gap), height, pseudo: [], edges };
}
