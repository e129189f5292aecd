/**
 * The compiled rule set: the shipped and user rules for one paranoia level
 * with the exclusions applied, built once at start and on every reload, and
 * `evaluate`, which runs them over a request's parts and adds up the anomaly
 * score as CRS does.
 *
 * Cost: rules are grouped by the kind of part they read, so an item is only
 * offered the rules that look at its kind; a transformation chain is computed
 * at most once per item (chains form a tree of prefixes, so `fullDecode,
 * lowercase` reuses `fullDecode`'s result); a rule counts once per request;
 * evaluation stops as soon as the score reaches the threshold. The scratch
 * arrays are fields of the set, reused by every (synchronous) evaluation.
 */
import { PhraseSet } from './aho-corasick.js';
import { compileOperator, type Operator } from './operator.js';
import { requiredLiterals } from './prefilter.js';
import { partLabel, redactedSnippet } from './redact.js';
import type { ItemKind, PartItem, RequestParts } from './request-parts.js';
import type { WafExclusion } from '../protocol/index.js';
import type { Category, PartKind, PartSelector, RuleSpec } from './rule.js';
import { TRANSFORMS, type TransformName } from './transforms.js';
import { clauseOf, patternClauses, phraseClauses, type CharSet } from './required-chars.js';
import { fillMask, NON_DECODING } from './value-mask.js';
import { CandidateLists, DECODED_MASK, RAW_MASK, type Skippable } from './candidates.js';

/** Turn a rule off everywhere, or only under a path prefix, or only for one argument (src/waf/exclusion.ts). */
export type Exclusion = WafExclusion;

export interface RuleSetOptions {
  readonly paranoia: number;
  readonly threshold: number;
  readonly exclusions: readonly Exclusion[];
}

export interface RuleMatch {
  readonly id: number;
  readonly category: Category;
  readonly message: string;
  readonly score: number;
  /** Which part: `args:q`, `headers:user-agent`, `path`, `body`. */
  readonly part: string;
  /** What matched, truncated, with secrets redacted. */
  readonly matched: string;
}

export interface Evaluation {
  readonly score: number;
  readonly matches: readonly RuleMatch[];
}

interface Chain {
  /** The chain this one extends by one transformation, or -1 for the raw value. */
  readonly parent: number;
  readonly transform: (text: string) => string;
}

interface CompiledRule {
  readonly index: number;
  readonly spec: RuleSpec;
  readonly operator: Operator;
  /**
   * Literals one of which every match contains (prefilter.ts): none in the value, the regex is not run.
   * Their indices in the chain's literal scan (all prefiltered rules on one chain share one pass).
   */
  readonly prefilter: readonly number[] | null;
  readonly chain: number;
  /** Off for requests under these path prefixes. */
  readonly offUnder: readonly string[];
  /** Off for these argument names. */
  readonly offForArgs: ReadonlySet<string>;
  /** Names this rule is narrowed to, per item kind (`headers:user-agent`); absent: every item of the kind. */
  readonly names: ReadonlyMap<PartKind, ReadonlySet<string> | null>;
  /** Characters a match must hold (required-chars.ts), 4 words per clause; null: none shown, always run. */
  readonly clauses: Int32Array | null;
  /** Which of the item's masks the clauses are checked against (value-mask.ts). */
  readonly maskOf: MaskOf;
}

/** The raw value's mask, or (for chains that start with fullDecode and decode nothing more) the decoded value's. */
const enum MaskOf {
  Raw = 0,
  Decoded = 4,
}


const SINGLE_KINDS = ['method', 'path', 'uri', 'query', 'body', 'arg-count'] as const;
type SingleKind = (typeof SINGLE_KINDS)[number];
/** What a body adds to a request already evaluated on its head. */
const BODY_SINGLE_KINDS: readonly SingleKind[] = ['body', 'arg-count'];

/** A rule as offered to the items of one kind. */
interface ItemRule extends Skippable {
  readonly rule: CompiledRule;
  /** The item names the rule is narrowed to for this kind; null: every item. */
  readonly names: ReadonlySet<string> | null;
  /** The rule is off for some argument names (only for args and arg-names). */
  readonly argExclusions: boolean;
}

/** A head's evaluation, and how many of the request's items it covered. */
export interface HeadEvaluation extends Evaluation {
  readonly items: number;
}

