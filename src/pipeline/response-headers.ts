/**
 * The response side of the header passes: hop-by-hop fields never reach the
 * client, and a 204 loses its Content-Length (RFC 9110 §8.6; nginx does so too).
 */
import { stripHopByHop } from '../proxy/headers.js';
import type { ResponseFilter, ResponseHead } from './filter.js';

export class StripHopByHopFilter implements ResponseFilter {
  readonly name = 'strip-hop-by-hop';

  onHead(_request: unknown, head: ResponseHead): null {
    stripHopByHop(head.headers, head.statusCode === 204);
    return null;
  }
}
