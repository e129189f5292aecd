/**
 * The WAF's transformations: what a value is turned into before a rule's
 * operator sees it. Peers lose most of their detection to encodings, so the
 * decoders here undo what attackers stack (URL inside HTML entities inside
 * `\u` escapes...), each bounded: every function is linear in its input and
 * never returns more than it was given, except Base64's decoded text (3/4 of it).
 *
 * Each function returns its input unchanged (the same string) when it has
 * nothing to do, after one indexOf-style scan: most values of benign traffic
 * are plain, and the WAF's cost per request is mostly these scans.
 */

/** How many rounds of URL decoding: `%2527` → `%27` → `'`; a third catches triple encoding. */
export const URL_DECODE_ROUNDS = 3;

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

function hexAt(text: string, at: number, digits: number): number {
  if (at + digits > text.length) return -1;
  let value = 0;
  for (let i = 0; i < digits; i++) {
    const digit = hexValue(text.charCodeAt(at + i));
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/**
 * One round of URL decoding, as lenient as the applications behind a proxy: `+` → space, `%XX`, IIS's
 * `%uXXXX`, and byte sequences decoded as UTF-8 — overlong forms included (`%c0%ae` is `.`, `%c0%af`
 * `/`), since that is how old decoders let traversal through. A `%` not followed by hex stays.
 */
export function urlDecodeOnce(text: string): string {
  if (text.indexOf('%') < 0 && text.indexOf('+') < 0) return text;
  let out = '';
  const bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length > 0) {
      out += decodeLenientUtf8(bytes);
      bytes.length = 0;
    }
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 37 /* % */) {
      const byte = hexAt(text, i + 1, 2);
      if (byte >= 0) {
        bytes.push(byte);
        i += 2;
        continue;
      }
      if ((text.charCodeAt(i + 1) | 0x20) === 117 /* u */) {
        const unit = hexAt(text, i + 2, 4);
        if (unit >= 0) {
          flush();
          out += String.fromCharCode(unit);
          i += 5;
          continue;
        }
      }
    }
    flush();
    out += ch === 43 /* + */ ? ' ' : text[i];
  }
  flush();
  return out;
}

/**
 * UTF-8 bytes to text, accepting overlong encodings (which TextDecoder replaces with U+FFFD): an
 * overlong `/` must look like `/` to the rules. Bytes that form no sequence stay as Latin-1 characters.
 */
export function decodeLenientUtf8(bytes: readonly number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b0 = bytes[i] as number;
    if (b0 < 0x80) {
      out += String.fromCharCode(b0);
      continue;
    }
    const length = b0 >= 0xf0 && b0 < 0xf8 ? 4 : b0 >= 0xe0 ? 3 : b0 >= 0xc0 ? 2 : 0;
    if (length === 0 || i + length > bytes.length) {
      out += String.fromCharCode(b0);
      continue;
    }
    let code = b0 & (length === 2 ? 0x1f : length === 3 ? 0x0f : 0x07);
    let valid = true;
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k] as number;
      if ((next & 0xc0) !== 0x80) {
        valid = false;
        break;
      }
      code = (code << 6) | (next & 0x3f);
    }
    if (!valid || code > 0x10ffff) {
      out += String.fromCharCode(b0);
      continue;
    }
    out += String.fromCodePoint(code);
    i += length - 1;
  }
  return out;
}

/** URL decoding repeated until nothing changes, at most URL_DECODE_ROUNDS times. */
export function urlDecode(text: string): string {
  let current = text;
  for (let round = 0; round < URL_DECODE_ROUNDS; round++) {
    const next = urlDecodeOnce(current);
    if (next === current) break;
    current = next;
  }
  return current;
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: ' ', colon: ':', lpar: '(', rpar: ')',
  sol: '/', bsol: '\\', semi: ';', equals: '=', num: '#', period: '.', comma: ',', newline: '\n',
  tab: '\t', excl: '!', quest: '?', lsqb: '[', rsqb: ']', lcub: '{', rcub: '}', grave: '`', plus: '+',
  dollar: '$', percnt: '%', ast: '*', vert: '|', hyphen: '-', lowbar: '_', commat: '@',
};

/**
 * HTML character references, as browsers read them: `&#x3c;`, `&#60;` (the `;` optional, leading
 * zeros allowed), and the named ones that matter for markup and scripts (`&lt;`, `&colon;`, `&lpar;`...).
 */
