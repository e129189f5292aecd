/**
 * An idle keep-alive connection keeps nothing of the request it served: once
 * the response has gone out, its request and response objects (and with them
 * the exchange and the upstream call) can be collected while the connection
 * stays open for the next request. The listener's record of a connection used
 * to hold its last exchange for the connection's whole idle life: 4.7 KB of
 * heap per idle connection (BENCHMARKS.md, "Memory"). The instance runs in
 * this process, so a WeakRef and a forced GC can tell.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import test from 'ava';
import { parseCommandLine } from '../../src/cli/options.js';
import { runInstance } from '../../src/instance.js';
import { log } from '../../src/log.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor, withDeadline } from '../helpers/wait.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Node's channel for every response of every node:http server in the process. */
const RESPONSE_FINISHED = 'http.server.response.finish';

/** Sends one GET on `socket` and resolves with the whole response once its body has arrived. */
function get(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('latin1');
      const headEnd = received.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(received)?.[1];
      if (headEnd !== -1 && length !== undefined && received.length >= headEnd + 4 + Number(length)) {
        socket.off('data', onData);
        socket.off('error', reject);
        resolve(received);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write('GET / HTTP/1.1\r\nHost: idle.test\r\n\r\n');
  });
}

test('an idle keep-alive connection lets its last request and response be collected, and serves the next', async (t) => {
  log.configure('silent', 'p');
  const upstream = await startUpstream(t);
  const command = parseCommandLine(['--upstream', upstream.id, '--bind', '127.0.0.1:0', '--workers', '1', '--active-health-check-interval', '0', '--log-level', 'error']);
  if (command.kind !== 'run') throw new Error('expected a run command');
  const instance = await runInstance(command.config);
  t.teardown(() => instance.shutdown());
  const port = Number(instance.address.slice(instance.address.lastIndexOf(':') + 1));

  // The balancer's responses only: the test upstream is a node:http server in this process too.
  const responses: WeakRef<object>[] = [];
  const onFinished = (message: unknown): void => {
    const { response, server } = message as { response: object; server: Server };
    if ((server.address() as AddressInfo | null)?.port === port) responses.push(new WeakRef(response));
  };
  subscribe(RESPONSE_FINISHED, onFinished);
  t.teardown(() => unsubscribe(RESPONSE_FINISHED, onFinished));

  const socket = connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  let closed = false;
  socket.once('close', () => (closed = true));
  t.regex(await withDeadline(get(socket), 5_000, 'the first response'), /^HTTP\/1\.1 200 /);
  const first = await waitFor(() => responses[0], { timeoutMs: 5_000, what: 'the first response to finish' });

  // Collected while the connection is open and idle (the listener lets go when the response closes).
  await waitFor(
    () => {
      gc();
      return first.deref() === undefined;
    },
    { timeoutMs: 5_000, what: 'the idle connection’s last response to be collected' },
  );
  t.false(closed, 'the connection stayed open');
  t.regex(await withDeadline(get(socket), 5_000, 'the second response'), /^HTTP\/1\.1 200 /);
  t.is(upstream.proxied().length, 2);
});