export class RuleSet {
  readonly size: number;
  /** The item kinds some rule reads (RequestParts builds no others). */
  readonly itemKinds: ReadonlySet<ItemKind>;
  private readonly chains: Chain[] = [];
  private readonly chainIds = new Map<string, number>();
  private readonly byItemKind = new Map<ItemKind, CandidateLists<ItemRule>>();
  /** Rules turned off under some path prefix: marked done at the start of a request under one. */
  private readonly pathExcluded: CompiledRule[] = [];
  private readonly indexOf = new Map<number, number>();
  private readonly bySingleKind = new Map<SingleKind, CandidateLists<ItemRule>>();
  /** Scratch, reused by each evaluation: which rules matched, and each chain's value for the current item. */
  private readonly matched: Uint8Array;
  private readonly chainValues: string[] = [];
  private readonly chainStamp: Int32Array;
  private stamp = 0;
  /** The current item's masks: raw at 0, decoded at 4. */
  private readonly masks = new Int32Array(8);
  /** Per chain, one pass finding the literals of every prefiltered rule on it (null: no such rule). */
  private readonly literalScans: (LiteralScan | null)[];
  /** The chain `fullDecode` alone (-1 if no rule uses it). */
  private readonly decodedChain: number;

  /** `characterSkips` false: every rule runs on every item (the test that skipping changes no verdict compares). */
  constructor(rules: readonly RuleSpec[], private readonly options: RuleSetOptions, trustedSources: ReadonlySet<string>, characterSkips = true) {
    const compiled: CompiledRule[] = [];
    const literalsByChain = new Map<number, Map<string, number>>();
    for (const spec of rules) {
      if (spec.paranoia > options.paranoia) continue;
      const applying = options.exclusions.filter((exclusion) => spec.id >= exclusion.ruleFrom && spec.id <= exclusion.ruleTo);
      if (applying.some((exclusion) => exclusion.pathPrefix === null && exclusion.arg === null)) continue;
      const chain = this.chainFor(spec.transforms);
      const names = new Map<PartKind, Set<string> | null>();
      for (const part of spec.parts) addSelector(names, part);
      compiled.push({
        index: compiled.length,
        spec,
        // A chain ending in lowercase hands the operator lowercase text: its regex needs no case folding.
        operator: compileOperator(spec.operator, trustedSources.has(spec.source), lowercased(spec)),
        prefilter: literalIndices(literalsByChain, chain, prefilterFor(spec)),
        chain,
        offUnder: applying.filter((exclusion) => exclusion.pathPrefix !== null && exclusion.arg === null).map((exclusion) => exclusion.pathPrefix as string),
        offForArgs: new Set(applying.filter((exclusion) => exclusion.arg !== null).map((exclusion) => exclusion.arg as string)),
        names,
        clauses: characterSkips && (trustedSources.has(spec.source) || spec.operator.kind !== 'regex') ? clausesFor(spec) : null,
        maskOf: spec.transforms[0] === 'fullDecode' && spec.transforms.slice(1).every((name) => NON_DECODING.has(name)) ? MaskOf.Decoded : MaskOf.Raw,
      });
    }
    this.decodedChain = this.chainIds.get('fullDecode,') ?? -1;
    this.literalScans = this.chains.map(() => null);
    for (const [chain, indices] of literalsByChain) {
      this.literalScans[chain] = { phrases: new PhraseSet([...indices.keys()]), seen: new Int32Array(indices.size), stamp: 0 };
    }
    const itemLists = new Map<ItemKind, ItemRule[]>();
    const singleLists = new Map<SingleKind, ItemRule[]>();
    for (const rule of compiled) {
      this.indexOf.set(rule.spec.id, rule.index);
      for (const kind of rule.names.keys()) {
        const itemRule: ItemRule = {
          rule,
          names: rule.names.get(kind) ?? null,
          argExclusions: (kind === 'args' || kind === 'arg-names') && rule.offForArgs.size > 0,
          clauses: rule.clauses,
          maskOf: rule.maskOf,
        };
        if ((SINGLE_KINDS as readonly string[]).includes(kind)) pushTo(singleLists, kind as SingleKind, itemRule);
        else pushTo(itemLists, kind as ItemKind, itemRule);
      }
      if (rule.offUnder.length > 0) this.pathExcluded.push(rule);
    }
    for (const [kind, list] of itemLists) this.byItemKind.set(kind, new CandidateLists(list));
    for (const [kind, list] of singleLists) this.bySingleKind.set(kind, new CandidateLists(list));
    this.size = compiled.length;
    this.itemKinds = new Set(this.byItemKind.keys());
    this.matched = new Uint8Array(compiled.length);
    this.chainStamp = new Int32Array(this.chains.length);
  }

