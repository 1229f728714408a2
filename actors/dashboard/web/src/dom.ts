/** A tiny element builder: h('td', {class: 'x'}, 'text', child). Text is always text, never HTML. */
export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | ((e: Event) => void) | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}

export function table(headers: string[], rows: Child[][], attrs: Record<string, string> = {}): HTMLTableElement {
  return h(
    'table',
    attrs,
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}

export const iso = (ms: number) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '');

/** Money with enough digits for small fees (0.0003 is not 0). */
export function money(x: number): string {
  if (x === 0) return '0';
  const abs = Math.abs(x);
  return abs >= 100 ? x.toFixed(2) : abs >= 1 ? x.toFixed(4) : x.toPrecision(3);
}

export const num = (x: number | undefined, digits = 4) => (x === undefined ? '' : Number(x.toFixed(digits)).toString());

export function age(ms: number): string {
  if (ms < 0) return '0s';
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}
