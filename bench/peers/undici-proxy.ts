/**
 * Peer: the least a Node proxy can do — node:http in front, one undici Pool
 * per origin behind, round robin, the response streamed straight into the
 * client's response (`pool.stream`), hop-by-hop headers dropped.
 */
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { Pool } from 'undici';
import { HOP_BY_HOP, parsePeerArguments } from './arguments.js';

const { port, origins } = parsePeerArguments();
const pools = origins.map((origin) => new Pool(origin, { connections: 256 }));

function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const kept: OutgoingHttpHeaders = {};
  for (const name in headers) if (!HOP_BY_HOP.has(name)) kept[name] = headers[name];
  return kept;
}

let next = 0;
createServer((req, res) => {
  const pool = pools[next++ % pools.length] as Pool;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool
    .stream(
      { path: req.url ?? '/', method: req.method as 'GET', headers: endToEnd(req.headers) as Record<string, string>, body: hasBody ? req : null },
      ({ statusCode, headers }) => {
        res.writeHead(statusCode, endToEnd(headers));
        return res;
      },
    )
    .catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
}).listen(port, '127.0.0.1');
