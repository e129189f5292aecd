/**
 * Stopping and restarting the reading of a client socket's requests, for the
 * pipelining limit. node:http offers no public way: its parser reads the
 * socket's handle directly, `socket.pause()` alone is undone at the end of
 * every request (Node's IncomingMessage resumes the socket), and llhttp parses
 * a whole read (up to 64 KB) once it has it. So this uses the flag node:http
 * keeps for its own backpressure (`socket._paused`, Node 20's
 * lib/_http_server.js): while it is set, Node leaves the socket paused, pauses
 * its parser after the current read, and the paused socket stops reading its
 * handle, so further requests wait unparsed in the kernel and TCP stops the
 * client. Node clears the flag itself when its own output drains; the
 * 'resume' that follows is caught here and the gate closed again, in the same
 * tick, before any read. test/integration/pipelining.test.ts checks this
 * against the Node it runs on.
 */
import type { Socket } from 'node:net';

interface HttpServerSocket extends Socket {
  /** node:http's "stop reading" flag (lib/_http_server.js). */
  _paused?: boolean;
  /** node:http's parser for this socket, null once freed. */
  parser?: { pause(): void; resume(): void } | null;
}

const GATED = Symbol('balancebeam.gated');

interface GatedSocket extends HttpServerSocket {
  /** true: closed by the pipelining limit; false: open again (the 'resume' listener stays, idle). */
  [GATED]?: boolean;
}

/** Stop parsing this socket's requests after the current read, until reopenRequestGate. */
export function closeRequestGate(socket: Socket): void {
  const gated = socket as GatedSocket;
  if (gated[GATED] === undefined) gated.on('resume', keepGateClosed);
  gated[GATED] = true;
  pauseReading(gated);
}

/** Read and parse this socket's requests again. */
export function reopenRequestGate(socket: Socket): void {
  const gated = socket as GatedSocket;
  if (gated[GATED] !== true) return;
  gated[GATED] = false;
  if (gated._paused !== true || gated.destroyed) return;
  // Node's own resume sequence (socketOnDrain): flag, parser, socket.
  gated._paused = false;
  gated.parser?.resume();
  gated.resume();
}

function pauseReading(socket: HttpServerSocket): void {
  socket._paused = true;
  socket.pause();
}

/** Node cleared its flag as its output drained and resumed the socket: closed again while the gate is. */
function keepGateClosed(this: GatedSocket): void {
  if (this[GATED] === true) pauseReading(this);
}
