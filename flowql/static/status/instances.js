// #/instances: every run, newest first, filtered, searchable and live.
import { h } from './dom.js';
import { instanceList } from './instance_list.js';

export function mount(root) {
  const section = h('section', { id: 'instances-panel' }, h('h2', {}, 'Instances'));
  root.append(section);
  return instanceList(section);
}
