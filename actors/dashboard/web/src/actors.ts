import type { DashboardModel } from '../../src/model.js';
import { control } from './api.js';
import { age, h } from './dom.js';

/** One status field as a line: scalars as they are, lists and objects as compact JSON (cut at 160 characters). */
function fieldText(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}

/** The fields the actor reports through `status()`, one per line. */
function statusFields(detail: Record<string, unknown> | undefined): HTMLElement {
  const entries = Object.entries(detail ?? {}).filter(([, v]) => v !== undefined);
  return h(
    'ul',
    { class: 'fields', 'data-testid': 'actor-status' },
    ...entries.map(([k, v]) => h('li', { 'data-field': k }, h('span', { class: 'field' }, `${k}: `), fieldText(v))),
  );
}

/** kind, instance, host, version, lifecycle state, lag, restarts, heartbeat age, its own status fields; pause/resume/reload. */
export function renderActors(model: DashboardModel, main: HTMLElement, now: number): void {
  const actors = Object.values(model.actors).sort((a, b) => a.key.localeCompare(b.key));
  const act = (kind: string, instance: string, verb: string) => () =>
    void control(`${verb} actor ${kind} ${instance}`, `/api/actors/${kind}/${instance}/${verb}`);
  main.replaceChildren(
    h(
      'table',
      { 'data-testid': 'actors-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...[
            'kind',
            'instance',
            'host',
            'version',
            'state',
            'lag',
            'restarts',
            'processed / failed',
            'heartbeat',
            'error',
            'status',
            '',
          ].map((x) => h('th', {}, x)),
        ),
      ),
      h(
        'tbody',
        {},
        ...actors.map((a) =>
          h(
            'tr',
            { 'data-actor': a.key },
            h('td', {}, a.kind),
            h('td', {}, a.instanceId),
            h('td', {}, a.hostId),
            h('td', {}, a.version),
            h('td', { class: `state ${a.state}` }, a.state),
            h('td', {}, a.lag ?? ''),
            h('td', {}, a.attempts),
            h('td', {}, `${a.processed} / ${a.failed}`),
            h('td', {}, `${age(now - a.updatedAt)} ago`),
            h('td', {}, a.lastError ?? ''),
            h('td', {}, statusFields(a.detail)),
            h(
              'td',
              {},
              h('button', { onclick: act(a.kind, a.instanceId, 'pause') }, 'pause'),
              h('button', { onclick: act(a.kind, a.instanceId, 'resume') }, 'resume'),
              h('button', { onclick: act(a.kind, a.instanceId, 'reload') }, 'reload'),
            ),
          ),
        ),
      ),
    ),
  );
}
