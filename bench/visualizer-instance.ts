/**
 * One balancebeam process for the visualizer's cost rows (`visualizer-cost.ts`):
 * `--workers 1`, rate limiting on (so every request crosses the router twice,
 * the tap's worst case), with the feed off, on, or on and tracing to a file;
 * the visualizer's routes on a port of their own when the feed runs. Prints
 * `READY` once both listen. Argument: a JSON `InstanceSpec`.
 */
import { MailboxRouter } from '../src/actors/router.js';
import { startPrimaryFeed, type PrimaryFeed } from '../src/admin/visualizer/index.js';
import { visualizerRoutes } from '../src/admin/visualizer/routes.js';
import { startAdminServer } from '../src/admin/server.js';
import { parseCommandLine } from '../src/cli/options.js';
import { followLogLevel } from '../src/node/log-level.js';
import { startPrimaryServices } from '../src/node/primary-services.js';
import { startProxyNode } from '../src/node/proxy-node.js';
import { PRIMARY_NODE } from '../src/protocol/index.js';

export interface InstanceSpec {
  readonly mode: 'off' | 'feed' | 'trace';
  readonly port: number;
  readonly vizPort: number;
  readonly upstreamPorts: readonly number[];
  readonly tracePath: string;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as InstanceSpec;
const args = ['--bind', `127.0.0.1:${spec.port}`, '--workers', '1', '--log-level', 'warn', '--active-health-check-interval', '0', '--max-requests-per-minute', '1000000000'];
for (const port of spec.upstreamPorts) args.push('--upstream', `127.0.0.1:${port}`);
if (spec.mode === 'trace') args.push('--trace-file', spec.tracePath);
const command = parseCommandLine(args);
if (command.kind !== 'run') throw new Error(command.kind);
const router = new MailboxRouter(PRIMARY_NODE);
followLogLevel(router)(command.config.logLevel);
const feed: PrimaryFeed | null = spec.mode === 'off' ? null : startPrimaryFeed(router, command.config);
startPrimaryServices(router, command.config);
await startProxyNode(router, command.config, feed?.agent ?? null);
if (feed !== null) await startAdminServer({ host: '127.0.0.1', port: spec.vizPort, token: null }, visualizerRoutes({ source: feed.collector }));
process.on('SIGTERM', () => {
  void (feed?.stop() ?? Promise.resolve()).then(() => process.exit(0));
});
process.stdout.write('READY\n');
