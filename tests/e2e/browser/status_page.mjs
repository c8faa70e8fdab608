// The console watching one run live: validation errors, create, run, watch live,
// reconnect, send the event, SUCCEEDED, cancel (confirmed), pagination, token header.
// usage: node tests/e2e/browser/status_page.mjs <baseURL> [artifactDir]
import { join } from 'node:path';
import { assert, cliArgs, gql, step, withBrowser } from './launch.mjs';

const { baseURL, artifacts } = cliArgs();
const T = { timeout: 20000 };
const NAME = `browser-e2e-${Date.now()}`;
const YAML = 'stages:\n  - delay: {duration: 2s}\n  - wait_event: {event: go}\n';
const INVALID = 'stages:\n  - delay: {duration: 2s}\n  - teleport: {to: mars}\n';

await withBrowser(artifacts, 'status', async (page) => {
  const shot = async (name) => {
    await page.screenshot({ path: join(artifacts, name), fullPage: true });
    step(`screenshot ${join(artifacts, name)}`);
  };
  const stageRow = (i, status) => page.locator(`#stage-table tr[data-stage="${i}"][data-status="${status}"]`);
  const instanceBadge = (status) => page.locator(`#instance-view .inst-status.${status.toLowerCase()}`);

  await page.goto(`${baseURL}/`, { waitUntil: 'load' });
  await page.waitForURL(/#\/instances$/, T); // `/` opens the instance list
  // Survives only if the page is never reloaded: everything below must arrive live.
  await page.evaluate(() => (window.__noReload = 'still here'));

  // 1. A server validation error shows up next to the stage it names.
  await page.click('#nav a[data-section="workflows"]');
  await page.waitForURL(/#\/workflows$/, T);
  await page.locator('#create-panel summary').click();
  await page.fill('#create-form textarea[name=definition]', INVALID);
  await page.click('#create-form button[type=submit]');
  const stageError = page.locator('#stage-outline li[data-index="1"].invalid .error');
  await stageError.waitFor(T);
  const errorText = await stageError.innerText();
  step(`validation error next to stage 1: ${errorText}`);
  assert(/stages\[1\]/.test(errorText), `error should name stages[1]: ${errorText}`);
  assert((await stageError.getAttribute('data-code')) === 'VALIDATION', 'error code should be VALIDATION');
  await shot('status-validation.png');

  // 2. Create the workflow from YAML and run it with variables.
  await page.fill('#create-form input[name=name]', NAME);
  await page.fill('#create-form textarea[name=definition]', YAML);
  await page.click('#create-form button[type=submit]');
  await page.waitForURL(/#\/workflows\/[^/]+$/, T);
  await page.locator('#workflow-view .wf-name', { hasText: NAME }).waitFor(T);
  const workflowID = decodeURIComponent(page.url().split('#/workflows/')[1]);
  step(`workflow created: ${workflowID}`);
  await page.fill('#run-form textarea[name=variables]', 'who: browser\n');
  await page.click('#run-form button[type=submit]');
  await page.waitForURL(/#\/instances\/[^/]+$/, T);
  const instanceID = decodeURIComponent(page.url().split('#/instances/')[1]);
  step(`instance started: ${instanceID}`);
  await page.locator('.inst-variables code', { hasText: 'browser' }).waitFor(T);

  // 3. Stage 0 (delay) waits; cut the WebSocket meanwhile; the page reconnects on its own.
  await stageRow(0, 'WAITING').waitFor(T);
  await page.locator('#timeline .lane[data-stage="0"] .bar.waiting').waitFor(T);
  await page.locator('#connection.live').waitFor(T);
  await shot('status-waiting-delay.png');
  // Both transitions of stage 0 have reached the page: the replay must repeat them.
  await page.locator('#transition-log li', { hasText: 'stage 0 delay → WAITING' }).waitFor(T);
  const connects = await page.locator('#connection').getAttribute('data-connects');
  await page.evaluate(() => window.flowqlStatus.dropSocket());
  step('WebSocket dropped');
  await page.locator(`#connection.live:not([data-connects="${connects}"])`).waitFor(T);
  step(`WebSocket back (connection #${await page.locator('#connection').getAttribute('data-connects')})`);

  // 4. After the delay: stage 0 SUCCEEDED, stage 1 (wait_event) WAITING; send the event.
  await stageRow(0, 'SUCCEEDED').waitFor(T);
  await stageRow(1, 'WAITING').waitFor(T);
  await instanceBadge('RUNNING').waitFor(T);
  const eventInput = page.locator('#event-form input[name=name]');
  assert((await eventInput.inputValue()) === 'go', 'event field should be prefilled from the wait_event stage');
  await shot('status-waiting-event.png');
  await page.click('#event-form button[type=submit]');

  // 5. SUCCEEDED, live; the transition log holds every transition exactly once.
  await stageRow(1, 'SUCCEEDED').waitFor(T);
  await instanceBadge('SUCCEEDED').waitFor(T);
  await page.locator('#timeline .lane[data-stage="1"] .bar.succeeded:not(.open)').waitFor(T);
  const log = await page.locator('#transition-log li').allInnerTexts();
  step(`transition log:\n  ${log.join('\n  ')}`);
  const transitions = log.map((l) => /stage \d+ \S+ → \S+/.exec(l)?.[0]).filter(Boolean);
  assert(new Set(transitions).size === transitions.length, `a transition shows twice: ${transitions}`);
  for (const t of ['stage 0 delay → SUCCEEDED', 'stage 1 wait_event → WAITING', 'stage 1 wait_event → SUCCEEDED']) {
    assert(transitions.includes(t), `missing "${t}" in ${transitions}`);
  }
  const replayed = Number(await page.locator('#transition-log').getAttribute('data-replayed'));
  step(`transitions replayed after the reconnect and skipped: ${replayed}`);
  assert(replayed >= 2, 'the resubscription should have replayed stage 0 RUNNING and WAITING');
  const stages = await page.locator('#stage-table tbody tr').allInnerTexts();
  step(`stages:\n  ${stages.map((s) => s.replace(/\s+/g, ' ')).join('\n  ')}`);
  assert((await page.evaluate(() => window.__noReload)) === 'still here', 'the page was reloaded');
  assert(await page.locator('#event-form button[type=submit]').isDisabled(), 'Send event stays enabled after the end');
  await shot('status-succeeded.png');

  // 6. A second run, cancelled during its delay: Cancel asks first, "Keep it" keeps it.
  await page.click(`#instance-view .inst-meta a[href="#/workflows/${workflowID}"]`);
  await page.waitForURL(/#\/workflows\//, T);
  await page.click('#run-form button[type=submit]');
  await page.waitForURL((u) => u.hash.startsWith('#/instances/') && !u.hash.endsWith(instanceID), T);
  await stageRow(0, 'WAITING').waitFor(T);
  await page.click('#cancel-button');
  const dialog = page.locator('dialog.confirm[open]');
  await dialog.waitFor(T);
  await shot('status-cancel-confirm.png');
  await page.keyboard.press('Escape'); // the keyboard way out: nothing happens
  await dialog.waitFor({ state: 'detached', ...T });
  await stageRow(0, 'WAITING').waitFor(T);
  assert((await page.locator('#instance-view .inst-status').innerText()) === 'RUNNING', 'Escape must not cancel');
  await page.click('#cancel-button');
  await dialog.locator('button[value=confirm]').click();
  await stageRow(0, 'CANCELLED').waitFor(T);
  await instanceBadge('CANCELLED').waitFor(T);
  await shot('status-cancelled.png');

  // 7. Cursor pagination on the workflow's page: 22 more runs make 24, pages of 20.
  const query = 'mutation($id: ID!) { runWorkflow(workflowID: $id) { id } }';
  for (let i = 0; i < 22; i++) await gql(baseURL, query, { id: workflowID });
  await page.goto(`${baseURL}/#/workflows/${workflowID}`, { waitUntil: 'load' });
  await page.locator('#instances-panel button.more').waitFor({ state: 'visible', ...T });
  assert((await page.locator('#instance-table tbody tr').count()) === 20, 'first page should hold 20');
  await page.click('#instances-panel button.more');
  await page.waitForFunction(() => document.querySelectorAll('#instance-table tbody tr').length === 24, null, T);
  assert(await page.locator('#instances-panel button.more').isHidden(), 'no third page expected');
  step('instances paginated: 20 + 4');

  // 8. The token is kept in sessionStorage and sent as a bearer header.
  const authHeader = page.waitForRequest((r) => r.url().endsWith('/graphql') && r.method() === 'POST', T);
  await page.fill('#token', 'e2e-token');
  await page.click('#token-form button[type=submit]');
  const header = (await authHeader).headers().authorization;
  assert(header === 'Bearer e2e-token', `Authorization header: ${header}`);
  assert((await page.evaluate(() => sessionStorage.getItem('flowql.token'))) === 'e2e-token', 'token not stored');
  step('token sent as Authorization: Bearer');
}, { baseURL });
