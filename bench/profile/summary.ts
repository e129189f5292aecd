/**
 * The functions a `.cpuprofile` spent its busy samples in, heaviest first,
 * each with the part of the request it is attributed to (categories.ts):
 * what is behind a row of the budget table.
 *
 *   node dist/bench/profile/summary.js bench/results/profile-balancebeam-keepalive-500.cpuprofile [--top 40] [--part other]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { partOf, profilerNodes, type CpuProfile } from './categories.js';

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' }, part: { type: 'string' } },
});
if (positionals.length === 0) throw new Error('usage: summary.js PROFILE.cpuprofile [--top N] [--part NAME]');

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  // By function (URL, name, line), summed over the call tree's nodes.
  const byFunction = new Map<string, { us: number; part: string }>();
  let busyUs = 0;
  const profiler = profilerNodes(profile);
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id);
    const { url, functionName } = node.callFrame;
    if (us === undefined || functionName === '(idle)') continue;
    busyUs += us;
    const part = profiler.has(node.id) ? 'profiler (excluded)' : partOf(url, functionName);
    if (values.part !== undefined && part !== values.part) continue;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${node.callFrame.lineNumber ?? -1}`;
    const entry = byFunction.get(key) ?? { us: 0, part };
    entry.us += us;
    byFunction.set(key, entry);
  }
  console.log(`${file}: ${(busyUs / 1000).toFixed(0)} ms busy`);
  const rows = [...byFunction].sort((a, b) => b[1].us - a[1].us).slice(0, Number(values.top));
  for (const [key, { us, part }] of rows) console.log(`${((100 * us) / busyUs).toFixed(2).padStart(6)} %  ${part.padEnd(24)} ${key}`);
}
