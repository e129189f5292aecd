/**
 * The admin API's cache purge: the cache is per process, so the primary
 * sends `cache.purge` to every proxy node's `<node>/cache` mailbox (over
 * cluster IPC to a worker; in process with --workers 1) and waits for each
 * `cache.purged`, or for the timeout (a worker that does not answer is named
 * in the answer; a purge cannot be half-applied in a process, since each does
 * it in one step when the message arrives).
 */
import { localNameOf, type MailboxRouter } from '../actors/router.js';
import { cacheAddress, type Address, type CachePurge, type CachePurged, type NodeId } from '../protocol/index.js';

export const CACHE_PURGES = 'cache-purges';

export interface PurgeResult {
  /** node → responses removed there. */
  readonly removed: { readonly [node: string]: number };
  readonly total: number;
  /** Nodes whose cache is on. */
  readonly cacheOn: readonly NodeId[];
  /** Nodes that did not answer in time. */
  readonly unconfirmed: readonly NodeId[];
}

interface Round {
  readonly waiting: Set<NodeId>;
  readonly answers: CachePurged[];
  finish(): void;
}

export class CachePurger {
  private nextRequest = 1;
  private readonly rounds = new Map<number, Round>();
  private readonly replyTo: Address;

  constructor(
    private readonly router: MailboxRouter,
    /** The proxy nodes (`['p']` with --workers 1, else the live workers). */
    private readonly nodes: () => readonly NodeId[],
    private readonly timeoutMs = 5_000,
  ) {
    this.replyTo = `${router.node}/${CACHE_PURGES}`;
    router.register(localNameOf(this.replyTo), {
      send: (answer: CachePurged) => {
        const round = this.rounds.get(answer.requestId);
        if (answer.type !== 'cache.purged' || round === undefined || !round.waiting.delete(answer.node)) return;
        round.answers.push(answer);
        if (round.waiting.size === 0) round.finish();
      },
    });
  }

  async purge(url: CachePurge['url']): Promise<PurgeResult> {
    const requestId = this.nextRequest++;
    const nodes = this.nodes();
    let timer: NodeJS.Timeout | undefined;
    const round: Round = { waiting: new Set(nodes), answers: [], finish: () => {} };
    const done = new Promise<void>((resolve) => {
      round.finish = resolve;
      timer = setTimeout(resolve, this.timeoutMs);
    });
    this.rounds.set(requestId, round);
    // In process (--workers 1) the answer comes inside the send: the round is registered first.
    for (const node of nodes) this.router.send(cacheAddress(node), { type: 'cache.purge', requestId, url, replyTo: this.replyTo });
    if (round.waiting.size > 0) await done;
    clearTimeout(timer);
    this.rounds.delete(requestId);
    const removed: Record<string, number> = {};
    let total = 0;
    for (const answer of round.answers.sort((a, b) => a.node.localeCompare(b.node))) {
      removed[answer.node] = answer.removed;
      total += answer.removed;
    }
    return {
      removed,
      total,
      cacheOn: round.answers.filter((answer) => answer.cacheOn).map((answer) => answer.node),
      unconfirmed: [...round.waiting].sort(),
    };
  }
}

/**
 * `{"url": "http://host[:port]/path?query"}` (the authority as clients send it in Host, the target as
 * sent), `{"host": "...", "target": "/..."}` (the cache's key), or `{"all": true}`.
 */
export function readPurgeTarget(body: Record<string, unknown>): CachePurge['url'] | { error: string } {
  const keys = Object.keys(body);
  const only = (...allowed: string[]): boolean => keys.every((key) => allowed.includes(key));
  if (body.all === true && only('all')) return null;
  if (typeof body.url === 'string' && only('url')) {
    const match = /^https?:\/\/([^/?#\s]+)([^#\s]*)$/i.exec(body.url);
    if (match === null) return { error: 'url must be an absolute http URL: "http://example.com/path?query"' };
    const rest = match[2] as string;
    return { host: (match[1] as string).toLowerCase(), target: rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}` };
  }
  if (typeof body.host === 'string' && typeof body.target === 'string' && only('host', 'target')) {
    if (body.host === '' || !body.target.startsWith('/')) return { error: 'host must not be empty and target must start with /' };
    return { host: body.host.toLowerCase(), target: body.target };
  }
  return { error: 'give {"url": "http://host/path"}, {"host": "host", "target": "/path"} or {"all": true}' };
}
