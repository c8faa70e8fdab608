// #/accounts (open an account by address) and #/accounts/<address> (balances, metadata).
import { gql } from './api.js';
import { add, errorBox, h, json, money } from './dom.js';

const Q_ACCOUNT = `query Account($ledger: String!, $address: String!) {
  account(ledger: $ledger, address: $address) { ledger address balances { asset amount } metadata } }`;

const balances = (list) => (list?.length
  ? h('ul', { class: 'balances' }, list.map((b) => h('li', { 'data-asset': b.asset }, money(b.amount, b.asset))))
  : h('span', { class: 'muted' }, 'empty'));
const accountHref = (address, ledger) => `#/accounts/${encodeURIComponent(address)}${ledger && ledger !== 'default' ? `?ledger=${encodeURIComponent(ledger)}` : ''}`;

export function mount(root, { path, params }) {
  return path[1] ? accountPage(root, path[1], params.get('ledger') || 'default') : accountsPage(root);
}

function accountsPage(root) {
  const ledger = h('input', { id: 'ledger', name: 'ledger', placeholder: 'default', size: 10 });
  const address = h('input', { id: 'address', name: 'address', required: true, placeholder: 'users:alice' });
  root.append(h('section', { id: 'accounts-panel' }, h('h2', {}, 'Accounts'),
    h('form', { class: 'filters', onsubmit: (ev) => {
      ev.preventDefault();
      location.hash = accountHref(address.value.trim(), ledger.value.trim());
    } }, h('label', { for: 'ledger' }, 'ledger'), ledger, h('label', { for: 'address' }, 'address'), address,
    h('button', { type: 'submit' }, 'Open'))));
}

async function accountPage(root, address, ledger) {
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
}
