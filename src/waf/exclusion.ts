/**
 * `--waf-exclude`: how a user fixes a false positive without editing the
 * shipped rules. `942100` turns rule 942100 off; `942000-942999` a range;
 * `942100,path=/search` only for requests under /search; `942100,arg=q`
 * only for the argument (query, form field or JSON key) named q.
 */
import type { WafExclusion } from '../protocol/index.js';

export function parseExclusion(text: string): WafExclusion | string {
  const [ids, ...scopes] = text.split(',').map((piece) => piece.trim());
  const range = /^(\d{1,9})(?:-(\d{1,9}))?$/.exec(ids ?? '');
  if (range === null) return `'${text}' does not start with a rule id or a range (942100, 942000-942999)`;
  const ruleFrom = Number(range[1]);
  const ruleTo = range[2] === undefined ? ruleFrom : Number(range[2]);
  if (ruleTo < ruleFrom) return `'${text}': the range ends before it starts`;
  let pathPrefix: string | null = null;
  let arg: string | null = null;
  for (const scope of scopes) {
    if (scope.startsWith('path=/')) pathPrefix = scope.slice(5);
    else if (scope.startsWith('arg=') && scope.length > 4) arg = scope.slice(4);
    else return `'${text}': '${scope}' is neither path=/PREFIX nor arg=NAME`;
  }
  return { ruleFrom, ruleTo, pathPrefix, arg };
}

export function readExclusion(text: string): { value: WafExclusion } | { problem: string } {
  const read = parseExclusion(text);
  return typeof read === 'string' ? { problem: read } : { value: read };
}

export function showExclusion(exclusion: WafExclusion): string {
  const ids = exclusion.ruleFrom === exclusion.ruleTo ? String(exclusion.ruleFrom) : `${exclusion.ruleFrom}-${exclusion.ruleTo}`;
  return ids + (exclusion.pathPrefix === null ? '' : `,path=${exclusion.pathPrefix}`) + (exclusion.arg === null ? '' : `,arg=${exclusion.arg}`);
}
