/**
 * Node's floor for the memory bench: a bare node:http server that answers
 * every request itself with the origins' small body, nothing loaded beyond
 * node:http. What it holds at 500 keep-alive connections is what any Node
 * proxy holds before its own code: the binary, V8's heap at rest, one socket,
 * parser and request/response pair per connection.
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
createServer((_req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end('hello world\n');
}).listen(port, '127.0.0.1');
