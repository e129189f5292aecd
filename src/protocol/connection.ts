import type { Exchange, ProxyFailure, UpstreamResponse } from '../proxy/exchange.js';

/*
 * Events a connection actor receives from its own process only (they carry
 * socket-bound objects, so they never cross the router to another process).
 */

/** The HTTP parser produced one complete request head on this connection. */
export interface RequestReceived {
  readonly type: 'request.received';
  readonly exchange: Exchange;
}

/** The upstream answered with a status line and headers; the body is still streaming. */
export interface UpstreamResponded {
  readonly type: 'upstream.responded';
  readonly exchange: Exchange;
  readonly response: UpstreamResponse;
}

/** The upstream attempt failed before a response head arrived. */
export interface UpstreamFailed {
  readonly type: 'upstream.failed';
  readonly exchange: Exchange;
  readonly failure: ProxyFailure;
}

/** The response to the client is finished (last byte written) or abandoned. */
export interface ResponseFinished {
  readonly type: 'response.finished';
  readonly exchange: Exchange;
}

/**
 * The HTTP parser rejected bytes in the body of this exchange's request (a bad
 * chunk size, say): the request must not reach the upstream as complete.
 */
export interface RequestMalformed {
  readonly type: 'request.malformed';
  readonly exchange: Exchange;
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
