/**
 * A tokenizer-based cross-site scripting detector: the value is scanned as
 * an HTML parser would, tag by tag, so what matters is structure — a tag
 * that runs script (`<script`, `<svg`, `<iframe`...), an event-handler
 * attribute in any tag (`<x onpointerenter=...>`), a script URL in an
 * attribute (`href=javascript:`), or an attribute injected into the tag the
 * value lands in (`" autofocus onfocus=alert(1) x="`). Plain text with `<`
 * and `>` ("a < b and c > d", "h2<h1") is not a tag and passes.
 *
 * One pass; each tag's attributes are read at most once.
 */

/** Tags that run script or load a document by themselves. */
const DANGEROUS_TAGS = new Set([
  'script', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'svg', 'math', 'base', 'meta', 'link', 'style',
  'form', 'isindex', 'xss', 'import', 'template', 'portal', 'animate', 'set', 'handler', 'listener', 'xml', 'vmlframe',
  'bgsound', 'layer', 'ilayer', 'marquee', 'noscript', 'plaintext', 'xmp', 'image', 'foreignobject',
]);

/** Attribute values that run script when followed (after whitespace and entity decoding were undone). */
const SCRIPT_URL = /^\s*(?:javascript|vbscript|livescript|mocha|data\s*:\s*(?:text\/html|image\/svg|application\/(?:x-)?javascript))\s*:?/i;

/** `javascript:void(0)` and `javascript:;`, the do-nothing links of many real pages. */
const HARMLESS_SCRIPT_URL = /^\s*javascript\s*:\s*(?:void\s*\(\s*0?\s*\)\s*;?|;|)\s*$/i;

/** Attributes that take URLs or code even without an `on` prefix. */
const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'background', 'dynsrc', 'lowsrc', 'poster', 'srcdoc', 'code', 'codebase', 'values', 'to', 'from', 'by']);

function isNameChar(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 45 || code === 58 || code === 95;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 12 || code === 13 || code === 47; /* / separates attributes too */
}

/** What made `text` cross-site scripting (`tag:script`, `attr:onerror`, `url:javascript`), or null. */
export function detectXss(text: string): string | null {
  // A tag needs `<`, an injected attribute a quote, a script URL a `:`.
  if (text.length < 4 || !/[<"'`:]/.test(text)) return null;
  // 1. Tags.
  let from = 0;
  for (;;) {
    const open = text.indexOf('<', from);
    if (open < 0 || open + 1 >= text.length) break;
    from = open + 1;
    let i = open + 1;
    if (text[i] === '/') i++;
    const nameStart = i;
    while (i < text.length && isNameChar(text.charCodeAt(i))) i++;
    if (i === nameStart) {
      // `<!--`, `<!doctype`, `<?xml`: markup too, but only script in it matters; comments hide parsing tricks.
      continue;
    }
    const first = text.charCodeAt(nameStart);
    if (!((first >= 97 && first <= 122) || (first >= 65 && first <= 90))) continue;
    const name = text.slice(nameStart, i).toLowerCase();
    // `<script` needs no closing `>`: a truncated or split payload is just as dangerous.
    if (DANGEROUS_TAGS.has(name) && (i >= text.length || isSpace(text.charCodeAt(i)) || text[i] === '>')) return `tag:${name}`;
    const attribute = scanAttributes(text, i);
    if (attribute !== null) return attribute;
  }
  // 2. An attribute injected into the tag the value is written into: a quote, then ` onx=`.
  const found = injectedAttribute(text);
  if (found !== null) return found;
  // 3. The value itself is a script URL (a redirect target, a link someone will click).
  if (SCRIPT_URL.test(text) && !HARMLESS_SCRIPT_URL.test(text) && /^[^:]*:\s*\S/.test(text) && !/^[^:]*:\s+[a-z]+\s+[a-z]/i.test(text)) return 'url:script';
  return null;
}

/** Reads the attributes of a tag from `at` to its `>` (or the end); the first dangerous one, or null. */
function scanAttributes(text: string, at: number): string | null {
  let i = at;
  const n = text.length;
  let attributes = 0;
  while (i < n && attributes < 64) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i >= n || text[i] === '>' || text[i] === '<') return null;
    const nameStart = i;
    while (i < n && text[i] !== '=' && text[i] !== '>' && !isSpace(text.charCodeAt(i)) && text[i] !== '<') i++;
    const name = text.slice(nameStart, i).toLowerCase();
    attributes++;
    while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9 || text.charCodeAt(i) === 10 || text.charCodeAt(i) === 13)) i++;
    let value = '';
    if (text[i] === '=') {
      i++;
      while (i < n && text.charCodeAt(i) <= 32) i++;
      const quote = text[i];
      if (quote === '"' || quote === "'" || quote === '`') {
        const close = text.indexOf(quote, i + 1);
        value = text.slice(i + 1, close < 0 ? n : close);
        i = close < 0 ? n : close + 1;
      } else {
        const start = i;
        while (i < n && !isSpace(text.charCodeAt(i)) && text[i] !== '>') i++;
        value = text.slice(start, i);
      }
      if (isEventHandler(name)) return `attr:${name}`;
      if (URL_ATTRIBUTES.has(name) && SCRIPT_URL.test(value) && !HARMLESS_SCRIPT_URL.test(value)) return `url:${name}`;
      if (name === 'style' && /expression\s*\(|url\s*\(\s*['"]?\s*javascript/i.test(value)) return 'attr:style';
    } else if (name.length === 0) {
      i++;
    }
  }
  return null;
}

/** `on` + a name of letters: onload, onerror, onpointerrawupdate... (`one`, `only`, `onion` are too short or not handlers alone). */
function isEventHandler(name: string): boolean {
  if (name.length < 5 || !name.startsWith('on')) return false;
  for (let k = 2; k < name.length; k++) {
    const code = name.charCodeAt(k);
    if (code < 97 || code > 122) return false;
  }
  return true;
}

const INJECTED_HANDLER = /["'`][^"'`<>]{0,40}?[\s/]on[a-z]{3,30}\s*=\s*[^\s]/i;
const INJECTED_URL = /["'`]\s*(?:href|src|formaction|action)\s*=\s*['"]?\s*(?:javascript|vbscript)\s*:/i;

function injectedAttribute(text: string): string | null {
  if (INJECTED_HANDLER.test(text)) return 'inject:handler';
  if (INJECTED_URL.test(text)) return 'inject:url';
  return null;
}
