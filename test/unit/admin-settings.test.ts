/** --admin, --admin-token and --admin-token-file: off by default, a token required beyond loopback, the file's first line. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { isLoopbackHost } from '../../src/config/load.js';
import { parseCommandLine, UsageError } from '../../src/cli/options.js';
import type { Config } from '../../src/config/config.js';
import { redactSecrets, REDACTED } from '../../src/admin/redact.js';

const TOKEN = 'correct-horse-battery-staple';

function run(args: readonly string[]): Config {
  const command = parseCommandLine(['--upstream', '127.0.0.1:8080', ...args]);
  if (command.kind !== 'run') throw new Error(command.kind);
  return command.config;
}

function problems(args: readonly string[]): readonly string[] {
  try {
    run(args);
  } catch (error) {
    if (error instanceof UsageError) return error.problems;
    throw error;
  }
  return [];
}

test('the admin server is off unless --admin is given', (t) => {
  t.is(run([]).admin, null);
  t.deepEqual(run(['--admin', '127.0.0.1:9100']).admin, { host: '127.0.0.1', port: 9100, token: null });
  t.deepEqual(run(['--admin', '[::1]:0']).admin, { host: '::1', port: 0, token: null });
  t.is(run(['--admin', 'off']).admin, null);
});

test('anywhere but loopback needs a token, and the refusal names --admin', (t) => {
  for (const bind of ['0.0.0.0:9100', '[::]:9100', '10.1.2.3:9100', 'admin.example:9100']) {
    const [problem] = problems(['--admin', bind]);
    t.regex(problem ?? '', /^--admin: .* is not a loopback address: give --admin-token or --admin-token-file/, bind);
  }
  t.deepEqual(run(['--admin', '0.0.0.0:9100', '--admin-token', TOKEN]).admin, { host: '0.0.0.0', port: 9100, token: TOKEN });
});

test('a token is at least 16 printable characters, given once, and goes with --admin', (t) => {
  t.regex(problems(['--admin', '127.0.0.1:0', '--admin-token', 'short'])[0] ?? '', /^--admin-token: a token needs at least 16 characters/);
  t.regex(problems(['--admin', '127.0.0.1:0', '--admin-token', 'has a space in it!'])[0] ?? '', /printable ASCII without spaces/);
  t.regex(problems(['--admin-token', TOKEN])[0] ?? '', /^--admin-token: goes with --admin HOST:PORT/);
  const directory = mkdtempSync(join(tmpdir(), 'balancebeam-token-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const file = join(directory, 'token');
  writeFileSync(file, `${TOKEN}\nsecond line ignored\n`);
  t.regex(problems(['--admin', '127.0.0.1:0', '--admin-token', TOKEN, '--admin-token-file', file])[0] ?? '', /give either it or --admin-token-file/);
  t.is(run(['--admin', '0.0.0.0:0', '--admin-token-file', file]).admin?.token, TOKEN);
  t.regex(problems(['--admin', '127.0.0.1:0', '--admin-token-file', join(directory, 'missing')])[0] ?? '', /^--admin-token-file: cannot read .*ENOENT/);
  writeFileSync(file, 'tiny\n');
  t.regex(problems(['--admin', '127.0.0.1:0', '--admin-token-file', file])[0] ?? '', /^--admin-token-file: .*at least 16 characters/);
});

test('loopback hosts', (t) => {
  for (const host of ['127.0.0.1', '127.8.9.10', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost']) t.true(isLoopbackHost(host), host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::2', 'example.com', '']) t.false(isLoopbackHost(host), host);
});

test('secrets are redacted from what the API shows', (t) => {
  const shown = redactSecrets({ admin: { host: '0.0.0.0', port: 1, token: TOKEN }, store: 'redis://user:hunter2@cache:6379/0', apiKey: 'k', list: [{ password: 'p' }] });
  t.deepEqual(shown, {
    admin: { host: '0.0.0.0', port: 1, token: REDACTED },
    store: `redis://user:${REDACTED}@cache:6379/0`,
    apiKey: REDACTED,
    list: [{ password: REDACTED }],
  });
  t.false(JSON.stringify(shown).includes(TOKEN));
  t.deepEqual(redactSecrets({ admin: { token: null } }), { admin: { token: null } });
});

test('the admin server is restart-only, and a reload that changes it never logs the token', async (t) => {
  const { acceptReload } = await import('../../src/config/reload.js');
  const running = run(['--admin', '127.0.0.1:9100']);
  const next = run(['--admin', '0.0.0.0:9100', '--admin-token', TOKEN]);
  const accepted = acceptReload(running, next);
  t.deepEqual(accepted.config.admin, running.admin);
  t.deepEqual(accepted.changed, []);
  t.deepEqual(accepted.needsRestart, ['admin: changing it needs a restart; keeping 127.0.0.1:9100, not 0.0.0.0:9100 with a token']);
  t.false(accepted.needsRestart.join('').includes(TOKEN));
});
