/**
 * The cache's own upstream requests (a stale-while-revalidate revalidation):
 * no client is waiting, so it is a plain undici `request` on a pool of an
 * upstream the balancer picks, its body collected up to a bound. Rare (at
 * most one per stored response going stale), so its Promise and stream cost
 * nothing that matters.
 */
import type { UpstreamFetcher, BackgroundRequest, FetchedResponse } from '../cache/http-cache.js';
import { log } from '../log.js';
import { stripHopByHop } from './headers.js';
import type { UpstreamPools } from './upstream-pools.js';

export type BackgroundChooser = (request: { readonly clientIp: string; readonly req: { readonly url: string; readonly headers: Record<string, string> }; readonly tried: readonly string[] }) => string | undefined;

export class PoolFetcher implements UpstreamFetcher {
  constructor(
    private readonly pools: UpstreamPools,
    private readonly choose: BackgroundChooser,
    private readonly timeoutMs: () => number,
  ) {}

  fetch(request: BackgroundRequest, done: (response: FetchedResponse | null) => void): void {
    const headers: Record<string, string> = {};
    for (let i = 0; i < request.headers.length; i += 2) headers[request.headers[i] as string] = request.headers[i + 1] as string;
    const upstreamId = this.choose({ clientIp: '127.0.0.1', req: { url: request.path, headers }, tried: [] });
    if (upstreamId === undefined) {
      done(null);
      return;
    }
    this.collect(upstreamId, request, headers).then(done, (error: unknown) => {
      log.debug('background revalidation failed', { upstream: upstreamId, path: request.path, reason: error instanceof Error ? error.message : String(error) });
      done(null);
    });
  }

  private async collect(upstreamId: string, request: BackgroundRequest, headers: Record<string, string>): Promise<FetchedResponse | null> {
    const timeout = this.timeoutMs();
    const response = await this.pools.get(upstreamId).request({
      path: request.path,
      method: 'GET',
      headers,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of response.body) {
      const buffer = chunk as Buffer;
      bytes += buffer.length;
      if (bytes > request.maxBodyBytes) {
        response.body.destroy();
        return null;
      }
      chunks.push(buffer);
    }
    const flat: string[] = [];
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const one of value) flat.push(name, one);
      else flat.push(name, value);
    }
    stripHopByHop(flat);
    const body = Buffer.allocUnsafeSlow(bytes);
    let offset = 0;
    for (const chunk of chunks) offset += chunk.copy(body, offset);
    return { status: response.statusCode, headers: flat, body };
  }
}
