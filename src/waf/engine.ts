/**
 * The WAF engine: the shipped rules (waf-rules/core.yaml, read once per
 * process) and the user's rule files, compiled into one RuleSet for the
 * settings' paranoia level and exclusions. Built at start and on each
 * reload (a new pipeline); a bad user rule throws with every problem listed,
 * which `balancebeam check` and a reload report.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { WafSettings } from '../protocol/index.js';
import { RequestParts, type RequestHead } from './request-parts.js';
import { readRules, type RuleSpec } from './rule.js';
import { RuleSet, type Evaluation, type HeadEvaluation } from './rule-set.js';

/** Shipped with the package beside dist/ (this file is dist/src/waf/engine.js). */
export const CORE_RULES_PATH = new URL('../../../waf-rules/core.yaml', import.meta.url);
export const CORE_SOURCE = 'core';
const TRUSTED = new Set([CORE_SOURCE]);

let coreRules: readonly RuleSpec[] | null = null;

/** The shipped rules, read and checked once per process. */
export function loadCoreRules(): readonly RuleSpec[] {
  if (coreRules !== null) return coreRules;
  const read = readRules(parseYaml(readFileSync(CORE_RULES_PATH, 'utf8')), CORE_SOURCE);
  if (!read.ok) throw new Error(`the shipped WAF rules are broken: ${read.errors.join('; ')}`);
  coreRules = read.rules;
  return coreRules;
}

export class WafError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

export class WafEngine {
  readonly rules: RuleSet;

  constructor(readonly settings: WafSettings, core: readonly RuleSpec[] = loadCoreRules()) {
    const problems: string[] = [];
    const all: RuleSpec[] = [...core];
    const ids = new Map<number, string>(core.map((rule) => [rule.id, rule.source]));
    for (const file of settings.ruleFiles) {
      const read = readRules(file.contents, file.path);
      if (!read.ok) {
        problems.push(...read.errors);
        continue;
      }
      for (const rule of read.rules) {
        const other = ids.get(rule.id);
        if (other !== undefined) problems.push(`${file.path}: rule ${rule.id}: the id is taken by a rule of ${other}`);
        ids.set(rule.id, file.path);
        all.push(rule);
      }
    }
    if (problems.length > 0) throw new WafError(problems);
    try {
      this.rules = new RuleSet(all, settings, TRUSTED);
    } catch (error) {
      throw new WafError([error instanceof Error ? error.message : String(error)]);
    }
  }

  /** A request taken apart into the items these rules read. */
  parts(head: RequestHead): RequestParts {
    return new RequestParts(head, this.rules.itemKinds);
  }

  /** With `head`, only what the body added to `parts` is evaluated (see RuleSet.evaluate). */
  evaluate(parts: RequestParts, head: HeadEvaluation | null = null): Evaluation {
    return this.rules.evaluate(parts, head);
  }
}
