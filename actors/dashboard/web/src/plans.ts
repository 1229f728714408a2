import type { DashboardModel } from '../../src/model.js';
import { control, post, toast } from './api.js';
import { h, iso } from './dom.js';

/** The active plans with their trading state and controls, a form to apply a changed plan file, and the control log. */
let issues: Array<{ line: number; column: number; message: string }> = [];
let fields: { text: HTMLTextAreaElement; file: HTMLInputElement } | undefined;

/** The editor's two fields, made once and moved between redraws, so typing is never interrupted. */
function editor(): { text: HTMLTextAreaElement; file: HTMLInputElement } {
  fields ??= {
    text: h('textarea', { 'data-testid': 'plan-text', rows: 18, cols: 100, spellcheck: 'false' }),
    file: h('input', { 'data-testid': 'plan-file', value: 'plan.yaml', size: 24 }),
  };
  return fields;
}

/** Loads a plan into the editor at once (not at the next redraw, which could overwrite what was typed since). */
function edit(name: string, text: string, file = `${name}.yaml`): void {
  const f = editor();
  f.text.value = text;
  f.file.value = file;
}

export async function riskAction(plan: string, verb: 'halt' | 'reduce' | 'resume'): Promise<void> {
  const what =
    verb === 'halt'
      ? `KILL SWITCH: halt plan ${plan} (every intent denied, open orders cancelled)`
      : verb === 'reduce'
        ? `reduce-only for plan ${plan}`
        : `resume plan ${plan}`;
  await control(what, `/api/risk/${verb}/${plan}`);
}

export function renderPlans(model: DashboardModel, main: HTMLElement, rerender: () => void): void {
  const plans = Object.values(model.plans).sort((a, b) => a.name.localeCompare(b.name));
  const rows = plans.map((p) => {
    const c = model.controls[p.name];
    return h(
      'tr',
      { 'data-plan': p.name },
      h('td', {}, p.name),
      h('td', {}, `${p.venue} ${p.mode}`),
      h('td', {}, `${p.inst} ${p.tf}`),
      h(
        'td',
        { 'data-testid': `state-${p.name}` },
        c ? `${c.state}${c.killSwitch ? ' · KILL SWITCH' : ''}` : `${p.initialState} (initial)`,
      ),
      h('td', {}, c ? `${c.by}: ${c.reason} (${iso(c.at)})` : ''),
      h('td', {}, `r${p.revision} from ${p.source} ${iso(p.appliedAt)}`),
      h(
        'td',
        {},
        h('button', { class: 'danger', 'data-testid': `halt-${p.name}`, onclick: () => void riskAction(p.name, 'halt') }, 'kill switch'),
        h('button', { 'data-testid': `reduce-${p.name}`, onclick: () => void riskAction(p.name, 'reduce') }, 'reduce-only'),
        h('button', { 'data-testid': `resume-${p.name}`, onclick: () => void riskAction(p.name, 'resume') }, 'resume'),
        h(
          'button',
          {
            'data-testid': `edit-${p.name}`,
            onclick: () => {
              edit(p.name, p.text);
              issues = [];
              rerender();
            },
          },
          'edit',
        ),
      ),
    );
  });
  const planTable = h(
    'table',
    { 'data-testid': 'plans-table' },
    h('thead', {}, h('tr', {}, ...['plan', 'venue', 'series', 'trading state', 'set by', 'applied', ''].map((x) => h('th', {}, x)))),
    h('tbody', {}, ...rows),
  );
  const { text, file } = editor();
  const show = (body: Record<string, unknown>) => {
    issues = (body.issues as typeof issues | undefined) ?? [];
    rerender();
  };
  const validate = async () => {
    const r = await post('/api/plans/validate', { text: text.value, file: file.value });
    show(r.body);
    toast(r.body.ok ? `valid: ${(r.body.plans as string[]).join(', ')}` : `${issues.length} issue(s)`, Boolean(r.body.ok));
  };
  const apply = async () => {
    const r = await control(`apply ${file.value}`, '/api/plans/apply', { text: text.value, file: file.value });
    if (r) show(r);
  };
  const form = h(
    'section',
    { class: 'plan-form' },
    h('h3', {}, 'apply a changed plan file (YAML or JSON)'),
    h(
      'div',
      { class: 'toolbar' },
      'file ',
      file,
      h('input', {
        type: 'file',
        accept: '.yaml,.yml,.json',
        'data-testid': 'plan-upload',
        onchange: (e: Event) => {
          // Read in the page: the text goes to the server only with validate or apply.
          const chosen = (e.target as HTMLInputElement).files?.[0];
          if (chosen) void chosen.text().then((t) => edit(chosen.name.replace(/\.(ya?ml|json)$/, ''), t, chosen.name));
        },
      }),
      h('button', { 'data-testid': 'plan-validate', onclick: () => void validate() }, 'validate'),
      h('button', { 'data-testid': 'plan-apply', class: 'danger', onclick: () => void apply() }, 'apply'),
    ),
    text,
    h(
      'ul',
      { class: 'issues', 'data-testid': 'plan-issues' },
      ...issues.map((i) => h('li', {}, `line ${i.line}, column ${i.column}: ${i.message}`)),
    ),
  );
  const audit = h(
    'ol',
    { class: 'audit', 'data-testid': 'audit' },
    ...[...model.audit]
      .reverse()
      .map((a) =>
        h('li', { class: a.ok ? '' : 'bad' }, `${iso(a.at)} ${a.who} ${a.action} ${a.target}: ${a.ok ? 'done' : 'refused'} ${a.message}`),
      ),
  );
  main.replaceChildren(planTable, form, h('h3', {}, 'control log (this dashboard)'), audit);
}
