// The instance table shared by #/instances and #/workflows/<id>: status filter, search,
// cursor pagination and live rows through `instanceChanges`.
import { gql, subscribe } from './api.js';
import { badge, errorBox, fullId, h, moreButton, parseHash, setHashParams, showError, time } from './dom.js';

const PAGE = 20;
export const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];
/** Search scans at most this many instances (newest first) and workflows: see docs/decisions.md. */
const SCAN_PAGE = 200;
const SCAN_PAGES = 5;
/** Live rows are prepended; past this many the oldest go (the list stays bounded). */
const MAX_ROWS = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ROW = 'id workflowID status createdAt terminatedAt workflow { id name }';
const Q_INSTANCES = `query Instances($workflowID: ID, $status: [InstanceStatus!], $first: Int, $after: String) {
  instances(workflowID: $workflowID, status: $status, first: $first, after: $after) {
    edges { node { ${ROW} } cursor } pageInfo { hasNextPage endCursor } } }`;
const Q_INSTANCE = `query Instance($id: ID!) { instance(id: $id) { ${ROW} } }`;
const Q_WORKFLOW_NAMES = `query WorkflowNames($first: Int, $after: String) {
  workflows(first: $first, after: $after) { edges { node { id name } } pageInfo { hasNextPage endCursor } } }`;
const S_CHANGES = `subscription InstanceChanges($workflowID: ID) { instanceChanges(workflowID: $workflowID) { ${ROW} } }`;

/**
 * Mount the table into `root`. `workflowID` pins it to one workflow (no workflow column).
 * Filters live in the hash query (`?status=FAILED&q=0190`), so a deep link keeps them.
 */