  /** The index of a chain of transformations, registering it and its prefixes. */
  private chainFor(transforms: readonly TransformName[]): number {
    let parent = -1;
    let key = '';
    for (const name of transforms) {
      key += `${name},`;
      let id = this.chainIds.get(key);
      if (id === undefined) {
        id = this.chains.length;
        this.chains.push({ parent, transform: TRANSFORMS[name] });
        this.chainIds.set(key, id);
      }
      parent = id;
    }
    return parent;
  }

  /** The value after chain `chain`, computed once per item (`stamp` says which item the cache holds). */
  private valueAt(chain: number, raw: string): string {
    if (chain < 0) return raw;
    if (this.chainStamp[chain] === this.stamp) return this.chainValues[chain] as string;
    const node = this.chains[chain] as Chain;
    const value = node.transform(this.valueAt(node.parent, raw));
    this.chainValues[chain] = value;
    this.chainStamp[chain] = this.stamp;
    return value;
  }

  /**
   * Runs every rule over the request; stops once the score reaches the threshold. With `head` (the
   * evaluation of the same request's head, whose items end at `head.items`), only what the body
   * added is evaluated, and the head's matches and score carry over.
   */
  evaluate(parts: RequestParts, head: HeadEvaluation | null = null): Evaluation {
    this.matched.fill(0);
    const matches: RuleMatch[] = [];
    let score = 0;
    if (head !== null) {
      for (const match of head.matches) {
        const index = this.indexOf.get(match.id);
        if (index !== undefined) this.matched[index] = 1;
        matches.push(match);
      }
      score = head.score;
    }
    const threshold = this.options.threshold;
    const path = parts.path;
    // A rule off under this path is as good as done: the loops below skip it with the matched ones.
    for (const rule of this.pathExcluded) if (isOffUnder(rule, path)) this.matched[rule.index] = 1;

    for (const kind of head === null ? SINGLE_KINDS : BODY_SINGLE_KINDS) {
      const rules = this.bySingleKind.get(kind);
      if (rules === undefined) continue;
      const raw = singleValue(parts, kind);
      if (raw === null) continue;
      this.nextItem();
      for (const { rule } of this.offered(rules, raw)) {
        if (this.matched[rule.index] === 1) continue;
        score += this.tryRule(rule, raw, kind, null, matches);
        if (score >= threshold) return { score, matches };
      }
    }
    const items = parts.items;
    for (let i = head === null ? 0 : head.items; i < items.length; i++) {
      const item = items[i] as PartItem;
      const rules = this.byItemKind.get(item.kind);
      if (rules === undefined) continue;
      this.nextItem();
      for (const { rule, names, argExclusions } of this.offered(rules, item.value)) {
        if (this.matched[rule.index] === 1) continue;
        if (names !== null && !names.has(item.name)) continue;
        if (argExclusions && rule.offForArgs.has(baseName(item.name))) continue;
        score += this.tryRule(rule, item.value, item.kind, item.name, matches);
        if (score >= threshold) return { score, matches };
      }
    }
    return { score, matches };
  }

  private nextItem(): void {
    this.stamp++;
    if (this.stamp === 0x7fffffff) {
      this.stamp = 1;
      this.chainStamp.fill(0);
      for (const scan of this.literalScans) {
        if (scan === null) continue;
        scan.seen.fill(0);
        scan.stamp = 0;
      }
    }
  }

  /** Whether one of `literals` is in `value` (the chain's value for the current item); one scan per item and chain. */
  private literalFound(chain: number, literals: readonly number[], value: string): boolean {
    const scan = this.literalScans[chain] as LiteralScan;
    if (scan.stamp !== this.stamp) {
      scan.phrases.markAll(value, scan.seen, this.stamp);
      scan.stamp = this.stamp;
    }
    for (const literal of literals) if (scan.seen[literal] === this.stamp) return true;
    return false;
  }

  /** The rules of `lists` the current item's characters do not rule out (candidates.ts). */
  private offered(lists: CandidateLists<ItemRule>, raw: string): readonly ItemRule[] {
    const masks = this.masks;
    let state = 0;
    if (fillMask(raw, true, masks, MaskOf.Raw)) {
      // Nothing to decode (value-mask.ts): the decoded value holds no character the raw one lacks.
      masks.copyWithin(MaskOf.Decoded, MaskOf.Raw, MaskOf.Raw + 4);
      state = RAW_MASK | DECODED_MASK;
    } else {
      masks.fill(0, MaskOf.Raw, MaskOf.Raw + 4);
      if (lists.usesDecoded && fillMask(this.valueAt(this.decodedChain, raw), false, masks, MaskOf.Decoded)) state = DECODED_MASK;
      else masks.fill(0, MaskOf.Decoded, MaskOf.Decoded + 4);
    }
    return lists.offered(masks, state);
  }