export function htmlEntityDecode(text: string): string {
  if (text.indexOf('&') < 0) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch !== '&') {
      out += ch;
      continue;
    }
    if (text[i + 1] === '#') {
      const hex = text[i + 2] === 'x' || text[i + 2] === 'X';
      let j = i + (hex ? 3 : 2);
      let value = 0;
      const start = j;
      while (j < text.length && j - start < 8) {
        const digit = hex ? hexValue(text.charCodeAt(j)) : text.charCodeAt(j) - 48;
        if (digit < 0 || digit > (hex ? 15 : 9)) break;
        value = value * (hex ? 16 : 10) + digit;
        j++;
      }
      if (j > start && value <= 0x10ffff) {
        out += String.fromCodePoint(value);
        i = text[j] === ';' ? j : j - 1;
        continue;
      }
    } else {
      let j = i + 1;
      while (j < text.length && j - i <= 8 && /[a-zA-Z]/.test(text[j] as string)) j++;
      const name = text.slice(i + 1, j).toLowerCase();
      const decoded = NAMED_ENTITIES[name];
      if (decoded !== undefined && Object.hasOwn(NAMED_ENTITIES, name)) {
        out += decoded;
        i = text[j] === ';' ? j : j - 1;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

/**
 * JavaScript/JSON/C string escapes: `\uXXXX`, `\u{XXXXX}`, `\xXX`, and the one-letter ones
 * (`\n`, `\t`...). Other backslashes stay (a Windows path is left alone).
 */
export function escapeDecode(text: string): string {
  if (text.indexOf('\\') < 0) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch !== '\\' || i + 1 >= text.length) {
      out += ch;
      continue;
    }
    const next = text[i + 1] as string;
    if (next === 'u' || next === 'U') {
      if (text[i + 2] === '{') {
        const close = text.indexOf('}', i + 3);
        const value = close > i + 3 && close - i <= 10 ? hexAt(text, i + 3, close - i - 3) : -1;
        if (value >= 0 && value <= 0x10ffff) {
          out += String.fromCodePoint(value);
          i = close;
          continue;
        }
      }
      const unit = hexAt(text, i + 2, 4);
      if (unit >= 0) {
        out += String.fromCharCode(unit);
        i += 5;
        continue;
      }
    } else if (next === 'x' || next === 'X') {
      const byte = hexAt(text, i + 2, 2);
      if (byte >= 0) {
        out += String.fromCharCode(byte);
        i += 3;
        continue;
      }
    } else {
      const simple = SIMPLE_ESCAPES[next];
      if (simple !== undefined) {
        out += simple;
        i += 1;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', '0': '\0', '"': '"', "'": "'", '/': '/' };

const BASE64_SHAPE = /^[A-Za-z0-9+/_-]{12,}={0,2}$/;

/**
 * The text a Base64 (or base64url) value decodes to, or null when it is not Base64 or does not
 * decode to text: at least 12 characters of the alphabet, a length that fits, no control character
 * but tab and line breaks among the decoded bytes, and at least 90 % of them printable ASCII. A word of letters alone (a name, a hash in hex) rarely decodes to
 * printable text, so plain values pass through this with one regular expression test.
 */
export function base64Text(text: string): string | null {
  if (text.length < 12 || text.length % 4 === 1 || !BASE64_SHAPE.test(text)) return null;
  // Mixed case or digits: a word in one case alone is a word, not Base64.
  if (!/[0-9+/]/.test(text) && (text === text.toLowerCase() || text === text.toUpperCase())) return null;
  const bytes = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
  if (bytes.length < 6) return null;
  let printable = 0;
  for (const byte of bytes) {
    // A control character (other than tab and line breaks) means binary data: a token, not text.
    if ((byte < 32 && byte !== 9 && byte !== 10 && byte !== 13) || byte === 127) return null;
    if (byte < 127) printable++;
  }
  if (printable < bytes.length * 0.9) return null;
  const text8 = bytes.toString('utf8');
  return text8.includes('\ufffd') ? bytes.toString('latin1') : text8;
}

/** A value that is Base64 of text gets that text; anything else is returned as it is. */
export function base64Decode(text: string): string {
  return base64Text(text) ?? text;
}

/**
 * Unicode compatibility normalisation: full-width `＜ｓｃｒｉｐｔ＞` becomes `<script>`, ligatures and
 * circled letters their letters. Skipped (one scan) for ASCII, which NFKC never changes.
 */
export function nfkc(text: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(text)) return text;
  return text.normalize('NFKC');
}

export function lowercase(text: string): string {
  return text.toLowerCase();
}

/** NUL bytes dropped: C-based upstreams stop at them, rule patterns should not. */
export function removeNulls(text: string): string {
  return text.indexOf('\0') < 0 ? text : text.replaceAll('\0', '');
}

// eslint-disable-next-line no-control-regex
const WHITESPACE_RUN = /[\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00a0]+/g;
/** Whitespace other than a space, a control character, or two spaces in a row. */
// eslint-disable-next-line no-control-regex
const NOT_A_SINGLE_SPACE = /[^\S ]|[\x00-\x08\x0e-\x1f\x7f]| {2}/;

/** Runs of whitespace (and the control characters browsers and shells treat as such) become one space. */
export function compressWhitespace(text: string): string {
  // Only single spaces (or none): the replacement would give the same text, so it is not built.
  if (!NOT_A_SINGLE_SPACE.test(text)) return text;
  return text.replace(WHITESPACE_RUN, ' ');
}


/**
 * SQL comments become one space, as SQL reads them (`UNION/**\/SELECT` is `UNION SELECT`);
 * `/*!50000 SELECT*\/` (MySQL's executable comment) keeps its text, and `-- ` / `#` to the end of the
 * line is dropped.
 */
export function sqlCommentCompress(text: string): string {
  if (text.indexOf('/*') < 0 && text.indexOf('--') < 0 && text.indexOf('#') < 0) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      const end = close < 0 ? text.length : close;
      let inner = text.slice(i + 2, end);
      if (inner.startsWith('!')) inner = inner.slice(1).replace(/^\d{0,6}/, '');
      out += ` ${inner} `;
      i = close < 0 ? text.length : close + 1;
      continue;
    }
    if ((ch === '-' && text[i + 1] === '-') || ch === '#') {
      const newline = text.indexOf('\n', i);
      out += ' ';
      i = newline < 0 ? text.length : newline - 1;
      continue;
    }
    out += ch;
  }
  return out;
}

/**
 * What a shell makes of a command line, for the command-injection rules: `$IFS`, `${IFS}`, `$IFS$9`
 * become spaces; quotes and backslashes that split words (`c'a't`, `w\ho`) are dropped; `$@` and
 * empty `${x}`-style expansions of unset variables vanish.
 */
export function shellNormalize(text: string): string {
  if (!/[$'"\\`]/.test(text)) return text;
  return text
    .replace(/\$\{IFS\}|\$IFS(?:\$\d)?/g, ' ')
    .replace(/\$@|\$\{[a-z_]?\}/g, '')
    .replace(/\\(?=[a-z/])/gi, '')
    .replace(/(\w)(?:''|"")(\w)/g, '$1$2')
    .replace(/(\w)['"](\w+)['"](?=\w|\s|$)/g, '$1$2');
}

/**
 * A path as a server resolves it: backslashes as slashes, `//` as `/`, `./` dropped and `../` removing
 * the segment before it. A `../` that climbs above the root is kept as `/../`, the traversal's trace.
 */
export function normalizePath(text: string): string {
  // Without a backslash, an empty segment inside or a `.`/`..` segment, resolving changes nothing.
  if (!/\\|\/\/|(?:^|\/)\.\.?(?:\/|$)/.test(text)) return text;
  return resolvePath(text);
}

/** normalizePath without its shortcut (exported for the test that the shortcut changes nothing). */
export function resolvePath(text: string): string {
  const slashed = text.replace(/\\/g, '/');
  const absolute = slashed.startsWith('/');
  const segments: string[] = [];
  let escaped = 0;
  for (const segment of slashed.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.length > 0 && segments[segments.length - 1] !== '..') segments.pop();
      else {
        segments.push('..');
        escaped++;
      }
      continue;
    }
    segments.push(segment);
  }
  const joined = segments.join('/');
  const trailing = slashed.endsWith('/') && joined !== '' ? '/' : '';
  return (absolute || escaped > 0 ? '/' : '') + joined + trailing;
}

/**
 * The common decoding every value gets before the rules' own transformations (`decode` in a rule):
 * URL decoding, then HTML entities, `\u`/`\x` escapes, NUL removal and NFKC, repeated while anything
 * changes and at most three times (an entity inside a URL escape inside a JS escape).
 */
export function fullDecode(text: string): string {
  let current = text;
  for (let round = 0; round < 3; round++) {
    const next = nfkc(removeNulls(escapeDecode(htmlEntityDecode(urlDecode(current)))));
    if (next === current) break;
    current = next;
  }
  return current;
}

export const TRANSFORMS = {
  urlDecode,
  htmlEntityDecode,
  escapeDecode,
  base64Decode,
  nfkc,
  lowercase,
  removeNulls,
  compressWhitespace,
  sqlCommentCompress,
  shellNormalize,
  normalizePath,
  fullDecode,
} as const satisfies Record<string, (text: string) => string>;

export type TransformName = keyof typeof TRANSFORMS;

export function isTransformName(name: string): name is TransformName {
  return Object.hasOwn(TRANSFORMS, name);
}
