/**
 * Walking a regular expression's source, as the WAF's pattern checks do: an
 * escape (`\x`) and a character class (`[...]`, escapes inside it included)
 * are each one step that holds no structure (groups, alternation,
 * quantifiers); any other character is a step of its own.
 */

/**
 * Where the step starting at `i` ends: `i` for a plain character, the escaped
 * character for an escape, the closing `]` for a class; -1 for a class that
 * never closes.
 */
export function stepEnd(pattern: string, i: number): number {
  const ch = pattern[i];
  if (ch === '\\') return i + 1;
  if (ch !== '[') return i;
  for (let j = i + 1; j < pattern.length; j++) {
    if (pattern[j] === '\\') j++;
    else if (pattern[j] === ']') return j;
  }
  return -1;
}
