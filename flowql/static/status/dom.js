// DOM and formatting helpers shared by every view. Server data only ever becomes text
// nodes or attribute values (never HTML), so nothing a workflow or event holds can run.
import { load as parseYaml } from '/static/vendor/js-yaml.mjs';
import { GraphQLError } from './api.js';

export const $ = (sel, root = document) => root.querySelector(sel);

/** Create an element: `on*` attributes become listeners; strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...present(children));
  return el;
}

const present = (children) => children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false);
/** `el.replaceChildren` that skips null/false and flattens arrays, as `h` does. */
export const fill = (el, ...children) => el.replaceChildren(...present(children));
/** `el.append`, the same way. */
export const add = (el, ...children) => el.append(...present(children));

export const badge = (status) => h('span', { class: `badge ${String(status ?? '').toLowerCase()}` }, status ?? '');

/** Local date and time, the ISO instant on hover (and in `datetime`). */
export function time(iso, { seconds = true } = {}) {
  if (!iso) return '';
  const d = new Date(iso);
  const text = d.toLocaleString(undefined, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    ...(seconds ? { second: '2-digit' } : {}),
  });
  return h('time', { datetime: iso, title: iso }, text);
}

/** A duration in ms as "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min". */
export function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** The full id in monospace with a button that copies it. */
export function fullId(id, href = null) {
  const code = h('code', { class: 'id' }, id);
  return h('span', { class: 'id-cell' }, href ? h('a', { href }, code) : code, copyButton(id));
}

export function copyButton(text, label = 'copy') {
  const button = h('button', {
    type: 'button', class: 'copy', title: `copy ${text}`, 'aria-label': `copy ${text}`,
    onclick: async () => {
      const ok = await copyText(text);
      button.textContent = ok ? 'copied' : 'copy failed';
      setTimeout(() => (button.textContent = label), 1500);
    },
  }, label);
  return button;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (plain http on a non-local host): the old selection trick.
    const area = h('textarea', { class: 'offscreen', readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

/**
 * Minor units as a decimal by the asset's precision: `USD/2` 12345 → "123.45".
 * Formance writes the precision after a slash; an asset without one has precision 0.
 */
export function formatAmount(amount, asset) {
  const precision = Number(/\/(\d+)$/.exec(asset ?? '')?.[1] ?? 0);
  let digits = String(amount ?? '');
  if (!/^-?\d+$/.test(digits)) return digits; // a `${var}` template, shown as is
  const negative = digits.startsWith('-');
  if (negative) digits = digits.slice(1);
  const whole = digits.length > precision ? digits.slice(0, digits.length - precision) : '0';
  const frac = precision ? digits.padStart(precision, '0').slice(-precision) : '';
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}${grouped}${frac ? `.${frac}` : ''}`;
}

/** An amount with its asset: "123.45 USD/2", the raw minor units on hover. */
export function money(amount, asset) {
  return h('span', { class: 'money', title: `${amount} ${asset} (minor units)` },
    h('span', { class: 'amount' }, formatAmount(amount, asset)), ' ', h('span', { class: 'asset' }, asset));
}

export function json(value) {
  return h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
}

/** A GraphQL failure as text with its code: "NOT_FOUND: instance x not found". */
export function errorText(err) {
  const errors = err instanceof GraphQLError ? err.errors : [{ message: err?.message ?? String(err) }];
  return errors.map((e) => (e.extensions?.code ? `${e.extensions.code}: ${e.message}` : e.message)).join('; ');
}

/** An inline error block: message and a code chip per error. */
export function errorBox(err) {
  const errors = err instanceof GraphQLError ? err.errors : [{ message: err?.message ?? String(err) }];
  return h('div', { class: 'error-box', role: 'alert' }, errors.map((e) => h('div', {
    class: 'error', 'data-code': e.extensions?.code ?? '',
  }, e.message, e.extensions?.code ? h('span', { class: 'code' }, e.extensions.code) : null)));
}

export function toast(message, kind = 'error') {
  const el = $('#toast');
  el.textContent = message;
  el.className = kind;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 6000);
}

export const showError = (err) => toast(errorText(err));

/** Ask before doing something that cannot be undone; resolves true on confirm. */
export function confirmDialog(message, confirmLabel) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-text' },
      h('form', { method: 'dialog' },
        h('p', { id: 'confirm-text' }, message),
        h('div', { class: 'actions' },
          h('button', { value: 'cancel', autofocus: true }, 'Keep it'),
          h('button', { value: 'confirm', class: 'danger' }, confirmLabel))));
    dialog.addEventListener('close', () => { dialog.remove(); resolve(dialog.returnValue === 'confirm'); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Parse the page's `#/a/b?x=1` into {path: ['a', 'b'], params: URLSearchParams}. */
export function parseHash(hash = location.hash) {
  const [path, query = ''] = hash.replace(/^#\/?/, '').split('?');
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

/** Replace the hash's query (filters) without a history entry or a re-route. */
export function setHashParams(params) {
  const { path } = parseHash();
  const query = new URLSearchParams([...params].filter(([, v]) => v !== '' && v !== null));
  const hash = `#/${path.map(encodeURIComponent).join('/')}${query.size ? `?${query}` : ''}`;
  if (hash !== location.hash) history.replaceState(null, '', hash);
}

/** A "More" button for cursor pagination; hidden when there is no next page. */
export function moreButton(label, onclick) {
  return h('button', { type: 'button', class: 'more', hidden: true, onclick }, label);
}

/** Parse a JSON or YAML document (JSON first: it is the stricter of the two). */
export function parseDocument(text) {
  try {
    return JSON.parse(text);
  } catch {
    return parseYaml(text);
  }
}
