/**
 * Client connections are kept alive across requests, and pipelined requests
 * on one connection are answered in order.
 */
import { Agent } from 'node:http';
import test from 'ava';
import { startBalancer } from '../helpers/balancer.js';
import { httpCall, RawConnection, type HttpResult } from '../helpers/client.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

test('3 concurrent keep-alive clients × 4 sequential requests: all 200, one connection each', async (t) => {
  const upstream = await startUpstream(t, {
    handler: (req, res) => {
      const body = `served ${req.url}`;
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
  });
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);

  const clients = [1, 2, 3].map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
  t.teardown(() => {
    for (const agent of clients) agent.destroy();
  });

  const perClient = await Promise.all(
    clients.map(async (agent, c) => {
      const results: HttpResult[] = [];
      for (let r = 0; r < 4; r++) results.push(await httpCall(balancer.port, { agent, path: `/c${c}/r${r}` }));
      return results;
    }),
  );

  perClient.forEach((results, c) => {
    t.deepEqual(
      results.map((result) => `${result.status} ${result.body.toString()}`),
      [0, 1, 2, 3].map((r) => `200 served /c${c}/r${r}`),
    );
    t.is(new Set(results.map((result) => result.localPort)).size, 1, `client ${c} used more than one connection`);
    t.false(results[0]?.reusedSocket, `client ${c}'s first request should open the connection`);
    t.true(results.slice(1).every((result) => result.reusedSocket), `client ${c}'s later requests should reuse it`);
  });
  t.is(new Set(perClient.map((results) => results[0]?.localPort)).size, 3, 'each client has its own connection');

  // The balancer logged every request; its upstream pool reused connections too.
  await waitFor(() => balancer.process.requestLogs().length === 12, { timeoutMs: 10_000, what: '12 request log lines' });
  t.true(balancer.process.requestLogs().every((line) => line.status === 200));
  t.is(upstream.proxied().length, 12);
  t.true(upstream.connections < 12, `upstream saw ${upstream.connections} connections for 12 requests`);
});

test('pipelined requests written at once are answered in order', async (t) => {
  const upstream = await startUpstream(t, {
    handler: (req, res) => {
      const body = `answer to ${req.url}`;
      const send = (): void => {
        res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      // The first answer is the slowest to come, so in-order delivery is not an accident of timing.
      if (req.url === '/first') setTimeout(send, 150);
      else send();
    },
  });
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);

  const connection = await RawConnection.open(balancer.port);
  t.teardown(() => connection.destroy());
  connection.write(
    'GET /first HTTP/1.1\r\nHost: test.local\r\n\r\n' +
      'GET /second HTTP/1.1\r\nHost: test.local\r\n\r\n' +
      'GET /third HTTP/1.1\r\nHost: test.local\r\n\r\n',
  );
  const responses = [];
  for (let i = 0; i < 3; i++) responses.push(await connection.readResponse({ timeoutMs: 15_000 }));
  t.deepEqual(
    responses.map((response) => `${response.status} ${response.body.toString()}`),
    ['200 answer to /first', '200 answer to /second', '200 answer to /third'],
  );
  t.false(connection.isEnded, 'the connection stays open after pipelined requests');

  // And it still serves a fourth request.
  connection.write('GET /fourth HTTP/1.1\r\nHost: test.local\r\n\r\n');
  const fourth = await connection.readResponse({ timeoutMs: 15_000 });
  t.is(fourth.body.toString(), 'answer to /fourth');
  t.is(upstream.proxied().length, 4);
});

test('a keep-alive connection survives many sequential requests (raw socket)', async (t) => {
  const upstream = await startUpstream(t);
  const balancer = await startBalancer(t, ['--upstream', upstream.id, '--active-health-check-interval', '0']);
  const connection = await RawConnection.open(balancer.port);
  t.teardown(() => connection.destroy());
  for (let i = 0; i < 20; i++) {
    connection.write(`GET /n${i} HTTP/1.1\r\nHost: test.local\r\n\r\n`);
    const response = await connection.readResponse({ timeoutMs: 15_000 });
    t.is(response.status, 200);
  }
  t.false(connection.isEnded);
  t.deepEqual(
    upstream.proxied().map((seen) => seen.url),
    Array.from({ length: 20 }, (_, i) => `/n${i}`),
  );
});
