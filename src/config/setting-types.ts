/**
 * The kinds of value a setting can hold, each with one reader for the command
 * line (parseArgs' string, boolean or list) and one for the config file (a
 * YAML value), so a flag and its file key are checked by the same rule and
 * answer with the same words. Readers return problems as values; the caller
 * prefixes them with `--flag:` or `file:line: key:`.
 */
import { formatHostPort, type BindAddress } from './config.js';
import type { UpstreamTarget } from '../protocol/index.js';

export type SettingType =
  | 'seconds'
  | 'integer'
  | 'bytes'
  | 'boolean'
  | 'enum'
  | 'string'
  | 'host:port'
  | 'upstream list'
  | 'list'
  | 'number';

/** What parseArgs gives for one flag: a string, `true` for a boolean, a list for a repeatable flag. */
export type FlagValue = string | boolean | readonly string[];

/** One thing wrong with a value; `item` is the index in a list, so a file error can name that item's line. */
export interface Problem {
  readonly message: string;
  readonly item?: number;
}

export type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly Problem[] };

export interface SettingKind<T> {
  readonly type: SettingType;
  /** The value's placeholder in `--help` (`SECS`, `N`, `a|b`); '' for booleans. */
  readonly valueName: string;
  /** The documented range, as `--help` and README show it; '' when the type says it all. */
  readonly range: string;
  readonly multiple: boolean;
  fromFlag(value: FlagValue): Read<T>;
  fromFile(value: unknown): Read<T>;
  /** A value as `--help`, README and `check` show it (seconds for durations). */
  show(value: T): string;
}

function ok<T>(value: T): Read<T> {
  return { ok: true, value };
}

function problem<T>(message: string, item?: number): Read<T> {
  return { ok: false, problems: [item === undefined ? { message } : { message, item }] };
}

/** A file value in an error message: its text for scalars, what it is for the rest. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `'${value}' (text)`;
  if (typeof value === 'number' || typeof value === 'boolean') return `'${value}'`;
  return `a ${typeof value}`;
}

/** Flags hold text; a numeric file value goes through the same text check, text in the file is a wrong type. */
function textOf(value: FlagValue): string {
  return typeof value === 'string' ? value : String(value);
}

const DAY_SECONDS = 86_400;
/** Node's timers overflow at 2^31-1 ms (24.8 days) and then fire at once; windows and intervals stop at 24 days. */
const TWENTY_FOUR_DAYS_SECONDS = 24 * DAY_SECONDS;

export interface SecondsRange {
  readonly min: number;
  readonly max: number;
  /** When 0 is allowed, what it means ('off', 'at once'); every other value is at least `min`. */
  readonly zeroMeans?: string;
}

/** Timeouts: at least 1 ms (nothing rounds to 0), at most a day. */
export const TIMEOUT: SecondsRange = { min: 0.001, max: DAY_SECONDS };
/** Intervals and windows: at least 0.1 s (a busier loop is a mistake), at most 24 days (below the timer overflow). */
export const INTERVAL: SecondsRange = { min: 0.1, max: TWENTY_FOUR_DAYS_SECONDS };

function rangeText(min: number, max: number, zeroMeans: string | undefined, unit: string): string {
  const span = `${min}–${max}${unit}`;
  return zeroMeans === undefined ? span : `0 (${zeroMeans}) or ${span}`;
}

/** A duration given in seconds (fractions allowed), held in milliseconds. */
export function seconds(range: SecondsRange): SettingKind<number> {
  const { min, max, zeroMeans } = range;
  const expected =
    zeroMeans === undefined
      ? `a number of seconds from ${min} to ${max}`
      : `0 (${zeroMeans}) or a number of seconds from ${min} to ${max}`;
  const fromText = (text: string): Read<number> => {
    const value = Number(text);
    const inRange = value === 0 ? zeroMeans !== undefined : value >= min && value <= max;
    if (text.trim() === '' || !Number.isFinite(value) || !inRange) return problem(`'${text}' is not ${expected}`);
    return ok(Math.round(value * 1000));
  };
  return {
    type: 'seconds',
    valueName: 'SECS',
    range: rangeText(min, max, zeroMeans, max % DAY_SECONDS === 0 ? ` s (${max / DAY_SECONDS === 1 ? 'a day' : `${max / DAY_SECONDS} days`})` : ' s'),
    multiple: false,
    fromFlag: (value) => fromText(textOf(value)),
    fromFile: (value) => (typeof value === 'number' ? fromText(String(value)) : problem(`${describe(value)} is not ${expected}`)),
    show: (ms) => String(ms / 1000),
  };
}

