/**
 * A request taken apart into what rules look at: method, path, the raw URI
 * and query, each query argument (name and value), each header, each
 * cookie, and from the body prefix the form fields, multipart fields and
 * file names, JSON keys and values at any depth, and the raw prefix itself.
 *
 * Values are kept as sent (rules choose their transformations); names are
 * URL-decoded once, so an exclusion names an argument as the application
 * sees it. A value that is Base64 of text is added a second time, decoded
 * (`name` with ` (base64)`), so every rule sees through that encoding too.
 * Item counts are bounded (MAX_ITEMS): a body of 64 KiB of tiny fields
 * costs what its size costs, not more.
 */
import { base64Text, urlDecodeOnce } from './transforms.js';

export type ItemKind = 'args' | 'arg-names' | 'headers' | 'header-names' | 'cookies' | 'cookie-names' | 'filenames';

export interface PartItem {
  readonly kind: ItemKind;
  /** The argument, header (lowercased) or cookie name; for a JSON value, its key. */
  readonly name: string;
  readonly value: string;
}

/** Beyond this many items the rest of a request is not taken apart (its raw body prefix is still inspected). */
export const MAX_ITEMS = 2048;

export interface RequestHead {
  readonly method: string;
  readonly url: string;
  /** `[name, value, ...]` as received. */
  readonly rawHeaders: readonly string[];
}

export const ITEM_KINDS: readonly ItemKind[] = ['args', 'arg-names', 'headers', 'header-names', 'cookies', 'cookie-names', 'filenames'];

export class RequestParts {
  readonly items: PartItem[] = [];
  /** The item kinds some rule reads: items of the others are not built (no rule at PL1 reads header names). */
  private readonly wanted: ReadonlySet<ItemKind>;
  readonly method: string;
  readonly uri: string;
  /** The path as sent (before `?`). */
  readonly path: string;
  readonly query: string;
  /** The body prefix as text (UTF-8), '' without one. */
  body = '';
  argCount = 0;
  /** Items were left out (over MAX_ITEMS). */
  truncated = false;

  constructor(head: RequestHead, wanted: ReadonlySet<ItemKind> = ALL_KINDS) {
    this.wanted = wanted;
    this.method = head.method;
    this.uri = head.url;
    const question = head.url.indexOf('?');
    this.path = question < 0 ? head.url : head.url.slice(0, question);
    this.query = question < 0 ? '' : head.url.slice(question + 1);
    if (this.query !== '') this.addPairs(this.query, '&');
    const headers = head.rawHeaders;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = (headers[i] as string).toLowerCase();
      const value = headers[i + 1] as string;
      this.add('header-names', name, name);
      if (name === 'cookie') this.addCookies(value);
      else if (wanted.has('headers') && !hasStandardShape(name, value)) this.addValue('headers', name, value);
    }
  }

  private add(kind: ItemKind, name: string, value: string): void {
    if (!this.wanted.has(kind)) return;
    if (this.items.length >= MAX_ITEMS) {
      this.truncated = true;
      return;
    }
    this.items.push({ kind, name, value });
  }

  /** A value, and its Base64-decoded text when it is Base64 of text. */
  private addValue(kind: 'args' | 'headers' | 'cookies', name: string, value: string): void {
    this.add(kind, name, value);
    if (value.length < 12 || !this.wanted.has(kind)) return;
    const decoded = base64Text(kind === 'args' ? urlDecodeOnce(value) : value);
    if (decoded !== null) this.add(kind, `${name} (base64)`, decoded);
  }

  private addArg(name: string, value: string): void {
    this.argCount++;
    this.add('arg-names', name, name);
    this.addValue('args', name, value);
  }

  /** `a=1&b=2` (query strings and form bodies). */
  private addPairs(text: string, separator: string): void {
    let from = 0;
    while (from <= text.length && this.items.length < MAX_ITEMS) {
      let end = text.indexOf(separator, from);
      if (end < 0) end = text.length;
      if (end > from) {
        const pair = text.slice(from, end);
        const equals = pair.indexOf('=');
        const rawName = equals < 0 ? pair : pair.slice(0, equals);
        this.addArg(safeUrlDecode(rawName), equals < 0 ? '' : pair.slice(equals + 1));
      }
      from = end + 1;
    }
    if (this.items.length >= MAX_ITEMS) this.truncated = true;
  }

  private addCookies(header: string): void {
    if (!this.wanted.has('cookies') && !this.wanted.has('cookie-names')) return;
    for (const piece of header.split(';')) {
      const equals = piece.indexOf('=');
      const name = (equals < 0 ? piece : piece.slice(0, equals)).trim();
      const value = equals < 0 ? '' : piece.slice(equals + 1).trim();
      if (name === '' && value === '') continue;
      this.add('cookie-names', name.toLowerCase(), name);
      this.addValue('cookies', name.toLowerCase(), value);
    }
  }

  /** The body prefix, taken apart as its Content-Type says. */
  addBody(prefix: Buffer, contentType: string | undefined): void {
    this.body = prefix.toString('utf8');
    const type = (contentType ?? '').toLowerCase();
    if (type.startsWith('application/x-www-form-urlencoded')) this.addPairs(this.body, '&');
    else if (type.includes('json')) this.addJson(this.body);
    else if (type.startsWith('multipart/form-data')) this.addMultipart(this.body, type, contentType ?? '');
    // XML, plain text and the rest: the raw prefix is what the rules see.
  }

  /**
   * JSON keys and string values at any depth, read by a tolerant scanner rather than JSON.parse:
   * a prefix cut at the limit is not valid JSON, and a deeply nested document costs no recursion.
   */
  private addJson(text: string): void {
    let key = '';
    for (let i = 0; i < text.length && this.items.length < MAX_ITEMS; i++) {
      if (text[i] !== '"') continue;
      let j = i + 1;
      let escaped = false;
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') {
          escaped = true;
          j++;
        }
        j++;
      }
      const raw = text.slice(i + 1, Math.min(j, text.length));
      const value = escaped ? jsonUnescape(raw) : raw;
      let k = j + 1;
      while (k < text.length && (text[k] === ' ' || text[k] === '\n' || text[k] === '\r' || text[k] === '\t')) k++;
      if (text[k] === ':') {
        key = value;
        this.argCount++;
        this.add('arg-names', key, key);
      } else {
        this.addValue('args', key, value);
      }
      i = j;
    }
  }

  /** multipart/form-data: each part's field name, file name and (for fields without a file) value. */
  private addMultipart(text: string, type: string, original: string): void {
    const match = /boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(original);
    if (match === null || !type.includes('boundary=')) return;
    const delimiter = `--${match[1] ?? match[2] ?? ''}`;
    let at = text.indexOf(delimiter);
    while (at >= 0 && this.items.length < MAX_ITEMS) {
      const start = at + delimiter.length;
      const next = text.indexOf(delimiter, start);
      const part = text.slice(start, next < 0 ? text.length : next);
      const headerEnd = part.indexOf('\r\n\r\n');
      if (headerEnd >= 0) {
        const headers = part.slice(0, headerEnd);
        const content = part.slice(headerEnd + 4).replace(/\r\n$/, '');
        const name = /\bname="([^"]*)"/i.exec(headers)?.[1] ?? '';
        const filename = /\bfilename="([^"]*)"/i.exec(headers)?.[1];
        if (filename !== undefined) this.add('filenames', name, filename);
        else this.addArg(name, content);
      }
      at = next;
    }
  }
}

