/**
 * Who sent a routed message. The router is told only where a message goes;
 * every message type says (or implies) who sends it, so the feed names the
 * sender from the message rather than adding an argument to every send.
 * Passive-health reports name their process's connections as a whole: the
 * report does not carry which one.
 */
import { cacheAddress, HEALTH_SUPERVISOR, leaseHolderAddress, metricsAddress, RATE_LIMITER, SETTINGS, upstreamAddress, type NodeId, type RoutedMessage } from '../../../protocol/index.js';

export function senderOf(message: RoutedMessage, node: NodeId, connections: string, proxyNode: string): string {
  switch (message.type) {
    case 'rate-limit.check':
    case 'upstream.subscribe':
    case 'settings.wanted':
    case 'cache.purge':
    case 'metrics.wanted':
      return message.replyTo;
    case 'rate-limit.lease-wanted':
      return message.leaseFor;
    case 'rate-limit.lease-ended':
      return leaseHolderAddress(node);
    case 'rate-limit.lease-granted':
    case 'rate-limit.lease-recall':
      return RATE_LIMITER;
    case 'metrics.report':
      return metricsAddress(node);
    case 'cache.purged':
      return cacheAddress(node);
    case 'request.verdict':
      // The rate limiter answers; a worker whose primary is gone answers its own checks, and a lease
      // holder the requests it admits with the RateLimit fields.
      return node === 'p' ? RATE_LIMITER : proxyNode;
    case 'upstream.health-changed':
      return upstreamAddress(message.upstreamId);
    case 'health.probe-result':
      return HEALTH_SUPERVISOR;
    case 'upstream.connect-failed':
    case 'upstream.misbehaved':
      return connections;
    case 'settings.changed':
      return SETTINGS;
    default:
      return proxyNode;
  }
}
