// A paged table of ledger postings (`Query.postings`), for an instance or an account.
import { gql } from './api.js';
import { errorBox, h, money, moreButton, showError, time } from './dom.js';

const PAGE = 20;
const Q_POSTINGS = `query Postings($ledger: String!, $account: String, $instanceID: ID, $first: Int, $after: String) {
  postings(ledger: $ledger, account: $account, instanceID: $instanceID, first: $first, after: $after) {
    edges { node { reference ledger source destination asset amount instanceID stage timestamp metadata } }
    pageInfo { hasNextPage endCursor } } }`;

const accountLink = (address, ledger) => h('a', {
  href: `#/accounts/${encodeURIComponent(address)}${ledger && ledger !== 'default' ? `?ledger=${encodeURIComponent(ledger)}` : ''}`,
}, h('code', {}, address));

/** Fill `root` with the postings matching the filter; `account` highlights its side. */
export async function postingsTable(root, { ledger = 'default', account = null, instanceID = null, empty = 'no postings' }) {
  const tbody = h('tbody');
  const problem = h('div');
  let cursor = null;
  const more = moreButton('More postings', () => load(true).catch(showError));
  const cell = (label, ...content) => h('td', { 'data-label': label }, ...content);
  root.replaceChildren(problem, h('div', { class: 'table-wrap' }, h('table', { class: 'postings cards' },
    h('thead', {}, h('tr', {}, ['source → destination', 'amount', 'reference', instanceID ? 'stage' : 'run', 'at']
      .map((c) => h('th', { scope: 'col' }, c)))), tbody)), more);

  async function load(append = false) {
    const { postings } = await gql(Q_POSTINGS, { ledger, account, instanceID, first: PAGE, after: append ? cursor : null });
    if (!append) tbody.replaceChildren();
    for (const { node: p } of postings.edges) {
      const direction = account ? (p.destination === account ? 'in' : 'out') : null;
      tbody.append(h('tr', { class: direction ? `posting ${direction}` : 'posting', 'data-reference': p.reference ?? '' },
        cell('source → destination', accountLink(p.source, p.ledger), ' → ', accountLink(p.destination, p.ledger)),
        cell('amount', direction === 'out' ? '−' : '', money(p.amount, p.asset)),
        cell('reference', h('code', {}, p.reference ?? '')),
        instanceID ? cell('stage', p.stage != null ? `#${p.stage}` : '')
          : cell('run', p.instanceID ? h('a', { href: `#/instances/${encodeURIComponent(p.instanceID)}` },
            h('code', {}, p.instanceID), p.stage != null ? ` #${p.stage}` : '') : ''),
        cell('at', time(p.timestamp))));
    }
    if (!tbody.children.length) tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: 5 }, empty)));
    cursor = postings.pageInfo.endCursor;
    more.hidden = !postings.pageInfo.hasNextPage;
  }
  try {
    await load();
  } catch (err) {
    problem.replaceChildren(errorBox(err));
  }
}