const ALL_KINDS: ReadonlySet<ItemKind> = new Set(ITEM_KINDS);

/**
 * Headers every browser sends, in their grammar's shape: tokens, `q=` weights, commas, and nothing an
 * attack needs (no quote, bracket, `<`, `$`, `%`, `\`, `;` outside a weight). A value of that shape
 * cannot carry a payload, so the rules that read every header skip it; one of any other shape (or
 * any other header) is read like an argument.
 */
const STANDARD_SHAPES: ReadonlyMap<string, RegExp> = new Map([
  ['accept', /^[\w.+*/-]+(?:\s*;\s*[\w.]+=[\w.]+)*(?:\s*,\s*[\w.+*/-]+(?:\s*;\s*[\w.]+=[\w.]+)*)*$/],
  ['accept-language', /^[\w*-]+(?:\s*;\s*q=[\d.]+)?(?:\s*,\s*[\w*-]+(?:\s*;\s*q=[\d.]+)?)*$/],
  ['accept-encoding', /^[\w*-]+(?:\s*;\s*q=[\d.]+)?(?:\s*,\s*[\w*-]+(?:\s*;\s*q=[\d.]+)?)*$/],
  ['host', /^[\w.-]+(?::\d{1,5})?$|^\[[\da-fA-F:.]+\](?::\d{1,5})?$/],
  ['connection', /^[\w-]+(?:\s*,\s*[\w-]+)*$/],
  ['content-length', /^\d+$/],
  ['cache-control', /^[\w-]+(?:=[\w-]+)?(?:\s*,\s*[\w-]+(?:=[\w-]+)?)*$/],
  ['pragma', /^[\w-]+$/],
  ['upgrade-insecure-requests', /^\d$/],
  ['dnt', /^\d$/],
  ['sec-fetch-dest', /^[\w-]+$/],
  ['sec-fetch-mode', /^[\w-]+$/],
  ['sec-fetch-site', /^[\w-]+$/],
  ['sec-fetch-user', /^\?[01]$/],
  ['priority', /^[\w=, ]+$/],
]);

function hasStandardShape(name: string, value: string): boolean {
  const shape = STANDARD_SHAPES.get(name);
  return shape !== undefined && value.length <= 512 && shape.test(value);
}

function safeUrlDecode(text: string): string {
  return text.indexOf('%') < 0 && text.indexOf('+') < 0 ? text : urlDecodeOnce(text);
}

function jsonUnescape(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}
