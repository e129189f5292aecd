/**
 * Headless Chromium for the page's tests: Debian's /usr/bin/chromium driven
 * by playwright-core (no browser download), a fresh profile per test,
 * nothing fetched from the network. Tests that need it skip where it is missing.
 */
import type { ExecutionContext } from 'ava';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Screenshots and other artifacts of the browser tests (gitignored). */
export const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/visualizer/', import.meta.url));

export const chromiumAvailable = (): boolean => existsSync(CHROMIUM_PATH);

export async function launchChromium(t: ExecutionContext, viewport = { width: 1600, height: 1000 }): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'bb-chromium-'));
  // The profile is the user data dir: playwright takes it here rather than as --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: ARGS, viewport });
  t.teardown(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return context;
}
