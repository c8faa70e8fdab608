// The ledger in the console: the postings a run made (amounts by the asset's precision),
// accounts by address prefix with balances, an account's postings, wallets with balances.
// usage: node tests/e2e/browser/console_ledger.mjs <baseURL> [artifactDir]
import { join } from 'node:path';
import { assert, cliArgs, gql, step, withBrowser } from './launch.mjs';

const { baseURL, artifacts } = cliArgs();
const T = { timeout: 20000 };
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1440, height: 900 };

const account = (id) => ({ account: { id } });
const send = (source, destination, asset, amount) => ({ send: { source, destination, amount: { asset, amount } } });
const wallet = (await gql(baseURL, 'mutation { createWallet(name: "alice-wallet") { id } }')).createWallet.id;
const workflow = (await gql(baseURL, 'mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }', {
  input: { name: 'fund', stages: [
    send(account('world'), account('users:alice'), 'USD/2', 12345),
    send(account('world'), account('users:bob'), 'JPY', 1234567),
    send(account('users:alice'), account('users:bob'), 'USD/2', 45),
    send(account('world'), { wallet: { name: 'alice-wallet' } }, 'EUR/2', 5000),
  ] },
})).createWorkflow.id;
const run = (await gql(baseURL, 'mutation($id: ID!) { runWorkflow(workflowID: $id, wait: true) { id status error } }',
  { id: workflow })).runWorkflow;
assert(run.status === 'SUCCEEDED', `set-up run: ${JSON.stringify(run)}`);

await withBrowser(artifacts, 'console-ledger', async (page) => {
  const shots = async (name) => {
    await page.screenshot({ path: join(artifacts, `${name}.png`) });
    await page.setViewportSize(PHONE);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(overflow <= 0, `${name}: ${overflow}px wider than a phone screen`);
    await page.screenshot({ path: join(artifacts, `${name}-phone.png`) });
    await page.setViewportSize(DESKTOP);
    step(`screenshots ${name}.png, ${name}-phone.png`);
  };
  const texts = async (sel) => (await page.locator(sel).allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());

  // 1. The run's postings: source → destination, amount by precision, reference.
  await page.goto(`${baseURL}/#/instances/${run.id}`, { waitUntil: 'load' });
  await page.locator(`#instance-postings tr[data-reference="${run.id}:0"]`).waitFor(T);
  const postings = await texts('#instance-postings tbody tr');
  step(`postings:\n  ${postings.join('\n  ')}`);
  assert(postings.length === 4, `4 postings expected: ${postings.length}`);
  const first = postings.find((p) => p.includes(`${run.id}:0`));
  assert(/world → users:alice/.test(first) && first.includes('123.45 USD/2'), `posting 0: ${first}`);
  assert(postings.some((p) => p.includes('1,234,567 JPY')), 'JPY has precision 0, thousands grouped');
  assert(postings.some((p) => p.includes('0.45 USD/2')), 'amounts below one unit keep the leading zero');
  assert(postings.some((p) => p.includes('50.00 EUR/2') && p.includes(`wallets:${wallet.replaceAll('-', '')}:main`)), 'the wallet posting');
  await shots('console-instance-postings');

  // 2. Accounts by prefix, with balances; the prefix survives a reload.
  await page.goto(`${baseURL}/#/accounts`, { waitUntil: 'load' });
  await page.locator('#account-table tr[data-address="world"]').waitFor(T);
  await page.fill('#address-prefix', 'users:');
  await page.press('#address-prefix', 'Enter');
  await page.locator('#account-table tr[data-address="world"]').waitFor({ state: 'detached', ...T });
  await page.reload({ waitUntil: 'load' });
  await page.locator('#account-table tr[data-address="users:bob"]').waitFor(T);
  assert((await page.inputValue('#address-prefix')) === 'users:', 'prefix lost on reload');
  const accounts = await texts('#account-table tbody tr');
  step(`accounts users:*:\n  ${accounts.join('\n  ')}`);
  assert(accounts.length === 2, `users:alice and users:bob only: ${accounts}`);
  assert(accounts.find((a) => a.includes('users:alice')).includes('123.00 USD/2'), 'alice: 123.45 - 0.45');
  const bob = accounts.find((a) => a.includes('users:bob'));
  assert(bob.includes('1,234,567 JPY') && bob.includes('0.45 USD/2'), `bob: ${bob}`);

  // 3. Wallets with their balances.
  const walletRow = page.locator(`#wallet-table tr[data-id="${wallet}"]`);
  await walletRow.waitFor(T);
  assert((await walletRow.innerText()).includes('50.00 EUR/2'), `wallet: ${await walletRow.innerText()}`);
  await shots('console-accounts');

  // 4. One account's postings, in and out, each linked to its run.
  await page.click('#account-table a[href="#/accounts/users%3Aalice"]');
  await page.waitForURL(/#\/accounts\/users%3Aalice$/, T);
  await page.locator('#account-postings tr.posting.in').waitFor(T);
  await page.locator('#account-postings tr.posting.out').waitFor(T);
  assert((await page.locator('#account-postings tbody tr').count()) === 2, 'alice: one posting in, one out');
  await shots('console-account-postings');
  await page.click(`#account-postings tr.posting.out a[href="#/instances/${run.id}"]`);
  await page.waitForURL(new RegExp(`#/instances/${run.id}$`), T);
}, { baseURL, viewport: DESKTOP });
