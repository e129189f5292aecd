/**
 * The visualizer's feed across processes, with two routers joined by
 * in-memory links that copy each envelope as IPC would (structuredClone):
 * a worker's agent batches its router traffic and state counts to the
 * collector in the primary; the collector merges them into frames, lists the
 * actors in a state from every process, and watches one actor only while
 * someone listens.
 */
import test from 'ava';
import { startActor } from '../../src/actors/inspection.js';
import { MailboxRouter, type Envelope } from '../../src/actors/router.js';
import { upstreamMachine, DEFAULT_BACK_OFF } from '../../src/actors/upstream.js';
import { FeedCollector } from '../../src/admin/visualizer/collector.js';
import { startFeedAgent } from '../../src/admin/visualizer/feed/feed-agent.js';
import { MessageRing } from '../../src/admin/visualizer/feed/message-ring.js';
import { latencyBucketOf } from '../../src/admin/visualizer/feed/request-figures.js';
import { percentileOf } from '../../src/admin/visualizer/percentiles.js';
import { toStatelyEvents } from '../../src/admin/visualizer/stately-export.js';
import { LATENCY_BUCKETS, RATE_LIMITER, upstreamAddress, type InspectionRecord } from '../../src/protocol/index.js';
import { waitFor } from '../helpers/wait.js';

function linkedRouters(): { primary: MailboxRouter; worker: MailboxRouter } {
  const primary = new MailboxRouter('p');
  const worker = new MailboxRouter('w1');
  // Delivered on a later turn, as IPC does.
  const carry = (to: MailboxRouter) => ({ send: (envelope: Envelope) => queueMicrotask(() => to.receive(structuredClone(envelope))) });
  primary.connectNode('w1', carry(worker));
  worker.connectUplink(carry(primary));
  return { primary, worker };
}

const target = { id: '127.0.0.1:9', host: '127.0.0.1', port: 9, weight: 1 };

test('a worker batch and the primary batch merge into one frame: messages with sender, counts of both processes, health points', async (t) => {
  const { primary, worker } = linkedRouters();
  const collector = new FeedCollector(primary, { frameMs: 60_000 });
  const primaryAgent = startFeedAgent(primary, { flushMs: 60_000 });
  const workerAgent = startFeedAgent(worker, { flushMs: 60_000 });
  t.teardown(() => {
    collector.stop();
    primaryAgent.stop();
    workerAgent.stop();
  });
  const upstream = startActor(upstreamMachine, {
    id: upstreamAddress(target.id),
    input: { upstream: target, router: primary, recovery: DEFAULT_BACK_OFF, thresholds: { rise: 1, fall: 1 } },
  });
  primary.register(`upstream/${target.id}`, upstream);
  t.teardown(() => upstream.stop());
  const checks: unknown[] = [];
  primary.register('rate-limiter', { send: (message: unknown) => checks.push(message) });
  const balancerInbox: unknown[] = [];
  worker.register('balancer', { send: (message: unknown) => balancerInbox.push(message) });

  worker.send(upstreamAddress(target.id), { type: 'upstream.subscribe', replyTo: 'w1/balancer' });
  worker.send(RATE_LIMITER, { type: 'rate-limit.check', requestId: 1, checks: [{ rule: 'default', key: '192.0.2.7', limit: null }], headersWhenAllowed: false, replyTo: 'w1/conn/abc' });
  worker.send(upstreamAddress(target.id), { type: 'upstream.connect-failed', upstreamId: target.id, reason: 'ECONNREFUSED' });
  await waitFor(() => balancerInbox.length >= 2, { timeoutMs: 2000, what: 'the health reports to reach the worker' });

  workerAgent.flush();
  primaryAgent.flush();
  // The worker's batch crosses the link on a later turn.
  await new Promise((resolve) => setImmediate(resolve));
  const frame = collector.frame();
  t.deepEqual(frame.nodes, ['p', 'w1']);
  t.deepEqual(frame.counts.upstream, { dead: 1 });
  const sent = frame.messages.map(([, from, to, type]) => `${from} ${to} ${type}`);
  t.true(sent.includes('w1/balancer p/upstream/127.0.0.1:9 upstream.subscribe'), sent.join('\n'));
  t.true(sent.includes('w1/conn/abc p/rate-limiter rate-limit.check'));
  t.true(sent.includes('w1/conn/* p/upstream/127.0.0.1:9 upstream.connect-failed'));
  t.true(sent.includes('p/upstream/127.0.0.1:9 w1/balancer upstream.health-changed'), sent.join('\n'));
  // Times are in order across processes.
  const times = frame.messages.map(([time]) => time);
  t.deepEqual(times, [...times].sort((a, b) => a - b));
  t.deepEqual(
    frame.health.map((point) => [point.upstreamId, point.healthy, point.reason]),
    [[target.id, true, 'configured'], [target.id, false, 'connect failed: ECONNREFUSED']],
  );
  t.is(frame.rateLimit.checks, 1);
  t.false(JSON.stringify(frame).includes('feed.batch'), 'the feed does not record itself');

  const stately = toStatelyEvents([frame], new Map(Object.entries(collector.definitions)));
  t.true(stately.some((event) => event.type === '@xstate.actor' && event.name === 'upstream' && event.definition !== undefined), JSON.stringify(stately.slice(0, 3)).slice(0, 600));
  t.true(stately.some((event) => event.type === '@xstate.event' && event.event.type === 'rate-limit.check' && event.sourceId === 'w1/conn/abc'));
});

