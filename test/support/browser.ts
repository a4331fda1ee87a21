/**
 * Debian's chromium driven by puppeteer-core (no browser download), with the flags a headless
 * container needs, and the checks the browser suites share: axe-core's serious violations and
 * screenshots kept under test-artifacts/.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.resolve('test-artifacts');

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/provision-test-deps.sh installs Debian's chromium (npm test runs it)`);
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly string[] }[];
}

/**
 * axe-core's violations of impact serious or critical on the page as it is now. The engine is
 * evaluated through the DevTools protocol, which the page's Content-Security-Policy does not
 * govern (the page itself allows no inline script).
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: () => Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run()).violations;
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * Opens a page that reports its script errors and failed requests: a page that never gets ready
 * then says why in the test's failure.
 */
export async function tracedPage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => { problems.push(`page error: ${err instanceof Error ? err.message : String(err)}`); });
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('requestfailed', (r) => { problems.push(`request failed: ${r.url().split('?')[0] ?? ''} ${r.failure()?.errorText ?? ''}`); });
  return { page, problems };
}

/** Waits for `main[data-ready]`, or fails with what the page reported and what it shows. */
export async function waitReady(page: Page, problems: readonly string[], timeout = 60_000): Promise<void> {
  try {
    await page.waitForSelector('main[data-ready="true"]', { timeout });
  } catch {
    const shown = await textOf(page, 'body').catch(() => '');
    throw new Error(`page not ready at ${page.url().split('?')[0] ?? ''}: ${problems.join(' | ')} | shows: ${shown.trim().slice(0, 300)}`);
  }
}

/**
 * The text of the first element matching `selector` ('' when none). Evaluated as an expression
 * so that the test program needs no DOM types (they would retype fetch for the whole project).
 */
export async function textOf(page: Page, selector: string): Promise<string> {
  const text: unknown = await page.evaluate(`document.querySelector(${JSON.stringify(selector)})?.textContent ?? ''`);
  return typeof text === 'string' ? text : '';
}

/** Saves a full-page screenshot as test-artifacts/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
