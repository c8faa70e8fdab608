// #/workflows (list, create) and #/workflows/<id> (definition, run it, its instances).
import { gql } from './api.js';
import { errorBox, fullId, h, moreButton, parseDocument, showError, time, toast } from './dom.js';
import { instanceList } from './instance_list.js';

const PAGE = 20;
const WORKFLOW = 'id name stages createdAt';
const Q_WORKFLOWS = `query Workflows($first: Int, $after: String) {
  workflows(first: $first, after: $after) { edges { node { ${WORKFLOW} } } pageInfo { hasNextPage endCursor } } }`;
const Q_WORKFLOW = `query Workflow($id: ID!) { workflow(id: $id) { ${WORKFLOW} deletedAt } }`;
const M_CREATE = `mutation Create($input: CreateWorkflowInput!) { createWorkflow(input: $input) { ${WORKFLOW} } }`;
const M_RUN = `mutation Run($workflowID: ID!, $variables: JSON) { runWorkflow(workflowID: $workflowID, variables: $variables) { id } }`;

export function mount(root, { path }) {
  return path[1] ? workflowPage(root, path[1]) : workflowsPage(root);
}

function workflowsPage(root) {
  const list = h('tbody');
  let cursor = null;
  const more = moreButton('More workflows', () => load(true).catch(showError));
  const problem = h('div');
  const cell = (label, ...c) => h('td', { 'data-label': label }, ...c);
  async function load(append = false) {
    const { workflows } = await gql(Q_WORKFLOWS, { first: PAGE, after: append ? cursor : null });
    if (!append) list.replaceChildren();
    list.append(...workflows.edges.map(({ node: wf }) => h('tr', { 'data-id': wf.id },
      cell('name', h('a', { href: `#/workflows/${encodeURIComponent(wf.id)}` }, wf.name || '(unnamed)')),
      cell('id', fullId(wf.id)), cell('stages', stageSummary(wf.stages)), cell('created', time(wf.createdAt)))));
    if (!list.children.length) list.append(h('tr', { class: 'empty' }, h('td', { colspan: 4 }, 'no workflows yet')));
    cursor = workflows.pageInfo.endCursor;
    more.hidden = !workflows.pageInfo.hasNextPage;
  }
  root.append(h('section', { id: 'workflows-panel' }, h('h2', {}, 'Workflows'), problem,
    h('div', { class: 'table-wrap' }, h('table', { id: 'workflow-list', class: 'cards' },
      h('thead', {}, h('tr', {}, ['name', 'id', 'stages', 'created'].map((c) => h('th', { scope: 'col' }, c)))), list)),
    more, createPanel()));
  load().catch((err) => problem.replaceChildren(errorBox(err)));
}

const stageSummary = (stages) => h('code', {}, (Array.isArray(stages) ? stages : [])
  .map((s) => (s && typeof s === 'object' ? Object.keys(s).join('+') : '?')).join(' → '));

function createPanel() {
  const outline = h('ol', { id: 'stage-outline', start: 0 });
  const form = h('form', { id: 'create-form', novalidate: true, onsubmit: (ev) => createWorkflow(ev, form, outline) },
    h('label', {}, 'Name ', h('input', { name: 'name', placeholder: 'optional' })),
    h('div', { class: 'field-error', 'data-field': 'name' }),
    h('label', {}, 'Definition, JSON or YAML: ', h('code', {}, '{stages: [...]}'), ' or a list of stages',
      h('textarea', { name: 'definition', rows: 10, spellcheck: 'false',
        placeholder: 'stages:\n  - delay: {duration: 2s}\n  - wait_event: {event: go}' })),
    h('div', { class: 'field-error', 'data-field': 'definition' }),
    outline, h('button', { type: 'submit' }, 'Create workflow'));
  return h('details', { id: 'create-panel' }, h('summary', {}, 'New workflow'), form);
}

