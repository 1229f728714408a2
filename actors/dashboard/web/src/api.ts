/**
 * Control actions: each asks for confirmation in the page, then posts with the token. The server
 * checks the token, makes the same bus request as the CLI and records who and when.
 */
const tokenInput = () => document.getElementById('token') as HTMLInputElement;
const whoInput = () => document.getElementById('who') as HTMLInputElement;

export function toast(text: string, ok = true): void {
  const el = document.getElementById('toast') as HTMLElement;
  el.textContent = text;
  el.className = ok ? 'ok' : 'bad';
}

export function confirmAction(text: string): Promise<boolean> {
  const dialog = document.getElementById('confirm') as HTMLDialogElement;
  (document.getElementById('confirm-text') as HTMLElement).textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
  });
}

export async function post(path: string, body: Record<string, unknown> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-kokex-token': tokenInput().value.trim() },
    body: JSON.stringify({ who: whoInput().value.trim() || undefined, ...body }),
  });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: res.status, body: json };
}

/** Confirms, posts, and tells the outcome; resolves with the reply (undefined when cancelled). */
export async function control(
  what: string,
  path: string,
  body: Record<string, unknown> = {},
): Promise<Record<string, unknown> | undefined> {
  if (!(await confirmAction(`${what}?`))) {
    toast(`${what}: cancelled`);
    return undefined;
  }
  const r = await post(path, body);
  const err = r.body.error as { code?: string; message?: string } | undefined;
  if (r.status !== 200 || err) toast(`${what}: ${err?.code ?? r.status} ${err?.message ?? ''}`, false);
  else toast(`${what}: done`);
  return r.body;
}
