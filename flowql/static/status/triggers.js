// #/triggers (list, create) and #/triggers/<id> (occurrences, test on a payload).
import { gql } from './api.js';
import {
  errorBox, fill, fullId, h, json, moreButton, parseDocument, parseHash, setHashParams, showError, time, toast,
} from './dom.js';

const PAGE = 20;
const TRIGGER = 'id name event version workflowID filter vars createdAt workflow { id name }';
const Q_TRIGGERS = `query Triggers($name: String, $first: Int, $after: String) {
  triggers(name: $name, first: $first, after: $after) { edges { node { ${TRIGGER} } } pageInfo { hasNextPage endCursor } } }`;
const Q_TRIGGER = `query Trigger($id: ID!, $first: Int, $after: String) { trigger(id: $id) { ${TRIGGER}
  occurrences(first: $first, after: $after) {
    edges { node { id date event workflowInstanceID error instance { id status } } } pageInfo { hasNextPage endCursor } } } }`;
const M_CREATE = `mutation CreateTrigger($input: CreateTriggerInput!) { createTrigger(input: $input) { id } }`;
const M_TEST = `mutation TestTrigger($id: ID!, $event: JSON!) { testTrigger(id: $id, event: $event) {
  match error variables { name value error } } }`;

const cell = (label, ...c) => h('td', { 'data-label': label }, ...c);

export function mount(root, { path }) {
  return path[1] ? triggerPage(root, path[1]) : triggersPage(root);
}

function triggersPage(root) {
  const { params } = parseHash();
  const tbody = h('tbody');
  const problem = h('div');
  let cursor = null;
  const more = moreButton('More triggers', () => load(true).catch(showError));
  const name = h('input', { type: 'search', id: 'trigger-name', name: 'name', placeholder: 'name contains…' });
  name.value = params.get('name') ?? '';
  async function load(append = false) {
    setHashParams(new URLSearchParams({ name: name.value.trim() }));
    const { triggers } = await gql(Q_TRIGGERS, { name: name.value.trim() || null, first: PAGE, after: append ? cursor : null });
    if (!append) tbody.replaceChildren();
    tbody.append(...triggers.edges.map(({ node: t }) => h('tr', { 'data-id': t.id },
      cell('name', h('a', { href: `#/triggers/${encodeURIComponent(t.id)}` }, t.name || '(unnamed)'), h('br'), fullId(t.id)),
      cell('event', h('code', {}, t.event), t.version ? h('small', {}, ` ${t.version}`) : null),
      cell('workflow', h('a', { href: `#/workflows/${encodeURIComponent(t.workflowID)}` }, t.workflow?.name || t.workflowID)),
      cell('filter', h('code', {}, t.filter ?? '')), cell('created', time(t.createdAt)))));
    if (!tbody.children.length) tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: 5 }, 'no triggers')));
    cursor = triggers.pageInfo.endCursor;
    more.hidden = !triggers.pageInfo.hasNextPage;
  }
  const reload = () => { problem.replaceChildren(); load().catch((err) => problem.replaceChildren(errorBox(err))); };
  root.append(h('section', { id: 'triggers-panel' }, h('h2', {}, 'Triggers'),
    h('form', { class: 'filters', role: 'search', onsubmit: (ev) => { ev.preventDefault(); reload(); } },
      h('label', { for: 'trigger-name' }, 'name'), name, h('button', { type: 'submit' }, 'Filter')),
    problem,
    h('div', { class: 'table-wrap' }, h('table', { id: 'trigger-table', class: 'cards' },
      h('thead', {}, h('tr', {}, ['trigger', 'event', 'workflow', 'filter', 'created'].map((c) => h('th', { scope: 'col' }, c)))), tbody)),
    more, createPanel()));
  reload();
}

function createPanel() {
  const problem = h('div');
  const form = h('form', { id: 'create-trigger-form', onsubmit: async (ev) => {
    ev.preventDefault();
    problem.replaceChildren();
    const input = { event: form.event.value.trim(), workflowID: form.workflowID.value.trim() };
    if (form.name.value.trim()) input.name = form.name.value.trim();
    if (form.filter.value.trim()) input.filter = form.filter.value.trim();
    try {
      if (form.vars.value.trim()) input.vars = parseDocument(form.vars.value);
      const { createTrigger } = await gql(M_CREATE, { input });
      toast('trigger created', 'ok');
      location.hash = `#/triggers/${encodeURIComponent(createTrigger.id)}`;
    } catch (err) {
      problem.replaceChildren(errorBox(err));
    }
  } },
  h('label', {}, 'Name ', h('input', { name: 'name', placeholder: 'optional' })),
  h('label', {}, 'Event type ', h('input', { name: 'event', required: true, placeholder: 'payment.created' })),
  h('label', {}, 'Workflow id ', h('input', { name: 'workflowID', required: true, class: 'wide' })),
  h('label', {}, 'Filter (expression over event) ', h('input', { name: 'filter', class: 'wide', placeholder: 'optional' })),
  h('label', {}, 'Vars, JSON or YAML mapping of name → expression',
    h('textarea', { name: 'vars', rows: 3, spellcheck: 'false', placeholder: '{"amount": "event.amount"}' })),
  problem, h('button', { type: 'submit' }, 'Create trigger'));
  return h('details', { id: 'create-trigger-panel' }, h('summary', {}, 'New trigger'), form);
}

