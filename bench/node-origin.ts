/**
 * The origins when nginx is not installed: `node dist/bench/node-origin.js
 * PORT PORT`, one node:http server per port serving what the nginx origins
 * serve (`/`, `/64k`, `/upload`, `/cacheable`). Slower than nginx, so a run that uses it
 * measures less of the proxies and more of the origins; the report says which
 * origin it had.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { LARGE_BODY_BYTES, SMALL_BODY } from './configs.js';

const small = Buffer.from(SMALL_BODY);
const large = Buffer.alloc(LARGE_BODY_BYTES, 'x');
const ok = Buffer.from('ok\n');

function reply(res: ServerResponse, body: Buffer, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
}

function serve(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/') reply(res, small);
  else if (req.url === '/cacheable') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': small.length, 'cache-control': 'max-age=3600' });
    res.end(small);
  }
  else if (req.url === '/64k') reply(res, large);
  else if (req.url === '/upload') {
    // Read and discard the body before answering, as nginx does.
    req.on('data', () => {});
    req.once('end', () => reply(res, ok));
  } else reply(res, Buffer.from('not found\n'), 404);
}

for (const port of process.argv.slice(2).map(Number)) {
  const server = createServer({ keepAliveTimeout: 65_000 }, serve);
  server.listen(port, '127.0.0.1', 4096);
}
