/**
 * Which characters a rule's match must contain, proven from its pattern, so
 * that a value lacking them is not offered to the rule at all (no
 * transformation, no prefilter, no regex). Most values of benign traffic are
 * words, numbers and ids: a rule that needs a `<`, a quote or a `(` cannot
 * match them, and deciding that is four AND operations on the value's
 * character mask (value-mask.ts) instead of a regex run.
 *
 * A requirement is a list of clauses, all of which must hold; a clause is a
 * set of ASCII characters at least one of which every match contains. Only
 * the ASCII part matters: a value with a character above 127 is offered to
 * every rule (value-mask.ts), so a clause may well be empty (the pattern needs
 * a character no ASCII value has).
 *
 * The analysis reads JavaScript regular expression syntax (what the shipped
 * rules run on) and gives up — no requirement, the rule always runs — on
 * anything it does not fully understand. It is conservative everywhere:
 * zero-width items (anchors, `\b`, lookarounds) and back-references require
 * nothing, an optional item requires nothing, an alternation requires only
 * the union of one clause of each alternative, and every clause is
 * case-folded whatever the flags.
 */

/** 128 bits, one per ASCII character: words 0..3 hold characters 0-31, 32-63, 64-95, 96-127. */
export type CharSet = Int32Array;

/** At most this many clauses per rule are checked (the most selective). */
export const MAX_CLAUSES = 4;

export function emptySet(): CharSet {
  return new Int32Array(4);
}

export function addChar(set: CharSet, code: number): void {
  if (code >= 128) return;
  const word = code >>> 5;
  set[word] = (set[word] as number) | (1 << (code & 31));
}

export function hasChar(set: CharSet, code: number): boolean {
  return code < 128 && ((set[code >>> 5] as number) & (1 << (code & 31))) !== 0;
}

function union(a: CharSet, b: CharSet): CharSet {
  const out = emptySet();
  for (let i = 0; i < 4; i++) out[i] = (a[i] as number) | (b[i] as number);
  return out;
}

function complement(set: CharSet): CharSet {
  const out = emptySet();
  for (let i = 0; i < 4; i++) out[i] = ~(set[i] as number);
  return out;
}

/** Letters in both cases: `A`-`Z` are bits 1-26 of word 2, `a`-`z` bits 1-26 of word 3. */
export const LETTER_BITS = 0x7fffffe;

export function caseFolded(set: CharSet): CharSet {
  const out = Int32Array.from(set);
  out[2] = (set[2] as number) | ((set[3] as number) & LETTER_BITS);
  out[3] = (set[3] as number) | ((set[2] as number) & LETTER_BITS);
  return out;
}

function range(from: number, to: number): CharSet {
  const set = emptySet();
  for (let code = from; code <= to; code++) addChar(set, code);
  return set;
}

function ofChars(text: string): CharSet {
  const set = emptySet();
  for (let i = 0; i < text.length; i++) addChar(set, text.charCodeAt(i));
  return set;
}

const DIGITS = range(48, 57);
const WORD = union(union(union(DIGITS, range(65, 90)), range(97, 122)), ofChars('_'));
const SPACE = ofChars(' \t\n\v\f\r');
const ALL = complement(emptySet());

/** A requirement: clauses that must all hold. `[]`: nothing is required (the item may match anything). */
type Requirement = CharSet[];

class GiveUp extends Error {}

/**
 * How much a clause narrows: benign values are full of letters and digits, hardly ever hold `<`
 * or `(`. Lower is more selective; a clause holding space or `/` is useless (value-mask.ts adds
 * both to every value's mask, as transformations may create them).
 */
function weight(set: CharSet): number {
  let total = 0;
  for (let code = 0; code < 128; code++) {
    if (!hasChar(set, code)) continue;
    if (code === 32 || code === 47) return Infinity;
    total += (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) ? 20 : code === 46 || code === 45 || code === 95 ? 10 : 1;
  }
  return total;
}

function best(requirement: Requirement): CharSet | null {
  let chosen: CharSet | null = null;
  let chosenWeight = Infinity;
  for (const clause of requirement) {
    const w = weight(caseFolded(clause));
    if (w < chosenWeight) {
      chosen = clause;
      chosenWeight = w;
    }
  }
  return chosen;
}

/** A recursive-descent reader of a JavaScript pattern (no `u` flag), computing what each part requires. */
class PatternReader {
  private at = 0;

