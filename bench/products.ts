/**
 * How each product under test is configured and started. Each one listens on
 * a fresh port, round-robins over the same two origins, and is pinned with
 * taskset; `start` returns once it answers `GET /`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { haproxyConfig, proxyNginxConfig } from './configs.js';
import { freePort, waitUntilAnswering, waitUntilListening } from './ports.js';
import { watchPage } from './page-watcher.js';
import { logTail, startTracked, stopTracked, type StartedProcess } from './processes.js';
import { requireTool, type Tool } from './tools.js';

export interface BenchContext {
  /** The run's temp directory: configs, pid files, logs. */
  directory: string;
  repoRoot: string;
  originPorts: readonly number[];
  /** CPU list for the proxy under test (taskset syntax). */
  proxyCpu: string;
  /** The checkout whose dist/src/cli/main.js is run as balancebeam. */
  balancebeamRoot: string;
  /** Node flags for balancebeam instead of its bin's (bench/ab.ts's `:FLAGS`); unset: the bin's. */
  nodeFlags?: readonly string[];
}

export interface RunningProduct {
  port: number;
  /** Root of the process tree whose CPU and memory are counted; null for the direct row. */
  pid: number | null;
  stop(): Promise<void>;
}

export interface Product {
  name: string;
  /** How it is set up, for the report. */
  description: string;
  /** Tools it cannot run without; a run where one is missing skips the product and says so. */
  needs: readonly Tool[];
  start(context: BenchContext): Promise<RunningProduct>;
}

/** Starts a proxy pinned with taskset and resolves once it answers `GET /`. */
export async function startPinned(
  context: BenchContext,
  name: string,
  port: number,
  command: string,
  args: string[],
  cpus: string = context.proxyCpu,
): Promise<RunningProduct> {
  const logPath = join(context.directory, `${name}.log`);
  const started: StartedProcess = startTracked('taskset', ['-c', cpus, command, ...args], logPath, {
    cwd: context.repoRoot,
  });
  const exitedEarly = started.exited.then(() => {
    throw new Error(`${name} exited during start-up`);
  });
  await Promise.race([waitUntilAnswering(port, name), exitedEarly]).catch((error: Error) => {
    throw new Error(`${error.message}\n${logTail(logPath)}`);
  });
  exitedEarly.catch(() => {}); // it will exit when stopped; that is not an error
  return { port, pid: started.pid, stop: () => stopTracked(started) };
}

const originUrls = (context: BenchContext): string[] => context.originPorts.map((port) => `http://127.0.0.1:${port}`);

function nodePeer(name: string, file: string, description: string): Product {
  return {
    name,
    description,
    needs: [],
    async start(context) {
      const port = await freePort();
      const script = join(context.repoRoot, 'dist/bench/peers', file);
      return startPinned(context, name, port, process.execPath, [script, String(port), ...originUrls(context)]);
    },
  };
}

/** The node flags on the bin's `#!/usr/bin/env -S node ...` line: balancebeam runs as `npx balancebeam` would run it. */
export function binNodeFlags(bin: string): string[] {
  const shebang = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const words = shebang.split(/\s+/);
  const node = words.indexOf('node');
  return node === -1 ? [] : words.slice(node + 1);
}

/**
 * `allCpus`: pinned to every CPU instead of the proxy's one, so its workers
 * can run in parallel; it then shares CPU 1 with wrk and the origins, which
 * caps it. The only row that is not on one core: read it as "what a second
 * core buys", not beside the others.
 */
/** The admin token of the watched row: the page sends it on every call, as a page opened with `#token=` does. */
const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789';

