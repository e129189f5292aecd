/**
 * A WAF rule as data (the shipped waf-rules/core.yaml, or a user's rule
 * file), and the one reader that checks it: every problem is reported with
 * the rule's id, so a bad user rule fails `balancebeam check` and a reload
 * (which keeps the running rules) instead of being skipped silently.
 */
import { isTransformName, type TransformName } from './transforms.js';

export const CATEGORIES = [
  'sqli', 'xss', 'lfi', 'rfi', 'rce', 'code-injection', 'ssti', 'ssrf', 'ldap', 'nosql', 'xxe', 'crlf',
  'open-redirect', 'scanner', 'protocol', 'mail', 'ssi',
] as const;
export type Category = (typeof CATEGORIES)[number];

/**
 * Where a rule looks. `args` are query arguments, form fields, multipart fields and JSON values at
 * any depth (JSON keys are `arg-names`); `NAME:x` narrows a collection to one name (case-insensitive
 * for headers and cookies).
 */
export const PART_KINDS = [
  'method', 'path', 'uri', 'query', 'args', 'arg-names', 'headers', 'header-names', 'cookies', 'cookie-names', 'body',
  'filenames', 'arg-count',
] as const;
export type PartKind = (typeof PART_KINDS)[number];

export interface PartSelector {
  readonly kind: PartKind;
  /** Only the item of this name (lowercased for headers and cookies); null: every item. */
  readonly name: string | null;
}

export type NumericComparison = 'gt' | 'ge' | 'lt' | 'le' | 'eq' | 'ne';

export type OperatorSpec =
  /** A regular expression, case-insensitive unless `caseSensitive`. */
  | { readonly kind: 'regex'; readonly pattern: string; readonly caseSensitive: boolean }
  /** Any of the phrases (case-insensitive), matched in one pass; `wholeWords`: bounded by non-word characters. */
  | { readonly kind: 'phrases'; readonly phrases: readonly string[]; readonly wholeWords: boolean }
  /** The value's length, or the value read as a number (a non-number never matches). */
  | { readonly kind: 'number'; readonly of: 'length' | 'value'; readonly comparison: NumericComparison; readonly limit: number }
  | { readonly kind: 'detect'; readonly detector: 'sql' | 'html' };

export interface RuleSpec {
  readonly id: number;
  readonly message: string;
  readonly category: Category;
  /** 1–4: the rule runs when --waf-paranoia is at least this. */
  readonly paranoia: number;
  /** Added to the request's anomaly score when the rule matches (CRS: critical 5, error 4, warning 3, notice 2). */
  readonly score: number;
  readonly parts: readonly PartSelector[];
  readonly transforms: readonly TransformName[];
  readonly operator: OperatorSpec;
  /** Matches when the operator does not (a method outside an allowed list). */
  readonly negate: boolean;
  /** Where the rule came from, for messages: `core` or a file path. */
  readonly source: string;
}

export type RuleRead = { readonly ok: true; readonly rules: RuleSpec[] } | { readonly ok: false; readonly errors: string[] };

