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

/**
 * Run `body(page, context)` in a fresh headless browser; exit 1 with a screenshot on failure.
 * Only `baseURL`'s origin is reachable: any other request is aborted, and fails the run
 * (the pages must work offline, from vendored assets only).
 */
export async function withBrowser(artifacts, name, body, { baseURL = null, viewport = { width: 1280, height: 900 } } = {}) {
  rmSync(join(artifacts, `${name}-failure.png`), { force: true }); // a stale one from an earlier run
  const profile = mkdtempSync(join(tmpdir(), 'flowql-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport,
  });
  const blocked = [];
  if (baseURL) {
    const origin = new URL(baseURL).origin;
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('data:') || new URL(url).origin === origin) return route.continue();
      blocked.push(url);
      return route.abort('blockedbyclient');
    });
  }
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => console.error(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => console.error(`[pageerror] ${e.message}`));
  page.on('requestfailed', (r) => console.error(`[requestfailed] ${r.url()} ${r.failure()?.errorText}`));
  let code = 0;
  try {
    await body(page, context);
    if (blocked.length) throw new Error(`requests outside the server (blocked): ${blocked.join(', ')}`);
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

/** A GraphQL request from Node (test set-up), failing on any error. */
export async function gql(baseURL, query, variables = {}, token = null) {
  const res = await fetch(`${baseURL}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
  return body.data;
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}