  constructor(private readonly source: string) {}

  read(): Requirement {
    const requirement = this.alternation();
    if (this.at !== this.source.length) throw new GiveUp();
    return requirement;
  }

  private peek(offset = 0): string {
    return this.source[this.at + offset] ?? '';
  }

  private alternation(): Requirement {
    const alternatives: Requirement[] = [this.sequence()];
    while (this.peek() === '|') {
      this.at++;
      alternatives.push(this.sequence());
    }
    if (alternatives.length === 1) return alternatives[0] as Requirement;
    // A match is a match of one alternative, so it satisfies every clause of that one: a union taking
    // any one clause of each alternative is a clause of the whole. The k-th union takes each
    // alternative's k-th most selective clause (its last, when it has fewer).
    const ranked: CharSet[][] = [];
    for (const alternative of alternatives) {
      if (alternative.length === 0) return [];
      ranked.push(alternative.map(caseFolded).sort((a, b) => weight(a) - weight(b)));
    }
    const joined: CharSet[] = [];
    for (let k = 0; k < MAX_CLAUSES; k++) {
      let clause = emptySet();
      for (const clauses of ranked) clause = union(clause, clauses[Math.min(k, clauses.length - 1)] as CharSet);
      joined.push(clause);
    }
    return joined;
  }

  private sequence(): Requirement {
    const requirement: Requirement = [];
    while (this.at < this.source.length && this.peek() !== '|' && this.peek() !== ')') {
      const atom = this.atom();
      const min = this.quantifier();
      if (min > 0) requirement.push(...atom);
    }
    return requirement;
  }

  /** The minimum count of the quantifier here (1 without one); consumes it. */
  private quantifier(): number {
    const ch = this.peek();
    let min = 1;
    if (ch === '*' || ch === '?') {
      min = 0;
      this.at++;
    } else if (ch === '+') {
      this.at++;
    } else if (ch === '{') {
      const braced = /^\{(\d+)(?:,(\d*))?\}/.exec(this.source.slice(this.at));
      if (braced === null) return 1; // a literal `{` (legacy syntax), read as the next atom
      min = Number(braced[1]);
      this.at += braced[0].length;
    } else {
      return 1;
    }
    if (this.peek() === '?') this.at++;
    return min;
  }

  private atom(): Requirement {
    const ch = this.peek();
    this.at++;
    switch (ch) {
      case '(':
        return this.group();
      case '[':
        return [this.characterClass()];
      case '\\':
        return this.escape(false);
      case '.':
        return [];
      case '^':
      case '$':
        return [];
      case '*':
      case '+':
      case '?':
        throw new GiveUp(); // a quantifier with nothing to repeat: not a pattern this reader knows
      default:
        return [ofChars(ch)];
    }
  }

  private group(): Requirement {
    let zeroWidth = false;
    if (this.peek() === '?') {
      const next = this.peek(1);
      if (next === ':') this.at += 2;
      else if (next === '=' || next === '!') {
        this.at += 2;
        zeroWidth = true;
      } else if (next === '<' && (this.peek(2) === '=' || this.peek(2) === '!')) {
        this.at += 3;
        zeroWidth = true;
      } else if (next === '<') {
        const close = this.source.indexOf('>', this.at);
        if (close < 0) throw new GiveUp();
        this.at = close + 1;
      } else {
        throw new GiveUp();
      }
    }
    const inner = this.alternation();
    if (this.peek() !== ')') throw new GiveUp();
    this.at++;
    return zeroWidth ? [] : inner;
  }

