/**
 * The character skip (src/waf/required-chars.ts, value-mask.ts): a rule is
 * not offered a value lacking every character of one of its clauses. These
 * tests check the three things that make the skip safe: what the pattern
 * analysis derives, that no transformation creates a character the value's
 * mask does not already allow, and that for every shipped rule with clauses,
 * values avoiding a clause never match it — and that the whole corpus gets
 * the same verdicts with the skip as without it.
 */
import test from 'ava';
import fc from 'fast-check';
import { loadCoreRules, CORE_SOURCE } from '../../src/waf/engine.js';
import { compileOperator } from '../../src/waf/operator.js';
import { hasChar, patternClauses, phraseClauses, type CharSet } from '../../src/waf/required-chars.js';
import { RequestParts } from '../../src/waf/request-parts.js';
import { clausesFor, RuleSet } from '../../src/waf/rule-set.js';
import { TRANSFORMS, type TransformName } from '../../src/waf/transforms.js';
import { fillMask, NON_DECODING, someClauseUnmet } from '../../src/waf/value-mask.js';
import { attackRequests, legitimateRequests } from '../../bench/waf/corpus.js';

function chars(set: CharSet): string {
  let out = '';
  for (let code = 0; code < 128; code++) if (hasChar(set, code)) out += String.fromCharCode(code);
  return out;
}

test('analysis: literals, classes and escapes are required; optional and zero-width parts are not', (t) => {
  t.deepEqual(patternClauses('<script').map(chars)[0], '<');
  t.deepEqual(patternClauses('\\$\\{jndi:').map(chars).slice(0, 2), ['$', '{']);
  t.deepEqual(patternClauses('[;|]\\s*id').map(chars)[0], ';|');
  t.deepEqual(patternClauses('a|b').map(chars), ['ABab']);
  t.deepEqual(patternClauses("(?:x|')+=").map(chars)[0], '=');
  t.deepEqual(patternClauses('\\x3c'), patternClauses('<'));
  t.deepEqual(patternClauses('x?'), []);
  t.deepEqual(patternClauses('(?=<)'), []);
  t.deepEqual(patternClauses('<{0,3}'), []);
  t.deepEqual(patternClauses('\\b\\w+').map(chars)[0]?.length, 63, 'letters, digits and _');
  t.deepEqual(patternClauses('\\s'), [], 'a clause holding space is dropped: transformations create spaces');
});

test('analysis: gives up on what it does not know, and negated classes are complements', (t) => {
  t.deepEqual(patternClauses('\\p{L}<'), []);
  t.deepEqual(patternClauses('(?i)<'), []);
  t.deepEqual(patternClauses('[[:alpha:]]<'), []);
  t.deepEqual(patternClauses('\\012<'), []);
  t.deepEqual(patternClauses('[^\\x00-\\x3b\\x3d-\\x7f]').map(chars), ['<'], 'all but <: only <');
  t.deepEqual(patternClauses('[]x')[0], new Int32Array(4), 'an empty class matches nothing: an empty clause');
  t.deepEqual(phraseClauses(['KM']).map(chars)[0]?.toLowerCase().includes('k') ?? false, true, 'the Kelvin sign lowers to k, as PhraseSet lowers it');
});

/** ASCII with the characters that matter to the transformations over-represented. */
const ASCII_CHARS = [...Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)), ...'%&\\+-#/*.$\'"`{}IFS '.split('')];
const asciiText = fc.array(fc.constantFrom(...ASCII_CHARS), { maxLength: 40 }).map((list) => list.join(''));
const fragments = fc.constantFrom('--', '/*', '*/', '/*!50000', '../', './', '..\\', '$IFS', '${IFS}', '$@', "c'a't", '\\x3c', '%2e', '&lt;', '&#60', '\\u003c', '#', '//');
const trickyText = fc.array(fc.oneof(asciiText, fragments), { maxLength: 6 }).map((list) => list.join(''));

