import type { ProxyFailure } from './request.js';

/*
 * Events a connection actor receives from its own process only: they carry
 * live objects of the byte path (the exchange, an upstream response with its
 * body still streaming), so they never cross the router to another process.
 * Those objects are type parameters here, so the vocabulary imports nothing
 * from the byte path; src/actors/connection.ts names them.
 */

/** The HTTP parser produced one complete request head on this connection. */
export interface RequestReceived<X> {
  readonly type: 'request.received';
  readonly exchange: X;
}

/**
 * The upstream attempt failed before a response head arrived: the actor decides to retry or answer.
 * (A response head is no event: for a live exchange the attempt relays it at once, see
 * src/actors/connection.ts; nor is the end of a response, recorded in the actor's ledger.)
 */
export interface UpstreamFailed<X> {
  readonly type: 'upstream.failed';
  readonly exchange: X;
  readonly failure: ProxyFailure;
}

/**
 * The HTTP parser rejected bytes in the body of this exchange's request (a bad
 * chunk size, say): the request must not reach the upstream as complete.
 */
export interface RequestMalformed<X> {
  readonly type: 'request.malformed';
  readonly exchange: X;
}

/**
 * Nothing has crossed the client's socket, either way, for the connection's
 * silence period (its one inactivity timer, which Node re-arms on traffic).
 */
export interface ClientSilent {
  readonly type: 'client.silent';
}

/** The client's socket closed. */
export interface ClientDisconnected {
  readonly type: 'client.disconnected';
}
