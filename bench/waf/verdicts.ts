/**
 * Every corpus request's verdict through the engine, in process, one line each (corpus, index, score,
 * rule ids): an optimisation of the engine must leave this output byte for byte the same.
 * `node dist/bench/waf/verdicts.js [--paranoia N] > before.txt`, change, rebuild, `diff before.txt -`.
 */
import { attackRequests, legitimateRequests, type CorpusRequest } from './corpus.js';
import { evaluateRequest, newEngine } from './in-process.js';

const args = process.argv.slice(2);
const paranoia = Number(args[args.indexOf('--paranoia') + 1]) || 1;
const engine = newEngine({ paranoia });
const corpora: [string, CorpusRequest[]][] = [
  ['attacks', attackRequests()],
  ['holdout', attackRequests('attacks-holdout.json')],
  ['legitimate', legitimateRequests()],
];
const lines: string[] = [];
for (const [name, requests] of corpora) {
  requests.forEach((request, index) => {
    const evaluation = evaluateRequest(engine, request);
    lines.push(`${name} ${index} ${request.category} ${evaluation.score} ${evaluation.matches.map((match) => `${match.id}@${match.part}`).join(',')}`);
  });
}
process.stdout.write(`${lines.join('\n')}\n`);
