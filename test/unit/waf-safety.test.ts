/**
 * A hostile request costs bounded time in the WAF: every shipped pattern
 * against adversarial inputs of the body limit's size (built from the
 * pattern's own characters and the classic backtracking triggers), the whole
 * engine against hostile bodies of that size, and a property test feeding
 * random and attack-flavoured values to every placement (no exception).
 */
import { readFileSync } from 'node:fs';
import test from 'ava';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { CORE_RULES_PATH, WafEngine } from '../../src/waf/engine.js';
import { compileTrustedPattern } from '../../src/waf/regex-safety.js';
import { RequestParts } from '../../src/waf/request-parts.js';

const LIMIT = 64 * 1024;
/** Generous for a busy 2-core machine (the slowest shipped pattern takes about 90 ms alone); a quadratic one took 12 s. */
const PATTERN_BUDGET_MS = 1_000;

interface RawRule {
  readonly id: number;
  readonly regex?: string;
}

const rules = (parseYaml(readFileSync(CORE_RULES_PATH, 'utf8')) as { rules: RawRule[] }).rules.filter((rule) => rule.regex !== undefined);

/** Inputs that make backtracking engines work: runs of each character a pattern mentions, and pairs of them. */
function adversarialInputs(pattern: string): string[] {
  const characters = new Set<string>(pattern.replace(/\\[sdwbSDWB]/g, '').replace(/[\\^$|?*+()[\]{}]/g, '').split(''));
  for (const ch of ' \t\n0a_/.\'"<>(){}$%=;&|`-*#@:,') characters.add(ch);
  const inputs: string[] = [];
  const list = [...characters];
  for (const ch of list) inputs.push(ch.repeat(LIMIT));
  for (let i = 0; i + 1 < list.length; i += 2) inputs.push(`${list[i]}${list[i + 1]}`.repeat(LIMIT / 2));
  for (const unit of ['a ', 'a=', "a'", '<a ', '{{', '../', '$(', '((', 'or 1=', '\\\\', 'http://', '%2e', 'on', '/*', 'select ', 'a@', '${']) {
    inputs.push(unit.repeat(Math.floor(LIMIT / unit.length)));
    inputs.push(`${unit.repeat(Math.floor(LIMIT / unit.length) - 1)}!`);
  }
  return inputs;
}

test('every shipped pattern runs on adversarial 64 KiB inputs in bounded time', (t) => {
  let worst = { ms: 0, id: 0 };
  const slow: string[] = [];
  for (const rule of rules) {
    const compiled = compileTrustedPattern(rule.regex as string, false);
    for (const input of adversarialInputs(rule.regex as string)) {
      const started = performance.now();
      compiled.find(input);
      const ms = performance.now() - started;
      if (ms > worst.ms) worst = { ms, id: rule.id };
      if (ms > PATTERN_BUDGET_MS) {
        slow.push(`rule ${rule.id} took ${ms.toFixed(0)} ms on ${JSON.stringify(input.slice(0, 12))}… (${input.length} characters)`);
        break;
      }
    }
  }
  t.log(`slowest: rule ${worst.id}, ${worst.ms.toFixed(1)} ms`);
  t.deepEqual(slow, []);
});

const engine = new WafEngine({ mode: 'block', paranoia: 4, threshold: 1000, bodyLimit: LIMIT, exclusions: [], ruleFiles: [] });

function evaluateBody(type: string, body: string, url = '/x'): number {
  const parts = new RequestParts({ method: 'POST', url, rawHeaders: ['Host', 'x', 'Content-Type', type] });
  parts.addBody(Buffer.from(body).subarray(0, LIMIT), type);
  const started = performance.now();
  engine.evaluate(parts);
  return performance.now() - started;
}

