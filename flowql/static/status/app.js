// flowql live status page: workflows, instances and one instance's stages, live.
// Plain ES modules, no build step; talks to the GraphQL API only (see api.js).
import { load as parseYaml } from '/static/vendor/js-yaml.mjs';
import { GraphQLError, dropSocket, gql, onConnection, subscribe, token } from './api.js';

const PAGE = 10;
const $ = (sel, root = document) => root.querySelector(sel);

// --- GraphQL documents -----------------------------------------------------------------

const STAGE_FIELDS = `index kind spec status startedAt terminatedAt error
  history { name attempt lastFailure nextExecution error terminated }`;
const INSTANCE_FIELDS = `id workflowID status terminated terminatedAt error variables createdAt updatedAt
  stages { ${STAGE_FIELDS} }`;

const Q_WORKFLOWS = `query Workflows($first: Int, $after: String) {
  workflows(first: $first, after: $after) {
    edges { node { id name stages createdAt } } pageInfo { hasNextPage endCursor } } }`;
const Q_INSTANCES = `query Instances($workflowID: String, $running: Boolean, $first: Int, $after: String) {
  instances(workflowID: $workflowID, running: $running, first: $first, after: $after) {
    edges { node { id workflowID status createdAt } } pageInfo { hasNextPage endCursor } } }`;
const Q_WORKFLOW = `query Workflow($id: ID!) { workflow(id: $id) { id name stages createdAt } }`;
const Q_INSTANCE = `query Instance($id: ID!) { instance(id: $id) { ${INSTANCE_FIELDS} } }`;
const M_CREATE = `mutation Create($input: CreateWorkflowInput!) {
  createWorkflow(input: $input) { id name stages createdAt } }`;
const M_RUN = `mutation Run($workflowID: ID!, $variables: JSON) {
  runWorkflow(workflowID: $workflowID, variables: $variables) { id } }`;
const M_EVENT = `mutation Send($instanceID: ID!, $name: String!) { sendEvent(instanceID: $instanceID, name: $name) }`;
const M_CANCEL = `mutation Cancel($id: ID!) { cancelInstance(id: $id) { id status } }`;
const S_TRANSITIONS = `subscription Transitions($instanceID: ID) {
  stageTransitions(instanceID: $instanceID) { instanceID workflowID stage kind status instanceStatus at error } }`;
const S_INSTANCE = `subscription Instance($id: ID!) { instanceUpdated(id: $id) { ${INSTANCE_FIELDS} } }`;

// --- small DOM helpers -----------------------------------------------------------------

/** Create an element; strings become text nodes (never HTML), so server data stays inert. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}
const badge = (status) => h('span', { class: `badge ${String(status).toLowerCase()}` }, status ?? '');
const time = (iso) => (iso ? h('time', { datetime: iso, title: iso }, new Date(iso).toLocaleTimeString()) : '');
const shortId = (id) => h('code', { title: id }, id.slice(0, 8));

function toast(message, kind = 'error') {
  const el = $('#toast');
  el.textContent = message;
  el.className = kind;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 6000);
}

/** Parse a JSON or YAML document (JSON first: it is the stricter of the two). */
function parseDocument(text) {
  try {
    return JSON.parse(text);
  } catch {
    return parseYaml(text);
  }
}

// --- workflows -------------------------------------------------------------------------

const workflows = { items: new Map(), cursor: null, selected: null, request: 0 };

async function loadWorkflows(more = false) {
  const request = ++workflows.request;
  const { workflows: page } = await gql(Q_WORKFLOWS, { first: PAGE, after: more ? workflows.cursor : null });
  if (request !== workflows.request) return;
  if (!more) workflows.items.clear();
  for (const { node } of page.edges) workflows.items.set(node.id, node);
  workflows.cursor = page.pageInfo.endCursor;
  $('#workflows-more').hidden = !page.pageInfo.hasNextPage;
  renderWorkflows();
}

function renderWorkflows() {
  $('#workflow-list').replaceChildren(...[...workflows.items.values()].map((wf) => h('li',
    { class: wf.id === workflows.selected ? 'selected' : null },
    h('a', { href: `#/workflow/${wf.id}` }, wf.name || '(unnamed)'), ' ', shortId(wf.id),
    h('span', { class: 'muted' }, ` ${wf.stages.length} stages`))));
  const select = $('#filter-form select');
  const value = select.value;
  select.replaceChildren(h('option', { value: '' }, 'all'), ...[...workflows.items.values()].map(
    (wf) => h('option', { value: wf.id }, `${wf.name || '(unnamed)'} · ${wf.id.slice(0, 8)}`)));
  select.value = value;
}

