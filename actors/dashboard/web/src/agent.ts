import type { DashboardModel } from '../../src/model.js';
import { control } from './api.js';
import { h, iso } from './dom.js';

/** Each conversation with its trigger, the tokens as they stream, tool calls and results; and a chat box. */
let chatPlan: string | undefined;
let draft = '';
/** Per plan: the conversation the page is in and its exchanges, sent with each message as `kokex chat` sends them. */
const sessions = new Map<string, { conversation?: string; history: Array<{ role: 'user' | 'assistant'; content: string }> }>();

export function renderAgent(model: DashboardModel, main: HTMLElement): void {
  const plans = Object.keys(model.plans).sort();
  if (!chatPlan || !plans.includes(chatPlan)) chatPlan = plans[0];
  const input = h('input', { 'data-testid': 'chat-input', size: 60, placeholder: 'ask the agent…', value: draft });
  input.addEventListener('input', () => {
    draft = input.value;
  });
  const send = async () => {
    if (!chatPlan || !input.value.trim()) return;
    const message = input.value.trim();
    const plan = chatPlan;
    const session = sessions.get(plan) ?? { history: [] };
    sessions.set(plan, session);
    const r = await control(`send to the agent of ${plan}: "${message.slice(0, 60)}"`, `/api/chat/${plan}`, {
      message,
      history: session.history.slice(-40),
      ...(session.conversation ? { conversation: session.conversation } : {}),
    });
    if (r?.ok && typeof r.answer === 'string') {
      session.conversation = String(r.conversation);
      session.history.push({ role: 'user', content: message }, { role: 'assistant', content: r.answer });
      draft = '';
      const field = document.querySelector<HTMLInputElement>('[data-testid="chat-input"]');
      if (field) field.value = '';
    }
  };
  const session = chatPlan ? sessions.get(chatPlan) : undefined;
  const form = h(
    'div',
    { class: 'toolbar' },
    h(
      'select',
      {
        'data-testid': 'chat-plan',
        onchange: (e: Event) => {
          chatPlan = (e.target as HTMLSelectElement).value;
        },
      },
      ...plans.map((p) => h('option', { value: p, ...(p === chatPlan ? { selected: true } : {}) }, p)),
    ),
    input,
    h('button', { 'data-testid': 'chat-send', onclick: () => void send() }, 'Send'),
    session?.conversation ? h('small', {}, `in ${session.conversation} (${session.history.length / 2} exchange(s))`) : null,
    session?.conversation
      ? h('button', { 'data-testid': 'chat-new', onclick: () => chatPlan && sessions.delete(chatPlan) }, 'new conversation')
      : null,
  );
  const list = [...model.conversations].reverse().map((c) => {
    // One paragraph per exchange of the conversation, each in the order it streamed.
    const text = c.tokens
      .filter((t) => t.kind === 'text')
      .map((t, i, all) => (i > 0 && (t.part ?? 0) !== ((all[i - 1] as typeof t).part ?? 0) ? `\n\n${t.text}` : t.text))
      .join('');
    const tools = c.tokens.filter((t) => t.kind === 'tool');
    return h(
      'article',
      { class: 'conversation', 'data-conversation': c.id, 'data-testid': 'conversation' },
      h(
        'h3',
        {},
        `${c.plan} · ${c.trigger || '…'} · ${c.id}`,
        h('small', {}, ` ${c.provider ?? ''} ${iso(c.at)} corr ${c.correlationId ?? ''}`),
      ),
      c.input ? h('p', { class: 'input' }, c.input) : null,
      c.tokens.length ? h('pre', { class: 'tokens', 'data-testid': 'tokens' }, text) : null,
      tools.length ? h('ul', { class: 'tool-tokens' }, ...tools.map((t) => h('li', {}, `· ${t.text}`))) : null,
      h(
        'ol',
        { class: 'records' },
        ...c.records
          .filter((r) => r.record !== 'started')
          .map((r) =>
            h(
              'li',
              { class: `rec ${r.record}${r.ok === false ? ' bad' : ''}`, 'data-record': r.record },
              h('b', {}, r.record === 'message' ? (r.role ?? '') : r.record.replace('_', ' ')),
              r.tool ? ` ${r.tool}` : '',
              ': ',
              r.text,
            ),
          ),
      ),
      c.ended
        ? h(
            'p',
            { class: 'outcome', 'data-testid': 'outcome' },
            `ended ${c.ended.reason} · ${c.ended.turns} turn(s) · ${c.ended.toolCalls} tool call(s)${c.ended.intents.length ? ` · intents ${c.ended.intents.join(', ')}` : ''}`,
          )
        : null,
    );
  });
  main.replaceChildren(form, ...(list.length ? list : [h('em', {}, 'no conversations yet')]));
}
