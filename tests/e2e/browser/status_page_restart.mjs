// The status page rides out a server crash: the server is killed (SIGKILL) while an
// instance waits in its delay and started again on the same port and store; the page
// reconnects by itself, resubscribes, the replay adds nothing twice, the run finishes.
// usage: node tests/e2e/browser/status_page_restart.mjs <baseURL> [artifactDir]  (driven by pytest)
import { join } from 'node:path';
import { askServer, cliArgs, step, withBrowser } from './launch.mjs';

const { baseURL, artifacts } = cliArgs();
const T = { timeout: 30000 };

await withBrowser(artifacts, 'status-restart', async (page) => {
  const stageRow = (i, status) => page.locator(`#stage-table tr[data-stage="${i}"][data-status="${status}"]`);
  await page.goto(`${baseURL}/#/workflows`, { waitUntil: 'load' });
  await page.evaluate(() => (window.__noReload = 'still here'));

  await page.locator('#create-panel summary').click();
  await page.fill('#create-form textarea[name=definition]',
    '{"name": "restart-e2e", "stages": [{"delay": {"duration": "3s"}}, {"wait_event": {"event": "go"}}]}');
  await page.click('#create-form button[type=submit]');
  await page.waitForURL(/#\/workflows\//, T);
  await page.click('#run-form button[type=submit]');
  await page.waitForURL(/#\/instances\//, T);
  await stageRow(0, 'WAITING').waitFor(T);
  await page.locator('#connection.live').waitFor(T);

  // Both transitions of stage 0 have reached the page: the replay must repeat them.
  await page.locator('#transition-log li', { hasText: 'stage 0 delay → WAITING' }).waitFor(T);
  await askServer('restart-server');
  step('server killed and started again');
  await page.locator('#connection.live').waitFor(T);
  await stageRow(0, 'SUCCEEDED').waitFor(T);
  await stageRow(1, 'WAITING').waitFor(T);
  await page.fill('#event-form input[name=name]', 'go');
  await page.click('#event-form button[type=submit]');
  await page.locator('#instance-view .inst-status.succeeded').waitFor(T);

  const log = await page.locator('#transition-log li').allInnerTexts();
  step(`transition log:\n  ${log.join('\n  ')}`);
  const transitions = log.map((l) => /stage \d+ \S+ → \S+/.exec(l)?.[0]).filter(Boolean);
  if (new Set(transitions).size !== transitions.length) throw new Error(`a transition shows twice: ${transitions}`);
  if (!transitions.includes('stage 1 wait_event → SUCCEEDED')) throw new Error(`missing final transition: ${transitions}`);
  const replayed = Number(await page.locator('#transition-log').getAttribute('data-replayed'));
  step(`transitions replayed by the restarted server and skipped: ${replayed}`);
  if (!(replayed >= 2)) throw new Error('the resubscription should have replayed stage 0 RUNNING and WAITING');
  if ((await page.evaluate(() => window.__noReload)) !== 'still here') throw new Error('the page was reloaded');
  await page.screenshot({ path: join(artifacts, 'status-after-restart.png'), fullPage: true });
  step(`screenshot ${join(artifacts, 'status-after-restart.png')}`);
}, { baseURL });
