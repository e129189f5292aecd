/**
 * The command line → a command to run: flags (their parser options generated
 * from the settings schema), an optional `--config FILE`, and the
 * subcommands `demo` and `check`. Every problem is collected into one
 * UsageError that lists them all, each naming its flag or file key.
 */
import { parseArgs } from 'node:util';
import type { Config } from '../config/config.js';
import { readConfigFile } from '../config/config-file.js';
import { helpText } from '../config/flag-docs.js';
import { loadConfig, type FlagValues } from '../config/load.js';
import { COMMAND_FLAGS, SETTING_NAMES, SETTINGS } from '../config/schema.js';
import type { FlagValue } from '../config/setting-types.js';
import type { UpstreamTarget } from '../protocol/index.js';
import { readWafRuleFiles } from '../waf/rule-files.js';

/** A bad command line or config file: every problem, one per line. */
export class UsageError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly config: Config; readonly warnings: readonly string[] }
  | { readonly kind: 'demo'; readonly config: Omit<Config, 'upstreams'>; readonly warnings: readonly string[] }
  /** `check`: the settings are valid; print a summary and exit. */
  | { readonly kind: 'check'; readonly config: Config; readonly warnings: readonly string[]; readonly configFile: string | null };

export const HELP = helpText();

type ParserOption = { readonly type: 'string' | 'boolean'; readonly multiple?: boolean };

const PARSER_OPTIONS: Record<string, ParserOption> = Object.fromEntries([
  ...SETTING_NAMES.map((name) => {
    const setting = SETTINGS[name];
    return [name, { type: setting.type === 'boolean' ? 'boolean' : 'string', multiple: setting.multiple }];
  }),
  ...COMMAND_FLAGS.map((flag) => [flag.name, { type: flag.valueName === '' ? 'boolean' : 'string' }]),
]) as Record<string, ParserOption>;

const SUBCOMMANDS = ['demo', 'check'] as const;

export function parseCommandLine(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: PARSER_OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError([describeParseError(error)]);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };

  const [subcommand, ...extra] = positionals;
  if (extra.length > 0 || (subcommand !== undefined && !(SUBCOMMANDS as readonly string[]).includes(subcommand))) {
    throw new UsageError([`unexpected argument '${extra[0] ?? subcommand}' (the commands are ${SUBCOMMANDS.join(' and ')})`]);
  }
  const demo = subcommand === 'demo';

  const flags: FlagValues = {};
  for (const name of SETTING_NAMES) {
    const value = values[name] as FlagValue | undefined;
    if (value !== undefined) flags[name] = value;
  }
  const configFile = typeof values.config === 'string' ? values.config : null;
  const file = configFile === null ? null : readConfigFile(configFile);
  const loaded = loadConfig(flags, file, demo ? 'demo' : 'run');
  if (!loaded.ok) throw new UsageError(loaded.errors);

  const { upstreams, warnings } = loaded;
  const settings = withWafRules(loaded.settings);
  if (demo) return { kind: 'demo', config: settings, warnings };
  const config = { ...settings, upstreams };
  if (subcommand === 'check') return { kind: 'check', config, warnings, configFile };
  return { kind: 'run', config, warnings };
}

/** The WAF's user rule files read, and every rule compiled once, so a bad one is a usage error (and a failed reload). */
function withWafRules<C extends Pick<Config, 'waf'>>(settings: C): C {
  if (settings.waf === null) return settings;
  const read = readWafRuleFiles(settings.waf);
  if (!read.ok) throw new UsageError(read.problems);
  return { ...settings, waf: read.settings };
}

export type ReloadResult =
  | { readonly ok: true; readonly config: Config; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[] };

/**
 * For live reload (SIGHUP): the process's original argv read again, the
 * config file included, without exiting. A `demo` instance passes the
 * upstreams it started, since its argv has none.
 */
export function reloadConfig(argv: readonly string[], demoUpstreams: readonly UpstreamTarget[] = []): ReloadResult {
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (error instanceof UsageError) return { ok: false, errors: error.problems };
    throw error;
  }
  switch (command.kind) {
    case 'help':
    case 'version':
      return { ok: false, errors: [`the command line asks for --${command.kind}, not an instance's settings`] };
    case 'demo':
      return { ok: true, config: { ...command.config, upstreams: demoUpstreams }, warnings: command.warnings };
    case 'run':
    case 'check':
      return { ok: true, config: command.config, warnings: command.warnings };
  }
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown !== null) return `unknown flag ${unknown[1]}`;
  const missing = /^Option '(--[a-z-]+)[^']*' argument missing/.exec(message);
  if (missing !== null) return `${missing[1]}: a value is required`;
  const ambiguous = /^Option '(--[a-z-]+)[^']*' argument is ambiguous/.exec(message);
  if (ambiguous !== null) return `${ambiguous[1]}: a value starting with '-' is not allowed (negative numbers are not)`;
  const switchWithValue = /^Option '(--[a-z-]+)' does not take an argument/.exec(message);
  if (switchWithValue !== null) return `${switchWithValue[1]}: takes no value (giving the flag turns it on)`;
  return message.split('\n')[0] ?? message;
}
