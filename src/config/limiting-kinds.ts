/**
 * The kinds of value of the rate-limiting settings (issue 14) that the
 * general ones (setting-types.ts) do not cover: the store URL, lists of
 * CIDRs, paths and statuses, and the config file's rules.
 */
import { parseCidr } from '../node/client-ip.js';
import type { RateLimitRule, RateLimitStoreSettings, RuleKey } from '../protocol/index.js';
import { RATE_LIMIT_ALGORITHMS } from '../rate-limit/limit-math.js';
import { redactedUrl } from '../rate-limit/store-url.js';
import type { FlagValue, Problem, Read, SettingKind } from './setting-types.js';

const ok = <T>(value: T): Read<T> => ({ ok: true, value });
const problem = <T>(message: string, item?: number): Read<T> => ({ ok: false, problems: [item === undefined ? { message } : { message, item }] });

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** `memory`, or `redis://[user:password@]host:port[/db]` (`rediss://` for TLS). */
export function parseStore(text: string): RateLimitStoreSettings | null {
  if (text === 'memory') return { kind: 'memory' };
  if (!/^rediss?:\/\//.test(text)) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.hostname === '' || (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname))) return null;
  return { kind: 'redis', url: text };
}

export const storeKind: SettingKind<RateLimitStoreSettings> = {
  type: 'string',
  valueName: 'memory|redis://HOST:PORT',
  range: 'memory, redis://[user:password@]host:port[/db], rediss://…',
  multiple: false,
  fromFlag: (value) => readStore(String(value)),
  fromFile: (value) => (typeof value === 'string' ? readStore(value) : problem(`expected memory or a redis:// URL`)),
  show: (store) => (store.kind === 'memory' ? 'memory' : redactedUrl(store.url)),
};

function readStore(text: string): Read<RateLimitStoreSettings> {
  const store = parseStore(text);
  return store === null ? problem(`'${redactedUrl(text)}' is not memory, redis://[user:password@]host:port[/db] or rediss://…`) : ok(store);
}

/** A repeatable flag, or a list (or one value) in the file, each item read by `readOne`. */
function listOf<T>(valueName: string, readOne: (text: string) => T | null, expected: string, show: (items: readonly T[]) => string): SettingKind<readonly T[]> {
  const readAll = (items: readonly unknown[]): Read<readonly T[]> => {
    const problems: Problem[] = [];
    const values: T[] = [];
    items.forEach((item, index) => {
      const value = typeof item === 'string' || typeof item === 'number' ? readOne(String(item)) : null;
      if (value === null) problems.push({ message: `'${String(item)}' is not ${expected}`, item: index });
      else values.push(value);
    });
    return problems.length > 0 ? { ok: false, problems } : ok(values);
  };
  return {
    type: 'string',
    valueName,
    range: '',
    multiple: true,
    fromFlag: (value: FlagValue) => readAll(typeof value === 'object' ? value : [String(value)]),
    fromFile: (value) => readAll(Array.isArray(value) ? value : [value]),
    show,
  };
}

export const cidrList = listOf('CIDR', (text) => (parseCidr(text) === null ? null : text), 'an address or CIDR (10.0.0.0/8, 2001:db8::/32)', (items) =>
  items.length === 0 ? 'none' : items.join(', '),
);

export const pathList = listOf('PATH', (text) => (text.startsWith('/') ? text : null), 'a path starting with /', (items) =>
  items.length === 0 ? 'none (off)' : items.join(', '),
);

/** `401,403` on the command line, a list or that text in the file. */
export const statusList: SettingKind<readonly number[]> = {
  type: 'string',
  valueName: 'STATUS,…',
  range: '100–599',
  multiple: false,
  fromFlag: (value) => readStatuses(String(value).split(',')),
  fromFile: (value) => readStatuses(Array.isArray(value) ? value : String(value).split(',')),
  show: (statuses) => statuses.join(','),
};

function readStatuses(items: readonly unknown[]): Read<readonly number[]> {
  const statuses: number[] = [];
  for (const item of items) {
    const text = String(item).trim();
    if (!/^\d{3}$/.test(text) || Number(text) < 100 || Number(text) > 599) return problem(`'${text}' is not an HTTP status (100–599)`);
    statuses.push(Number(text));
  }
  return ok(statuses);
}

/** A header name, lower-cased; '' for none. */
export const optionalHeaderName: SettingKind<string> = {
  type: 'string',
  valueName: 'NAME',
  range: '',
  multiple: false,
  fromFlag: (value) => readHeaderName(String(value)),
  fromFile: (value) => (typeof value === 'string' ? readHeaderName(value) : problem('expected a header name')),
  show: (name) => (name === '' ? 'none' : name),
};

function readHeaderName(text: string): Read<string> {
  return text === '' || TOKEN.test(text) ? ok(text.toLowerCase()) : problem(`'${text}' is not a header name`);
}

/**
 * The config file's `rate-limit-rules` (on the command line: the same as JSON):
 * a list of `{ name, limit, window, algorithm?, burst?, path-prefix?, header?, key? }`.
 */
export const rulesList: SettingKind<readonly RateLimitRule[]> = {
  type: 'string',
  valueName: 'JSON',
  range: 'a list of rules (see Rate limiting)',
  multiple: false,
  fromFlag: (value) => {
    try {
      return readRules(JSON.parse(String(value)) as unknown);
    } catch {
      return problem('is not JSON (a list of rules; the config file takes them as YAML)');
    }
  },
  fromFile: (value) => readRules(value),
  show: (rules) => (rules.length === 0 ? 'none' : rules.map((rule) => rule.name).join(', ')),
};

const RULE_FIELDS = ['name', 'limit', 'window', 'algorithm', 'burst', 'path-prefix', 'header', 'key'];

function readRules(value: unknown): Read<readonly RateLimitRule[]> {
  if (!Array.isArray(value)) return problem('expected a list of rules');
  const rules: RateLimitRule[] = [];
  const problems: Problem[] = [];
  const names = new Set<string>(['default', 'login']);
  value.forEach((entry: unknown, item) => {
    const read = readRule(entry);
    if (!read.ok) for (const { message } of read.problems) problems.push({ message, item });
    else if (names.has(read.value.name)) problems.push({ message: `rule name '${read.value.name}' is taken (default and login are reserved)`, item });
    else {
      names.add(read.value.name);
      rules.push(read.value);
    }
  });
  return problems.length > 0 ? { ok: false, problems } : ok(rules);
}

function readRule(entry: unknown): Read<RateLimitRule> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return problem('a rule is a map { name, limit, window, ... }');
  const fields = entry as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !RULE_FIELDS.includes(key));
  if (unknown !== undefined) return problem(`unknown rule field '${unknown}' (${RULE_FIELDS.join(', ')})`);
  const { name, limit, window, algorithm = 'sliding-window', burst = 0, header, key = 'client-ip' } = fields;
  const pathPrefix = fields['path-prefix'];
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) return problem('a rule needs a name (letters, digits, _ . -)');
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1e9) return problem(`rule ${name}: limit must be a whole number from 1 to 1000000000`);
  if (typeof window !== 'number' || !(window >= 0.1 && window <= 2_073_600)) return problem(`rule ${name}: window must be seconds from 0.1 to 2073600`);
  if (typeof algorithm !== 'string' || !(RATE_LIMIT_ALGORITHMS as readonly string[]).includes(algorithm)) {
    return problem(`rule ${name}: algorithm must be one of ${RATE_LIMIT_ALGORITHMS.join(', ')}`);
  }
  if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 0 || burst > 1e9) return problem(`rule ${name}: burst must be a whole number`);
  if (pathPrefix !== undefined && (typeof pathPrefix !== 'string' || !pathPrefix.startsWith('/'))) return problem(`rule ${name}: path-prefix must start with /`);
  if (header !== undefined && (typeof header !== 'string' || !TOKEN.test(header))) return problem(`rule ${name}: header must be a header name`);
  let ruleKey: RuleKey;
  if (key === 'client-ip') ruleKey = { from: 'client-ip' };
  else if (typeof key === 'string' && key.startsWith('header:') && TOKEN.test(key.slice(7))) ruleKey = { from: 'header', name: key.slice(7).toLowerCase() };
  else return problem(`rule ${name}: key must be client-ip or header:NAME`);
  return ok({
    name,
    limit: { algorithm: algorithm as RateLimitRule['limit']['algorithm'], limit, windowMs: Math.round(window * 1000), ...(burst > 0 ? { burst } : {}) },
    pathPrefix: typeof pathPrefix === 'string' ? pathPrefix : null,
    header: typeof header === 'string' ? header.toLowerCase() : null,
    key: ruleKey,
  });
}
