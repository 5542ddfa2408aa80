import type { Browser, LaunchOptions } from 'playwright-core';
import { chromiumPath } from './tools.js';

/** Chromium flags for quiet, offline, headless runs in containers. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Options of {@link launchBrowser}. */
export interface LaunchBrowserOptions {
  /** Extra Chromium flags, after {@link CHROMIUM_ARGS}. @default [] */
  args?: readonly string[];
  /** Other playwright launch options (`timeout`, `slowMo`...). @default {} */
  launchOptions?: Omit<LaunchOptions, 'executablePath' | 'args'>;
  /** Environment: `MLTRACE_CHROMIUM` overrides the executable. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/**
 * Launches the system Chromium (`/usr/bin/chromium` or `MLTRACE_CHROMIUM`) headless through
 * playwright-core; each launch gets a fresh temporary profile. Close it with `browser.close()`.
 *
 * @example
 * const browser = await launchBrowser();
 * const page = await browser.newPage();
 * await page.goto(url);
 */
export async function launchBrowser(options: LaunchBrowserOptions = {}): Promise<Browser> {
  const executablePath = chromiumPath(options.env ?? process.env);
  // Loaded on demand: most test files never open a browser.
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    headless: true,
    ...options.launchOptions,
    executablePath,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
}
