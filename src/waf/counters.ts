/**
 * What a process's WAF has seen, for /metrics: requests inspected, and those
 * over the threshold by mode and by the categories of the rules that matched
 * (a closed set, so the labels stay bounded). One object per process, kept
 * across reloads (a reload builds a new filter); written in place by the
 * filter, read at scrape time.
 */
import { CATEGORIES, type Category } from './rule.js';

export class WafCounters {
  inspected = 0;
  /** Over the threshold: blocked (--waf block) or only logged (--waf detect). */
  blocked = 0;
  detected = 0;
  /** Requests over the threshold with at least one match of the category. */
  readonly byCategory = new Map<Category, number>(CATEGORIES.map((category) => [category, 0]));

  flagged(blocking: boolean, categories: Iterable<Category>): void {
    if (blocking) this.blocked++;
    else this.detected++;
    for (const category of new Set(categories)) this.byCategory.set(category, (this.byCategory.get(category) ?? 0) + 1);
  }
}
