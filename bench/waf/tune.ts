/** Rule tuning aid: detection per category and the false positives, in process. `node dist/bench/waf/tune.js [--paranoia N] [--misses CATEGORY]` */
import { attackRequests, legitimateRequests } from './corpus.js';
import { evaluateRequest, newEngine } from './in-process.js';

const args = process.argv.slice(2);
const paranoia = Number(args[args.indexOf('--paranoia') + 1]) || 1;
const missesOf = args.includes('--misses') ? args[args.indexOf('--misses') + 1] : null;
const engine = newEngine({ paranoia });
const byCategory = new Map<string, { total: number; caught: number }>();
for (const request of attackRequests(args.includes('--holdout') ? 'attacks-holdout.json' : 'attacks.json')) {
  const caught = evaluateRequest(engine, request).score >= 5;
  const key = request.category;
  const entry = byCategory.get(key) ?? { total: 0, caught: 0 };
  entry.total++;
  if (caught) entry.caught++;
  byCategory.set(key, entry);
  if (!caught && (missesOf === key || missesOf === `${key}/${request.placement}`)) console.log('MISS', request.placement, request.url.slice(0, 160), (request.body ?? '').slice(0, 200));
}
let total = 0;
let caught = 0;
let sum = 0;
for (const [category, entry] of [...byCategory].sort()) {
  total += entry.total;
  caught += entry.caught;
  sum += entry.caught / entry.total;
  console.log(category.padEnd(16), `${((100 * entry.caught) / entry.total).toFixed(1)}%`.padStart(7), `${entry.caught}/${entry.total}`);
}
console.log('overall', ((100 * caught) / total).toFixed(1), 'per-category', ((100 * sum) / byCategory.size).toFixed(1));
let fp = 0;
const legit = legitimateRequests();
for (const request of legit) {
  const evaluation = evaluateRequest(engine, request);
  if (evaluation.score >= 5) {
    fp++;
    if (args.includes('--fp')) console.log('FP', evaluation.matches.map((m) => `${m.id} ${m.part}: ${m.matched}`).join(' | '), '::', request.url.slice(0, 120));
  }
}
console.log('false positives', fp, '/', legit.length, ((100 * fp) / legit.length).toFixed(2), '%');