test('the whole engine (paranoia 4, no early stop) on hostile bodies of the limit size', (t) => {
  const cases: [string, string, string][] = [
    ['many tiny form fields', 'application/x-www-form-urlencoded', 'a=1&'.repeat(LIMIT / 4)],
    ['one huge form value of quotes', 'application/x-www-form-urlencoded', `a=${"'".repeat(LIMIT)}`],
    ['deeply nested JSON', 'application/json', `${'{"a":'.repeat(LIMIT / 10)}1${'}'.repeat(LIMIT / 10)}`],
    ['JSON of many short strings', 'application/json', `[${'"x",'.repeat(LIMIT / 4)}"x"]`],
    ['multipart of many parts', 'multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-data; name="x"\r\n\r\ny\r\n'.repeat(LIMIT / 50)],
    ['XML of nested tags', 'application/xml', '<a '.repeat(LIMIT / 3)],
    ['percent signs', 'text/plain', '%25'.repeat(LIMIT / 3)],
    ['entities', 'text/plain', '&#x26;'.repeat(LIMIT / 6)],
    ['escapes', 'text/plain', '\\u005c'.repeat(LIMIT / 6)],
    ['Base64-looking', 'application/x-www-form-urlencoded', `a=${'QUFB'.repeat(LIMIT / 4)}`],
    ['SQL-ish', 'text/plain', "' or 1=1 -- ".repeat(LIMIT / 12)],
    ['tags', 'text/plain', '<svg onload='.repeat(LIMIT / 12)],
    ['newlines', 'text/plain', '\n'.repeat(LIMIT)],
    ['open expressions', 'text/plain', '${'.repeat(LIMIT / 2)],
    ['open tags', 'text/plain', '<a '.repeat(LIMIT / 3)],
  ];
  for (const [what, type, body] of cases) {
    const ms = evaluateBody(type, body);
    t.log(`${what}: ${ms.toFixed(1)} ms`);
    t.true(ms < 3_000, `${what} took ${ms.toFixed(0)} ms`);
  }
});

const attackFragments = fc.constantFrom("'", '"', '<script>', '../', '%', '%25', '&#x', '\\u00', '${', '{{', '/*', '--', ';', '|', '`', '$(', 'union select', 'on', '=', '\0', '\r\n', '＜', '\ud800', 'QUFB');
const hostileText = fc.array(fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 10 }), attackFragments), { maxLength: 40 }).map((pieces) => pieces.join(''));

test('property: random and attack-flavoured values in every placement never throw', (t) => {
  fc.assert(
    fc.property(hostileText, fc.constantFrom('query', 'name', 'path', 'header', 'cookie', 'form', 'json', 'multipart', 'xml', 'raw'), (text, placement) => {
      const encoded = encodeURIComponent(text.replace(/[\ud800-\udfff]/g, ''));
      const headers = ['Host', 'x'];
      let url = '/p';
      let body: { type: string; text: string } | null = null;
      switch (placement) {
        case 'query': url = `/p?v=${encoded}`; break;
        case 'name': url = `/p?${encoded}=1`; break;
        case 'path': url = `/p/${encoded}`; break;
        case 'header': headers.push('X-Data', text); break;
        case 'cookie': headers.push('Cookie', `a=${text}`); break;
        case 'form': body = { type: 'application/x-www-form-urlencoded', text: `v=${encoded}&${text}` }; break;
        case 'json': body = { type: 'application/json', text: `{"v":${JSON.stringify(text)},${text}` }; break;
        case 'multipart': body = { type: 'multipart/form-data; boundary=b', text: `--b\r\nContent-Disposition: form-data; name="${text}"\r\n\r\n${text}\r\n--b--` }; break;
        case 'xml': body = { type: 'application/xml', text: `<a>${text}</a>` }; break;
        default: body = { type: 'text/plain', text };
      }
      const parts = new RequestParts({ method: body === null ? 'GET' : 'POST', url, rawHeaders: headers });
      if (body !== null) parts.addBody(Buffer.from(body.text), body.type);
      const evaluation = engine.evaluate(parts);
      return Number.isFinite(evaluation.score);
    }),
    { numRuns: 1500 },
  );
  t.pass();
});
