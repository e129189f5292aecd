/**
 * What registering connection actors in the router costs under churn: 200,000
 * connection actors started 50 per event-loop turn, 50 alive at a time, each
 * registered in the router's Map (`map`), in its connection slots (`slots`,
 * what the listener does) or not at all (`no-register`). Prints CPU µs per
 * connection; V8's --trace-gc-nvp lines say what was promoted. Each actor is
 * started with its error observer and ended as the listener ends one whose
 * client left with nothing in flight (`clientLeft`):
 *
 *   npx tsc -p . && node --max-semi-space-size=32 --no-allocation-site-pretenuring --trace-gc-nvp \
 *     dist/bench/actor-churn-probe.js map 2>&1 >gc.log | cat; grep -o 'promoted=[0-9]*' gc.log
 */
import { performance } from 'node:perf_hooks';
import { nanoid } from 'nanoid';
import { clientLeft, connectionMachine, type ConnectionActor, type ConnectionPorts } from '../src/actors/connection.js';
import { startActor } from '../src/actors/inspection.js';
import { localNameOf, MailboxRouter } from '../src/actors/router.js';
import { buildPipeline } from '../src/pipeline/index.js';
import { DEFAULT_CLIENT_LIMITS, DEFAULT_REQUEST_POLICY } from '../src/config/config.js';

const mode = process.argv[2] ?? 'slots';
const register = mode !== 'no-register';
const router = new MailboxRouter('p');
const ports = {
  router, pipeline: buildPipeline({ clientLimits: DEFAULT_CLIENT_LIMITS, requestPolicy: DEFAULT_REQUEST_POLICY, rateLimit: null }, { router }),
  retries: 1, chooseUpstream: () => undefined, forward: () => {}, relay: () => {}, respond: () => {}, serve: () => {}, drop: () => {}, now: () => performance.now(),
} as unknown as ConnectionPorts;
const client = { watchForSilence: () => undefined, close: () => {}, error: () => {} };
const timeouts = { keepAliveMs: 60_000, bodyIdleMs: 60_000, sendMs: 60_000 };
const live: { address: `${string}/${string}`; actor: ConnectionActor }[] = [];
// Spread over event-loop turns, as connections arrive: 50 per turn, 50 alive.
let turns = 0;
const c0 = process.cpuUsage();
function turn(): void {
  for (let i = 0; i < 50; i++) {
    const address = mode === 'slots' ? router.reserveConnection(nanoid(12)) : (`p/conn/${nanoid(12)}` as const);
    const actor = startActor(connectionMachine, { id: address, input: { address, ports, client, timeouts }, onError: client });
    if (mode === 'slots') router.registerConnection(address, actor);
    else if (register) router.register(localNameOf(address), actor);
    live.push({ address, actor });
    if (live.length > 50) {
      const old = live.shift()!;
      clientLeft(old.actor);
      if (register) router.unregister(old.address);
    }
  }
  if (++turns < 4000) setImmediate(turn);
  else { const c = process.cpuUsage(c0); console.error(`${mode} ${((c.user + c.system) / (turns * 50)).toFixed(2)} µs per connection`); }
}
turn();