const COMPARISONS: readonly NumericComparison[] = ['gt', 'ge', 'lt', 'le', 'eq', 'ne'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parsePartSelector(text: string): PartSelector | null {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  if (!(PART_KINDS as readonly string[]).includes(kind)) return null;
  const name = colon < 0 ? null : text.slice(colon + 1);
  if (name === '') return null;
  const lowered = kind === 'headers' || kind === 'cookies' ? (name?.toLowerCase() ?? null) : name;
  return { kind: kind as PartKind, name: lowered };
}

function readOperator(raw: Record<string, unknown>, problems: string[]): OperatorSpec | null {
  const given = ['regex', 'phrases', 'number', 'detect'].filter((key) => raw[key] !== undefined);
  if (given.length !== 1) {
    problems.push(`needs exactly one operator of regex, phrases, number, detect (has ${given.length === 0 ? 'none' : given.join(', ')})`);
    return null;
  }
  if (typeof raw.regex === 'string') return { kind: 'regex', pattern: raw.regex, caseSensitive: raw.caseSensitive === true };
  if (Array.isArray(raw.phrases)) {
    const phrases = raw.phrases.filter((phrase): phrase is string => typeof phrase === 'string' && phrase !== '');
    if (phrases.length !== raw.phrases.length || phrases.length === 0) {
      problems.push('phrases must be a non-empty list of non-empty texts');
      return null;
    }
    return { kind: 'phrases', phrases, wholeWords: raw.wholeWords === true };
  }
  if (isRecord(raw.number)) {
    const { of, limit } = raw.number;
    const comparison = COMPARISONS.find((name) => raw.number !== undefined && (raw.number as Record<string, unknown>)[name] !== undefined);
    const value = comparison === undefined ? undefined : raw.number[comparison];
    if ((of !== 'length' && of !== 'value') || comparison === undefined || typeof value !== 'number' || limit !== undefined) {
      problems.push(`number is { of: length|value, ${COMPARISONS.join('|')}: N }`);
      return null;
    }
    return { kind: 'number', of, comparison, limit: value };
  }
  if (raw.detect === 'sql' || raw.detect === 'html') return { kind: 'detect', detector: raw.detect };
  problems.push('regex is a text, phrases a list, number a map, detect one of sql, html');
  return null;
}

/** One rule from its file form; problems are pushed as `rule ID: problem`. */
function readRule(raw: unknown, index: number, source: string, errors: string[]): RuleSpec | null {
  if (!isRecord(raw)) {
    errors.push(`${source}: rule #${index + 1} is not a map`);
    return null;
  }
  const problems: string[] = [];
  const id = raw.id;
  if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0) problems.push('id must be a positive integer');
  const message = typeof raw.message === 'string' ? raw.message : '';
  if (message === '') problems.push('message is required');
  const category = raw.category;
  if (typeof category !== 'string' || !(CATEGORIES as readonly string[]).includes(category)) {
    problems.push(`category must be one of ${CATEGORIES.join(', ')}`);
  }
  const paranoia = raw.paranoia ?? 1;
  if (typeof paranoia !== 'number' || !Number.isInteger(paranoia) || paranoia < 1 || paranoia > 4) problems.push('paranoia must be 1-4');
  const score = raw.score ?? 5;
  if (typeof score !== 'number' || score < 0 || score > 100) problems.push('score must be 0-100');
  const parts: PartSelector[] = [];
  if (!Array.isArray(raw.parts) || raw.parts.length === 0) problems.push('parts must be a non-empty list');
  else {
    for (const part of raw.parts) {
      const selector = typeof part === 'string' ? parsePartSelector(part) : null;
      if (selector === null) problems.push(`part '${String(part)}' is not one of ${PART_KINDS.join(', ')} (optionally KIND:NAME)`);
      else parts.push(selector);
    }
  }
  const transforms: TransformName[] = [];
  const rawTransforms = raw.transforms ?? [];
  if (!Array.isArray(rawTransforms)) problems.push('transforms must be a list');
  else {
    for (const name of rawTransforms) {
      if (typeof name === 'string' && isTransformName(name)) transforms.push(name);
      else problems.push(`transform '${String(name)}' is unknown`);
    }
  }
  const operator = readOperator(raw, problems);
  const label = typeof id === 'number' ? `rule ${id}` : `rule #${index + 1}`;
  for (const problem of problems) errors.push(`${source}: ${label}: ${problem}`);
  if (problems.length > 0 || operator === null) return null;
  return {
    id: id as number,
    message,
    category: category as Category,
    paranoia: paranoia as number,
    score: score as number,
    parts,
    transforms,
    operator,
    negate: raw.negate === true,
    source,
  };
}

/** A rule file's parsed contents (a list of rules, or a map with a `rules` list). */
export function readRules(contents: unknown, source: string): RuleRead {
  const list = isRecord(contents) ? contents.rules : contents;
  if (!Array.isArray(list)) return { ok: false, errors: [`${source}: expected a list of rules (or a map with a rules list)`] };
  const errors: string[] = [];
  const rules: RuleSpec[] = [];
  list.forEach((raw, index) => {
    const rule = readRule(raw, index, source, errors);
    if (rule !== null) rules.push(rule);
  });
  const seen = new Set<number>();
  for (const rule of rules) {
    if (seen.has(rule.id)) errors.push(`${source}: rule ${rule.id}: the id is used twice`);
    seen.add(rule.id);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules };
}