/** The mask (4 words) of a value, as the rule set computes it, or null. */
function maskOf(text: string, decoders: boolean): Int32Array | null {
  const mask = new Int32Array(4);
  return fillMask(text, decoders, mask, 0) ? mask : null;
}

function withinMask(text: string, mask: Int32Array): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || ((mask[code >>> 5] as number) & (1 << (code & 31))) === 0) return false;
  }
  return true;
}

test('property: no transformation but base64Decode creates a character outside the mask of an ASCII value without %+&\\', (t) => {
  const names = (Object.keys(TRANSFORMS) as TransformName[]).filter((name) => name !== 'base64Decode');
  fc.assert(
    fc.property(trickyText, fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 4 }), (text, chain) => {
      const mask = maskOf(text, true);
      if (mask === null) return true;
      const out = chain.reduce((value, name) => TRANSFORMS[name](value), text);
      return withinMask(out, mask);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('property: the non-decoding transformations keep any ASCII value (decoded or not) within its mask', (t) => {
  const names = [...NON_DECODING];
  fc.assert(
    fc.property(trickyText, fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 4 }), (text, chain) => {
      const mask = maskOf(text, false);
      if (mask === null) return true;
      return withinMask(chain.reduce((value, name) => TRANSFORMS[name](value), text), mask);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('every shipped rule with clauses: values avoiding a clause never match it (or the rule is not skipped)', (t) => {
  let skippable = 0;
  for (const spec of loadCoreRules()) {
    const clauses = clausesFor(spec);
    if (clauses === null) continue; // never skipped
    skippable++;
    const operator = compileOperator(spec.operator, true, spec.transforms[spec.transforms.length - 1] === 'lowercase');
    const words = spec.operator.kind === 'regex' ? spec.operator.pattern.match(/[\w$<>:;'"`(){}[\]|&=.,!@#*~^/-]{2,}/g) ?? [] : spec.operator.kind === 'phrases' ? [...spec.operator.phrases] : [];
    for (let k = 0; k < clauses.length; k += 4) {
      const clause = clauses.subarray(k, k + 4);
      const allowed = (text: string): string => [...text].filter((ch) => !hasChar(clause, ch.charCodeAt(0))).join('');
      const pieces = fc.oneof(asciiText, ...(words.length > 0 ? [fc.constantFrom(...words)] : []), fc.constantFrom(' ', '\n', '(', '=', "'", '1'));
      fc.assert(
        fc.property(fc.array(pieces, { maxLength: 8 }), (list) => {
          const value = allowed(list.join(''));
          const mask = maskOf(value, true);
          if (mask === null || !someClauseUnmet(clause, mask, 0)) return true;
          const transformed = spec.transforms.reduce((text, name) => TRANSFORMS[name](text), value);
          return operator.match(transformed) === null;
        }),
        { numRuns: 300 },
      );
    }
  }
  t.true(skippable > 40, `${skippable} shipped rules have clauses`);
});

test('the corpora get the same verdicts with the character skip as without it', (t) => {
  const options = { paranoia: 4, threshold: 1000, exclusions: [] };
  const trusted = new Set([CORE_SOURCE]);
  const skipping = new RuleSet(loadCoreRules(), options, trusted);
  const plain = new RuleSet(loadCoreRules(), options, trusted, false);
  const requests = [...attackRequests(), ...attackRequests('attacks-holdout.json'), ...legitimateRequests()].filter((_, index) => index % 6 === 0);
  for (const request of requests) {
    const run = (rules: RuleSet): string => {
      const parts = new RequestParts({ method: request.method, url: request.url, rawHeaders: request.headers });
      if (request.body !== null) parts.addBody(Buffer.from(request.body), request.headers[request.headers.findIndex((name, i) => i % 2 === 0 && name.toLowerCase() === 'content-type') + 1]);
      return rules.evaluate(parts).matches.map((match) => `${match.id}@${match.part}`).join(',');
    };
    const expected = run(plain);
    if (run(skipping) !== expected) t.fail(`${request.category} ${request.placement} ${request.url.slice(0, 100)}: ${expected}`);
  }
  t.pass(`${requests.length} requests`);
});
