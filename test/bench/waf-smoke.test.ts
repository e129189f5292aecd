/** `npm run bench:waf` in smoke mode: a sample of the corpora through the real CLI (ModSecurity left out), every table printed. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';

const RUN = fileURLToPath(new URL('../../bench/waf/run.js', import.meta.url));

test('bench:waf --quick prints detection, held-out detection, false positives and cost', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, [RUN, '--quick', '--no-modsecurity', '--cost-requests', '100'], { timeout: 50_000 });
  t.regex(stdout, /## Detection \(share/);
  t.regex(stdout, /## Detection on the held-out payloads/);
  t.regex(stdout, /\| \*\*all legitimate\*\* \| \d+ \| \*\*[\d.]+%\*\* \|/);
  t.regex(stdout, /balancebeam's WAF adds -?[\d.]+ µs per request/);
  t.regex(stdout, /requests without an answer \(connection errors\): [^:]+: 0/);
});
