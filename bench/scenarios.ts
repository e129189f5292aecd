/** The loads every product is measured under. */
import { LARGE_BODY_BYTES } from './configs.js';

export interface Scenario {
  name: string;
  /** What the row means, for the report. */
  description: string;
  connections: number;
  path: string;
  /** What each request is: wrk's Lua script and the Node load loop are both made from it. */
  method: 'GET' | 'POST';
  /** Bytes of request body (of 'x'); 0 for none. */
  bodyBytes: number;
  /** `Connection: close` on every request: a new TCP connection each time. */
  connectionClose: boolean;
  /** Payload bytes per request worth reporting as a throughput (64 KiB rows), else 0. */
  payloadBytes: number;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'keepalive-50',
    description: 'GET / (12 B), 50 keep-alive connections',
    connections: 50,
    path: '/',
    method: 'GET',
    bodyBytes: 0,
    connectionClose: false,
    payloadBytes: 0,
  },
  {
    name: 'new-connection',
    description: 'GET / with Connection: close, 50 clients: a new TCP connection per request',
    connections: 50,
    path: '/',
    method: 'GET',
    bodyBytes: 0,
    connectionClose: true,
    payloadBytes: 0,
  },
  {
    name: 'keepalive-500',
    description: 'GET / (12 B), 500 keep-alive connections',
    connections: 500,
    path: '/',
    method: 'GET',
    bodyBytes: 0,
    connectionClose: false,
    payloadBytes: 0,
  },
  {
    name: 'response-64k',
    description: 'GET /64k (64 KiB response), 50 keep-alive connections',
    connections: 50,
    path: '/64k',
    method: 'GET',
    bodyBytes: 0,
    connectionClose: false,
    payloadBytes: LARGE_BODY_BYTES,
  },
  {
    name: 'cache-hit',
    description: 'GET /cacheable (12 B, Cache-Control: max-age=3600), 50 keep-alive connections: one hot key, a hit for the *-cache products',
    connections: 50,
    path: '/cacheable',
    method: 'GET',
    bodyBytes: 0,
    connectionClose: false,
    payloadBytes: 0,
  },
  {
    name: 'post-64k',
    description: 'POST /upload with a 64 KiB body, 50 keep-alive connections',
    connections: 50,
    path: '/upload',
    method: 'POST',
    bodyBytes: LARGE_BODY_BYTES,
    connectionClose: false,
    payloadBytes: LARGE_BODY_BYTES,
  },
];
