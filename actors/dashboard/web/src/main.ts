import { applyEvent, type DashboardEvent, type DashboardModel, emptyModel, type ModelLimits } from '../../src/model.js';
import { renderActors } from './actors.js';
import { renderAgent } from './agent.js';
import { renderBacktests } from './backtests.js';
import { h } from './dom.js';
import { renderMarket } from './market.js';
import { renderOrders } from './orders.js';
import { renderPlans, riskAction } from './plans.js';
import './style.css';

/**
 * The page: one model, filled by the WebSocket (a snapshot, then events applied with the same
 * reducer the server uses), and one view drawn at a time, redrawn at most once a frame.
 */
type View = 'market' | 'agent' | 'orders' | 'actors' | 'plans' | 'backtests';
const VIEWS: Array<[View, string]> = [
  ['market', 'Market & forecasts'],
  ['agent', 'Agent'],
  ['orders', 'Orders & PnL'],
  ['actors', 'Actors'],
  ['plans', 'Plans & control'],
  ['backtests', 'Backtests'],
];
/** Which events each view draws (the others leave it alone, so typing in a form is not disturbed). */
const RELEVANT: Record<View, Array<DashboardEvent['t']>> = {
  market: ['bar', 'forecast'],
  agent: ['turn', 'token', 'plan'],
  orders: ['intent', 'verdict', 'approved', 'orderEvent', 'cancel', 'contractValue', 'bar'],
  actors: ['actor'],
  plans: ['plan', 'control', 'audit'],
  // Reports on disk, not the bus: the view reads them when opened and on its own buttons.
  backtests: [],
};

let model: DashboardModel = emptyModel();
let limits: ModelLimits | undefined;
let view: View = (location.hash.slice(1) as View) || 'market';
if (!VIEWS.some(([v]) => v === view)) view = 'market';
let dirty = true;
/**
 * The server's clock at the last snapshot and the page's monotonic clock then: heartbeat ages are
 * measured on the hosts' clock (which stamped them), never on a browser clock that may be skewed.
 */
let serverClock = { at: 0, perf: 0 };
const serverNow = () => serverClock.at + (performance.now() - serverClock.perf);
let frame = 0;

const main = document.getElementById('main') as HTMLElement;
const tabs = document.getElementById('tabs') as HTMLElement;
const strip = document.getElementById('plans-strip') as HTMLElement;
const conn = document.getElementById('conn') as HTMLElement;
const token = document.getElementById('token') as HTMLInputElement;
const who = document.getElementById('who') as HTMLInputElement;

// The token stays in this tab only (sessionStorage), never in the URL or a cookie.
token.value = sessionStorage.getItem('kokex-token') ?? '';
token.addEventListener('input', () => sessionStorage.setItem('kokex-token', token.value));
who.value = localStorage.getItem('kokex-who') ?? '';
who.addEventListener('input', () => localStorage.setItem('kokex-who', who.value));

function drawTabs(): void {
  tabs.replaceChildren(
    ...VIEWS.map(([v, label]) =>
      h(
        'button',
        {
          class: v === view ? 'tab active' : 'tab',
          'data-view': v,
          onclick: () => {
            view = v;
            location.hash = v;
            drawTabs();
            schedule(true);
          },
        },
        label,
      ),
    ),
  );
}

function drawStrip(): void {
  strip.replaceChildren(
    ...Object.keys(model.plans)
      .sort()
      .map((name) => {
        const c = model.controls[name];
        const state = c ? `${c.state}${c.killSwitch ? ' · kill switch' : ''}` : '…';
        return h(
          'span',
          { class: `plan-pill ${c?.state ?? ''}`, 'data-testid': `strip-${name}` },
          `${name}: ${state} `,
          h('button', { class: 'danger', 'data-testid': `kill-${name}`, onclick: () => void riskAction(name, 'halt') }, 'KILL'),
        );
      }),
  );
}

function render(): void {
  frame = 0;
  if (!dirty) return;
  dirty = false;
  // Keep focus and caret in the field being typed in across a redraw.
  const active = document.activeElement as HTMLInputElement | null;
  const focused = active && main.contains(active) ? active.dataset.testid : undefined;
  const caret = focused ? [active?.selectionStart ?? null, active?.selectionEnd ?? null] : [];
  drawStrip();
  if (view === 'market') renderMarket(model, main);
  else if (view === 'agent') renderAgent(model, main);
  else if (view === 'orders') renderOrders(model, main);
  else if (view === 'actors') renderActors(model, main, serverNow());
  else if (view === 'backtests') renderBacktests(main);
  else renderPlans(model, main, () => schedule(true));
  main.dataset.view = view;
  if (focused) {
    const again = main.querySelector<HTMLInputElement>(`[data-testid="${focused}"]`);
    again?.focus();
    if (again && caret[0] !== null && 'setSelectionRange' in again) again.setSelectionRange(caret[0] ?? 0, caret[1] ?? 0);
  }
}

function schedule(force = false): void {
  if (force) dirty = true;
  if (dirty && !frame) frame = requestAnimationFrame(render);
}

function connect(): void {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  ws.onopen = () => {
    conn.textContent = 'live';
    conn.className = 'ok';
  };
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data)) as
      | { type: 'snapshot'; model: DashboardModel; limits: ModelLimits; serverTime: number }
      | { type: 'event'; event: DashboardEvent };
    if (msg.type === 'snapshot') {
      model = msg.model;
      limits = msg.limits;
      serverClock = { at: msg.serverTime, perf: performance.now() };
      dirty = true;
    } else {
      applyEvent(model, msg.event, limits);
      if (RELEVANT[view].includes(msg.event.t) || msg.event.t === 'control' || msg.event.t === 'plan') dirty = true;
    }
    schedule();
  };
  ws.onclose = () => {
    conn.textContent = 'disconnected, retrying…';
    conn.className = 'bad';
    setTimeout(connect, 1000);
  };
}

// Heartbeat ages move on their own.
setInterval(() => {
  if (view === 'actors') schedule(true);
}, 2000);

drawTabs();
connect();
(window as unknown as { kokexModel: () => DashboardModel }).kokexModel = () => model;
