/**
 * A connection actor that fails (an action throws: a bug, not anything a
 * client sends) on the real listener, in process: the error is logged, that
 * client is disconnected, and the process and its other connections carry on.
 * Without the actor's error observer xstate would rethrow the error from a
 * timer, an uncaught exception that ends the process (src/cli/main.ts).
 */
import test from 'ava';
import { UpstreamLoads } from '../../src/balancing/index.js';
import { log, type LogFields } from '../../src/log.js';
import { RawConnection, rawGet } from '../helpers/client.js';
import { startInProcessProxy } from '../helpers/in-process-proxy.js';
import { startUpstream } from '../helpers/upstream.js';

log.configure('silent', 'p');

test('an actor error is logged and its connection closed; the next connection is served', async (t) => {
  const errors: { msg: string; fields: LogFields | undefined }[] = [];
  // An own property over the Logger method, for this test; deleted again after it.
  log.error = (msg, fields) => errors.push({ msg, fields });
  t.teardown(() => {
    Reflect.deleteProperty(log, 'error');
  });
  const upstream = await startUpstream(t);
  const { port } = await startInProcessProxy(t, [upstream.port], {
    loads: new UpstreamLoads(),
    wrapChooser: (choose) => (exchange) => {
      if (exchange.req.url === '/bug') throw new Error('a chooser with a bug');
      return choose(exchange);
    },
  });

  const failing = await RawConnection.open(port);
  failing.write(rawGet('/bug'));
  await failing.readUntilClosed(5_000);
  t.is(errors.length, 1);
  t.is(errors[0]?.msg, 'connection actor failed');
  t.is(errors[0]?.fields?.client, '127.0.0.1');
  t.regex(String(errors[0]?.fields?.error), /a chooser with a bug/);

  const next = await RawConnection.open(port);
  next.write(rawGet('/fine'));
  t.is((await next.readResponse()).status, 200);
  next.destroy();
  t.is(upstream.requests.length, 1);
});
