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

/** xstate's functions that run when an actor is created, started or stopped, not per event. */
const ACTOR_LIFECYCLE = new Set(['createActor', 'Actor', 'start', '_initState', 'getInitialSnapshot', '_stopProcedure', 'stop', '_stop', 'createSystem']);
/** node:net's per-socket functions (construction, accept, connect, close), not per read or write. */
const SOCKET_LIFECYCLE = new Set(['Socket', 'onconnection', 'afterConnect', 'internalConnect', 'closeSocketHandle', 'setNoDelay', 'setKeepAlive', 'connect', 'lookupAndConnect']);
/** Native calls a socket makes once: connect, close, shutdown, its address, its options. */
const NATIVE_SOCKET_LIFECYCLE = new Set(['connect', 'close', 'shutdown', 'getpeername', 'getsockname', 'setNoDelay', 'setKeepAlive']);

/** In order: the first part that matches a sample's function takes it. */
export const PARTS: readonly Part[] = [
  { name: 'GC', covers: 'the garbage collector on the main thread', matches: (url, name) => name === '(garbage collector)' },
  {
    name: 'actor start and stop (xstate)',
    covers: "xstate creating, starting and stopping an actor (once per client connection)",
    matches: (url, name) => (url.includes('node_modules/xstate/') || url.includes('/xstate/dist/')) && ACTOR_LIFECYCLE.has(name),
  },
  {
    name: 'connection set-up and teardown',
    covers: 'sockets accepted, connected, closed and reset (node:net, their native calls, the ECONNRESET errors)',
    matches: (url, name) =>
      (url === 'node:net' && SOCKET_LIFECYCLE.has(name)) ||
      url === 'node:internal/streams/duplex' ||
      (url === '' && NATIVE_SOCKET_LIFECYCLE.has(name)) ||
      (url === 'node:internal/errors' && (name === 'ConnResetException' || name === 'defaultPrepareStackTrace')),
  },
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
  /** Milliseconds of samples per part name (idle and the profiler's own excluded), in PARTS order. */
  byPart: Map<string, number>;
  /** Milliseconds in (idle): the event loop waiting. */
  idleMs: number;
  /**
   * Milliseconds under the inspector session's `post` (preload.ts): the profiler stopping and serializing
   * the profile (a native `dispatch`, 3–4 % of a 5 s run's samples), not the proxy's work.
   */
  profilerMs: number;
  busyMs: number;
}

/** Nodes at or under a call of `post` from node:inspector: the profiler's own work. */
export function profilerNodes(profile: CpuProfile): Set<number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const own = new Set<number>();
  const mark = (id: number): void => {
    own.add(id);
    for (const child of byId.get(id)?.children ?? []) mark(child);
  };
  for (const node of profile.nodes) {
    if (node.callFrame.url === 'node:inspector' && node.callFrame.functionName === 'post') mark(node.id);
  }
  return own;
}

export function attribute(profile: CpuProfile): Attribution {
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byPart = new Map<string, number>(PARTS.map((part) => [part.name, 0]));
  let idleUs = 0;
  let profilerUs = 0;
  let busyUs = 0;
  const profiler = profilerNodes(profile);
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id);
    if (us === undefined) continue;
    const { url, functionName } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    if (profiler.has(node.id)) {
      profilerUs += us;
      continue;
    }
    busyUs += us;
    const part = partOf(url, functionName);
    byPart.set(part, (byPart.get(part) ?? 0) + us);
  }
  for (const [name, us] of byPart) byPart.set(name, us / 1000);
  return { byPart, idleMs: idleUs / 1000, profilerMs: profilerUs / 1000, busyMs: busyUs / 1000 };
}
