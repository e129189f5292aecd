/**
 * A rule's operator, compiled once per rule set: a regular expression, a
 * phrase set (Aho-Corasick), a numeric comparison, or one of the
 * tokenizer-based detectors. `match` returns what matched (for the log), or null.
 */
import { PhraseSet } from './aho-corasick.js';
import { detectXss } from './html-detector.js';
import { compileLinearPattern, compileTrustedPattern, type Pattern } from './regex-safety.js';
import type { NumericComparison, OperatorSpec } from './rule.js';
import { detectSqlInjection } from './sql-detector.js';

export interface Operator {
  match(value: string): string | null;
}

class RegexOperator implements Operator {
  constructor(private readonly pattern: Pattern) {}
  match(value: string): string | null {
    return this.pattern.find(value);
  }
}

class PhraseOperator implements Operator {
  constructor(private readonly set: PhraseSet) {}
  match(value: string): string | null {
    return this.set.find(value);
  }
}

function compare(value: number, comparison: NumericComparison, limit: number): boolean {
  switch (comparison) {
    case 'gt':
      return value > limit;
    case 'ge':
      return value >= limit;
    case 'lt':
      return value < limit;
    case 'le':
      return value <= limit;
    case 'eq':
      return value === limit;
    case 'ne':
      return value !== limit;
  }
}

class NumberOperator implements Operator {
  constructor(
    private readonly of: 'length' | 'value',
    private readonly comparison: NumericComparison,
    private readonly limit: number,
  ) {}
  match(value: string): string | null {
    const number = this.of === 'length' ? value.length : value.trim() === '' ? NaN : Number(value);
    if (Number.isNaN(number)) return null;
    return compare(number, this.comparison, this.limit) ? `${this.of} ${number} ${this.comparison} ${this.limit}` : null;
  }
}

const SQL: Operator = { match: detectSqlInjection };
const HTML: Operator = { match: detectXss };

/**
 * `trusted`: a shipped rule, whose patterns run on V8 (see regex-safety.ts); otherwise re2js.
 * `lowercased`: the value reaches the operator lowercased, so a case-insensitive pattern is compiled
 * without the `i` flag (its letters are lowercase by convention), which V8 matches several times faster.
 */
export function compileOperator(spec: OperatorSpec, trusted: boolean, lowercased = false): Operator {
  switch (spec.kind) {
    case 'regex': {
      const caseSensitive = spec.caseSensitive || lowercased;
      return new RegexOperator(trusted ? compileTrustedPattern(spec.pattern, caseSensitive) : compileLinearPattern(spec.pattern, caseSensitive));
    }
    case 'phrases':
      return new PhraseOperator(new PhraseSet(spec.phrases, { wholeWords: spec.wholeWords }));
    case 'number':
      return new NumberOperator(spec.of, spec.comparison, spec.limit);
    case 'detect':
      return spec.detector === 'sql' ? SQL : HTML;
  }
}
