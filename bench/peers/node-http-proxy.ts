/**
 * Peer: node-http-proxy (the `http-proxy` package) behind node:http, with a
 * keep-alive agent, round robin over the origins.
 */
import { Agent, createServer } from 'node:http';
import httpProxy from 'http-proxy';
import { parsePeerArguments } from './arguments.js';

const { port, origins } = parsePeerArguments();
const agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
const proxy = httpProxy.createProxyServer({ agent, xfwd: true });
proxy.on('error', (_error, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502);
  res.end();
});

let next = 0;
createServer((req, res) => {
  const target = origins[next++ % origins.length];
  proxy.web(req, res, { target });
}).listen(port, '127.0.0.1');
