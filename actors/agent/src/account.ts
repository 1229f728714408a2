import { AdapterPort, type AdapterRegistry, adapterFor, type ExecutionAdapter } from '@kokex/core';
import type { AgentPlan } from './config.js';
import type { OrderEventBook } from './order-book.js';

/**
 * What get_positions, get_balance and get_open_orders read. A plan on a venue (sim, demo, live)
 * asks the venue through its execution adapter when this host has one loaded; a paper plan, or a
 * host without the venue plugin, answers from the order events on ORDERS. Each answer says which
 * (`source`), so the model and the audit trail know what the numbers rest on.
 */
export interface AccountReader {
  positions(plan: AgentPlan, inst?: string): Promise<Record<string, unknown>>;
  openOrders(plan: AgentPlan, inst?: string): Promise<Record<string, unknown>>;
  balance(plan: AgentPlan): Promise<Record<string, unknown>>;
}

export interface AccountReaderOptions {
  adapters: AdapterRegistry;
  book: OrderEventBook;
  /** Settings per execution adapter, merged under `{mode}` (`{okx: {simPort: 18080}}`). */
  venueSettings: () => Record<string, Record<string, unknown>>;
  /** False: never ask a venue, always derive from ORDERS. */
  askVenue: () => boolean;
}

export function createAccountReader(o: AccountReaderOptions): AccountReader {
  const venueOf = async (plan: AgentPlan): Promise<ExecutionAdapter | undefined> => {
    if (!o.askVenue() || plan.mode === 'paper' || !o.adapters.has(AdapterPort.execution, plan.venue)) return undefined;
    return adapterFor<ExecutionAdapter>(o.adapters, AdapterPort.execution, { name: plan.venue, mode: plan.mode }, o.venueSettings());
  };
  return {
    async positions(plan, inst) {
      const venue = await venueOf(plan);
      if (venue) return { source: 'venue', positions: await venue.positions(inst) };
      await o.book.catchUp();
      return { source: 'orders', positions: o.book.positions(plan.plan, inst) };
    },
    async openOrders(plan, inst) {
      const venue = await venueOf(plan);
      if (venue) return { source: 'venue', orders: await venue.openOrders(inst) };
      await o.book.catchUp();
      return { source: 'orders', orders: o.book.openOrders(plan.plan, inst) };
    },
    async balance(plan) {
      const venue = await venueOf(plan);
      if (venue) return { source: 'venue', balances: await venue.balances() };
      await o.book.catchUp();
      const fees = o.book.fees(plan.plan);
      const realizedPnl = o.book.realizedPnl(plan.plan);
      if (plan.paperBalance === undefined) {
        return {
          source: 'orders',
          note: 'no venue adapter in this host: only fees paid and realised PnL from order events are known',
          feesPaid: fees,
          realizedPnl,
        };
      }
      return {
        source: 'orders',
        startingBalance: plan.paperBalance,
        feesPaid: fees,
        realizedPnl,
        note: 'realizedPnl is in price × size units; for swaps multiply by the contract value',
      };
    },
  };
}