  /** After `\`: the set the escape matches (as a requirement), or nothing for a zero-width one. */
  private escape(inClass: boolean): Requirement {
    const ch = this.peek();
    this.at++;
    switch (ch) {
      case 'd':
        return [DIGITS];
      case 'w':
        return [WORD];
      case 's':
        return [SPACE];
      case 'D':
        return [complement(DIGITS)];
      case 'W':
        return [complement(WORD)];
      case 'S':
        return [complement(SPACE)];
      case 'b':
        return inClass ? [ofChars('\b')] : [];
      case 'B':
        if (inClass) throw new GiveUp();
        return [];
      case 'n':
        return [ofChars('\n')];
      case 'r':
        return [ofChars('\r')];
      case 't':
        return [ofChars('\t')];
      case 'v':
        return [ofChars('\v')];
      case 'f':
        return [ofChars('\f')];
      case '0':
        if (/\d/.test(this.peek())) throw new GiveUp(); // a legacy octal escape
        return [ofChars('\0')];
      case 'x':
      case 'u': {
        const digits = ch === 'x' ? 2 : 4;
        const hex = this.source.slice(this.at, this.at + digits);
        if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) throw new GiveUp();
        this.at += digits;
        const set = emptySet();
        addChar(set, parseInt(hex, 16)); // above 127: an empty set, no ASCII value holds it
        return [set];
      }
      case 'c': {
        const letter = this.peek();
        if (!/[A-Za-z]/.test(letter)) throw new GiveUp();
        this.at++;
        const set = emptySet();
        addChar(set, letter.charCodeAt(0) % 32);
        return [set];
      }
      case '':
        throw new GiveUp();
      default:
        // Back-references and named ones require what they refer to, at most: nothing.
        if (/[1-9]/.test(ch) && !inClass) {
          while (/\d/.test(this.peek())) this.at++;
          return [];
        }
        if (ch === 'k' && !inClass) throw new GiveUp();
        // Any other letter or digit escape (`\p`, `\A`, `\z`) means something else to some engine.
        if (/[A-Za-z0-9]/.test(ch)) throw new GiveUp();
        return [ofChars(ch)];
    }
  }

  /** After `[`: the ASCII characters the class matches. */
  private characterClass(): CharSet {
    const negated = this.peek() === '^';
    if (negated) this.at++;
    let set = emptySet();
    // `[]` matches nothing, `[^]` anything, as JavaScript reads them.
    while (this.peek() !== ']') {
      if (this.at >= this.source.length) throw new GiveUp();
      if (this.peek() === '[' && this.peek(1) === ':') throw new GiveUp(); // a POSIX class to some engines
      const low = this.classAtom();
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== '') {
        this.at++;
        const high = this.classAtom();
        if (low.code === null || high.code === null || high.code < low.code) throw new GiveUp();
        set = union(set, range(low.code, Math.min(high.code, 127)));
        continue;
      }
      set = union(set, low.set);
    }
    this.at++;
    return negated ? complement(set) : set;
  }

  /** One character of a class (its code, for a range) or an escape class (`\d`, no code). */
  private classAtom(): { set: CharSet; code: number | null } {
    const ch = this.peek();
    this.at++;
    if (ch !== '\\') {
      const code = ch.charCodeAt(0);
      return { set: ofChars(ch), code };
    }
    const escaped = this.peek();
    const requirement = this.escape(true);
    const set = requirement[0] ?? ALL;
    const single = /[dwsDWS]/.test(escaped) ? null : singleCode(set);
    return { set, code: single };
  }
}

/** The one character in the set, or the code above ASCII it stood for (then the set is empty). */
function singleCode(set: CharSet): number | null {
  let found: number | null = null;
  for (let code = 0; code < 128; code++) {
    if (!hasChar(set, code)) continue;
    if (found !== null) return null;
    found = code;
  }
  return found ?? 128;
}

/** The most selective clauses, case-folded, without the useless ones. */
function finish(requirement: Requirement): CharSet[] {
  const kept: CharSet[] = [];
  const sorted = requirement.map(caseFolded).filter((clause) => weight(clause) !== Infinity).sort((a, b) => weight(a) - weight(b));
  for (const clause of sorted) {
    if (kept.length < MAX_CLAUSES && !kept.some((other) => other.every((word, i) => word === clause[i]))) kept.push(clause);
  }
  return kept;
}

/** Clauses every match of the JavaScript `pattern` satisfies ([] when nothing could be shown). */
export function patternClauses(pattern: string): CharSet[] {
  try {
    return finish(new PatternReader(pattern).read());
  } catch (error) {
    if (error instanceof GiveUp) return [];
    throw error;
  }
}

/** A phrase set's one clause: each phrase needs all its characters, so one (the rarest) of each. */
export function phraseClauses(phrases: readonly string[]): CharSet[] {
  let joined = emptySet();
  for (const phrase of phrases) {
    // Lowered as PhraseSet lowers them (`K`, the Kelvin sign, is `k` then).
    const clause = best([...phrase.toLowerCase()].map((ch) => ofChars(ch)));
    if (clause === null) return [];
    joined = union(joined, clause);
  }
  return finish([joined]);
}

/** A clause from the characters given (a detector's own guard). */
export function clauseOf(chars: string): CharSet[] {
  return finish([ofChars(chars)]);
}
