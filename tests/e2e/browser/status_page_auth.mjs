// With auth on (`flowql serve --auth-token e2e-secret:...`): without a token the page shows
// UNAUTHENTICATED; with the token typed in, queries (Bearer header) and the live
// subscription (connectionParams) work, and the token survives a reload of the tab.
// usage: node tests/e2e/browser/status_page_auth.mjs <baseURL> [artifactDir]
import { join } from 'node:path';
import { cliArgs, step, withBrowser } from './launch.mjs';

const { baseURL, artifacts } = cliArgs();
const T = { timeout: 20000 };

await withBrowser(artifacts, 'status-auth', async (page) => {
  const stageRow = (i, status) => page.locator(`#stage-table tr[data-stage="${i}"][data-status="${status}"]`);
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  // Without a token: the live list's query shows UNAUTHENTICATED; its subscription is refused
  // too (an error, or the socket closed with 4403) and not tried again with the same token.
  await page.goto(`${baseURL}/#/instances`, { waitUntil: 'load' });
  await page.locator('#instances-panel .error-box .error[data-code="UNAUTHENTICATED"]').waitFor(T);
  await page.locator('#toast', { hasText: /UNAUTHENTICATED|FORBIDDEN/ }).waitFor(T); // the subscription's refusal
  await page.waitForTimeout(3000); // the client's retries (250 ms, 500 ms, 1 s...) would show by now
  step(`without a token: ${sockets.length} WebSocket(s) opened; ${await page.locator('#toast').innerText()}`);
  if (sockets.length !== 1) throw new Error(`a refused socket was opened ${sockets.length} times`);

  await page.goto(`${baseURL}/#/workflows`, { waitUntil: 'load' });
  const refused = page.locator('#workflows-panel .error-box .error[data-code="UNAUTHENTICATED"]');
  await refused.waitFor(T);
  step(`without a token: ${await refused.innerText()}`);

  await page.fill('#token', 'e2e-secret');
  await page.click('#token-form button[type=submit]');
  await page.locator('#workflow-list tr.empty').waitFor(T); // the view reloaded with the token
  await page.locator('#create-panel summary').click();
  await page.fill('#create-form textarea[name=definition]', '- wait_event: {event: go}\n');
  await page.click('#create-form button[type=submit]');
  await page.waitForURL(/#\/workflows\//, T);
  await page.click('#run-form button[type=submit]');
  await page.waitForURL(/#\/instances\//, T);
  await stageRow(0, 'WAITING').waitFor(T);
  step('with the token: workflow created, instance WAITING seen live');

  await page.reload({ waitUntil: 'load' }); // sessionStorage keeps the token for this tab
  await stageRow(0, 'WAITING').waitFor(T);
  await page.click('#event-form button[type=submit]'); // event name prefilled from the stage spec
  await stageRow(0, 'SUCCEEDED').waitFor(T);
  await page.locator('#instance-view .inst-status.succeeded').waitFor(T);
  await page.screenshot({ path: join(artifacts, 'status-auth.png'), fullPage: true });
  step(`screenshot ${join(artifacts, 'status-auth.png')}`);
}, { baseURL });
