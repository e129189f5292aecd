/**
 * What a process's WAF has seen, for /metrics and the visualizer: requests
 * inspected, and those over the threshold by mode and by the categories of
 * the rules that matched (a closed set, so the labels stay bounded), and the
 * last few flagged requests (rule ids, parts, redacted snippets: what the log
 * line says). One object per process, kept across reloads (a reload builds a
 * new filter); written in place by the filter, read at scrape or batch time.
 */
import { WAF_RECENT_KEPT, type WafFlaggedRequest } from '../protocol/index.js';
import type { Evaluation } from './rule-set.js';
import { CATEGORIES, type Category } from './rule.js';

export class WafCounters {
  /** Whether the settings have the WAF on now (the visualizer shows no WAF panel without it). */
  on = false;
  inspected = 0;
  /** Over the threshold: blocked (--waf block) or only logged (--waf detect). */
  blocked = 0;
  detected = 0;
  /** Requests over the threshold with at least one match of the category. */
  readonly byCategory = new Map<Category, number>(CATEGORIES.map((category) => [category, 0]));
  /** The last flagged requests, oldest first; the visualizer's agent takes them (drainRecent). */
  private recent: WafFlaggedRequest[] = [];

  constructor(private readonly node = '') {}

  /** Only for a flagged request, so building its record is off the common path. */
  flagged(blocking: boolean, evaluation: Evaluation, requestId: string): void {
    if (blocking) this.blocked++;
    else this.detected++;
    const categories = new Set(evaluation.matches.map((match) => match.category));
    for (const category of categories) this.byCategory.set(category, (this.byCategory.get(category) ?? 0) + 1);
    this.recent.push({
      time: Date.now(),
      node: this.node,
      requestId,
      action: blocking ? 'blocked' : 'detected',
      score: evaluation.score,
      rules: evaluation.matches.map((match) => match.id),
      categories: [...categories],
      parts: evaluation.matches.map((match) => `${match.part}: ${match.matched}`),
    });
    if (this.recent.length > WAF_RECENT_KEPT) this.recent.shift();
  }

  /** The flagged requests since the last call. */
  drainRecent(): WafFlaggedRequest[] {
    const recent = this.recent;
    this.recent = [];
    return recent;
  }
}