export interface IntegerRange {
  readonly min: number;
  readonly max: number;
  /** When min is 0, what 0 means ('off', 'no limit'). */
  readonly zeroMeans?: string;
}

function wholeNumber(type: 'integer' | 'bytes', valueName: string, range: IntegerRange): SettingKind<number> {
  const { min, max, zeroMeans } = range;
  const expected = `a whole number from ${min} to ${max}`;
  const fromText = (text: string): Read<number> =>
    /^\d+$/.test(text) && Number(text) >= min && Number(text) <= max ? ok(Number(text)) : problem(`'${text}' is not ${expected}`);
  return {
    type,
    valueName,
    range: zeroMeans === undefined || min !== 0 ? `${min}–${max}` : `0 (${zeroMeans}) or 1–${max}`,
    multiple: false,
    fromFlag: (value) => fromText(textOf(value)),
    fromFile: (value) =>
      typeof value === 'number' && Number.isInteger(value) ? fromText(String(value)) : problem(`${describe(value)} is not ${expected}`),
    show: String,
  };
}

export const integer = (range: IntegerRange): SettingKind<number> => wholeNumber('integer', 'N', range);
export const bytes = (range: IntegerRange): SettingKind<number> => wholeNumber('bytes', 'BYTES', range);

export interface DecimalRange {
  readonly min: number;
  readonly max: number;
  /** When 0 is allowed, what it means ('off'); every other value is at least `min`. */
  readonly zeroMeans?: string;
  /** Digits allowed after the point (a factor held in hundredths: 2). */
  readonly decimals: number;
}

/** A number with a fraction (`1.25`), in a range. */
export function decimal(valueName: string, range: DecimalRange): SettingKind<number> {
  const { min, max, zeroMeans, decimals } = range;
  const span = `a number from ${min} to ${max} with at most ${decimals} decimals`;
  const expected = zeroMeans === undefined ? span : `0 (${zeroMeans}) or ${span}`;
  const form = new RegExp(`^\\d+(\\.\\d{1,${decimals}})?$`);
  const fromText = (text: string): Read<number> => {
    const value = Number(text);
    const inRange = value === 0 ? zeroMeans !== undefined : value >= min && value <= max;
    return form.test(text) && inRange ? ok(value) : problem(`'${text}' is not ${expected}`);
  };
  return {
    type: 'number',
    valueName,
    range: rangeText(min, max, zeroMeans, ''),
    multiple: false,
    fromFlag: (value) => fromText(textOf(value)),
    fromFile: (value) => (typeof value === 'number' ? fromText(String(value)) : problem(`${describe(value)} is not ${expected}`)),
    show: String,
  };
}

/** A switch: present on the command line means on; `true`/`false` in the file. */
export const boolean: SettingKind<boolean> = {
  type: 'boolean',
  valueName: '',
  range: '',
  multiple: false,
  fromFlag: (value) => ok(value === true),
  fromFile: (value) => (typeof value === 'boolean' ? ok(value) : problem(`${describe(value)} is not true or false`)),
  show: (on) => (on ? 'on' : 'off'),
};

export function oneOf<T extends string>(allowed: readonly T[]): SettingKind<T> {
  const fromText = (text: string): Read<T> =>
    (allowed as readonly string[]).includes(text) ? ok(text as T) : problem(`'${text}' is not one of ${allowed.join(', ')}`);
  return {
    type: 'enum',
    valueName: allowed.join('|'),
    range: '',
    multiple: false,
    fromFlag: (value) => fromText(textOf(value)),
    fromFile: (value) => (typeof value === 'string' ? fromText(value) : problem(`${describe(value)} is not one of ${allowed.join(', ')}`)),
    show: String,
  };
}

