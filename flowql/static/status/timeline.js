// The stage timeline of an instance: one bar per stage from its start to its end (or now),
// on a common time axis; a stage whose activity was retried is marked with its attempts,
// and a scheduled retry with a tick at its time.
import { duration, h, time } from './dom.js';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Attempts of the stage's activities: the highest attempt, and the pending retry if any. */
export function retries(stage) {
  const history = stage.history ?? [];
  const attempts = Math.max(1, ...history.map((a) => a.attempt ?? 1));
  const pending = history.find((a) => !a.terminated && a.nextExecution);
  const lastFailure = [...history].reverse().find((a) => a.lastFailure)?.lastFailure ?? null;
  return { attempts, nextExecution: pending?.nextExecution ?? null, lastFailure };
}

export function timeline(stages, now = Date.now()) {
  if (!stages?.length) return h('p', { class: 'muted' }, 'no stage started yet');
  const spans = stages.map((s) => {
    const start = Date.parse(s.startedAt);
    const open = !s.terminatedAt || !TERMINAL.has(s.status);
    return { s, start, end: open ? Math.max(now, start) : Date.parse(s.terminatedAt), open, ...retries(s) };
  });
  const t0 = Math.min(...spans.map((x) => x.start));
  const t1 = Math.max(t0 + 1, ...spans.map((x) => x.end), ...spans.map((x) => Date.parse(x.nextExecution ?? '') || 0));
  const pct = (t) => `${(((t - t0) / (t1 - t0)) * 100).toFixed(3)}%`;
  return h('div', { class: 'timeline', role: 'list', 'aria-label': 'stage timeline' },
    h('div', { class: 'axis', 'aria-hidden': 'true' }, time(new Date(t0).toISOString()),
      h('span', {}, duration(t1 - t0)), time(new Date(t1).toISOString())),
    spans.map(({ s, start, end, open, attempts, nextExecution, lastFailure }) => {
      const label = `stage ${s.index} ${String(s.kind).toLowerCase()}: ${s.status}, ${duration(end - start)}`
        + `${open ? ' so far' : ''}${attempts > 1 ? `, ${attempts} attempts` : ''}`;
      return h('div', { class: 'lane', role: 'listitem', 'data-stage': s.index, 'data-attempts': attempts },
        h('span', { class: 'lane-label' }, `#${s.index} ${String(s.kind).toLowerCase()}`),
        h('div', { class: 'track' },
          h('div', {
            class: `bar ${String(s.status).toLowerCase()}${open ? ' open' : ''}${attempts > 1 ? ' retried' : ''}`,
            style: `left:${pct(start)};width:max(3px, calc(${pct(end)} - ${pct(start)}))`,
            title: `${label}${lastFailure ? `\nlast failure: ${lastFailure}` : ''}`, 'aria-label': label,
          }),
          nextExecution ? h('div', {
            class: 'retry-mark', style: `left:${pct(Date.parse(nextExecution))}`,
            title: `next attempt at ${nextExecution}`,
          }) : null),
        h('span', { class: 'lane-info' }, duration(end - start),
          attempts > 1 ? h('span', { class: 'retry-badge', title: lastFailure ?? '' }, ` ↻ ${attempts} attempts`) : null));
    }));
}
