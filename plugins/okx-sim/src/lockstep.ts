import {
  actorRequestSubject,
  type Bus,
  type Logger,
  SIM_CONTROL_KIND,
  SimControlEndpoints,
  type SimControlReply,
  type SimControlState,
  type SimOrderState,
  simStepRequestSchema,
  toWireError,
} from '@kokex/core';
import type { OkxSimulator } from './simulator.js';

/**
 * The simulator in lockstep: it never moves on its own, and `kokex backtest` releases the next bar
 * with a request on `kokex.ctl.okx-sim.step` once the pipeline has settled on the previous one
 * (`kokex.ctl.okx-sim.status` reads the state without moving). A step runs inside the request:
 * its candle and ticker pushes are written to the sockets and resting orders are matched before the
 * reply leaves, so the reply's order list is what the executor will be told about.
 */
export interface LockstepControl {
  /** Source bars released since the replay started. */
  readonly bars: number;
  stop(): void;
}

/** Every order the simulator holds that carries a client order id, in placement order. */
export function simOrderStates(sim: OkxSimulator): SimOrderState[] {
  const out: Array<SimOrderState & { ordId: bigint }> = [];
  for (const cred of sim.credentials()) {
    const account = sim.account(cred.apiKey);
    for (const o of account?.orders.values() ?? []) {
      if (!o.clOrdId) continue;
      out.push({ ordId: BigInt(o.ordId), clientOrderId: o.clOrdId, instId: o.instId, state: o.state, filledSize: o.accFillSz });
    }
  }
  return out.sort((a, b) => (a.ordId < b.ordId ? -1 : a.ordId > b.ordId ? 1 : 0)).map(({ ordId: _, ...o }) => o);
}

export function serveLockstep(bus: Bus, sim: OkxSimulator, log: Logger): LockstepControl {
  let bars = 0;
  const state = (stepped: number): SimControlState => ({
    ok: true,
    now: sim.now(),
    ended: sim.ended,
    bars,
    stepped,
    orders: simOrderStates(sim),
  });
  const reply = (respond: (data: string) => void, body: SimControlReply) => respond(JSON.stringify(body));
  const fail = (err: unknown): SimControlReply => ({ ok: false, error: toWireError(err) });
  const subs = [
    bus.nc.subscribe(actorRequestSubject(SIM_CONTROL_KIND, SimControlEndpoints.step), {
      callback: (_err, msg) => {
        try {
          const text = msg.data.length ? new TextDecoder().decode(msg.data) : '{}';
          const req = simStepRequestSchema.parse(JSON.parse(text));
          const before = sim.ended;
          const stepped = before ? 0 : sim.stepBars(req.bars);
          if (stepped > 0) bars += req.bars;
          reply((d) => msg.respond(d), state(stepped));
        } catch (err) {
          log.warn({ err }, 'okx simulator: a lockstep step request failed');
          reply((d) => msg.respond(d), fail(err));
        }
      },
    }),
    bus.nc.subscribe(actorRequestSubject(SIM_CONTROL_KIND, SimControlEndpoints.status), {
      callback: (_err, msg) => {
        try {
          reply((d) => msg.respond(d), state(0));
        } catch (err) {
          reply((d) => msg.respond(d), fail(err));
        }
      },
    }),
  ];
  return {
    get bars() {
      return bars;
    },
    stop() {
      for (const s of subs) s.unsubscribe();
    },
  };
}
