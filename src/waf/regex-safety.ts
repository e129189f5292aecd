/**
 * Which engine runs a rule's regular expression. V8's backtracking engine is
 * ten times faster than re2js on the short values of a request, but only
 * safe for patterns that cannot backtrack super-linearly; re2js (a port of
 * RE2) is linear for any pattern.
 *
 * The shipped rules run on V8, each pattern having passed `backtrackingRisk`
 * here at compile time and the adversarial timing test of
 * test/unit/waf-regex-safety.test.ts (every shipped pattern against inputs of
 * the body limit's size built from its own characters). User rules run on
 * re2js: their patterns were never tested.
 */
import { RE2JS } from 're2js';
import { stepEnd } from './regex-source.js';

/** A compiled pattern, whichever engine runs it. */
export interface Pattern {
  /** The matched text (at most 200 characters of it), or null. */
  find(text: string): string | null;
}

class V8Pattern implements Pattern {
  constructor(private readonly regex: RegExp) {}
  find(text: string): string | null {
    const match = this.regex.exec(text);
    return match === null ? null : match[0].slice(0, 200);
  }
}

class Re2Pattern implements Pattern {
  constructor(private readonly regex: RE2JS) {}
  find(text: string): string | null {
    const matcher = this.regex.matcher(text);
    return matcher.find() ? (matcher.group() ?? '').slice(0, 200) : null;
  }
}

/**
 * Why a pattern could backtrack super-linearly on V8, or null if none of the known shapes is in it:
 * backreferences and lookbehinds (re2js refuses them too; a lookahead is matched once per position), and a quantifier applied to a group that
 * itself holds an unbounded quantifier (`(a+)+`, `(\w*\s)*`), the classic exponential shape.
 * Adjacent quantifiers over overlapping classes (`\s*\s*x`) are polynomial; the timing test catches
 * those.
 */
export function backtrackingRisk(pattern: string): string | null {
  if (/\\[1-9]|\\k</.test(pattern)) return 'backreference';
  if (/\(\?<[=!]/.test(pattern)) return 'lookbehind';
  // Walk the groups: does a group holding an unbounded quantifier get quantified itself?
  const stack: boolean[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const end = stepEnd(pattern, i);
    if (end === -1) break;
    if (end !== i) {
      i = end;
      continue;
    }
    const ch = pattern[i];
    if (ch === '(') {
      stack.push(false);
      continue;
    }
    const unbounded = ch === '*' || ch === '+' || (ch === '{' && /^\{\d*,\}/.test(pattern.slice(i)));
    if (ch === ')') {
      const heldUnbounded = stack.pop() ?? false;
      const next = pattern[i + 1];
      // Unbounded repetition of the group; a small bound ({0,3}) is polynomial, left to the timing test.
      const quantified = next === '*' || next === '+' || (next === '{' && /^\{\d*,\}/.test(pattern.slice(i + 1)));
      if (heldUnbounded && quantified) return 'nested quantifier';
      if (heldUnbounded && stack.length > 0) stack[stack.length - 1] = true;
      if (quantified && stack.length > 0 && (next === '*' || next === '+')) stack[stack.length - 1] = true;
      continue;
    }
    if (unbounded && stack.length > 0) stack[stack.length - 1] = true;
  }
  return null;
}

/** The shipped rules' engine: V8, refusing patterns of a risky shape. Throws on a bad pattern. */
export function compileTrustedPattern(pattern: string, caseSensitive: boolean): Pattern {
  const risk = backtrackingRisk(pattern);
  if (risk !== null) throw new Error(`pattern may backtrack super-linearly (${risk}): ${pattern}`);
  // No `u` flag: with it V8 matches these alternations about six times slower (measured), and values
  // are JavaScript strings either way; `.` still crosses lines (`s`).
  return new V8Pattern(new RegExp(pattern, caseSensitive ? 's' : 'is'));
}

/** A user rule's engine: re2js, linear whatever the pattern. Throws on a pattern RE2 does not accept. */
export function compileLinearPattern(pattern: string, caseSensitive: boolean): Pattern {
  const flags = (caseSensitive ? 0 : RE2JS.CASE_INSENSITIVE) | RE2JS.DOTALL;
  return new Re2Pattern(RE2JS.compile(pattern, flags));
}