async function triggerPage(root, id) {
  let trigger;
  try {
    ({ trigger } = await gql(Q_TRIGGER, { id, first: PAGE }));
  } catch (err) {
    root.append(h('section', {}, h('h2', {}, 'Trigger'), errorBox(err)));
    return;
  }
  if (!trigger) {
    root.append(h('section', {}, h('h2', {}, 'Trigger ', h('code', {}, id)), errorBox({ message: `no trigger ${id}` })));
    return;
  }
  const occurrences = h('tbody');
  let cursor = null;
  const more = moreButton('More occurrences', () => loadMore().catch(showError));
  function addOccurrences(page) {
    occurrences.append(...page.edges.map(({ node: o }) => h('tr', { 'data-id': o.id, class: o.error ? 'failed' : null },
      cell('date', time(o.date)),
      cell('instance', o.workflowInstanceID ? h('a', { href: `#/instances/${encodeURIComponent(o.workflowInstanceID)}` },
        h('code', {}, o.workflowInstanceID)) : '', o.instance ? [' ', h('span', { class: `badge ${o.instance.status.toLowerCase()}` }, o.instance.status)] : null),
      cell('error', o.error ? h('pre', { class: 'error' }, o.error) : ''),
      cell('event', h('details', {}, h('summary', {}, 'payload'), json(o.event))))));
    if (!occurrences.children.length) occurrences.append(h('tr', { class: 'empty' }, h('td', { colspan: 4 }, 'no occurrences yet')));
    cursor = page.pageInfo.endCursor;
    more.hidden = !page.pageInfo.hasNextPage;
  }
  async function loadMore() {
    const { trigger: t } = await gql(Q_TRIGGER, { id, first: PAGE, after: cursor });
    addOccurrences(t.occurrences);
  }

  const result = h('div', { id: 'trigger-test-result', 'aria-live': 'polite' });
  const payload = h('textarea', { name: 'event', id: 'trigger-payload', rows: 6, spellcheck: 'false', placeholder: '{"amount": 100}' });
  const test = h('form', { id: 'trigger-test-form', onsubmit: async (ev) => {
    ev.preventDefault();
    let event;
    try {
      event = parseDocument(payload.value);
    } catch (err) {
      return result.replaceChildren(errorBox({ message: `payload: ${err.message}` }));
    }
    try {
      const { testTrigger: r } = await gql(M_TEST, { id, event });
      fill(result,
        h('p', { class: `match ${r.match ? 'yes' : 'no'}`, 'data-match': String(r.match) },
          r.match ? 'matches: an event like this would start the workflow' : 'does not match'),
        r.error ? h('pre', { class: 'error' }, r.error) : null,
        r.variables.length ? h('table', { class: 'kv' }, h('tbody', {}, r.variables.map((v) => h('tr', {},
          h('th', { scope: 'row' }, h('code', {}, v.name)),
          h('td', {}, v.error ? h('span', { class: 'error' }, v.error) : h('code', {}, v.value ?? '')))))) : null);
    } catch (err) {
      result.replaceChildren(errorBox(err));
    }
  } }, h('label', { for: 'trigger-payload' }, 'Event payload, JSON or YAML'), payload,
  h('button', { type: 'submit' }, 'Test trigger'));

  root.append(h('section', { id: 'trigger-view' },
    h('h2', {}, 'Trigger ', trigger.name ? h('span', {}, trigger.name) : null, ' ', fullId(trigger.id)),
    h('table', { class: 'kv' }, h('tbody', {},
      h('tr', {}, h('th', { scope: 'row' }, 'event'), h('td', {}, h('code', {}, trigger.event), trigger.version ? ` (${trigger.version})` : '')),
      h('tr', {}, h('th', { scope: 'row' }, 'workflow'), h('td', {}, h('a', { href: `#/workflows/${encodeURIComponent(trigger.workflowID)}` },
        trigger.workflow?.name || trigger.workflowID))),
      h('tr', {}, h('th', { scope: 'row' }, 'filter'), h('td', {}, h('code', {}, trigger.filter ?? '(none)'))),
      h('tr', {}, h('th', { scope: 'row' }, 'vars'), h('td', {}, json(trigger.vars))),
      h('tr', {}, h('th', { scope: 'row' }, 'created'), h('td', {}, time(trigger.createdAt))))),
    h('h3', {}, 'Test on a payload'), test, result,
    h('h3', {}, 'Occurrences'),
    h('div', { class: 'table-wrap' }, h('table', { id: 'occurrence-table', class: 'cards' },
      h('thead', {}, h('tr', {}, ['date', 'instance', 'error', 'event'].map((c) => h('th', { scope: 'col' }, c)))), occurrences)),
    more));
  addOccurrences(trigger.occurrences);
}