function balancebeam(workers: number, allCpus = false, extra: { admin?: boolean; watched?: boolean; cacheBytes?: number; waf?: boolean } = {}): Product {
  const watched = extra.watched === true;
  const admin = extra.admin === true || watched;
  const cacheBytes = extra.cacheBytes ?? 0;
  const waf = extra.waf === true;
  const name = `balancebeam${workers === 1 ? '' : `-w${workers}`}${allCpus ? '-2cpu' : ''}${admin ? '-admin' : ''}${watched ? '-watched' : ''}${cacheBytes > 0 ? '-cache' : ''}${waf ? '-waf' : ''}`;
  const pinning = allCpus ? ' (pinned to both CPUs, sharing CPU 1 with wrk and the origins)' : workers > 1 ? ' (primary + workers, all pinned to the proxy CPU)' : '';
  const adminText = watched
    ? ', with the admin server on and --admin-token, and what an open page asks of it (bench/page-watcher.ts: the SSE feed read, /api/upstreams every 2 s, /api/changes every 3 s, the token on each; no actor watched, as the page by default)'
    : admin
      ? ', with the admin server on (--admin 127.0.0.1:PORT, nobody scraping or watching)'
      : '';
  return {
    name,
    needs: [],
    description: `balancebeam --workers ${workers}${pinning}${cacheBytes > 0 ? `, --cache-size ${cacheBytes}` : ''}${waf ? ', --waf block (default paranoia 1)' : ''}, active health checks off, --log-level warn${adminText}, run with the node flags of its bin`,
    async start(context) {
      const port = await freePort();
      const bin = join(context.balancebeamRoot, 'dist/src/cli/main.js');
      const args = [...(context.nodeFlags ?? binNodeFlags(bin)), bin, '--bind', `127.0.0.1:${port}`];
      for (const origin of context.originPorts) args.push('--upstream', `127.0.0.1:${origin}`);
      args.push('--active-health-check-interval', '0', '--log-level', 'warn', '--workers', String(workers));
      const adminPort = admin ? await freePort() : 0;
      if (admin) args.push('--admin', `127.0.0.1:${adminPort}`);
      if (watched) args.push('--admin-token', BENCH_ADMIN_TOKEN);
      if (cacheBytes > 0) args.push('--cache-size', String(cacheBytes));
      if (waf) args.push('--waf', 'block');
      const running = await startPinned(context, name, port, process.execPath, args, allCpus ? '0,1' : context.proxyCpu);
      if (!watched) return running;
      // The admin server listens once the instance does: just after the proxy port answers.
      await waitUntilListening(adminPort, 'the admin server');
      const page = await watchPage(adminPort, BENCH_ADMIN_TOKEN);
      return {
        ...running,
        stop: async () => {
          page.stop();
          await running.stop();
        },
      };
    },
  };
}

/** A limit no benchmark client reaches: every request is checked and counted, none refused. */
const UNREACHED_LIMIT = ['--max-requests-per-window', '1000000000', '--rate-limit-window-size', '60', '--rate-limit-algorithm', 'gcra'];

/**
 * balancebeam with rate limiting on (issue 14), beside the same without it:
 * the memory store with one process (the limiter in process), with two (a
 * round trip to the primary over IPC per request), and Redis (a
 * redis-server started for the row on the load CPU, each worker talking to
 * it; a 1 s store timeout so that the row measures Redis and not the local
 * fall-back on a busy machine). Every request is checked against a limit it
 * never reaches, all from one client key (the worst case for a hot key).
 */