async function showWorkflow(id) {
  if (!workflows.items.has(id)) { // a link to a workflow beyond the loaded pages
    const { workflow } = await gql(Q_WORKFLOW, { id }).catch((err) => (showError(err), {}));
    if (workflow) workflows.items.set(id, workflow);
  }
  const wf = workflows.items.get(id);
  workflows.selected = id;
  renderWorkflows();
  closeInstance();
  $('#instance-view').hidden = true;
  $('#workflow-view').hidden = !wf;
  if (!wf) return;
  $('#workflow-view .wf-name').textContent = wf.name || '(unnamed)';
  $('#workflow-view .wf-id').textContent = `${wf.id} · created ${new Date(wf.createdAt).toLocaleString()}`;
  $('#workflow-view .wf-stages').textContent = JSON.stringify(wf.stages, null, 2);
  const select = $('#filter-form select');
  if (select.value !== id) { select.value = id; loadInstances().catch(showError); }
}

/** Show server validation errors next to the field their message names. */
function showFieldErrors(form, err) {
  form.querySelectorAll('.field-error').forEach((el) => el.replaceChildren());
  form.querySelectorAll('#stage-outline li').forEach((li) => li.classList.remove('invalid'));
  for (const e of err.errors ?? [{ message: err.message }]) {
    // Messages start with the path: "stages[2].send.amount.amount: must be an integer".
    const m = /^(?:input\.)?((?:name|stages|variables)(?:\[\d+\]|\.[\w$]+)*)\s*:\s*(.*)$/s.exec(e.message);
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

function outlineStages(stages) {
  $('#stage-outline').replaceChildren(...(Array.isArray(stages) ? stages : []).map((s, i) =>
    h('li', { 'data-index': i }, h('code', {}, s && typeof s === 'object' ? Object.keys(s).join(' + ') : typeof s))));
}

async function createWorkflow(ev) {
  ev.preventDefault();
  const form = ev.target;
  let doc;
  try {
    doc = parseDocument(form.definition.value);
  } catch (err) {
    outlineStages([]);
    return showFieldErrors(form, { errors: [{ message: `definition: ${err.message}` }] });
  }
  const input = Array.isArray(doc) ? { stages: doc } : { ...doc };
  if (form.name.value.trim()) input.name = form.name.value.trim();
  outlineStages(input.stages);
  try {
    const { createWorkflow: wf } = await gql(M_CREATE, { input });
    showFieldErrors(form, { errors: [] });
    workflows.items.set(wf.id, wf);
    renderWorkflows();
    toast(`workflow ${wf.name || wf.id} created`, 'ok');
    location.hash = `#/workflow/${wf.id}`;
  } catch (err) {
    showFieldErrors(form, err);
  }
}

async function runWorkflow(ev) {
  ev.preventDefault();
  const form = ev.target;
  let variables = {};
  try {
    variables = form.variables.value.trim() ? parseDocument(form.variables.value) : {};
    if (typeof variables !== 'object' || Array.isArray(variables)) throw new Error('expected a mapping');
  } catch (err) {
    return showFieldErrors(form, { errors: [{ message: `variables: ${err.message}` }] });
  }
  variables = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)]));
  try {
    const { runWorkflow: inst } = await gql(M_RUN, { workflowID: workflows.selected, variables });
    showFieldErrors(form, { errors: [] });
    await loadInstances();
    location.hash = `#/instance/${inst.id}`;
  } catch (err) {
    showFieldErrors(form, err);
  }
}

// --- instance list ---------------------------------------------------------------------

const instances = { rows: new Map(), cursor: null, request: 0 };

async function loadInstances(more = false) {
  const filter = $('#filter-form');
  const request = ++instances.request; // only the latest request may fill the table
  const { instances: page } = await gql(Q_INSTANCES, {
    workflowID: filter.workflowID.value || null, running: filter.running.checked ? true : null,
    first: PAGE, after: more ? instances.cursor : null,
  });
  if (request !== instances.request) return;
  if (!more) instances.rows.clear();
  for (const { node } of page.edges) instances.rows.set(node.id, node);
  instances.cursor = page.pageInfo.endCursor;
  $('#instances-more').hidden = !page.pageInfo.hasNextPage;
  renderInstances();
}

