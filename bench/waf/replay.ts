/** Sending corpus requests to a server and keeping what it answered, with a few requests in flight. */
import { Pool } from 'undici';
import type { CorpusRequest } from './corpus.js';

/** The status of each request, in order; 0 when the request failed without an answer. */
export async function replay(port: number, requests: readonly CorpusRequest[], concurrency = 8): Promise<number[]> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const statuses = new Array<number>(requests.length).fill(0);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < requests.length) {
      const index = next++;
      const request = requests[index] as CorpusRequest;
      try {
        const response = await pool.request({
          path: request.url,
          method: request.method,
          headers: [...request.headers],
          body: request.body ?? undefined,
        });
        await response.body.dump();
        statuses[index] = response.statusCode;
      } catch {
        statuses[index] = 0;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await pool.close();
  return statuses;
}