/** Free text with one check (`check` returns a problem's message, or null). */
export function text(valueName: string, check: (value: string) => string | null): SettingKind<string> {
  const fromText = (value: string): Read<string> => {
    const message = check(value);
    return message === null ? ok(value) : problem(message);
  };
  return {
    type: 'string',
    valueName,
    range: '',
    multiple: false,
    fromFlag: (value) => fromText(textOf(value)),
    fromFile: (value) => (typeof value === 'string' ? fromText(value) : problem(`${describe(value)} is not text`)),
    show: String,
  };
}

/** Text read into a value by `parse` (null: not one of the forms `expected` names). */
export function textAs<T>(valueName: string, expected: string, parse: (text: string) => T | null, show: (value: T) => string): SettingKind<T> {
  const fromText = (text: string): Read<T> => {
    const value = parse(text);
    return value === null ? problem(`'${text}' is not ${expected}`) : ok(value);
  };
  return {
    type: 'string',
    valueName,
    range: '',
    multiple: false,
    fromFlag: (value) => fromText(textOf(value)),
    fromFile: (value) => (typeof value === 'string' ? fromText(value) : problem(`${describe(value)} is not ${expected}`)),
    show,
  };
}

function splitHostPort(text: string): { host: string; port: string } | null {
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(text);
  if (bracketed !== null) return { host: bracketed[1] as string, port: bracketed[2] as string };
  const colon = text.lastIndexOf(':');
  if (colon <= 0 || text.indexOf(':') !== colon) return null;
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

function readHostPort(text: string, minPort: number): Read<{ host: string; port: number }> {
  const parts = splitHostPort(text);
  if (parts === null) return problem(`'${text}' is not HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080)`);
  if (!/^\d+$/.test(parts.port) || Number(parts.port) < minPort || Number(parts.port) > 65535) {
    return problem(`'${text}' has no valid port (${minPort}-65535)`);
  }
  return ok({ host: parts.host, port: Number(parts.port) });
}

/** A listening address; port 0 picks a free port. */
export const bindAddress: SettingKind<BindAddress> = {
  type: 'host:port',
  valueName: 'HOST:PORT',
  range: '',
  multiple: false,
  fromFlag: (value) => readHostPort(textOf(value), 0),
  fromFile: (value) => (typeof value === 'string' ? readHostPort(value, 0) : problem(`${describe(value)} is not HOST:PORT`)),
  show: (bind) => formatHostPort(bind.host, bind.port),
};

export const WEIGHT_RANGE = { min: 1, max: 1000 } as const;

function target(host: string, port: number, weight: number): UpstreamTarget {
  return { id: formatHostPort(host, port), host, port, weight };
}

function readWeight(text: string): Read<number> {
  const { min, max } = WEIGHT_RANGE;
  return /^\d+$/.test(text) && Number(text) >= min && Number(text) <= max
    ? ok(Number(text))
    : problem(`weight '${text}' is not a whole number from ${min} to ${max}`);
}

/** `HOST:PORT` or `HOST:PORT,weight=N` (the command line's form). */
export function parseUpstreamText(text: string): Read<UpstreamTarget> {
  const [address = '', ...options] = text.split(',');
  const hostPort = readHostPort(address, 1);
  if (!hostPort.ok) return hostPort;
  let weight = 1;
  for (const option of options) {
    const [key, value = ''] = option.split('=', 2);
    if (key !== 'weight') return problem(`'${text}': unknown upstream option '${key ?? ''}' (the only one is weight=N)`);
    const read = readWeight(value);
    if (!read.ok) return problem(`'${text}': ${read.problems[0]?.message ?? ''}`);
    weight = read.value;
  }
  return ok(target(hostPort.value.host, hostPort.value.port, weight));
}

/** A file's upstream entry: `HOST:PORT`, or a map `{ address: HOST:PORT, weight: N }`. */
function upstreamFromFile(entry: unknown): Read<UpstreamTarget> {
  if (typeof entry === 'string') return parseUpstreamText(entry);
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return problem(`${describe(entry)} is not HOST:PORT or a map { address: HOST:PORT, weight: N }`);
  }
  const fields = entry as Record<string, unknown>;
  const unknownField = Object.keys(fields).find((key) => key !== 'address' && key !== 'weight');
  if (unknownField !== undefined) return problem(`unknown upstream field '${unknownField}' (address and weight are)`);
  if (typeof fields.address !== 'string') return problem(`an upstream map needs address: HOST:PORT`);
  const hostPort = readHostPort(fields.address, 1);
  if (!hostPort.ok) return hostPort;
  let weight = 1;
  if (fields.weight !== undefined) {
    const read =
      typeof fields.weight === 'number' ? readWeight(String(fields.weight)) : problem<number>(`weight ${describe(fields.weight)} is not a whole number`);
    if (!read.ok) return read;
    weight = read.value;
  }
  return ok(target(hostPort.value.host, hostPort.value.port, weight));
}