function renderInstances() {
  $('#instance-table tbody').replaceChildren(...[...instances.rows.values()].map((i) => h('tr',
    { 'data-id': i.id, class: i.id === view.id ? 'selected' : null },
    h('td', {}, h('a', { href: `#/instance/${i.id}` }, shortId(i.id))),
    h('td', {}, workflows.items.get(i.workflowID)?.name || i.workflowID.slice(0, 8)),
    h('td', {}, badge(i.status)), h('td', {}, time(i.createdAt)))));
}

// --- one instance, live ----------------------------------------------------------------

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const FINAL_CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'VALIDATION']);
/** The open instance: its latest known state, transitions seen (for dedupe) and subscriptions. */
let view = { id: null };

function closeInstance() {
  view.stop?.forEach((unsubscribe) => unsubscribe());
  view = { id: null };
}

async function showInstance(id) {
  if (view.id === id) return;
  closeInstance();
  workflows.selected = null;
  $('#workflow-view').hidden = true;
  $('#instance-view').hidden = false;
  $('#transition-log').replaceChildren();
  delete $('#transition-log').dataset.replayed;
  view = { id, instance: null, seen: new Set(), stop: [] };
  renderInstances();
  try {
    const { instance } = await gql(Q_INSTANCE, { id });
    if (view.id !== id) return;
    view.instance = instance;
    renderInstance();
  } catch (err) {
    showError(err);
  }
  watch(id);
}

/** Subscribe to both streams; after a reconnect graphql-ws resubscribes and the server replays. */
function watch(id) {
  const current = view;
  const onError = (err) => {
    if (view !== current) return;
    showError(err);
    // A stream closed by the server (e.g. its queue overflowed) is resumed from the replay;
    // a refusal (bad token, unknown instance) waits for the user instead.
    const refused = err.errors?.some((e) => FINAL_CODES.has(e.extensions?.code));
    if (!refused && !TERMINAL.has(current.instance?.status)) setTimeout(() => view === current && watch(id), 1000);
  };
  current.stop.push(subscribe(S_TRANSITIONS, { instanceID: id }, {
    next: ({ stageTransitions: t }) => view === current && applyTransition(t),
    error: onError,
    complete: () => view === current && logLine('stream complete', 'muted'),
  }));
  current.stop.push(subscribe(S_INSTANCE, { id }, {
    next: ({ instanceUpdated: i }) => { if (view === current) { view.instance = i; renderInstance(); } },
    error: onError,
    complete: () => {},
  }));
}

/** Apply one transition; the same transition replayed after a reconnect is skipped. */
function applyTransition(t) {
  const key = `${t.stage}|${t.status}|${Date.parse(t.at)}`; // ms: stores may keep less precision
  if (view.seen.has(key)) { // replayed after a resubscribe: counted, not shown again
    const log = $('#transition-log');
    log.dataset.replayed = Number(log.dataset.replayed ?? 0) + 1;
    return;
  }
  view.seen.add(key);
  logLine(`stage ${t.stage} ${t.kind.toLowerCase()} → ${t.status}${t.error ? `: ${t.error}` : ''}`,
    t.status.toLowerCase(), t.at);
  const inst = (view.instance ??= { id: t.instanceID, workflowID: t.workflowID, stages: [], variables: {} });
  const stages = (inst.stages = [...(inst.stages ?? [])]);
  const old = stages.find((s) => s.index === t.stage);
  const patched = {
    history: [], spec: null, startedAt: t.at, ...old, index: t.stage, kind: t.kind, status: t.status,
    error: t.error ?? old?.error ?? null, terminatedAt: TERMINAL.has(t.status) ? t.at : null,
  };
  if (old) stages[stages.indexOf(old)] = patched;
  else stages.push(patched);
  stages.sort((a, b) => a.index - b.index);
  inst.status = t.instanceStatus;
  inst.terminated = TERMINAL.has(t.instanceStatus);
  renderInstance();
}

function logLine(text, cls, at = null) {
  $('#transition-log').append(h('li', { class: cls }, at ? time(at) : '', ' ', text));
}

