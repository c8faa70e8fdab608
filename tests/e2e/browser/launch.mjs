// Shared set-up for the browser scripts: Debian's chromium through playwright-core,
// headless, a fresh profile, nothing downloaded, browser console forwarded to stderr.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.FLOWQL_CHROMIUM || '/usr/bin/chromium';

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
];

/** Parse `node script.mjs <baseURL> <artifactDir>`. */
export function cliArgs() {
  const [baseURL, artifacts = 'test-artifacts'] = process.argv.slice(2);
  if (!baseURL) {
    console.error('usage: node <script>.mjs <baseURL> [artifactDir]');
    process.exit(2);
  }
  mkdirSync(artifacts, { recursive: true });
  return { baseURL: baseURL.replace(/\/$/, ''), artifacts };
}

/** Run `body(page, context)` in a fresh headless browser; exit 1 with a screenshot on failure. */
export async function withBrowser(artifacts, name, body) {
  rmSync(join(artifacts, `${name}-failure.png`), { force: true }); // a stale one from an earlier run
  const profile = mkdtempSync(join(tmpdir(), 'flowql-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => console.error(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => console.error(`[pageerror] ${e.message}`));
  page.on('requestfailed', (r) => console.error(`[requestfailed] ${r.url()} ${r.failure()?.errorText}`));
  let code = 0;
  try {
    await body(page, context);
  } catch (err) {
    code = 1;
    console.error(`FAILED: ${err.stack || err}`);
    await page.screenshot({ path: join(artifacts, `${name}-failure.png`), fullPage: true }).catch(() => {});
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  process.exit(code);
}

/** Record a step on stdout (the pytest side prints it when a test fails). */
export function step(msg) {
  console.log(`${new Date().toISOString()} ${msg}`);
}

let stdinLines = null;
/** Ask the pytest side for a server-side step (`@@<action>` on stdout); resolve once it is done. */
export async function askServer(action) {
  if (!stdinLines) {
    const { createInterface } = await import('node:readline');
    stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  }
  console.log(`@@${action}`);
  const { done } = await stdinLines.next();
  if (done) throw new Error(`no answer to @@${action}`);
}
