import {
  ApprovedOrderContract,
  approvalMismatch,
  type BooksSnapshot,
  CancelVerdictContract,
  OrderEventContract,
  OrderVerdictContract,
  parseSubject,
  ReconcileContract,
} from '@kokex/core';
import { PlanLedger } from './ledger.js';

/** The actor kinds whose messages the books believe: the guard's verdicts and approvals, the executor's events. */
export const GUARD_KIND = 'risk-guard';
export const EXECUTOR_KIND = 'executor';

/** Whether an envelope's `source` (an instance id, `{kind}-{8 hex}`) names an instance of `kind`. */
export function sourceIs(source: string, kind: string): boolean {
  return source === kind || (source.startsWith(`${kind}-`) && /^[0-9a-f]+$/.test(source.slice(kind.length + 1)));
}

/** Why a stored ORDERS message was not booked. */
export const BookRefusal = {
  /** It does not decode (another schema version, a forged or broken payload). */
  undecodable: 'undecodable',
  /** A verdict, approval or cancel verdict not published by a risk guard. */
  notFromGuard: 'not-from-guard',
  /** An order event not published by the executor. */
  notFromExecutor: 'not-from-executor',
  /** An order event with no client order id, or one the guard never approved (or for another plan). */
  notApproved: 'not-approved',
  /** An approval whose terms differ from the verdict under its client order id, or whose verdict denied it. */
  unverified: 'approval-unverified',
} as const;
export type BookRefusal = (typeof BookRefusal)[keyof typeof BookRefusal];

export interface RefusedMessage {
  subject: string;
  /** Its sequence in ORDERS, when read from the stream. */
  seq?: number;
  data: Uint8Array;
  refusal: BookRefusal;
  detail: string;
}

/**
 * Every plan's ledger, fed with stored ORDERS messages: verdicts, approvals, cancel verdicts and
 * venue events (intents and cancel requests carry nothing a book needs; a cancel's effect arrives
 * as the venue's `canceled` event). The guard keeps one for its decisions; `kokex orders`
 * builds one to print a plan's book.
 *
 * A book holds only what the guard decided and what the venue did with it (issue 12 finding 4):
 * verdicts, approvals and cancel verdicts count only when a risk guard published them, and an
 * order event only when the executor published it for a client order id the guard approved (for
 * that plan). The envelope's `source` says who published; the NATS permissions
 * (`core/src/deploy/access.ts`: only the guard publishes `kokex.order.approved.…` and verdicts,
 * only the executor `kokex.order.event.…`) are what make it true in a deployment. Everything else
 * is refused, counted by refusal, and handed to `onRefused` (the guard dead-letters it), never
 * silently dropped.
 */
export class PlanBooks {
  readonly ledgers = new Map<string, PlanLedger>();
  /** Messages that did not decode (another schema version): counted, never fatal. */
  undecodable = 0;
  /** Messages refused, by refusal (undecodable ones included). */
  readonly refused: Record<BookRefusal, number> = {
    undecodable: 0,
    'not-from-guard': 0,
    'not-from-executor': 0,
    'not-approved': 0,
    'approval-unverified': 0,
  };

  constructor(private readonly onRefused?: (message: RefusedMessage) => void) {}

  /** The books as plain data, for a snapshot (`books-snapshot.ts` adds the sequence it covers). */
  toSnapshot(): Pick<BooksSnapshot, 'ledgers' | 'refused'> {
    return { ledgers: [...this.ledgers.values()].map((l) => l.toSnapshot()), refused: { ...this.refused } };
  }

  /** Replaces every ledger and counter with a snapshot's. */
  restore(snapshot: Pick<BooksSnapshot, 'ledgers' | 'refused'>): void {
    this.ledgers.clear();
    for (const l of snapshot.ledgers) this.ledgers.set(l.plan, PlanLedger.fromSnapshot(l));
    for (const key of Object.keys(this.refused) as BookRefusal[]) this.refused[key] = snapshot.refused[key] ?? 0;
    this.undecodable = this.refused.undecodable;
  }

  ledgerOf(plan: string): PlanLedger {
    let ledger = this.ledgers.get(plan);
    if (!ledger) {
      ledger = new PlanLedger(plan);
      this.ledgers.set(plan, ledger);
    }
    return ledger;
  }

  /** Whether any plan decided an intent with this client order id. */
  used(clientOrderId: string): boolean {
    for (const ledger of this.ledgers.values()) if (ledger.decided.has(clientOrderId)) return true;
    return false;
  }

  apply(subj: string, data: Uint8Array, seq?: number): void {
    const refuse = (refusal: BookRefusal, detail: string) => {
      this.refused[refusal]++;
      if (refusal === BookRefusal.undecodable) this.undecodable++;
      this.onRefused?.({ subject: subj, ...(seq !== undefined ? { seq } : {}), data, refusal, detail });
    };
    const fromGuard = (source: string) => {
      if (sourceIs(source, GUARD_KIND)) return true;
      refuse(BookRefusal.notFromGuard, `published by ${source || 'nobody'}, not a risk guard`);
      return false;
    };
    try {
      const family = parseSubject(subj).family;
      if (family === 'orderVerdict') {
        const env = OrderVerdictContract.decode(data);
        if (fromGuard(env.source)) this.ledgerOf(env.data.plan).recordDecision(env.causationId ?? env.id, env.data, env.eventTime);
      } else if (family === 'cancelVerdict') {
        const env = CancelVerdictContract.decode(data);
        if (fromGuard(env.source)) this.ledgerOf(env.data.plan).recordCancel(env.causationId ?? env.id, env.data, env.eventTime);
      } else if (family === 'orderApproved') {
        const env = ApprovedOrderContract.decode(data);
        if (!fromGuard(env.source)) return;
        const ledger = this.ledgerOf(env.data.plan);
        const decided = ledger.decided.get(env.data.clientOrderId);
        if (!ledger.recordApproval(env.data, env.eventTime) && decided)
          refuse(BookRefusal.unverified, approvalMismatch(env.data, decided.verdict) ?? 'it matches no verdict');
      } else if (family === 'orderReconcile') {
        // The executor's comparison with the venue: the venue's position replaces the book's.
        const env = ReconcileContract.decode(data);
        if (!sourceIs(env.source, EXECUTOR_KIND)) {
          refuse(BookRefusal.notFromExecutor, `published by ${env.source || 'nobody'}, not the executor`);
          return;
        }
        this.ledgerOf(env.data.plan).applyReconcile(env.data);
      } else if (family === 'orderEvent') {
        const env = OrderEventContract.decode(data);
        const event = env.data;
        const id = event.clientOrderId;
        if (!sourceIs(env.source, EXECUTOR_KIND)) {
          refuse(BookRefusal.notFromExecutor, `published by ${env.source || 'nobody'}, not the executor`);
          return;
        }
        // Only orders the guard approved: the plan's ledger holds its approval under the client order id.
        const ledger = id === undefined ? undefined : [...this.ledgers.values()].find((l) => l.orders.has(id));
        if (!ledger || (event.plan !== undefined && event.plan !== ledger.plan)) {
          refuse(
            BookRefusal.notApproved,
            id === undefined
              ? 'an order event without a client order id'
              : `client order id ${id} was never approved${event.plan ? ` for plan ${event.plan}` : ''}`,
          );
          return;
        }
        // Market time: what the executor says the event speaks for (the venue's time or its cause's).
        ledger.applyEvent(event, env.eventTime);
      }
    } catch (err) {
      refuse(BookRefusal.undecodable, err instanceof Error ? err.message : String(err));
    }
  }
}