function attempts(stage) {
  const history = stage.history ?? [];
  if (!history.length) return '';
  const last = history[history.length - 1];
  const max = Math.max(...history.map((a) => a.attempt ?? 1));
  return h('span', { title: last.lastFailure ? `last failure: ${last.lastFailure}` : last.name },
    String(max), last.nextExecution && !last.terminated ? h('small', {}, ' retry ', time(last.nextExecution)) : null);
}

function renderInstance() {
  const inst = view.instance;
  if (!inst) return;
  $('#instance-view .inst-id').textContent = inst.id;
  const status = $('#instance-view .inst-status');
  status.textContent = inst.status;
  status.className = `badge inst-status ${String(inst.status).toLowerCase()}`;
  const wf = workflows.items.get(inst.workflowID);
  $('#instance-view .inst-meta').replaceChildren('workflow ',
    h('a', { href: `#/workflow/${inst.workflowID}` }, wf?.name || inst.workflowID),
    inst.createdAt ? ' · created ' : '', time(inst.createdAt),
    inst.terminatedAt ? ' · terminated ' : '', time(inst.terminatedAt),
    Object.keys(inst.variables ?? {}).length ? ` · variables ${JSON.stringify(inst.variables)}` : '');
  $('#instance-view .inst-error').textContent = inst.error ?? '';
  $('#stage-table tbody').replaceChildren(...(inst.stages ?? []).map((s) => h('tr',
    { 'data-stage': s.index, 'data-status': s.status },
    h('td', {}, String(s.index)), h('td', {}, String(s.kind).toLowerCase()), h('td', {}, badge(s.status)),
    h('td', {}, time(s.startedAt)), h('td', {}, time(s.terminatedAt)), h('td', {}, attempts(s)),
    h('td', { class: 'error' }, s.error ?? ''))));
  const waiting = (inst.stages ?? []).find((s) => s.status === 'WAITING' && s.spec?.wait_event);
  const eventInput = $('#event-form').name;
  if (waiting && !eventInput.value) eventInput.value = waiting.spec.wait_event.event;
  $('#event-form').querySelectorAll('button').forEach((b) => (b.disabled = Boolean(inst.terminated)));
  // Keep the list row in step with the live state.
  const row = instances.rows.get(inst.id);
  if (row && row.status !== inst.status) { row.status = inst.status; renderInstances(); }
}

async function sendEvent(ev) {
  ev.preventDefault();
  const name = ev.target.name.value.trim();
  try {
    await gql(M_EVENT, { instanceID: view.id, name });
    toast(`event "${name}" sent`, 'ok');
  } catch (err) {
    showError(err);
  }
}

async function cancelInstance() {
  try {
    await gql(M_CANCEL, { id: view.id });
  } catch (err) {
    showError(err);
  }
}

// --- wiring ----------------------------------------------------------------------------

function showError(err) {
  const first = err instanceof GraphQLError ? err.errors[0] : null;
  toast(first?.extensions?.code ? `${first.extensions.code}: ${first.message}` : err.message);
}

function route() {
  const [, kind, id] = /^#\/(workflow|instance)\/(.+)$/.exec(location.hash) ?? [];
  $('#detail-hint').hidden = Boolean(kind);
  if (kind === 'workflow') showWorkflow(id);
  else if (kind === 'instance') showInstance(id);
  else { closeInstance(); $('#instance-view').hidden = true; $('#workflow-view').hidden = true; }
}

async function reload() {
  await Promise.all([loadWorkflows(), loadInstances()]).catch(showError);
  const id = view.id;
  if (id) { closeInstance(); showInstance(id); } // resubscribe with the new credentials
  else route();
}

onConnection((state) => {
  const el = $('#connection');
  el.textContent = state;
  el.className = `conn ${state}`;
  if (state === 'live') el.dataset.connects = Number(el.dataset.connects ?? 0) + 1;
});

$('#token').value = token.get();
$('#token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  token.set($('#token').value.trim());
  reload();
});
$('#create-form').addEventListener('submit', createWorkflow);
$('#run-form').addEventListener('submit', runWorkflow);
$('#event-form').addEventListener('submit', sendEvent);
$('#cancel-button').addEventListener('click', cancelInstance);
$('#filter-form').addEventListener('change', () => loadInstances().catch(showError));
$('#workflows-more').addEventListener('click', () => loadWorkflows(true).catch(showError));
$('#instances-more').addEventListener('click', () => loadInstances(true).catch(showError));
window.addEventListener('hashchange', route);
window.flowqlStatus = { dropSocket }; // lets the browser test cut the WebSocket
reload();
