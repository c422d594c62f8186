/**
 * The browser that drives the workbench: Debian's Chromium through playwright-core.
 */
import { which } from './paths.mjs';

/** Chromium flags for a headless workbench on a machine without a GPU or network. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

/**
 * Launches the system Chromium (Debian package `chromium`) through playwright-core and
 * opens a page. CHROMIUM_PATH overrides the executable.
 * @returns {Promise<{ browser: import('playwright-core').Browser, page: import('playwright-core').Page }>}
 */
export async function launchChromium({ viewport = { width: 1400, height: 900 }, headless = true } = {}) {
  const executablePath = process.env.CHROMIUM_PATH ?? which('chromium') ?? which('chromium-browser');
  if (!executablePath) throw new Error('Chromium not found: install the Debian package "chromium" (or set CHROMIUM_PATH).');
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, headless, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  return { browser, page };
}