  /** `name` null: a single part (`path`, `body`); the part's label is built only for a match. */
  private tryRule(rule: CompiledRule, raw: string, kind: string, name: string | null, matches: RuleMatch[]): number {
    const value = this.valueAt(rule.chain, raw);
    if (rule.prefilter !== null && !this.literalFound(rule.chain, rule.prefilter, value)) return 0;
    const found = rule.operator.match(value);
    const hit = rule.spec.negate ? (found === null ? value : null) : found;
    if (hit === null) return 0;
    this.matched[rule.index] = 1;
    const { spec } = rule;
    const part = partLabel(kind, name);
    matches.push({ id: spec.id, category: spec.category, message: spec.message, score: spec.score, part, matched: redactedSnippet(name ?? kind, hit) });
    return spec.score;
  }
}

/**
 * The clauses a rule's match must satisfy, packed 4 words each; null when none were shown or the rule
 * may see anything (negated, base64Decode in its chain). A user's regex is not analysed (it is RE2
 * syntax, whose case folding differs), nor is the SQL detector (its words need no special character).
 */
export function clausesFor(spec: RuleSpec): Int32Array | null {
  if (spec.negate || spec.transforms.includes('base64Decode')) return null;
  let clauses: CharSet[];
  switch (spec.operator.kind) {
    case 'regex':
      clauses = patternClauses(spec.operator.pattern);
      break;
    case 'phrases':
      clauses = phraseClauses(spec.operator.phrases);
      break;
    case 'detect':
      // detectXss's own first test: a tag needs `<`, an injected attribute a quote, a script URL a `:`.
      clauses = spec.operator.detector === 'html' ? clauseOf('<"\'`:') : [];
      break;
    case 'number':
      clauses = [];
  }
  if (clauses.length === 0) return null;
  const packed = new Int32Array(clauses.length * 4);
  clauses.forEach((clause, index) => packed.set(clause, index * 4));
  return packed;
}

function lowercased(spec: RuleSpec): boolean {
  return spec.transforms[spec.transforms.length - 1] === 'lowercase';
}

/**
 * Only for a regex that sees lowercased text (so it is compiled case-sensitive and its literals are
 * matched exactly as the phrase set matches them) and is not negated.
 */
function prefilterFor(spec: RuleSpec): string[] | null {
  if (spec.operator.kind !== 'regex' || spec.negate || spec.operator.caseSensitive || !lowercased(spec)) return null;
  return requiredLiterals(spec.operator.pattern);
}

/** A rule's literals as indices into its chain's literal scan, registering new ones. */
function literalIndices(byChain: Map<number, Map<string, number>>, chain: number, literals: readonly string[] | null): number[] | null {
  if (literals === null) return null;
  let indices = byChain.get(chain);
  if (indices === undefined) byChain.set(chain, (indices = new Map<string, number>()));
  const own: number[] = [];
  for (const literal of literals) {
    let index = indices.get(literal);
    if (index === undefined) indices.set(literal, (index = indices.size));
    own.push(index);
  }
  return own;
}

/** The literals of a chain's prefiltered rules, and which were found in the current item (`seen[i] === stamp`). */
interface LiteralScan {
  readonly phrases: PhraseSet;
  readonly seen: Int32Array;
  stamp: number;
}

function addSelector(names: Map<PartKind, Set<string> | null>, part: PartSelector): void {
  const existing = names.get(part.kind);
  if (part.name === null || existing === null) {
    names.set(part.kind, null);
    return;
  }
  if (existing === undefined) names.set(part.kind, new Set([part.name]));
  else existing.add(part.name);
}

function pushTo<K>(map: Map<K, ItemRule[]>, key: K, rule: ItemRule): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [rule]);
  else list.push(rule);
}

function isOffUnder(rule: CompiledRule, path: string): boolean {
  for (const prefix of rule.offUnder) if (path.startsWith(prefix)) return true;
  return false;
}

/** `q (base64)` is argument `q` for exclusions. */
function baseName(name: string): string {
  return name.endsWith(' (base64)') ? name.slice(0, -9) : name;
}

function singleValue(parts: RequestParts, kind: SingleKind): string | null {
  switch (kind) {
    case 'method':
      return parts.method;
    case 'path':
      return parts.path;
    case 'uri':
      return parts.uri;
    case 'query':
      return parts.query === '' ? null : parts.query;
    case 'body':
      return parts.body === '' ? null : parts.body;
    case 'arg-count':
      return String(parts.argCount);
  }
}
