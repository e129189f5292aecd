/** The command line every peer proxy takes: `PORT ORIGIN_URL ORIGIN_URL…`. */
export interface PeerArguments {
  port: number;
  origins: string[];
}

export function parsePeerArguments(argv: readonly string[] = process.argv.slice(2)): PeerArguments {
  const [port, ...origins] = argv;
  if (port === undefined || origins.length === 0) {
    throw new Error('usage: node <peer>.js PORT http://HOST:PORT [http://HOST:PORT …]');
  }
  return { port: Number(port), origins };
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) that a proxy must not forward. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
