// GraphiQL at /graphql: type a query, run it, see the server's answer; screenshot.
// usage: node tests/e2e/browser/graphiql.mjs <baseURL> [artifactDir]
import { join } from 'node:path';
import { cliArgs, step, withBrowser } from './launch.mjs';

const { baseURL, artifacts } = cliArgs();
const QUERY = '{ serverInfo { version } }';

await withBrowser(artifacts, 'graphiql', async (page) => {
  // Any request leaving the server's origin would mean a CDN asset slipped in.
  const foreign = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(baseURL) && !r.url().startsWith('data:')) foreign.push(r.url());
  });

  await page.goto(`${baseURL}/graphql`, { waitUntil: 'load' });
  step('page loaded');
  const editor = page.locator('.graphiql-query-editor .CodeMirror').first();
  await editor.waitFor({ timeout: 20000 });

  // Replace the editor's content through CodeMirror's own API (typing would auto-close braces).
  await page.evaluate((q) => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q), QUERY);
  await page.locator('.graphiql-execute-button').click();
  step('query sent');

  const result = page.locator('.graphiql-response .CodeMirror');
  await page.waitForFunction(() => {
    const el = document.querySelector('.graphiql-response .CodeMirror');
    return el && /"version"\s*:\s*"[^"]+"/.test(el.CodeMirror.getValue());
  }, null, { timeout: 20000 });
  const text = await result.evaluate((el) => el.CodeMirror.getValue());
  step(`response: ${text.replace(/\s+/g, ' ')}`);
  if (/"errors"/.test(text)) throw new Error(`GraphQL errors in response: ${text}`);

  await page.screenshot({ path: join(artifacts, 'graphiql.png'), fullPage: true });
  step(`screenshot ${join(artifacts, 'graphiql.png')}`);
  if (foreign.length) throw new Error(`requests outside ${baseURL}: ${foreign.join(', ')}`);
}, { baseURL });
