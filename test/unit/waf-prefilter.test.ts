/**
 * Literal prefilters (src/waf/prefilter.ts): what is extracted, what is
 * refused, and that no shipped rule's prefilter ever hides a match of its
 * regex on the attack corpora.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { parse as parseYaml } from 'yaml';
import { PhraseSet } from '../../src/waf/aho-corasick.js';
import { CORE_RULES_PATH } from '../../src/waf/engine.js';
import { requiredLiterals } from '../../src/waf/prefilter.js';
import { fullDecode, lowercase } from '../../src/waf/transforms.js';

test('literals: each alternative head, literal groups, optional characters left out', (t) => {
  t.deepEqual(requiredLiterals('\\b(?:sleep|benchmark)\\s*\\(|\\bwaitfor\\s+delay'), ['sleep', 'benchmark', 'waitfor']);
  t.deepEqual(requiredLiterals('169\\.254\\.169\\.254|/latest/meta-data'), ['169.254.169.254', '/latest/meta-data']);
  t.deepEqual(requiredLiterals('ex"?cute'), ['ex']);
  t.deepEqual(requiredLiterals('<!(?:doctype|entity)'), ['<!']);
});

test('literals: refused when any alternative has no literal head', (t) => {
  t.is(requiredLiterals('[;|&]\\s*cat|curl'), null);
  t.is(requiredLiterals('(?:union)?select|x'), null, 'a one-character head is no filter');
  t.is(requiredLiterals('(?:a|b)?cd'), null);
  t.is(requiredLiterals('^\\s*\\*'), null);
});

interface RawRule {
  readonly id: number;
  readonly regex?: string;
  readonly transforms?: readonly string[];
  readonly caseSensitive?: boolean;
}

test('no shipped prefilter hides a match of its rule on the attack corpora', (t) => {
  const rules = (parseYaml(readFileSync(CORE_RULES_PATH, 'utf8')) as { rules: RawRule[] }).rules;
  const corpus = fileURLToPath(new URL('../../../test/data/waf-corpus/', import.meta.url));
  const payloads = ['attacks.json', 'attacks-holdout.json'].flatMap((file) => (JSON.parse(readFileSync(`${corpus}${file}`, 'utf8')) as { payload: string }[]).map((entry) => lowercase(fullDecode(entry.payload))));
  let checked = 0;
  for (const rule of rules) {
    if (rule.regex === undefined || rule.transforms?.at(-1) !== 'lowercase') continue;
    const literals = requiredLiterals(rule.regex);
    if (literals === null) continue;
    const filter = new PhraseSet(literals);
    const regex = new RegExp(rule.regex, 's');
    for (const payload of payloads) {
      if (regex.test(payload)) {
        checked++;
        if (filter.find(payload) === null) t.fail(`rule ${rule.id}: its prefilter hides a match on ${JSON.stringify(payload.slice(0, 80))}`);
      }
    }
  }
  t.log(`${checked} matches checked`);
  t.true(checked > 100);
});
