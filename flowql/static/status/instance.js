// #/instances/<id>: one run, live — variables, error, stage timeline, stages and their
// activities, the postings it made; Send event and Cancel (confirmed).
import { gql, subscribe } from './api.js';
import {
  badge, confirmDialog, errorBox, fill, fullId, h, json, showError, time, toast,
} from './dom.js';
import { postingsTable } from './postings.js';
import { retries, timeline } from './timeline.js';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const FINAL_CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'VALIDATION']);

const ACTIVITY = 'name input output error terminated startedAt terminatedAt attempt lastFailure nextExecution';
const INSTANCE = `id workflowID status terminated terminatedAt error variables createdAt updatedAt
  workflow { id name }
  stages { index kind spec status startedAt terminatedAt error history { ${ACTIVITY} } }`;
const Q_INSTANCE = `query Instance($id: ID!) { instance(id: $id) { ${INSTANCE} } }`;
const M_EVENT = `mutation Send($instanceID: ID!, $name: String!) {
  sendEvent(instanceID: $instanceID, name: $name) { id status } }`;
const M_CANCEL = `mutation Cancel($id: ID!) { cancelInstance(id: $id) { ${INSTANCE} } }`;
const S_TRANSITIONS = `subscription Transitions($instanceID: ID) {
  stageTransitions(instanceID: $instanceID) { instanceID workflowID stage kind status instanceStatus at error } }`;
const S_INSTANCE = `subscription Instance($id: ID!) { instanceUpdated(id: $id) { ${INSTANCE} } }`;