/** Show server validation errors next to the field (or stage) their message names. */
function showFieldErrors(form, err) {
  form.querySelectorAll('.field-error').forEach((el) => el.replaceChildren());
  form.querySelectorAll('#stage-outline li').forEach((li) => li.classList.remove('invalid'));
  for (const e of err.errors ?? [{ message: err.message }]) {
    // The path leads the message: "stages[2].send.amount.amount: must be an integer" (the
    // engine), "Variable '$input' has invalid value at .stages[1].send: ..." (GraphQL input types).
    const m = /^(?:Variable '\$\w+' has invalid value at \.|input\.)?((?:name|stages|variables)(?:\[\d+\]|\.[\w$]+)*)\s*:\s*(.*)$/s.exec(e.message);
    const path = m ? m[1] : null;
    const stage = path && /^stages\[(\d+)\]/.exec(path);
    const row = stage && form.querySelector(`#stage-outline li[data-index="${stage[1]}"]`);
    const target = row || form.querySelector(`.field-error[data-field="${path?.split(/[.[]/)[0]}"]`)
      || form.querySelector('.field-error[data-field="definition"], .field-error');
    if (row) row.classList.add('invalid');
    target.append(h('div', { class: 'error', 'data-code': e.extensions?.code ?? '' },
      path ? h('b', {}, path) : null, path ? `: ${m[2]}` : e.message,
      e.extensions?.code ? h('span', { class: 'code' }, e.extensions.code) : null));
  }
}

async function createWorkflow(ev, form, outline) {
  ev.preventDefault();
  let doc;
  try {
    doc = parseDocument(form.definition.value);
  } catch (err) {
    outline.replaceChildren();
    return showFieldErrors(form, { errors: [{ message: `definition: ${err.message}` }] });
  }
  const input = Array.isArray(doc) ? { stages: doc } : { ...doc };
  if (form.name.value.trim()) input.name = form.name.value.trim();
  outline.replaceChildren(...(Array.isArray(input.stages) ? input.stages : []).map((s, i) =>
    h('li', { 'data-index': i }, h('code', {}, s && typeof s === 'object' ? Object.keys(s).join(' + ') : typeof s))));
  try {
    const { createWorkflow: wf } = await gql(M_CREATE, { input });
    toast(`workflow ${wf.name || wf.id} created`, 'ok');
    location.hash = `#/workflows/${encodeURIComponent(wf.id)}`;
  } catch (err) {
    showFieldErrors(form, err);
  }
}

async function workflowPage(root, id) {
  let wf;
  try {
    ({ workflow: wf } = await gql(Q_WORKFLOW, { id }));
  } catch (err) {
    root.append(h('section', {}, h('h2', {}, 'Workflow'), errorBox(err)));
    return () => {};
  }
  if (!wf) {
    root.append(h('section', {}, h('h2', {}, 'Workflow ', h('code', {}, id)), errorBox({ message: `no workflow ${id}` })));
    return () => {};
  }
  const form = h('form', { id: 'run-form', onsubmit: (ev) => runWorkflow(ev, form, wf) },
    h('label', {}, 'Variables, JSON or YAML mapping',
      h('textarea', { name: 'variables', rows: 3, spellcheck: 'false', placeholder: '{"user": "alice"}' })),
    h('div', { class: 'field-error', 'data-field': 'variables' }),
    h('button', { type: 'submit', disabled: Boolean(wf.deletedAt) }, 'Run workflow'));
  const instances = h('section', { id: 'instances-panel' }, h('h2', {}, 'Instances of this workflow'));
  root.append(h('div', { class: 'split' },
    h('section', { id: 'workflow-view' },
      h('h2', {}, 'Workflow ', h('span', { class: 'wf-name' }, wf.name || '(unnamed)')),
      h('p', { class: 'muted wf-id' }, fullId(wf.id), ' · created ', time(wf.createdAt),
        wf.deletedAt ? [' · deleted ', time(wf.deletedAt)] : null),
      h('pre', { class: 'wf-stages' }, JSON.stringify(wf.stages, null, 2)), form),
    instances));
  return instanceList(instances, { workflowID: wf.id });
}

async function runWorkflow(ev, form, wf) {
  ev.preventDefault();
  let variables = {};
  try {
    variables = form.variables.value.trim() ? parseDocument(form.variables.value) : {};
    if (typeof variables !== 'object' || variables === null || Array.isArray(variables)) throw new Error('expected a mapping');
  } catch (err) {
    return showFieldErrors(form, { errors: [{ message: `variables: ${err.message}` }] });
  }
  variables = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)]));
  try {
    const { runWorkflow: inst } = await gql(M_RUN, { workflowID: wf.id, variables });
    location.hash = `#/instances/${encodeURIComponent(inst.id)}`;
  } catch (err) {
    showFieldErrors(form, err);
  }
}
