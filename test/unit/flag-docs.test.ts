/** `--help` and README's flag table come from the settings schema; README must not fall behind it. */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { HELP, parseCommandLine } from '../../src/cli/options.js';
import { flagTable, withFlagTable } from '../../src/config/flag-docs.js';
import { COMMAND_FLAGS, SETTING_NAMES, SETTINGS } from '../../src/config/schema.js';

const README = new URL('../../../README.md', import.meta.url);

test('README flag table is what the schema generates (run `npm run docs:flags` after changing a setting)', (t) => {
  const readme = readFileSync(README, 'utf8');
  t.is(withFlagTable(readme), readme);
});

test('--help and the table list every setting with its default and range', (t) => {
  const table = flagTable();
  for (const name of SETTING_NAMES) {
    const setting = SETTINGS[name];
    const line = HELP.split('\n').find((text) => text.startsWith(`  --${name} `) || text === `  --${name}`);
    t.truthy(line, `--help has no line for --${name}`);
    const entry = HELP.slice(HELP.indexOf(`  --${name}`)).split('\n').slice(0, 2).join(' ');
    if (setting.range !== '') t.true(entry.includes(setting.range), `--help shows no range for --${name}`);
    t.true(table.includes(`| \`--${name}`), `README table has no row for --${name}`);
  }
  for (const flag of COMMAND_FLAGS) t.true(HELP.includes(`--${flag.name}`));
});

test('a README without the markers is refused rather than silently left alone', (t) => {
  t.throws(() => withFlagTable('# no table here\n'), { message: /markers/ });
});

test("each setting's declared Config path holds its default when it is not given", (t) => {
  // A per-window limit, so rateLimit is not null and its window and algorithm (defaults) can be read.
  const command = parseCommandLine(['--upstream', '127.0.0.1:8080', '--max-requests-per-window', '5']);
  if (command.kind !== 'run') return t.fail(command.kind);
  for (const name of SETTING_NAMES) {
    const setting = SETTINGS[name];
    // Paths with a note (`rateLimit.limit (0: rateLimit null)`) combine several settings; upstreams were given.
    if (!/^[A-Za-z.]+$/.test(setting.config) || name === 'upstream') continue;
    const value = setting.config.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], command.config);
    t.deepEqual(value, setting.default, `${name} → ${setting.config}`);
  }
});
