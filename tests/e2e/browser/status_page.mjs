// The live status page at /: validation errors, create, run, watch live, reconnect,
// send the event, SUCCEEDED, cancel, token header. Screenshots in <artifactDir>.
// usage: node tests/e2e/browser/status_page.mjs <baseURL> [artifactDir]
import { join } from 'node:path';
import { cliArgs, step, withBrowser } from './launch.mjs';

const { baseURL, artifacts } = cliArgs();
const T = { timeout: 20000 };
const NAME = `browser-e2e-${Date.now()}`;
const YAML = 'stages:\n  - delay: {duration: 2s}\n  - wait_event: {event: go}\n';
const INVALID = 'stages:\n  - delay: {duration: 2s}\n  - teleport: {to: mars}\n';

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

await withBrowser(artifacts, 'status', async (page) => {
  const shot = async (name) => {
    await page.screenshot({ path: join(artifacts, name), fullPage: true });
    step(`screenshot ${join(artifacts, name)}`);
  };
  const stageRow = (i, status) => page.locator(`#stage-table tr[data-stage="${i}"][data-status="${status}"]`);
  const instanceBadge = (status) => page.locator(`#instance-view .inst-status.${status.toLowerCase()}`);

  await page.goto(`${baseURL}/`, { waitUntil: 'load' });
  // Survives only if the page is never reloaded: everything below must arrive live.
  await page.evaluate(() => (window.__noReload = 'still here'));

  // 1. A server validation error shows up next to the stage it names.
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
  await page.waitForURL(/#\/workflow\//, T);
  await page.locator('#workflow-list a', { hasText: NAME }).waitFor(T);
  step(`workflow created: ${page.url()}`);
  await page.fill('#run-form textarea[name=variables]', 'who: browser\n');
  await page.click('#run-form button[type=submit]');
  await page.waitForURL(/#\/instance\//, T);
  const instanceID = page.url().split('#/instance/')[1];
  step(`instance started: ${instanceID}`);

  // 3. Stage 0 (delay) waits; cut the WebSocket meanwhile; the page reconnects on its own.
  await stageRow(0, 'WAITING').waitFor(T);
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
  step(`event field prefilled with "${await eventInput.inputValue()}"`);
  await eventInput.fill('go');
  await shot('status-waiting-event.png');
  await page.click('#event-form button[type=submit]');

  // 5. SUCCEEDED, live; the transition log holds every transition exactly once.
  await stageRow(1, 'SUCCEEDED').waitFor(T);
  await instanceBadge('SUCCEEDED').waitFor(T);
  await page.locator(`#instance-table tr[data-id="${instanceID}"] .badge.succeeded`).waitFor(T);
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
  await shot('status-succeeded.png');

  // 6. The running filter hides the finished instance.
  await page.check('#filter-form input[name=running]');
  await page.locator(`#instance-table tr[data-id="${instanceID}"]`).waitFor({ state: 'detached', ...T });
  await page.uncheck('#filter-form input[name=running]');
  await page.locator(`#instance-table tr[data-id="${instanceID}"]`).waitFor(T);

  // 7. A second run, cancelled during its delay.
  await page.locator('#workflow-list a', { hasText: NAME }).click();
  await page.waitForURL(/#\/workflow\//, T);
  await page.click('#run-form button[type=submit]');
  await page.waitForURL((u) => u.hash.startsWith('#/instance/') && !u.hash.endsWith(instanceID), T);
  await stageRow(0, 'WAITING').waitFor(T);
  await page.click('#cancel-button');
  await stageRow(0, 'CANCELLED').waitFor(T);
  await instanceBadge('CANCELLED').waitFor(T);
  await shot('status-cancelled.png');

  // 8. Cursor pagination: 10 more runs (through the API) make 12, two pages of 10.
  const workflowID = await page.locator('#filter-form select').inputValue();
  await page.evaluate(async (id) => {
    const query = 'mutation($id: ID!) { runWorkflow(workflowID: $id) { id } }';
    for (let i = 0; i < 10; i++) {
      await fetch('/graphql', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ query, variables: { id } }) });
    }
  }, workflowID);
  await page.check('#filter-form input[name=running]');
  await page.uncheck('#filter-form input[name=running]');
  await page.locator('#instances-more').waitFor({ state: 'visible', ...T });
  assert((await page.locator('#instance-table tbody tr').count()) === 10, 'first page should hold 10');
  await page.click('#instances-more');
  await page.waitForFunction(() => document.querySelectorAll('#instance-table tbody tr').length === 12, null, T);
  assert(await page.locator('#instances-more').isHidden(), 'no third page expected');
  step('instances paginated: 10 + 2');

  // 9. The token is kept in sessionStorage and sent as a bearer header.
  const authHeader = page.waitForRequest((r) => r.url().endsWith('/graphql') && r.method() === 'POST', T);
  await page.fill('#token', 'e2e-token');
  await page.click('#token-form button[type=submit]');
  const header = (await authHeader).headers().authorization;
  assert(header === 'Bearer e2e-token', `Authorization header: ${header}`);
  assert((await page.evaluate(() => sessionStorage.getItem('flowql.token'))) === 'e2e-token', 'token not stored');
  step('token sent as Authorization: Bearer');
});
