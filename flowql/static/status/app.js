// flowql operator console: hash routes over the public GraphQL API (see api.js).
// Plain ES modules, no build step; every view is `mount(root, route) -> cleanup`.
import { dropSocket, onConnection, token } from './api.js';
import { $, h, parseHash } from './dom.js';
import * as accounts from './accounts.js';
import * as instance from './instance.js';
import * as instances from './instances.js';
import * as triggers from './triggers.js';
import * as workflows from './workflows.js';

/** First path segment -> [view, nav entry]; `#/instances/<id>` goes to the instance view. */
const ROUTES = {
  instances: (path) => (path.length > 1 ? instance : instances),
  workflows: () => workflows,
  accounts: () => accounts,
  triggers: () => triggers,
};
/** The status page's old links (`#/instance/<id>`, `#/workflow/<id>`) still work. */
const LEGACY = { instance: 'instances', workflow: 'workflows' };

let cleanup = null;
let generation = 0;

async function route() {
  const { path, params } = parseHash();
  if (LEGACY[path[0]]) {
    location.replace(`#/${[LEGACY[path[0]], ...path.slice(1)].map(encodeURIComponent).join('/')}`);
    return;
  }
  const view = ROUTES[path[0]]?.(path);
  if (!view) {
    location.replace('#/instances');
    return;
  }
  const current = ++generation;
  cleanup?.();
  cleanup = null;
  document.querySelectorAll('#nav a').forEach((a) => {
    if (a.dataset.section === path[0]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  const root = h('div', { class: 'view', 'data-view': path[0] });
  $('#view').replaceChildren(root);
  const stop = await view.mount(root, { path, params });
  if (current === generation) cleanup = stop ?? null;
  else stop?.(); // the user moved on while the view loaded
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
  route(); // reload the view and resubscribe with the new credentials
});
// The skip link focuses the content; as a plain `#view` link it would be taken for a route.
$('.skip').addEventListener('click', (ev) => { ev.preventDefault(); $('#view').focus(); });
// "/" jumps to the view's search box, as in most consoles (not while typing elsewhere).
document.addEventListener('keydown', (ev) => {
  if (ev.key !== '/' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.target.closest?.('input, textarea, select, [contenteditable]')) return;
  const search = $('#view input[type="search"]');
  if (search) { ev.preventDefault(); search.focus(); }
});
window.addEventListener('hashchange', route);
window.flowqlStatus = { dropSocket }; // lets the browser test cut the WebSocket
route();
