/**
 * A phrase set matched in one pass (Aho-Corasick): the automaton is built
 * once per rule set; matching walks the text once, whatever the number of
 * phrases, so a scanner list of hundreds of user agents costs what one costs.
 *
 * Over UTF-16 code units, case-insensitive by lowering both phrases and text
 * (ASCII only, the part phrases are written in). States are numbers; goto
 * transitions sit in one Map per state, failure links are precomputed into
 * the goto function for the ASCII range (an Int32Array row per state, one
 * column per character the phrases use), so the scan is two array reads per
 * character for ASCII text.
 */

const ASCII = 128;

export class PhraseSet {
  /**
   * Dense transitions for ASCII characters: row `state * width`, column the character's class (its
   * own for a character some phrase holds, 0 for all others, which lead back to the root). Rows this
   * narrow keep the table in cache between requests (a full 128-wide row per state did not).
   */
  private readonly asciiNext: Int32Array;
  private readonly asciiClass = new Uint8Array(ASCII);
  private readonly width: number;
  /** Sparse transitions for other characters (rare in phrases). */
  private readonly otherNext: Map<number, number>[];
  private readonly fail: Int32Array;
  /** A phrase ending at a state (the longest), or -1. */
  private readonly output: Int32Array;
  /** Every phrase ending at a state, longest first (whole-word matching needs the shorter ones too). */
  private readonly allOutputs: number[][];
  readonly phrases: readonly string[];
  /** Whether a phrase must start and end at a word boundary (`\b` semantics, ASCII word characters). */
  private readonly wholeWords: boolean;

  constructor(phrases: readonly string[], options: { wholeWords?: boolean } = {}) {
    this.wholeWords = options.wholeWords === true;
    this.phrases = phrases.map((phrase) => phrase.toLowerCase()).filter((phrase) => phrase !== '');
    const goto: Map<number, number>[] = [new Map<number, number>()];
    const out: number[] = [-1];
    this.phrases.forEach((phrase, index) => {
      let state = 0;
      for (let i = 0; i < phrase.length; i++) {
        const code = phrase.charCodeAt(i);
        let next = (goto[state] as Map<number, number>).get(code);
        if (next === undefined) {
          next = goto.length;
          goto.push(new Map<number, number>());
          out.push(-1);
          (goto[state] as Map<number, number>).set(code, next);
        }
        state = next;
      }
      if (out[state] === -1) out[state] = index;
    });
    const count = goto.length;
    const representative: number[] = [-1];
    for (const phrase of this.phrases) {
      for (let i = 0; i < phrase.length; i++) {
        const code = phrase.charCodeAt(i);
        if (code < ASCII && this.asciiClass[code] === 0) {
          this.asciiClass[code] = representative.length;
          representative.push(code);
        }
      }
    }
    const width = representative.length;
    this.width = width;
    this.fail = new Int32Array(count);
    this.output = Int32Array.from(out);
    this.asciiNext = new Int32Array(count * width);
    this.otherNext = goto.map(() => new Map<number, number>());
    this.allOutputs = out.map((index) => (index < 0 ? [] : [index]));
    // Breadth-first: a state's failure link is known before its children's.
    const queue: number[] = [0];
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head] as number;
      const row = state * width;
      // Class 0 (no phrase holds the character) always leads back to the root: the row starts zeroed.
      for (let cls = 1; cls < width; cls++) {
        const child = (goto[state] as Map<number, number>).get(representative[cls] as number);
        if (child !== undefined) {
          this.asciiNext[row + cls] = child;
          if (state !== 0) this.fail[child] = this.asciiNext[(this.fail[state] as number) * width + cls] as number;
          queue.push(child);
        } else {
          this.asciiNext[row + cls] = state === 0 ? 0 : (this.asciiNext[(this.fail[state] as number) * width + cls] as number);
        }
      }
      for (const [code, child] of goto[state] as Map<number, number>) {
        if (code < ASCII) continue;
        (this.otherNext[state] as Map<number, number>).set(code, child);
        if (state !== 0) this.fail[child] = this.step(this.fail[state] as number, code);
        queue.push(child);
      }
      // A state that is not itself a phrase's end inherits the output of its failure state.
      if (state !== 0) {
        const failState = this.fail[state] as number;
        if (this.output[state] === -1) this.output[state] = this.output[failState] as number;
        (this.allOutputs[state] as number[]).push(...(this.allOutputs[failState] as number[]));
      }
    }
  }

  private step(from: number, code: number): number {
    if (code < ASCII) return this.asciiNext[from * this.width + (this.asciiClass[code] as number)] as number;
    let state = from;
    for (;;) {
      const next = (this.otherNext[state] as Map<number, number>).get(code);
      if (next !== undefined) return next;
      if (state === 0) return 0;
      state = this.fail[state] as number;
    }
  }

  /** The first phrase found in `text` (lowercased), or null. */
  find(text: string): string | null {
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      let code = text.charCodeAt(i);
      if (code >= 65 && code <= 90) code |= 0x20;
      state = this.step(state, code);
      const found = this.output[state] as number;
      if (found < 0) continue;
      if (!this.wholeWords) return this.phrases[found] as string;
      const hit = this.wholeWordAt(text, i, state);
      if (hit !== null) return hit;
    }
    return null;
  }

  /** Every phrase found in `text`, overlapping ones included: `seen[index] = stamp` for each (`index` into `phrases`). */
  markAll(text: string, seen: Int32Array, stamp: number): void {
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      let code = text.charCodeAt(i);
      if (code >= 65 && code <= 90) code |= 0x20;
      state = this.step(state, code);
      if ((this.output[state] as number) < 0) continue;
      for (const index of this.allOutputs[state] as readonly number[]) seen[index] = stamp;
    }
  }

  /** Of the phrases ending at `end` (all of them: the state's own and its failure chain's), one bounded by non-word characters. */
  private wholeWordAt(text: string, end: number, state: number): string | null {
    if (isWordCode(text.charCodeAt(end + 1))) return null;
    for (const index of this.allOutputs[state] as readonly number[]) {
      const phrase = this.phrases[index] as string;
      if (!isWordCode(text.charCodeAt(end - phrase.length))) return phrase;
    }
    return null;
  }
}

/** ASCII letters, digits and `_` (NaN, past either end, is not a word character). */
function isWordCode(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}
