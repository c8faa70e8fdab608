// The instance list follows the server live (`instanceChanges`): runs started elsewhere
// appear, statuses change, the status filter applies to what arrives, a workflow's page
// shows only its own runs — all without a reload.
// usage: node tests/e2e/browser/console_live.mjs <baseURL> [artifactDir]
import { join } from 'node:path';
import { assert, cliArgs, gql, step, withBrowser } from './launch.mjs';

const { baseURL, artifacts } = cliArgs();
const T = { timeout: 20000 };
const CREATE = 'mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }';
const RUN = 'mutation($id: ID!) { runWorkflow(workflowID: $id) { id } }';
const EVENT = 'mutation($id: ID!) { sendEvent(instanceID: $id, name: "go") { id } }';
const wf = async (name, stages) => (await gql(baseURL, CREATE, { input: { name, stages } })).createWorkflow.id;
const run = async (id) => (await gql(baseURL, RUN, { id })).runWorkflow.id;

const waiting = await wf('live-wait', [{ wait_event: { event: 'go' } }]);
const failing = await wf('live-fail', [{ send: {
  source: { account: { id: 'users:empty' } }, destination: { account: { id: 'users:x' } }, amount: { asset: 'EUR/2', amount: 1 },
} }]);

await withBrowser(artifacts, 'console-live', async (page) => {
  const row = (id) => page.locator(`#instance-table tr[data-id="${id}"]`);
  const status = (id, s) => page.locator(`#instance-table tr[data-id="${id}"][data-status="${s}"]`);
  await page.goto(`${baseURL}/#/instances`, { waitUntil: 'load' });
  await page.locator('#instance-table tr.empty').waitFor(T);
  await page.locator('#connection.live').waitFor(T); // subscribed
  await page.evaluate(() => (window.__noReload = 'still here'));

  // 1. A run started through the API shows up, then its status changes.
  const first = await run(waiting);
  await status(first, 'RUNNING').waitFor(T);
  step(`new run appeared: ${first}`);
  await gql(baseURL, EVENT, { id: first });
  await status(first, 'SUCCEEDED').waitFor(T);
  step('its status changed to SUCCEEDED');

  // 2. With the status filter on FAILED, a failed run arrives and a running one does not.
  await page.getByLabel('status', { exact: true }).selectOption('FAILED');
  await page.locator('#instance-table tr.empty').waitFor(T);
  const stays = await run(waiting);
  const fails = await run(failing);
  await status(fails, 'FAILED').waitFor(T);
  assert((await row(stays).count()) === 0, 'a RUNNING run must not join the FAILED list');
  await page.screenshot({ path: join(artifacts, 'console-live.png') });

  // 3. A workflow's page follows its own runs only.
  await page.goto(`${baseURL}/#/workflows/${waiting}`, { waitUntil: 'load' });
  await row(stays).waitFor(T);
  await page.locator('#connection.live').waitFor(T);
  await page.evaluate(() => (window.__noReload = 'still here'));
  const other = await run(failing);
  const mine = await run(waiting);
  await status(mine, 'RUNNING').waitFor(T);
  assert((await row(other).count()) === 0, "another workflow's run must not show on this workflow's page");
  await gql(baseURL, EVENT, { id: stays });
  await status(stays, 'SUCCEEDED').waitFor(T);
  assert((await page.evaluate(() => window.__noReload)) === 'still here', 'the page was reloaded');
  step('workflow page: own runs live, others not shown');
}, { baseURL });
