import type { InjectionToken } from 'tsyringe';
import type { Bus } from '../bus/bus.js';
import type { Logger } from '../log/logger.js';
import type { AdapterPorts, AdapterRegistry } from '../ports/registry.js';
import type { Clock } from '../time/clock.js';

/**
 * DI tokens declared in core. Actors resolve adapters through these (never by importing a plugin),
 * and always by explicit token: esbuild/tsx emit no decorator metadata, so injection by type would
 * silently fail.
 */
export const Tokens = {
  Bus: Symbol.for('kokex.Bus') as InjectionToken<Bus>,
  Logger: Symbol.for('kokex.Logger') as InjectionToken<Logger>,
  Clock: Symbol.for('kokex.Clock') as InjectionToken<Clock>,
  HostId: Symbol.for('kokex.HostId') as InjectionToken<string>,
  /** Adapters contributed by plugins: `resolve<MarketDataAdapter>('exchange', 'okx', config)`. */
  Adapters: Symbol.for('kokex.Adapters') as InjectionToken<AdapterRegistry>,
} as const;

/** Adapter ports: the interfaces adapters implement. Names are what plans refer to. */
export const AdapterPort = {
  /** Market data: instruments, candles, live pushes (`MarketDataAdapter`). */
  exchange: 'exchange',
  /** Orders, positions and balances at a venue (`ExecutionAdapter`). */
  execution: 'execution',
  /** A LangChain chat model (`ChatModel`). */
  llm: 'llm',
  /** Where projections are kept (history's store). */
  store: 'store',
} as const;
export type AdapterPort = (typeof AdapterPort)[keyof typeof AdapterPort];

/** True only while `AdapterPorts` (ports/registry.ts) names an interface for exactly these ports. */
type SamePorts = [AdapterPort] extends [keyof AdapterPorts] ? ([keyof AdapterPorts] extends [AdapterPort] ? true : false) : false;
export const ADAPTER_PORTS_TYPED: SamePorts = true;
