import { type ApprovedOrder, approvalMismatch, type Bus, type OrderVerdict, OrderVerdictContract, Streams, subject } from '@kokex/core';

/**
 * What the executor checks before it places an approval: the risk guard's verdict under the same
 * client order id approved the same plan, instrument, side, size and price. An approval is a
 * message anyone with publish rights on `kokex.order.approved.>` can store; the verdict is what
 * the guard decided. Without NATS users (a laptop, a test) both are open to every process, but a
 * forged approval alone, or one whose terms differ from its verdict, is never placed.
 */
export type VerdictCheck =
  | { ok: true; verdict: OrderVerdict; seq: number }
  /** No verdict for this client order id near the approval: it may still be on its way (retried), or it never existed. */
  | { ok: false; missing: true; reason: string }
  /** A verdict exists and says something else: a deny, or other terms. */
  | { ok: false; missing: false; reason: string; verdict: OrderVerdict };

/**
 * How far around the approval's stream sequence the verdict is looked for. The guard stores a
 * verdict and its approval together (one decision at a time across replicas), so only messages of
 * other publishers (intents, order events) lie between them.
 */
export const VERDICT_WINDOW = 4096;

/** Why the approval and the verdict disagree (core's `approvalMismatch`: the guard's books use the same rule). */
export const verdictMismatch = approvalMismatch;

/**
 * Finds the verdict for an approval stored at `approvalSeq` in ORDERS: first the newest verdict on
 * its plan and instrument (a direct get, the usual case), then the verdicts on that subject within
 * `VERDICT_WINDOW` messages either side of the approval, by direct gets.
 */
export async function checkApproval(bus: Bus, order: ApprovedOrder, approvalSeq: number): Promise<VerdictCheck> {
  const verdictSubject = subject('orderVerdict', { plan: order.plan, inst: order.inst });
  const judge = (verdict: OrderVerdict, seq: number): VerdictCheck => {
    const reason = verdictMismatch(order, verdict);
    return reason ? { ok: false, missing: false, reason, verdict } : { ok: true, verdict, seq };
  };
  const decode = (data: Uint8Array): OrderVerdict | undefined => {
    try {
      return OrderVerdictContract.decode(data).data;
    } catch {
      // A verdict that does not decode is no verdict.
      return undefined;
    }
  };
  // Only a verdict near its approval counts: an old approval stored again later (a replay under a
  // new message id) finds its verdict too far back and is refused.
  const near = (seq: number) => Math.abs(seq - approvalSeq) <= VERDICT_WINDOW;
  const last = await bus.last(verdictSubject, Streams.orders);
  const newest = last && near(last.seq) ? decode(last.data) : undefined;
  if (last && newest?.clientOrderId === order.clientOrderId) return judge(newest, last.seq);
  const end = approvalSeq + VERDICT_WINDOW;
  for (let seq = Math.max(1, approvalSeq - VERDICT_WINDOW); seq <= end; ) {
    const msg = await bus.jsm.streams.getMessage(Streams.orders, { next_by_subj: verdictSubject, seq } as never).catch(() => null);
    if (!msg || msg.seq > end) break;
    const verdict = decode(msg.data);
    if (verdict?.clientOrderId === order.clientOrderId) return judge(verdict, msg.seq);
    seq = msg.seq + 1;
  }
  return { ok: false, missing: true, reason: `no verdict for ${order.clientOrderId} on ${verdictSubject}` };
}
