/**
 * A real redis-server for a test: on a free loopback port, persistence off
 * (`--save '' --appendonly no`), stopped with the test. It can be killed and
 * started again on the same port (a restarted Redis, its data gone), or
 * frozen with SIGSTOP (a Redis that hangs rather than refuses).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';
import { waitFor, withDeadline } from './wait.js';

/** A port free on 127.0.0.1 right now (redis-server cannot take port 0 and report it back). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export class RedisServer {
  private child: ChildProcess | null = null;
  private output = '';

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('redis-server is not running');
    return pid;
  }

  /** Starts redis-server on a fresh free port and waits until it accepts connections. */
  static async start(): Promise<RedisServer> {
    for (let attempt = 0; ; attempt++) {
      const server = new RedisServer(await freePort());
      try {
        await server.run();
        return server;
      } catch (error) {
        // Another process took the port between the probe and redis-server's bind: try another.
        if (attempt >= 3) throw error;
      }
    }
  }

  /** (Re)starts on this server's port, with empty data. */
  async run(): Promise<void> {
    if (this.child !== null) return;
    this.output = '';
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    live.add(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => {
      live.delete(child);
      if (this.child === child) this.child = null;
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => {
      this.output += text;
    });
    child.stderr?.resume();
    try {
      await waitFor(
        () => {
          if (this.output.includes('Ready to accept connections')) return true;
          if (this.child !== child) throw new Error(`redis-server exited: ${this.output.slice(-2000)}`);
          return false;
        },
        { timeoutMs: 10_000, what: `redis-server on port ${this.port} to be ready` },
      );
    } catch (error) {
      child.kill('SIGKILL');
      await exited;
      throw error;
    }
  }

  /** SIGKILL, as a crash: connections are reset, data lost. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await withDeadline(exited, 10_000, 'redis-server to exit');
  }

  /** One redis-cli command against this server; its reply as text. */
  command(...args: string[]): string {
    return execFileSync('redis-cli', ['-p', String(this.port), ...args], { encoding: 'utf8', timeout: 10_000 }).trim();
  }

  /** Hangs: connections stay open, nothing is answered. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }
}

/** A redis-server stopped when the test ends. */
export async function startRedis(t: ExecutionContext): Promise<RedisServer> {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  return redis;
}
