/**
 * Passive health: what a failed attempt tells the upstream's actor. A refused
 * or timed-out connect, and a reply that is not HTTP, take the upstream out
 * everywhere. Resets and response timeouts do not: a keep-alive connection
 * the upstream closed as it was reused, or one slow request, is no sign of a
 * dead upstream (a hung one fails its active health checks).
 */
import type { MailboxRouter } from '../actors/router.js';
import { upstreamAddress, type ProxyFailure } from '../protocol/index.js';

export function reportToUpstream(router: MailboxRouter, failure: ProxyFailure): void {
  const to = upstreamAddress(failure.upstreamId);
  if (failure.connectFailed) {
    router.send(to, { type: 'upstream.connect-failed', upstreamId: failure.upstreamId, reason: failure.message });
  } else if (failure.kind === 'upstream-protocol-error') {
    router.send(to, { type: 'upstream.misbehaved', upstreamId: failure.upstreamId, reason: failure.message });
  }
}
