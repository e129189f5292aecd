/**
 * The processes `npm run bench:waf` drives: a small Node origin that answers
 * 200 to everything (reading any body), balancebeam's CLI in front of it
 * (WAF off, detect or block), and Apache with ModSecurity 2 and a CRS
 * checkout when they are installed (Debian's apache2, libapache2-mod-security2
 * and modsecurity-crs for CRS 3.3; any CRS 4 checkout by path).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface RunningServer {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startOrigin(): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3' });
      res.end('ok\n');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
}

/** A port free a moment ago (the bench's processes take --log-level error, so none prints its own). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitUntilAnswering(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) throw new Error(`exited (${child.exitCode}): ${stderr()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      await response.arrayBuffer();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`never answered on ${port}: ${stderr()}`);
}

/** balancebeam, one process, with the given WAF flags. */
export async function startBalancebeam(originPort: number, wafArgs: readonly string[]): Promise<RunningServer> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=32', '--no-allocation-site-pretenuring', CLI, '--upstream', `127.0.0.1:${originPort}`, '--bind', `127.0.0.1:${port}`, '--workers', '1', '--log-level', 'error', '--active-health-check-interval', '0', ...wafArgs],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitUntilAnswering(port, child, () => stderr);
  return { port, pid: child.pid ?? 0, stop: () => stopChild(child) };
}

export const APACHE = '/usr/sbin/apache2';
export const MODSECURITY = '/usr/lib/apache2/modules/mod_security2.so';
export const CRS3_SETUP = '/etc/modsecurity/crs/crs-setup.conf';
export const CRS3_RULES = '/usr/share/modsecurity-crs/rules';

export function modsecurityInstalled(): boolean {
  return existsSync(APACHE) && existsSync(MODSECURITY);
}

export interface CrsLocation {
  readonly name: string;
  readonly setup: string;
  readonly rules: string;
}

export function crs3(): CrsLocation | null {
  return existsSync(CRS3_SETUP) && existsSync(CRS3_RULES) ? { name: 'ModSecurity 2 + CRS 3.3 (Debian)', setup: CRS3_SETUP, rules: CRS3_RULES } : null;
}

export function crs4(checkout: string): CrsLocation | null {
  const setup = `${checkout}/crs-setup.conf.example`;
  return existsSync(setup) ? { name: `ModSecurity 2 + CRS 4 (${checkout})`, setup, rules: `${checkout}/rules` } : null;
}

const APACHE_MODULES = ['mpm_event', 'authz_core', 'unique_id'];

/**
 * Apache with ModSecurity 2 as Debian configures it (modsecurity.conf-recommended, then the engine
 * switched On and the audit log off), CRS at `paranoia`; everything else 404s, a block is 403.
 */
export async function startModSecurity(dir: string, crs: CrsLocation | null, paranoia: number): Promise<RunningServer> {
  mkdirSync(`${dir}/www`, { recursive: true });
  // Apache's children run as www-data: mkdtemp's 0700 would answer every request 403.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const modules = APACHE_MODULES.map((name) => `LoadModule ${name}_module /usr/lib/apache2/modules/mod_${name}.so`).join('\n');
  const crsLines =
    crs === null
      ? 'SecRuleEngine Off'
      : `Include ${crs.setup}
SecAction "id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=${paranoia},setvar:tx.paranoia_level=${paranoia}"
Include ${crs.rules}/*.conf`;
  writeFileSync(
    `${dir}/httpd.conf`,
    `${modules}
LoadModule security2_module ${MODSECURITY}
ServerName localhost
Listen 127.0.0.1:${port}
PidFile ${dir}/httpd.pid
DefaultRuntimeDir ${dir}
ErrorLog ${dir}/error.log
LogLevel crit
User www-data
Group www-data
DocumentRoot ${dir}/www
AllowEncodedSlashes On
KeepAliveTimeout 60
MaxKeepAliveRequests 0
ThreadsPerChild 16
ServerLimit 4
MaxRequestWorkers 64
StartServers 1
<Directory />
  AllowOverride None
</Directory>
<Directory ${dir}/www>
  AllowOverride None
  Require all granted
</Directory>
<IfModule security2_module>
  Include /etc/modsecurity/modsecurity.conf-recommended
  SecRuleEngine On
  SecAuditEngine Off
  SecResponseBodyAccess Off
  SecDataDir ${dir}
  SecTmpDir ${dir}
  SecUnicodeMapFile /etc/modsecurity/unicode.mapping 20127
  ${crsLines}
</IfModule>
`,
  );
  const child = spawn(APACHE, ['-f', `${dir}/httpd.conf`, '-DFOREGROUND'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitUntilAnswering(port, child, () => `${stderr} ${dir}/error.log`);
  return { port, pid: child.pid ?? 0, stop: () => stopChild(child) };
}