function readUpstreams(entries: readonly unknown[], readOne: (entry: unknown) => Read<UpstreamTarget>): Read<UpstreamTarget[]> {
  const problems: Problem[] = [];
  const upstreams: UpstreamTarget[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, item) => {
    const read = readOne(entry);
    if (!read.ok) {
      for (const { message } of read.problems) problems.push({ message, item });
    } else if (seen.has(read.value.id)) {
      problems.push({ message: `${read.value.id} is given twice`, item });
    } else {
      seen.add(read.value.id);
      upstreams.push(read.value);
    }
  });
  return problems.length > 0 ? { ok: false, problems } : ok(upstreams);
}

/** The upstream servers: a repeated flag, or a list in the file. */
export const upstreamList: SettingKind<readonly UpstreamTarget[]> = {
  type: 'upstream list',
  valueName: 'HOST:PORT[,weight=N]',
  range: `weight ${WEIGHT_RANGE.min}–${WEIGHT_RANGE.max}`,
  multiple: true,
  fromFlag: (value) => readUpstreams(typeof value === 'object' ? value : [textOf(value)], (entry) => parseUpstreamText(entry as string)),
  fromFile: (value) => readUpstreams(Array.isArray(value) ? value : [value], upstreamFromFile),
  show: (upstreams) => upstreams.map((u) => (u.weight === 1 ? u.id : `${u.id} (weight ${u.weight})`)).join(', '),
};

/** A listening address, or `off` (the default of a server that is off unless asked for). */
export const optionalBindAddress: SettingKind<BindAddress | null> = {
  type: 'host:port',
  valueName: 'HOST:PORT',
  range: '',
  multiple: false,
  fromFlag: (value) => (textOf(value) === 'off' ? ok(null) : readHostPort(textOf(value), 0)),
  fromFile: (value) => {
    if (value === 'off' || value === false || value === null) return ok(null);
    return typeof value === 'string' ? readHostPort(value, 0) : problem(`${describe(value)} is not HOST:PORT or off`);
  },
  show: (bind) => (bind === null ? 'off' : formatHostPort(bind.host, bind.port)),
};

/** A list of texts, each read by `parse` (the value, or a problem's message): a repeated flag, or a list in the file. */
export function textList<T>(valueName: string, parse: (text: string) => { value: T } | { problem: string }, show: (value: T) => string): SettingKind<readonly T[]> {
  const readAll = (entries: readonly unknown[]): Read<readonly T[]> => {
    const values: T[] = [];
    const problems: Problem[] = [];
    entries.forEach((entry, item) => {
      // A bare number in YAML (a rule id) is its text.
      if (typeof entry !== 'string' && typeof entry !== 'number') {
        problems.push({ message: `${describe(entry)} is not text`, item });
        return;
      }
      const read = parse(String(entry));
      if ('problem' in read) problems.push({ message: read.problem, item });
      else values.push(read.value);
    });
    return problems.length > 0 ? { ok: false, problems } : ok(values);
  };
  return {
    type: 'list',
    valueName,
    range: '',
    multiple: true,
    fromFlag: (value) => readAll(typeof value === 'object' ? value : [textOf(value)]),
    fromFile: (value) => readAll(value === null || value === undefined ? [] : Array.isArray(value) ? value : [value]),
    show: (values) => (values.length === 0 ? 'none' : values.map(show).join(', ')),
  };
}