test('listing the actors in a state asks every process; watching attaches inspection to one actor and detaches when the last watcher leaves', async (t) => {
  const { primary, worker } = linkedRouters();
  const collector = new FeedCollector(primary, { frameMs: 60_000 });
  const primaryAgent = startFeedAgent(primary, { flushMs: 60_000 });
  const workerAgent = startFeedAgent(worker, { flushMs: 60_000 });
  t.teardown(() => {
    collector.stop();
    primaryAgent.stop();
    workerAgent.stop();
  });
  const ids = ['127.0.0.1:1', '127.0.0.1:2'];
  for (const id of ids) {
    const actor = startActor(upstreamMachine, {
      id: upstreamAddress(id),
      input: { upstream: { ...target, id }, router: primary, recovery: DEFAULT_BACK_OFF, thresholds: { rise: 1, fall: 1 } },
    });
    primary.register(`upstream/${id}`, actor);
    t.teardown(() => actor.stop());
  }
  workerAgent.flush();
  primaryAgent.flush();
  await waitFor(() => collector.frame().nodes.length === 2 || null, { timeoutMs: 2000, what: 'both processes known' });
  const listing = await collector.listActors('upstream', 'healthy');
  t.deepEqual(listing.actors.map((actor) => actor.actor), ids.map(upstreamAddress));
  t.deepEqual(listing.missing, []);
  t.is((await collector.listActors('upstream', 'dead')).total, 0);

  const records: InspectionRecord[] = [];
  const watched = upstreamAddress(ids[0]!);
  const stop = collector.watch(watched, (record) => records.push(record));
  await waitFor(() => records.length >= 1 || null, { timeoutMs: 2000, what: 'the snapshot record' });
  t.is(records[0]!.event, 'watch.started');
  t.is(records[0]!.state, 'healthy');
  t.is((records[0]!.context as { upstream: { id: string } }).upstream.id, ids[0]!);
  t.is((records[0]!.context as { router: string }).router, '[MailboxRouter]', 'live objects by their class name');
  worker.send(upstreamAddress(ids[0]!), { type: 'upstream.misbehaved', upstreamId: ids[0]!, reason: 'garbage' });
  await waitFor(() => records.some((record) => record.event === 'upstream.misbehaved') || null, { timeoutMs: 2000, what: 'the event record' });
  t.is(records.at(-1)!.state, 'dead');
  t.is(collector.watchedCount, 1);
  stop();
  t.is(collector.watchedCount, 0);
  await waitFor(() => Promise.resolve().then(() => true), { timeoutMs: 100 });
  const before = records.length;
  worker.send(upstreamAddress(ids[0]!), { type: 'health.probe-result', upstreamId: ids[0]!, passed: true, detail: 'status 200' });
  await new Promise((resolve) => setImmediate(resolve));
  t.is(records.length, before, 'nothing recorded once nobody watches');

  const gone: InspectionRecord[] = [];
  const stopGone = collector.watch('w1/conn/gone', (record) => gone.push(record));
  t.teardown(stopGone);
  await waitFor(() => gone.length >= 1 || null, { timeoutMs: 2000, what: 'the answer for an actor that is not running' });
  t.is(gone[0]!.event, 'watch.not-running');
});

test('the ring records up to its per-second cap and counts the rest as dropped', (t) => {
  const ring = new MessageRing(100, 10);
  for (let i = 0; i < 25; i++) ring.record(1_000 + i, 'a', 'b', 'x');
  ring.record(2_100, 'a', 'b', 'y');
  const { messages, dropped } = ring.drain();
  t.is(messages.length, 11);
  t.is(dropped, 15);
  t.is(messages.at(-1)![3], 'y');
  t.deepEqual(ring.drain(), { messages: [], dropped: 0 });
});

test('latency percentiles from the histogram land within a bucket of the true value', (t) => {
  const buckets = new Array<number>(LATENCY_BUCKETS).fill(0);
  const samples = Array.from({ length: 1000 }, (_, i) => 1 + i * 0.1); // 1 … 100.9 ms
  for (const ms of samples) buckets[latencyBucketOf(ms)]!++;
  const p50 = percentileOf(buckets, 0.5)!;
  const p99 = percentileOf(buckets, 0.99)!;
  t.true(p50 > 50.9 / 1.4 && p50 < 50.9 * 1.4, String(p50));
  t.true(p99 > 99.9 / 1.4 && p99 < 99.9 * 1.4, String(p99));
  t.is(percentileOf(new Array<number>(LATENCY_BUCKETS).fill(0), 0.5), null);
});
