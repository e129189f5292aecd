/**
 * The products of the balancing bench: balancebeam with each algorithm that
 * places keyless requests, nginx with three upstream methods and HAProxy
 * with two. Configured and started as in the main bench (bench/configs.ts,
 * bench/products.ts): one worker or thread each, keep-alive to the
 * upstreams, pinned to the proxy's CPU.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haproxyConfig, proxyNginxConfig } from '../configs.js';
import { freePort } from '../ports.js';
import { binNodeFlags, startPinned, type Product } from '../products.js';
import { requireTool } from '../tools.js';

/** consistent-hash is measured apart (hashing.ts): without a key it is its fallback, round-robin. */
export const LATENCY_ALGORITHMS = ['round-robin', 'random', 'weighted-round-robin', 'least-connections', 'p2c', 'peak-ewma'] as const;

function balancebeam(algorithm: string, extra: readonly string[] = []): Product {
  const name = `balancebeam ${[algorithm, ...extra].join(' ')}`;
  return {
    name,
    description: `balancebeam --workers 1 --balance ${[algorithm, ...extra].join(' ')} --active-health-check-interval 0 --log-level warn`,
    needs: [],
    async start(context) {
      const port = await freePort();
      const bin = join(context.balancebeamRoot, 'dist/src/cli/main.js');
      const args = [...binNodeFlags(bin), bin, '--bind', `127.0.0.1:${port}`];
      for (const origin of context.originPorts) args.push('--upstream', `127.0.0.1:${origin}`);
      args.push('--workers', '1', '--balance', algorithm, ...extra, '--active-health-check-interval', '0', '--log-level', 'warn');
      return startPinned(context, name.replace(/\W+/g, '-'), port, process.execPath, args);
    },
  };
}

function nginx(method: string, directive: string): Product {
  return {
    name: `nginx ${method}`,
    description: `nginx, 1 worker, upstream { ${directive === '' ? '' : `${directive} `}keepalive 64; }, proxy_http_version 1.1`,
    needs: ['nginx'],
    async start(context) {
      const port = await freePort();
      const config = join(context.directory, 'proxy-nginx.conf');
      writeFileSync(config, proxyNginxConfig(context.directory, port, context.originPorts, directive));
      const args = ['-p', context.directory, '-e', join(context.directory, 'proxy-nginx-error.log'), '-c', config];
      return startPinned(context, 'nginx', port, requireTool('nginx'), args);
    },
  };
}

function haproxy(balance: string): Product {
  return {
    name: `haproxy ${balance}`,
    description: `HAProxy, nbthread 1, balance ${balance}, http-reuse always`,
    needs: ['haproxy'],
    async start(context) {
      const port = await freePort();
      const config = join(context.directory, 'haproxy.cfg');
      writeFileSync(config, haproxyConfig(context.directory, port, context.originPorts, balance));
      return startPinned(context, 'haproxy', port, requireTool('haproxy'), ['-db', '-f', config]);
    },
  };
}

export const BALANCING_PRODUCTS: readonly Product[] = [
  ...LATENCY_ALGORITHMS.map((algorithm) => balancebeam(algorithm)),
  // The decay time's trade-off, beside the default 10 s: a shorter one forgets a transient delay sooner.
  balancebeam('peak-ewma', ['--ewma-decay', '1']),
  nginx('round-robin', ''),
  nginx('least_conn', 'least_conn;'),
  nginx('random two least_conn', 'random two least_conn;'),
  haproxy('roundrobin'),
  haproxy('leastconn'),
];

/** The few products of `--smoke`: one of each kind that matters for the targets. */
export const SMOKE_PRODUCTS = ['balancebeam round-robin', 'balancebeam peak-ewma', 'nginx least_conn', 'haproxy leastconn'];
