/**
 * Literal prefilters for regular expressions, as Hyperscan and CRS's `@pm`
 * chains do by hand: if every top-level alternative of a pattern starts with
 * a literal (or a group of literal alternatives) that any match must contain,
 * a value holding none of those literals cannot match, and one Aho-Corasick
 * pass decides that instead of the regex. A pattern whose alternatives do not
 * all have such a head gets no prefilter (the regex always runs): the
 * extraction only ever answers for shapes it fully understands.
 */
import { stepEnd } from './regex-source.js';

/** The literals, lowercased, one of which every match of `pattern` contains; null when that cannot be shown. */
export function requiredLiterals(pattern: string): string[] | null {
  const alternatives = splitTopLevel(pattern);
  if (alternatives === null) return null;
  const literals: string[] = [];
  for (const alternative of alternatives) {
    const head = headLiterals(alternative);
    if (head === null || head.some((literal) => literal.length < 2)) return null;
    literals.push(...head);
  }
  return [...new Set(literals.map((literal) => literal.toLowerCase()))];
}

/** The pattern's top-level alternatives (split at `|` outside groups and classes). */
function splitTopLevel(pattern: string): string[] | null {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < pattern.length; i++) {
    const end = stepEnd(pattern, i);
    if (end === -1) return null;
    if (end !== i) {
      i = end;
      continue;
    }
    const ch = pattern[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      parts.push(pattern.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) return null;
  parts.push(pattern.slice(start));
  return parts;
}

/** Escapes that stand for one literal character. */
const LITERAL_ESCAPES = new Set(['.', '$', '(', ')', '[', ']', '{', '}', '*', '+', '?', '/', '\\', '|', '^', '-', '"', "'", '#', '@', '%', '&', '=', ':', ';', ',', '<', '>', '!', '~', '`']);

function isPlainLiteral(ch: string): boolean {
  return /[A-Za-z0-9_ <>=:;,'"!@%&~`/#-]/.test(ch);
}

/** Whether a quantifier that may repeat zero times starts at `at` (`?`, `*`, `{0,…}`). */
function optionalQuantifierAt(text: string, at: number): boolean {
  const ch = text[at];
  return ch === '?' || ch === '*' || (ch === '{' && /^\{0[,}]/.test(text.slice(at)));
}

function quantifierAt(text: string, at: number): boolean {
  const ch = text[at];
  return ch === '?' || ch === '*' || ch === '+' || ch === '{';
}

/**
 * The literal(s) an alternative must start with, after zero-width heads (`^`, `\b`): a run of
 * literal characters (a character followed by a quantifier that may skip it ends the run before
 * it), or a group `(?:a|b|c)` of pure literals not made optional. Null for anything else.
 */
function headLiterals(alternative: string): string[] | null {
  let i = 0;
  while (alternative.startsWith('^', i) || alternative.startsWith('\\b', i)) i += alternative[i] === '^' ? 1 : 2;
  if (alternative.startsWith('(?:', i)) {
    const close = matchingParen(alternative, i);
    if (close < 0 || optionalQuantifierAt(alternative, close + 1)) return null;
    const inner = splitTopLevel(alternative.slice(i + 3, close));
    if (inner === null) return null;
    const literals: string[] = [];
    for (const option of inner) {
      const literal = literalRun(option, 0);
      if (literal === null || literal.consumed !== option.length) {
        // Not a pure literal: its own head must do.
        const head = headLiterals(option);
        if (head === null) return null;
        literals.push(...head);
      } else {
        literals.push(literal.text);
      }
    }
    return literals;
  }
  const run = literalRun(alternative, i);
  return run === null ? null : [run.text];
}

/** Literal characters from `at`; stops before a character a quantifier may skip. */
function literalRun(text: string, at: number): { text: string; consumed: number } | null {
  let out = '';
  let i = at;
  while (i < text.length) {
    let ch: string;
    let width: number;
    if (text[i] === '\\') {
      const next = text[i + 1] ?? '';
      if (!LITERAL_ESCAPES.has(next)) break;
      ch = next;
      width = 2;
    } else if (isPlainLiteral(text[i] as string)) {
      ch = text[i] as string;
      width = 1;
    } else {
      break;
    }
    if (quantifierAt(text, i + width)) {
      // `ab?`: `a` is required, `b` not; `ab+`: `b` is required once, then the run ends.
      if (!optionalQuantifierAt(text, i + width)) out += ch;
      i = text.length + 1;
      break;
    }
    out += ch;
    i += width;
  }
  if (out === '') return null;
  return { text: out, consumed: i > text.length ? -1 : i - at };
}

function matchingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const end = stepEnd(text, i);
    if (end === -1) return -1;
    if (end !== i) {
      i = end;
      continue;
    }
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}
