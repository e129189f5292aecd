/**
 * Peer: Fastify with @fastify/reply-from (undici underneath), round robin
 * over the origins. Request bodies are passed through as streams, unparsed.
 * reply-from copies the origin's `Connection: keep-alive` into the client's
 * response even when the client asked to close, so clients send another
 * request on a socket Node is closing (400s and resets with `Connection:
 * close`): hop-by-hop headers are dropped both ways, as a proxy must.
 */
import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';
import { HOP_BY_HOP, parsePeerArguments } from './arguments.js';

const { port, origins } = parsePeerArguments();
const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
await app.register(replyFrom, { undici: { connections: 256 } });

function endToEnd<Headers extends Record<string, unknown>>(headers: Headers): Headers {
  const kept: Record<string, unknown> = {};
  for (const name in headers) if (!HOP_BY_HOP.has(name)) kept[name] = headers[name];
  return kept as Headers;
}

let next = 0;
app.all('/*', (request, reply) => {
  const origin = origins[next++ % origins.length] ?? '';
  return reply.from(origin + request.url, {
    rewriteRequestHeaders: (_request, headers) => endToEnd(headers),
    rewriteHeaders: (headers) => endToEnd(headers),
  });
});
await app.listen({ port, host: '127.0.0.1' });