function balancebeamLimited(workers: number, store: 'memory' | 'redis'): Product {
  const name = `balancebeam${workers === 1 ? '' : `-w${workers}`}-rl-${store}`;
  return {
    name,
    needs: store === 'redis' ? ['redis-server'] : [],
    description: `balancebeam --workers ${workers} with a gcra limit never reached, --rate-limit-store ${store === 'memory' ? 'memory' : 'redis://… (its own redis-server on the load CPU, --save "" --appendonly no; --rate-limit-store-timeout 1)'}${workers > 1 ? ', all pinned to the proxy CPU' : ''}`,
    async start(context) {
      const port = await freePort();
      const bin = join(context.balancebeamRoot, 'dist/src/cli/main.js');
      const args = [...(context.nodeFlags ?? binNodeFlags(bin)), bin, '--bind', `127.0.0.1:${port}`];
      for (const origin of context.originPorts) args.push('--upstream', `127.0.0.1:${origin}`);
      args.push('--active-health-check-interval', '0', '--log-level', 'warn', '--workers', String(workers), ...UNREACHED_LIMIT);
      let redis: StartedProcess | null = null;
      if (store === 'redis') {
        const redisPort = await freePort();
        const redisCpu = availableParallelism() > 1 ? '1' : '0';
        redis = startTracked('taskset', ['-c', redisCpu, requireTool('redis-server'), '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], join(context.directory, `${name}-redis.log`));
        await waitUntilListening(redisPort, 'redis-server');
        args.push('--rate-limit-store', `redis://127.0.0.1:${redisPort}`, '--rate-limit-store-timeout', '1');
      }
      const running = await startPinned(context, name, port, process.execPath, args);
      return {
        ...running,
        stop: async () => {
          await running.stop();
          if (redis !== null) await stopTracked(redis);
        },
      };
    },
  };
}

export const PRODUCTS: readonly Product[] = [
  {
    name: 'direct',
    description: 'no proxy: the load straight to the first origin (the physical reference; no proxy CPU or RSS)',
    needs: [],
    start(context) {
      const port = context.originPorts[0] ?? 0;
      return Promise.resolve({ port, pid: null, stop: () => Promise.resolve() });
    },
  },
  {
    name: 'nginx',
    description: 'nginx, 1 worker, upstream keepalive 64, proxy_http_version 1.1',
    needs: ['nginx'],
    async start(context) {
      const port = await freePort();
      const config = join(context.directory, 'proxy-nginx.conf');
      writeFileSync(config, proxyNginxConfig(context.directory, port, context.originPorts));
      return startPinned(context, 'nginx', port, requireTool('nginx'), ['-p', context.directory, '-e', join(context.directory, 'proxy-nginx-error.log'), '-c', config]);
    },
  },
  {
    name: 'haproxy',
    description: 'HAProxy, nbthread 1, balance roundrobin, http-reuse always',
    needs: ['haproxy'],
    async start(context) {
      const port = await freePort();
      const config = join(context.directory, 'haproxy.cfg');
      writeFileSync(config, haproxyConfig(context.directory, port, context.originPorts));
      return startPinned(context, 'haproxy', port, requireTool('haproxy'), ['-db', '-f', config]);
    },
  },
  {
    name: 'nginx-cache',
    description: 'nginx as above with proxy_cache (keys_zone 16m, files under the run directory, freshness from the origin)',
    needs: ['nginx'],
    async start(context) {
      const port = await freePort();
      const config = join(context.directory, 'proxy-nginx-cache.conf');
      writeFileSync(config, proxyNginxConfig(context.directory, port, context.originPorts, '', true));
      return startPinned(context, 'nginx-cache', port, requireTool('nginx'), ['-p', context.directory, '-e', join(context.directory, 'proxy-nginx-error.log'), '-c', config]);
    },
  },
  nodePeer('node-http-proxy', 'node-http-proxy.js', 'http-proxy behind node:http, keep-alive http.Agent (maxSockets 256)'),
  nodePeer('fastify-reply-from', 'fastify-reply-from.js', 'Fastify + @fastify/reply-from (undici, 256 connections per origin)'),
  nodePeer('undici-minimal', 'undici-proxy.js', 'node:http + one undici Pool per origin + pool.stream, ~40 lines'),
  balancebeam(1),
  // Issue 15's target: the admin server on with no page open costs < 1% CPU per request (the report's ratio table).
  balancebeam(1, false, { admin: true }),
  // ... and < 3% with the page open.
  balancebeam(1, false, { watched: true }),
  balancebeam(2),
  balancebeam(2, true),
  balancebeamLimited(1, 'memory'),
  balancebeamLimited(2, 'memory'),
  balancebeamLimited(1, 'redis'),
  balancebeam(1, false, { cacheBytes: 64 * 1024 * 1024 }),
  // Issue 16: the WAF's cost when on, as a row of its own beside balancebeam(1).
  balancebeam(1, false, { waf: true }),
];
