/**
 * Configuration files for the non-Node servers, written into the run's temp
 * directory: the two origins (one nginx, two ports), nginx as the proxy, and
 * HAProxy. Everything runs in the foreground, logs nothing per request, and
 * keeps its pid and temp files inside the run's directory.
 */
import { join } from 'node:path';
import { RUN_MARKER } from './processes.js';

/** Bytes of the small body at `/`. */
export const SMALL_BODY = 'hello world\n';
export const LARGE_BODY_BYTES = 64 * 1024;

function nginxPreamble(directory: string, name: string): string {
  // user root: the worker must read files in a 0700 mkdtemp directory.
  // env: nginx clears its workers' environment; the run's marker must survive (see processes.ts).
  return `
user root;
env ${RUN_MARKER};
worker_processes 1;
worker_rlimit_nofile 65535;
daemon off;
pid ${join(directory, `${name}.pid`)};
error_log ${join(directory, `${name}-error.log`)} warn;
events { worker_connections 16384; multi_accept on; }
`;
}

function nginxHttpCommon(directory: string, name: string): string {
  // nginx creates only the last component of a temp path.
  const temp = join(directory, `${name}-temp-`);
  return `
  access_log off;
  client_body_temp_path ${temp}body;
  proxy_temp_path ${temp}proxy;
  fastcgi_temp_path ${temp}fastcgi;
  uwsgi_temp_path ${temp}uwsgi;
  scgi_temp_path ${temp}scgi;
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  client_body_buffer_size 128k;
  client_max_body_size 1m;
  default_type application/octet-stream;
`;
}

/**
 * The origins: `/` a 12-byte body, `/64k` a 64 KiB file, `/upload` reads a
 * POST body (nginx reads and discards it before answering) and says "ok".
 */
export function originNginxConfig(directory: string, ports: readonly number[], largeFile: string): string {
  const servers = ports
    .map(
      (port) => `
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    location = / { return 200 "${SMALL_BODY.trimEnd()}\\n"; }
    location = /64k { alias ${largeFile}; }
    location = /upload { return 200 "ok\\n"; }
    location = /cacheable { add_header Cache-Control "max-age=3600"; return 200 "${SMALL_BODY.trimEnd()}\\n"; }
  }`,
    )
    .join('\n');
  return `${nginxPreamble(directory, 'origins')}
http {
${nginxHttpCommon(directory, 'origins')}
  sendfile on;
${servers}
}
`;
}

/**
 * nginx as the proxy: one worker, a keep-alive pool to the origins.
 * `balancing`: a method directive (`least_conn;`), empty for round-robin;
 * nginx wants it before `keepalive`.
 */
export function proxyNginxConfig(directory: string, port: number, origins: readonly number[], balancing = '', cache = false): string {
  // proxy_cache (issue 12's peer): a memory-sized key zone, the bodies in files under the run's directory
  // (nginx has no memory-only store; the page cache serves them), freshness from the origin's headers.
  const cachePath = cache ? `  proxy_cache_path ${join(directory, 'nginx-cache')} levels=1:2 keys_zone=bench:16m max_size=256m inactive=60m use_temp_path=off;\n` : '';
  const cacheUse = cache ? '      proxy_cache bench;\n' : '';
  return `${nginxPreamble(directory, 'proxy-nginx')}
http {
${nginxHttpCommon(directory, 'proxy-nginx')}
${cachePath}
  upstream origins {
${balancing === '' ? '' : `    ${balancing}\n`}${origins.map((origin) => `    server 127.0.0.1:${origin};`).join('\n')}
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://origins;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
${cacheUse}    }
  }
}
`;
}

/** HAProxy: one thread, round robin unless told, idle server connections reused by any client. */
export function haproxyConfig(directory: string, port: number, origins: readonly number[], balance = 'roundrobin'): string {
  return `
global
  nbthread 1
  maxconn 5000
  pidfile ${join(directory, 'haproxy.pid')}

defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 30s

frontend bench
  bind 127.0.0.1:${port}
  default_backend origins

backend origins
  balance ${balance}
${origins.map((origin, index) => `  server origin${index + 1} 127.0.0.1:${origin}`).join('\n')}
`;
}