export async function mount(root, { path }) {
  const id = path[1];
  const view = { id, instance: null, seen: new Set(), stop: [], stopped: false, timers: [] };
  const status = h('span', { class: 'badge inst-status' });
  const meta = h('p', { class: 'muted inst-meta' });
  const error = h('div', { class: 'inst-error' });
  const variables = h('div', { class: 'inst-variables' });
  const lanes = h('div', { id: 'timeline' });
  const stageRows = h('tbody');
  const activities = h('div', { id: 'activities' });
  const postings = h('div', { id: 'instance-postings' });
  const log = h('ol', { id: 'transition-log', class: 'log' });
  const eventName = h('input', { name: 'name', id: 'event-name', required: true, placeholder: 'event name' });
  const cancel = h('button', { type: 'button', id: 'cancel-button', class: 'danger', onclick: cancelInstance }, 'Cancel instance');
  const actions = h('form', { id: 'event-form', class: 'actions', onsubmit: sendEvent },
    h('label', { for: 'event-name' }, 'Event'), eventName, h('button', { type: 'submit' }, 'Send event'), cancel);

  root.append(h('section', { id: 'instance-view' },
    h('h2', {}, 'Instance ', h('span', { class: 'inst-id' }, fullId(id)), ' ', status),
    meta, error, actions,
    h('h3', {}, 'Variables'), variables,
    h('h3', {}, 'Timeline'), lanes,
    h('h3', {}, 'Postings'), postings,
    h('h3', {}, 'Stages'),
    h('div', { class: 'table-wrap' }, h('table', { id: 'stage-table', class: 'cards' },
      h('thead', {}, h('tr', {}, ['#', 'kind', 'status', 'started', 'ended', 'attempts', 'error']
        .map((c) => h('th', { scope: 'col' }, c)))), stageRows)),
    h('h3', {}, 'Activities'), activities,
    h('h3', {}, 'Transitions ', h('small', { class: 'muted' }, '(live)')), log));

  function render() {
    const inst = view.instance;
    if (!inst) return;
    status.textContent = inst.status;
    status.className = `badge inst-status ${String(inst.status).toLowerCase()}`;
    meta.replaceChildren('workflow ',
      h('a', { href: `#/workflows/${encodeURIComponent(inst.workflowID)}` }, inst.workflow?.name || inst.workflowID),
      inst.createdAt ? ' · created ' : '', time(inst.createdAt),
      inst.terminatedAt ? ' · ended ' : '', time(inst.terminatedAt));
    error.replaceChildren(inst.error ? h('pre', { class: 'error full-error' }, inst.error) : '');
    const vars = Object.entries(inst.variables ?? {});
    variables.replaceChildren(vars.length
      ? h('table', { class: 'kv' }, h('tbody', {}, vars.map(([k, v]) =>
        h('tr', {}, h('th', { scope: 'row' }, h('code', {}, k)), h('td', {}, h('code', {}, typeof v === 'string' ? v : JSON.stringify(v)))))))
      : h('p', { class: 'muted' }, 'none'));
    renderTimeline();
    const stages = inst.stages ?? [];
    stageRows.replaceChildren(...stages.map((s) => h('tr', { 'data-stage': s.index, 'data-status': s.status },
      h('td', { 'data-label': '#' }, String(s.index)), h('td', { 'data-label': 'kind' }, String(s.kind).toLowerCase()),
      h('td', { 'data-label': 'status' }, badge(s.status)), h('td', { 'data-label': 'started' }, time(s.startedAt)),
      h('td', { 'data-label': 'ended' }, time(s.terminatedAt)),
      h('td', { 'data-label': 'attempts' }, attemptsCell(s)), h('td', { 'data-label': 'error', class: 'error' }, s.error ?? ''))));
    renderActivities(stages);
    const waiting = stages.find((s) => s.status === 'WAITING' && s.spec?.wait_event);
    if (waiting && !eventName.value) eventName.value = waiting.spec.wait_event.event;
    actions.querySelectorAll('button').forEach((b) => (b.disabled = Boolean(inst.terminated)));
  }

  function renderTimeline() {
    lanes.replaceChildren(timeline(view.instance?.stages ?? []));
  }

  function attemptsCell(s) {
    const { attempts, nextExecution, lastFailure } = retries(s);
    if (!s.history?.length) return '';
    return h('span', { title: lastFailure ? `last failure: ${lastFailure}` : '' }, String(attempts),
      nextExecution ? h('small', {}, ' retry at ', time(nextExecution)) : null);
  }

  const open = new Set(); // activity panels the user opened survive live re-renders
  function renderActivities(stages) {
    const items = stages.flatMap((s) => (s.history ?? []).map((a, n) => ({ s, a, key: `${s.index}:${n}` })));
    if (!items.length) return activities.replaceChildren(h('p', { class: 'muted' }, 'none yet'));
    activities.replaceChildren(...items.map(({ s, a, key }) => {
      const details = h('details', { class: 'activity', 'data-stage': s.index, open: open.has(key) },
        h('summary', {}, `#${s.index} ${a.name}`, ' ', badge(a.error ? 'FAILED' : a.terminated ? 'SUCCEEDED' : 'RUNNING'),
          a.attempt > 1 ? h('span', { class: 'retry-badge' }, ` ↻ attempt ${a.attempt}`) : null,
          ' ', h('small', {}, time(a.startedAt))),
        h('div', { class: 'io' },
          h('div', {}, h('h4', {}, 'input'), json(a.input)),
          h('div', {}, h('h4', {}, 'output'), a.output == null ? h('p', { class: 'muted' }, 'none') : json(a.output))),
        a.error ? h('pre', { class: 'error' }, a.error) : null,
        a.lastFailure ? h('p', { class: 'muted' }, 'last failure: ', h('code', {}, a.lastFailure)) : null,
        a.nextExecution && !a.terminated ? h('p', { class: 'muted' }, 'next attempt ', time(a.nextExecution)) : null);
      details.addEventListener('toggle', () => (details.open ? open.add(key) : open.delete(key)));
      return details;
    }));
  }

  let postingsShown = '';
  function refreshPostings() {
    // `postings` reads one ledger: ask each ledger the run's send activities name (inputs
    // of CreateTransaction, wallet look-ups' outputs; a wallet's ledger is not in the spec). Postings change only
    // when a send succeeds, so reload then, not on every update.
    const sends = (view.instance?.stages ?? []).filter((s) => s.kind === 'SEND');
    const named = sends.flatMap((s) => s.history ?? []).flatMap((a) => [a.input?.ledger, a.output?.posting?.ledger,
      ...[a.output?.data ?? a.output?.cursor?.data].flat().map((d) => d?.ledger)]).filter((l) => typeof l === 'string');
    const sent = sends.some((s) => s.status === 'SUCCEEDED');
    const ledgers = [...new Set(named.length || !sent ? named : ['default'])].sort();
    const key = `${ledgers.join(',')}|${sends.filter((s) => s.status === 'SUCCEEDED').length}`;
    if (key === postingsShown) return;
    postingsShown = key;
    if (!ledgers.length) return fill(postings, h('p', { class: 'muted' }, 'no postings made by this run'));
    fill(postings, ledgers.map((ledger) => {
      const box = h('div', { class: 'ledger-postings', 'data-ledger': ledger });
      postingsTable(box, { instanceID: id, ledger, empty: 'no postings made by this run' });
      return ledgers.length > 1 ? [h('h4', {}, `ledger ${ledger}`), box] : box;
    }));
  }

  async function sendEvent(ev) {
    ev.preventDefault();
    const name = eventName.value.trim();
    try {
      await gql(M_EVENT, { instanceID: id, name });
      toast(`event "${name}" sent`, 'ok');
    } catch (err) {
      showError(err);
    }
  }

  async function cancelInstance() {
    if (!(await confirmDialog(`Cancel instance ${id}? Its current stage stops and it cannot be resumed.`, 'Cancel instance'))) return;
    try {
      const { cancelInstance: inst } = await gql(M_CANCEL, { id });
      if (!view.stopped && inst) { view.instance = inst; render(); }
    } catch (err) {
      showError(err);
    }
  }

  function logLine(text, cls, at = null) {
    log.append(h('li', { class: cls }, at ? time(at) : '', ' ', text));
  }

  /** Apply one transition; the same transition replayed after a reconnect is skipped. */
  function applyTransition(t) {
    const key = `${t.stage}|${t.status}|${Date.parse(t.at)}`; // ms: stores may keep less precision
    if (view.seen.has(key)) {
      log.dataset.replayed = Number(log.dataset.replayed ?? 0) + 1;
      return;
    }
    view.seen.add(key);
    logLine(`stage ${t.stage} ${t.kind.toLowerCase()} → ${t.status}${t.error ? `: ${t.error}` : ''}`, t.status.toLowerCase(), t.at);
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
    render();
  }

  /** Subscribe to both streams; after a reconnect graphql-ws resubscribes and the server replays. */
  function watch() {
    const onError = (err) => {
      if (view.stopped) return;
      showError(err);
      // A stream closed by the server is resumed from the replay; a refusal waits for the user.
      const refused = err.errors?.some((e) => FINAL_CODES.has(e.extensions?.code));
      if (!refused && !TERMINAL.has(view.instance?.status)) view.timers.push(setTimeout(() => !view.stopped && watch(), 1000));
    };
    view.stop.push(subscribe(S_TRANSITIONS, { instanceID: id }, {
      next: ({ stageTransitions: t }) => !view.stopped && applyTransition(t),
      error: onError,
      complete: () => !view.stopped && logLine('stream complete', 'muted'),
    }));
    view.stop.push(subscribe(S_INSTANCE, { id }, {
      next: ({ instanceUpdated: i }) => {
        if (view.stopped) return;
        view.instance = i;
        render();
        refreshPostings();
      },
      error: onError,
      complete: () => {},
    }));
  }

  // Unknown id (null or NOT_FOUND), refused token, server down: the view is the error alone.
  const alone = (err) => {
    root.replaceChildren(h('section', { id: 'instance-view' }, h('h2', {}, 'Instance ', h('code', {}, id)), errorBox(err)));
    return () => {};
  };
  try {
    const { instance } = await gql(Q_INSTANCE, { id });
    if (!instance) return alone({ message: `no instance ${id}` });
    view.instance = instance;
    render();
    refreshPostings();
  } catch (err) {
    return alone(err);
  }
  watch();
  // Running bars grow with the clock.
  const tick = setInterval(() => !view.instance?.terminated && renderTimeline(), 1000);
  return () => {
    view.stopped = true;
    clearInterval(tick);
    view.timers.forEach(clearTimeout);
    view.stop.forEach((unsubscribe) => unsubscribe());
  };
}
