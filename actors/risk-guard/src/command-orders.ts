import { type ActorStatus, Buckets, type Bus, type CommandDefinition, readControl } from '@kokex/core';
import { PlanBooks } from './books.js';
import { appliedPlan, CommandUsageError, columns, commandArgs, num, withCommandBus } from './cli.js';
import { executionVenueOf } from './config.js';
import type { PlanLedger } from './ledger.js';
import { OrdersTail } from './orders-tail.js';
import type { PlanSummary } from './summary.js';

const USAGE = `usage: kokex orders <plan> [--fills N] [--json]

  The plan's book, read back from the ORDERS stream: open orders (approved and not yet filled,
  cancelled or rejected), the latest fills, the position, and the PnL as the running risk guard
  values it (plus the venue's own position as the executor last saw it).`;

/** The status detail a running guard publishes for this plan, with the time it was written. */
async function guardSummary(bus: Bus, plan: string): Promise<{ summary: PlanSummary; at: number } | undefined> {
  let best: { summary: PlanSummary; at: number } | undefined;
  for (const entry of await bus.kvEntries(Buckets.actors, 'risk-guard.>')) {
    const status = entry.json<ActorStatus>();
    const summary = (status.detail.plans as PlanSummary[] | undefined)?.find((p) => p.plan === plan);
    if (summary && (!best || status.updatedAt > best.at)) best = { summary, at: status.updatedAt };
  }
  return best;
}

/** What the executor last saw at the venue for this plan: `{plan}.{inst}` in the positions bucket. */
async function venuePositions(bus: Bus, plan: string): Promise<Array<{ inst: string; size: number; avgPrice: number; at: number }>> {
  return (await bus.kvEntries(Buckets.positions, `${plan}.>`)).map((entry) => entry.json());
}

function render(ledger: PlanLedger, fills: number): string[] {
  const lines: string[] = [];
  const open = ledger.openOrders();
  lines.push(`open orders: ${open.length}`);
  if (open.length) {
    const rows = open.map((o) => [
      o.clientOrderId,
      o.side,
      num(o.size),
      o.type,
      num(o.price),
      o.state,
      num(o.filled),
      new Date(o.approvedAt).toISOString(),
    ]);
    lines.push(...columns(['CLIENT ORDER ID', 'SIDE', 'SIZE', 'TYPE', 'PRICE', 'STATE', 'FILLED', 'APPROVED'], rows).map((l) => `  ${l}`));
  }
  const recent = ledger.fills.slice(-fills);
  lines.push(`fills: ${ledger.fills.length}${recent.length < ledger.fills.length ? ` (latest ${recent.length})` : ''}`);
  if (recent.length) {
    const rows = recent.map((f) => [new Date(f.at).toISOString(), f.clientOrderId, f.inst, f.side, num(f.size), num(f.price), num(f.fee)]);
    lines.push(...columns(['TIME', 'CLIENT ORDER ID', 'INST', 'SIDE', 'SIZE', 'PRICE', 'FEE'], rows).map((l) => `  ${l}`));
  }
  const legs = [...ledger.legs].filter(([, l]) => l.qty !== 0);
  lines.push(`position: ${legs.length ? legs.map(([inst, l]) => `${inst} ${num(l.qty)} @ ${num(l.avgPrice)}`).join(', ') : 'flat'}`);
  return lines;
}

export const ordersCommand: CommandDefinition = {
  name: 'orders',
  summary: "a plan's open orders, fills, position and PnL",
  usage: USAGE,
  async run(args, io) {
    const parsed = commandArgs(args, { fills: { type: 'string', default: '10' }, json: { type: 'boolean' } }, USAGE, io);
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const [name] = positionals;
    if (!name || positionals.length !== 1) throw new CommandUsageError('name one plan', USAGE);
    const fills = Number(values.fills);
    if (!Number.isInteger(fills) || fills < 0) throw new CommandUsageError('--fills must be a whole number', USAGE);
    return withCommandBus(io, 'kokex-orders', async (bus) => {
      const plan = await appliedPlan(bus, name);
      const books = new PlanBooks();
      await new OrdersTail(bus, (subj, data) => books.apply(subj, data)).catchUp();
      const ledger = books.ledgerOf(name);
      const control = await readControl(bus, name);
      const guard = await guardSummary(bus, name);
      const venue = await venuePositions(bus, name);
      if (values.json) {
        io.print(
          JSON.stringify({
            plan: name,
            control,
            openOrders: ledger.openOrders(),
            fills: ledger.fills.slice(-fills),
            positions: Object.fromEntries([...ledger.legs].map(([inst, l]) => [inst, { qty: l.qty, avgPrice: l.avgPrice }])),
            guard: guard?.summary,
            venuePositions: venue,
          }),
        );
        return 0;
      }
      const { venue: v, instrument, timeframe } = plan.spec;
      // No record: nobody has changed the plan's state, so it is the plan's initial one (the guard
      // reads the record and never writes it).
      const current = control ?? { state: plan.spec.risk.initialState, killSwitch: false };
      const state = `${current.state}, kill switch ${current.killSwitch ? 'thrown' : 'down'}${guard ? '' : ' (no risk guard has reported)'}`;
      io.print(`plan ${name} (${executionVenueOf(plan)} ${v.mode} ${instrument} ${timeframe}): ${state}`);
      for (const line of render(ledger, fills)) io.print(line);
      const pnl = guard?.summary.pnl;
      if (pnl) {
        const age = Math.max(0, Math.round((Date.now() - (guard?.at ?? 0)) / 1000));
        io.print(
          `pnl (risk guard, ${age}s ago): daily ${num(pnl.daily)}  realized ${num(pnl.realized)}  fees ${num(pnl.fees)}  unrealized ${num(pnl.unrealized)}  equity ${num(pnl.equity)}  drawdown ${num(pnl.drawdown)}`,
        );
      } else io.print(guard ? `pnl: not valued (${guard.summary.valuationMissing ?? 'no prices yet'})` : 'pnl: no risk guard running');
      for (const p of venue)
        io.print(`venue position (executor, ${new Date(p.at).toISOString()}): ${p.inst} ${num(p.size)} @ ${num(p.avgPrice)}`);
      return 0;
    });
  },
};
