/** The loads every product is measured under. */
import { LARGE_BODY_BYTES } from './configs.js';

export interface Scenario {
  name: string;
  /** What the row means, for the report. */
  description: string;
  connections: number;
  path: string;
  /** Lua run once by wrk before the load: sets method, headers, body. */
  luaSetup: string;
  /** Payload bytes per request worth reporting as a throughput (64 KiB rows), else 0. */
  payloadBytes: number;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'keepalive-50',
    description: 'GET / (12 B), 50 keep-alive connections',
    connections: 50,
    path: '/',
    luaSetup: '',
    payloadBytes: 0,
  },
  {
    name: 'new-connection',
    description: 'GET / with Connection: close, 50 clients: a new TCP connection per request',
    connections: 50,
    path: '/',
    luaSetup: 'wrk.headers["Connection"] = "close"',
    payloadBytes: 0,
  },
  {
    name: 'keepalive-500',
    description: 'GET / (12 B), 500 keep-alive connections',
    connections: 500,
    path: '/',
    luaSetup: '',
    payloadBytes: 0,
  },
  {
    name: 'response-64k',
    description: 'GET /64k (64 KiB response), 50 keep-alive connections',
    connections: 50,
    path: '/64k',
    luaSetup: '',
    payloadBytes: LARGE_BODY_BYTES,
  },
  {
    name: 'post-64k',
    description: 'POST /upload with a 64 KiB body, 50 keep-alive connections',
    connections: 50,
    path: '/upload',
    luaSetup: [
      'wrk.method = "POST"',
      `wrk.body = string.rep("x", ${LARGE_BODY_BYTES})`,
      'wrk.headers["Content-Type"] = "application/octet-stream"',
    ].join('\n'),
    payloadBytes: LARGE_BODY_BYTES,
  },
];
