/**
 * Attributes a V8 CPU profile's samples to the parts of a proxied request:
 * each sample's own function (its self time) is matched, by script URL and
 * function name, against an ordered list of rules, first match wins.
 */

/** The subset of a `.cpuprofile` this reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber?: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

export interface Part {
  name: string;
  /** What it covers, for the report. */
  covers: string;
  matches(url: string, functionName: string): boolean;
}

const inFile = (...fragments: string[]) => (url: string) => fragments.some((fragment) => url.includes(fragment));
const nativeNamed = (pattern: RegExp) => (url: string, name: string) => url === '' && pattern.test(name);

/** In order: the first part that matches a sample's function takes it. */
export const PARTS: readonly Part[] = [
  { name: 'GC', covers: 'the garbage collector on the main thread', matches: (url, name) => name === '(garbage collector)' },
  {
    name: 'actor events (xstate)',
    covers: "xstate's interpreter: event dispatch, transition selection, actions",
    matches: inFile('node_modules/xstate/', '/xstate/dist/'),
  },
  { name: 'actors (balancebeam)', covers: "balancebeam's machines and the mailbox router", matches: inFile('/dist/src/actors/') },
  { name: 'selection', covers: 'the balancing strategy and load figures', matches: inFile('/dist/src/balancing/') },
  {
    name: 'headers',
    covers: 'request and response header filtering and building (balancebeam)',
    matches: inFile('/dist/src/proxy/headers.js', '/dist/src/pipeline/response-headers.js'),
  },
  { name: 'logging', covers: 'the logger and the access-log hook', matches: inFile('/dist/src/log.js', '/dist/src/pipeline/access-log.js') },
  { name: 'pipeline filters', covers: 'request filters and their runner', matches: inFile('/dist/src/pipeline/') },
  { name: 'proxy code (balancebeam)', covers: 'listener, exchange, relay, upstream call', matches: inFile('/dist/src/') },
  {
    name: 'undici',
    covers: 'upstream dispatch, its llhttp (wasm) response parser, pool',
    matches: (url) => url.includes('node_modules/undici/') || url.startsWith('wasm://') || url.includes('internal/deps/undici'),
  },
  { name: 'peer code', covers: "the peer proxy's own script", matches: inFile('/dist/bench/peers/', 'node_modules/fastify', 'node_modules/http-proxy') },
  {
    name: 'parser (node:http)',
    covers: "node:http's llhttp request parser and its callbacks",
    matches: (url, name) => url === 'node:_http_common' || (url === '' && name === 'execute'),
  },
  { name: 'server objects', covers: 'IncomingMessage, ServerResponse, the http server', matches: inFile('node:_http_server', 'node:_http_incoming') },
  {
    name: 'response write',
    covers: 'OutgoingMessage and the socket writes (both sides: writev, write, buffers)',
    matches: (url, name) => url === 'node:_http_outgoing' || url === 'node:internal/stream_base_commons' || nativeNamed(/^write|Slice$|^FastBuffer$/)(url, name),
  },
  {
    name: 'streams and events',
    covers: 'node:stream, node:events, node:net',
    matches: (url) => url.startsWith('node:internal/streams/') || url === 'node:events' || url === 'node:net' || url === 'node:stream',
  },
  {
    name: 'event loop',
    covers: 'ticks, microtasks, timers',
    matches: (url, name) => url === 'node:internal/process/task_queues' || url.startsWith('node:internal/timers') || name === 'runMicrotasks',
  },
  { name: 'V8 and native, other', covers: '(program): V8 and native code outside any JS function', matches: (url, name) => name === '(program)' },
  { name: 'other', covers: 'everything else', matches: () => true },
];

/** The part a sample's own function belongs to (the first rule of PARTS that matches). */
export function partOf(url: string, functionName: string): string {
  return (PARTS.find((candidate) => candidate.matches(url, functionName)) as Part).name;
}

export interface Attribution {
  /** Milliseconds of samples per part name (idle excluded), in PARTS order. */
  byPart: Map<string, number>;
  /** Milliseconds in (idle): the event loop waiting. */
  idleMs: number;
  busyMs: number;
}

export function attribute(profile: CpuProfile): Attribution {
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byPart = new Map<string, number>(PARTS.map((part) => [part.name, 0]));
  let idleUs = 0;
  let busyUs = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id);
    if (us === undefined) continue;
    const { url, functionName } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const part = partOf(url, functionName);
    byPart.set(part, (byPart.get(part) ?? 0) + us);
  }
  for (const [name, us] of byPart) byPart.set(name, us / 1000);
  return { byPart, idleMs: idleUs / 1000, busyMs: busyUs / 1000 };
}