export function instanceList(root, { workflowID = null } = {}) {
  const { params } = parseHash();
  const state = { rows: new Map(), cursor: null, request: 0, stopped: false };
  const status = h('select', { name: 'status', id: 'status-filter' },
    h('option', { value: '' }, 'all'), STATUSES.map((s) => h('option', { value: s }, s)));
  status.value = STATUSES.includes(params.get('status')) ? params.get('status') : '';
  const search = h('input', {
    type: 'search', name: 'q', id: 'instance-search', placeholder: 'search…', autocomplete: 'off',
    'aria-label': 'search instances by id or prefix, workflows by name',
  });
  search.value = params.get('q') ?? '';
  const tbody = h('tbody');
  const more = moreButton('More instances', () => load(true).catch(showError));
  const note = h('p', { class: 'muted search-note', 'aria-live': 'polite' });
  const found = h('ul', { class: 'list found-workflows' });
  const problem = h('div');
  const columns = ['instance', ...(workflowID ? [] : ['workflow']), 'status', 'created', 'ended'];

  root.append(
    h('form', { class: 'filters', role: 'search', onsubmit: (ev) => { ev.preventDefault(); refresh(); } },
      h('label', { for: 'status-filter' }, 'status'), status,
      h('label', { for: 'instance-search', class: 'visually-hidden' }, 'search'), search,
      h('button', { type: 'submit' }, 'Search')),
    problem, found, note,
    h('div', { class: 'table-wrap' }, h('table', { id: 'instance-table', class: 'cards' },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))), tbody)),
    more);

  const cell = (label, ...content) => h('td', { 'data-label': label }, ...content);
  function row(i) {
    return h('tr', { 'data-id': i.id, 'data-status': i.status },
      cell('instance', fullId(i.id, `#/instances/${encodeURIComponent(i.id)}`)),
      workflowID ? null : cell('workflow', h('a', { href: `#/workflows/${encodeURIComponent(i.workflowID)}` },
        i.workflow?.name || '(unnamed)'), h('br'), h('code', { class: 'muted small' }, i.workflowID)),
      cell('status', badge(i.status)), cell('created', time(i.createdAt)), cell('ended', time(i.terminatedAt)));
  }
  function render() {
    tbody.replaceChildren(...[...state.rows.values()].map(row));
    if (!state.rows.size) tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: columns.length }, 'no instances')));
  }

  const variables = () => ({ workflowID, status: status.value ? [status.value] : null });

  async function load(moreRows = false) {
    const request = ++state.request; // only the latest request may fill the table
    const { instances: page } = await gql(Q_INSTANCES, { ...variables(), first: PAGE, after: moreRows ? state.cursor : null });
    if (request !== state.request) return;
    if (!moreRows) state.rows.clear();
    for (const { node, cursor } of page.edges) state.rows.set(node.id, { ...node, cursor });
    state.cursor = page.pageInfo.endCursor;
    more.hidden = !page.pageInfo.hasNextPage;
    render();
  }

  /** Instances whose id starts with `q`, or whose workflow's name contains it; bounded scan. */
  async function runSearch(q) {
    const request = ++state.request;
    more.hidden = true;
    note.textContent = 'searching…';
    const needle = q.toLowerCase();
    const hits = new Map();
    if (UUID.test(q)) {
      const { instance } = await gql(Q_INSTANCE, { id: q });
      if (instance && (!workflowID || instance.workflowID === workflowID)) hits.set(instance.id, instance);
    }
    const workflows = workflowID ? [] : await scan(Q_WORKFLOW_NAMES, {}, 'workflows',
      (w) => (w.name ?? '').toLowerCase().includes(needle));
    const named = new Set(workflows.items.map((w) => w.id));
    const scanned = await scan(Q_INSTANCES, variables(), 'instances',
      (i) => i.id.toLowerCase().startsWith(needle) || named.has(i.workflowID));
    if (request !== state.request) return;
    for (const i of scanned.items) hits.set(i.id, i);
    found.replaceChildren(...workflows.items.map((w) => h('li', {}, 'workflow ',
      h('a', { href: `#/workflows/${encodeURIComponent(w.id)}` }, w.name), ' ', h('code', { class: 'muted small' }, w.id))));
    state.rows = hits;
    render();
    note.textContent = `${hits.size} instance${hits.size === 1 ? '' : 's'}${workflows.items.length ? `, ${workflows.items.length} workflow${workflows.items.length === 1 ? '' : 's'}` : ''} matching “${q}”`
      + (scanned.complete ? '' : ` among the newest ${scanned.seen} instances`);
  }

  async function scan(query, vars, field, keep) {
    const items = [];
    let after = null;
    let seen = 0;
    for (let i = 0; i < SCAN_PAGES; i++) {
      const page = (await gql(query, { ...vars, first: SCAN_PAGE, after }))[field];
      seen += page.edges.length;
      items.push(...page.edges.map((e) => e.node).filter(keep));
      if (!page.pageInfo.hasNextPage) return { items, seen, complete: true };
      after = page.pageInfo.endCursor;
    }
    return { items, seen, complete: false };
  }

  async function refresh() {
    setHashParams(new URLSearchParams({ status: status.value, q: search.value.trim() }));
    problem.replaceChildren();
    try {
      const q = search.value.trim();
      if (q) await runSearch(q);
      else { note.textContent = ''; found.replaceChildren(); await load(); }
    } catch (err) {
      problem.replaceChildren(errorBox(err));
    }
  }

  /** A created or changed instance: update its row, or add it on top if it fits the view. */
  function apply(i) {
    const old = state.rows.get(i.id);
    const fits = (!status.value || i.status === status.value) && (!workflowID || i.workflowID === workflowID)
      && !search.value.trim();
    if (old) state.rows.set(i.id, { ...old, ...i });
    else if (fits) state.rows = new Map([[i.id, i], ...state.rows]);
    else return;
    if (state.rows.size > MAX_ROWS) trim();
    render();
    tbody.querySelector(`tr[data-id="${CSS.escape(i.id)}"]`)?.classList.add('changed');
  }

  /** Drop the oldest rows; "More" goes on after the last one kept (fetched rows know their cursor). */
  function trim() {
    const kept = [...state.rows.entries()].slice(0, MAX_ROWS);
    state.rows = new Map(kept);
    const last = kept[kept.length - 1][1];
    state.cursor = last.cursor ?? null;
    more.hidden = !last.cursor;
    if (!last.cursor) note.textContent = `showing the newest ${MAX_ROWS} runs; reload for older ones`;
  }

  let stop = null;
  let retry = null;
  function watch() {
    stop = subscribe(S_CHANGES, { workflowID }, {
      next: ({ instanceChanges }) => apply(instanceChanges),
      error: (err) => {
        showError(err);
        // Closed by the server (e.g. it fell behind): subscribe again and reload what was missed.
        if (!err.errors?.some((e) => ['UNAUTHENTICATED', 'FORBIDDEN', 'VALIDATION'].includes(e.extensions?.code))) {
          retry = setTimeout(() => { if (!state.stopped) { watch(); refresh(); } }, 1000);
        }
      },
      complete: () => {},
    });
  }

  let debounce = null;
  status.addEventListener('change', refresh);
  search.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(refresh, 300); });
  refresh();
  watch();
  return () => { state.stopped = true; clearTimeout(retry); clearTimeout(debounce); stop?.(); };
}
