/**
 * One active health probe: `GET <path>` with the upstream's Host header (its id,
 * `host:port`, an IPv6 host bracketed as RFC 9110 §7.2 requires), on a
 * fresh connection, bounded by a timeout. Never throws: every outcome is a result.
 */
import { request, type Dispatcher } from 'undici';
import { upstreamOrigin } from '../config/config.js';
import type { HealthProbeResult, UpstreamTarget } from '../protocol/index.js';

export async function probeUpstream(
  upstream: UpstreamTarget,
  path: string,
  timeoutMs: number,
  dispatcher: Dispatcher,
  signal: AbortSignal,
): Promise<HealthProbeResult> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await request(`${upstreamOrigin(upstream)}${path}`, {
      method: 'GET',
      headers: { host: upstream.id, 'user-agent': 'balancebeam-health-check' },
      dispatcher,
      signal: AbortSignal.any([signal, timeout]),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    await response.body.dump({ limit: 64 * 1024 });
    const passed = response.statusCode >= 200 && response.statusCode < 300;
    return result(upstream, passed, `status ${response.statusCode}`);
  } catch (error) {
    if (timeout.aborted) return result(upstream, false, `no answer within ${timeoutMs} ms`);
    const code = (error as { code?: unknown }).code;
    return result(upstream, false, typeof code === 'string' ? code : String(error));
  }
}

function result(upstream: UpstreamTarget, passed: boolean, detail: string): HealthProbeResult {
  return { type: 'health.probe-result', upstreamId: upstream.id, passed, detail };
}
