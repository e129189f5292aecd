/**
 * The corpus through the WAF engine alone, in this process (no sockets):
 * what each request scores, for tuning rules quickly and for the engine's
 * own cost per request. `npm run bench:waf` replays the same requests
 * through the real CLI.
 */
import type { WafSettings } from '../../src/protocol/index.js';
import { WafEngine } from '../../src/waf/engine.js';
import type { Evaluation } from '../../src/waf/rule-set.js';
import type { CorpusRequest } from './corpus.js';

export const BENCH_WAF_SETTINGS: WafSettings = { mode: 'block', paranoia: 1, threshold: 5, bodyLimit: 64 * 1024, exclusions: [], ruleFiles: [] };

export function evaluateRequest(engine: WafEngine, request: CorpusRequest): Evaluation {
  const parts = engine.parts({ method: request.method, url: request.url, rawHeaders: request.headers });
  const head = engine.evaluate(parts);
  if (request.body === null || head.score >= engine.settings.threshold) return head;
  const contentType = request.headers[request.headers.findIndex((name, i) => i % 2 === 0 && name.toLowerCase() === 'content-type') + 1];
  const items = parts.items.length;
  parts.addBody(Buffer.from(request.body), contentType);
  return engine.evaluate(parts, { ...head, items });
}

export function newEngine(settings: Partial<WafSettings> = {}): WafEngine {
  return new WafEngine({ ...BENCH_WAF_SETTINGS, ...settings });
}
