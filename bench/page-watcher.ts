/**
 * What an open visualizer page asks of the admin server, without a browser
 * (bench row `balancebeam-admin-watched`): read from page/app.ts, which on
 * load fetches /viz/api/mode, /viz/api/charts and /viz/api/history, then
 * holds the SSE stream /feed open (reading every frame), and polls
 * /api/changes every 3 s and /api/upstreams every 2 s (the latter gathers
 * every process's metrics). It watches no actor by default. Every call
 * carries the admin token as the page does. The watcher runs in the bench's
 * own process, so its CPU is not counted as the proxy's.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

export interface PageWatcher {
  /** SSE frames read so far (the stream is really being consumed). */
  readonly frames: () => number;
  stop(): void;
}

const CHANGES_POLL_MS = 3_000;
const UPSTREAMS_POLL_MS = 2_000;

function get(port: number, path: string, token: string, onResponse: (response: IncomingMessage) => void = (response) => response.resume()): ClientRequest {
  const accept = path === '/feed' ? 'text/event-stream' : 'application/json';
  const call = request({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${token}`, accept } }, onResponse);
  call.on('error', () => {});
  call.end();
  return call;
}

function getOnce(port: number, path: string, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = get(port, path, token, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`${path}: ${response.statusCode ?? 0}`))));
    });
    call.on('error', reject);
  });
}

/** Opens the page's calls against the admin server at `port`; resolves once the first frame has arrived. */
export async function watchPage(port: number, token: string): Promise<PageWatcher> {
  for (const path of ['/viz/api/mode', '/viz/api/charts', '/viz/api/history', '/api/changes', '/api/upstreams']) await getOnce(port, path, token);
  let frames = 0;
  let stopped = false;
  let feed: ClientRequest | null = null;
  let firstFrame: () => void = () => {};
  const arrived = new Promise<void>((resolve) => (firstFrame = resolve));
  const openFeed = (): void => {
    feed = get(port, '/feed', token, (response) => {
      response.setEncoding('utf8');
      let buffered = '';
      response.on('data', (chunk: string) => {
        buffered += chunk;
        let end: number;
        // One frame per `data:` event, parsed as the page parses it; heartbeats are comments.
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const event = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (!event.startsWith('data:')) continue;
          JSON.parse(event.slice(5));
          frames++;
          firstFrame();
        }
      });
      response.on('end', () => {
        if (!stopped) setTimeout(openFeed, 1_000);
      });
    });
  };
  openFeed();
  const changes = setInterval(() => get(port, '/api/changes', token), CHANGES_POLL_MS);
  const upstreams = setInterval(() => get(port, '/api/upstreams', token), UPSTREAMS_POLL_MS);
  await arrived;
  return {
    frames: () => frames,
    stop: () => {
      stopped = true;
      clearInterval(changes);
      clearInterval(upstreams);
      feed?.destroy();
    },
  };
}
