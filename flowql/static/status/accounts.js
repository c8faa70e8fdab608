// #/accounts (accounts by address prefix with balances; wallets with balances) and
// #/accounts/<address> (one account: balances, metadata, its postings).
import { gql } from './api.js';
import { add, errorBox, h, json, money, moreButton, parseHash, setHashParams, showError } from './dom.js';
import { postingsTable } from './postings.js';

const PAGE = 20;
const Q_ACCOUNTS = `query Accounts($ledger: String!, $addressPrefix: String, $first: Int, $after: String) {
  accounts(ledger: $ledger, addressPrefix: $addressPrefix, first: $first, after: $after) {
    edges { node { ledger address balances { asset amount } } } pageInfo { hasNextPage endCursor } } }`;
const Q_ACCOUNT = `query Account($ledger: String!, $address: String!) {
  account(ledger: $ledger, address: $address) { ledger address balances { asset amount } metadata } }`;
const Q_WALLETS = `query Wallets($ledger: String!, $name: String, $first: Int, $after: String) {
  wallets(ledger: $ledger, name: $name, first: $first, after: $after) {
    edges { node { id name ledger createdAt balances { name address assets { asset amount } } } } pageInfo { hasNextPage endCursor } } }`;

const cell = (label, ...c) => h('td', { 'data-label': label }, ...c);
const balances = (list) => (list?.length
  ? h('ul', { class: 'balances' }, list.map((b) => h('li', { 'data-asset': b.asset }, money(b.amount, b.asset))))
  : h('span', { class: 'muted' }, 'empty'));

export function mount(root, { path, params }) {
  return path[1] ? accountPage(root, path[1], params.get('ledger') || 'default') : accountsPage(root, params);
}

function accountsPage(root) {
  const { params } = parseHash();
  const ledger = h('input', { id: 'ledger', name: 'ledger', placeholder: 'default', size: 10 });
  const prefix = h('input', { type: 'search', id: 'address-prefix', name: 'prefix', placeholder: 'address prefix, e.g. users:' });
  ledger.value = params.get('ledger') ?? '';
  prefix.value = params.get('prefix') ?? '';
  const accounts = h('tbody');
  const wallets = h('tbody');
  const problem = h('div');
  const walletProblem = h('div');
  let accountCursor = null;
  let walletCursor = null;
  const moreAccounts = moreButton('More accounts', () => loadAccounts(true).catch(showError));
  const moreWallets = moreButton('More wallets', () => loadWallets(true).catch(showError));
  const ledgerName = () => ledger.value.trim() || 'default';

  async function loadAccounts(append = false) {
    const { accounts: page } = await gql(Q_ACCOUNTS, {
      ledger: ledgerName(), addressPrefix: prefix.value.trim() || null, first: PAGE, after: append ? accountCursor : null,
    });
    if (!append) accounts.replaceChildren();
    accounts.append(...page.edges.map(({ node: a }) => h('tr', { 'data-address': a.address },
      cell('address', h('a', { href: accountHref(a.address, a.ledger) }, h('code', {}, a.address))),
      cell('ledger', a.ledger), cell('balances', balances(a.balances)))));
    if (!accounts.children.length) accounts.append(h('tr', { class: 'empty' }, h('td', { colspan: 3 }, 'no accounts')));
    accountCursor = page.pageInfo.endCursor;
    moreAccounts.hidden = !page.pageInfo.hasNextPage;
  }

  async function loadWallets(append = false) {
    const { wallets: page } = await gql(Q_WALLETS, { ledger: ledgerName(), first: PAGE, after: append ? walletCursor : null });
    if (!append) wallets.replaceChildren();
    wallets.append(...page.edges.map(({ node: w }) => h('tr', { 'data-id': w.id },
      cell('wallet', h('strong', {}, w.name), h('br'), h('code', { class: 'muted small' }, w.id)),
      cell('ledger', w.ledger),
      cell('balances', w.balances?.length ? h('ul', { class: 'balances' }, w.balances.map((b) => h('li', { 'data-balance': b.name },
        h('a', { href: accountHref(b.address, w.ledger), title: b.address }, h('code', {}, b.name)), ' ',
        b.assets.length ? b.assets.map((a, i) => [i ? ', ' : '', money(a.amount, a.asset)]) : h('span', { class: 'muted' }, 'empty'))))
        : h('span', { class: 'muted' }, 'empty')))));
    if (!wallets.children.length) wallets.append(h('tr', { class: 'empty' }, h('td', { colspan: 3 }, 'no wallets')));
    walletCursor = page.pageInfo.endCursor;
    moreWallets.hidden = !page.pageInfo.hasNextPage;
  }

  function reload() {
    setHashParams(new URLSearchParams({ ledger: ledger.value.trim(), prefix: prefix.value.trim() }));
    problem.replaceChildren();
    walletProblem.replaceChildren();
    loadAccounts().catch((err) => problem.replaceChildren(errorBox(err)));
    loadWallets().catch((err) => walletProblem.replaceChildren(errorBox(err)));
  }
  let debounce = null;
  prefix.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(reload, 300); });

  root.append(h('div', { class: 'split' },
    h('section', { id: 'accounts-panel' }, h('h2', {}, 'Accounts'),
      h('form', { class: 'filters', role: 'search', onsubmit: (ev) => { ev.preventDefault(); reload(); } },
        h('label', { for: 'ledger' }, 'ledger'), ledger,
        h('label', { for: 'address-prefix' }, 'prefix'), prefix, h('button', { type: 'submit' }, 'Filter')),
      problem,
      h('div', { class: 'table-wrap' }, h('table', { id: 'account-table', class: 'cards' },
        h('thead', {}, h('tr', {}, ['address', 'ledger', 'balances'].map((c) => h('th', { scope: 'col' }, c)))), accounts)),
      moreAccounts),
    h('section', { id: 'wallets-panel' }, h('h2', {}, 'Wallets'), walletProblem,
      h('div', { class: 'table-wrap' }, h('table', { id: 'wallet-table', class: 'cards' },
        h('thead', {}, h('tr', {}, ['wallet', 'ledger', 'balances'].map((c) => h('th', { scope: 'col' }, c)))), wallets)),
      moreWallets)));
  reload();
  return () => clearTimeout(debounce);
}

const accountHref = (address, ledger) => `#/accounts/${encodeURIComponent(address)}${ledger && ledger !== 'default' ? `?ledger=${encodeURIComponent(ledger)}` : ''}`;

async function accountPage(root, address, ledger) {
  const postings = h('div', { id: 'account-postings' });
  const section = h('section', { id: 'account-view' }, h('h2', {}, 'Account ', h('code', {}, address),
    h('small', { class: 'muted' }, ` ledger ${ledger}`)));
  root.append(section);
  try {
    const { account } = await gql(Q_ACCOUNT, { ledger, address });
    add(section, h('h3', {}, 'Balances'), balances(account.balances),
      Object.keys(account.metadata ?? {}).length ? [h('h3', {}, 'Metadata'), json(account.metadata)] : null);
  } catch (err) {
    section.append(errorBox(err));
  }
  section.append(h('h3', {}, 'Postings'), postings);
  await postingsTable(postings, { ledger, account: address, empty: 'no postings to or from this account' });
}
