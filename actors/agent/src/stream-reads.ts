import type { Bus, StoredMessage } from '@kokex/core';

type GetMessageRequest = Parameters<Bus['jsm']['streams']['getMessage']>[1];

/**
 * Reads stored messages with `$JS.API.STREAM.MSG.GET` only (no consumers), which is all the agent's
 * NATS user may do with MD_CANDLES, FORECASTS and ORDERS besides its durables. The last message of
 * a subject is core's `bus.last`; these two read forward from a sequence, which core has no call for.
 */

/** The first stored message at or after `seq` on `filter` (nats-server 2.9 answers `next_by_subj` on MSG.GET). */
export async function nextBySubject(bus: Bus, stream: string, filter: string, seq: number): Promise<StoredMessage | undefined> {
  const request = { next_by_subj: filter, seq } as unknown as GetMessageRequest;
  const msg = await bus.jsm.streams.getMessage(stream, request).catch((err: unknown) => {
    if (isNotFound(err)) return null;
    throw err;
  });
  return msg ? { stream, seq: msg.seq, subject: msg.subject, data: msg.data, storedAt: msg.time.getTime() } : undefined;
}

/**
 * The newest `count` messages of one subject, oldest first. There is no "previous by subject", so it
 * reads forward from a window before the last message (`bus.last`) and widens the window until it
 * holds enough.
 */
export async function latestBySubject(bus: Bus, stream: string, subject: string, count: number): Promise<StoredMessage[]> {
  const last = await bus.last(subject, stream);
  if (!last) return [];
  let window = Math.max(count * 2, 16);
  for (;;) {
    const from = Math.max(1, last.seq - window);
    const found: StoredMessage[] = [];
    for (let seq = from; seq <= last.seq; ) {
      const msg = await nextBySubject(bus, stream, subject, seq);
      if (!msg || msg.seq > last.seq) break;
      found.push(msg);
      seq = msg.seq + 1;
    }
    if (found.length >= count || from === 1) return found.slice(-count);
    window *= 4;
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; message?: string; api_error?: { err_code?: number } };
  return e?.api_error?.err_code === 10037 || String(e?.code) === '404' || /no message found/i.test(e?.message ?? '');
}
