/**
 * The process behind `startChildUpstream`: a node:http upstream on
 * 127.0.0.1 port 0 that prints `listening PORT` once, then `seen METHOD URL`
 * for each request head it parses, and answers 200 once the body is read.
 * A separate process, so a test can SIGSTOP and SIGCONT it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  process.stdout.write(`seen ${req.method ?? ''} ${req.url ?? ''}\n`);
  req.resume();
  req.once('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2, 'x-upstream': 'child' });
    res.end('ok');
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
