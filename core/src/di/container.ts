import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import type { Bus } from '../bus/bus.js';
import type { Logger } from '../log/logger.js';
import type { AdapterRegistry } from '../ports/registry.js';
import type { Clock } from '../time/clock.js';
import { Tokens } from './tokens.js';

/** A host's container: a child of tsyringe's root with the host's bus, logger and clock. */
export function createHostContainer(deps: {
  bus: Bus;
  log: Logger;
  clock: Clock;
  hostId: string;
  adapters: AdapterRegistry;
}): DependencyContainer {
  const c = rootContainer.createChildContainer();
  c.register(Tokens.Bus, { useValue: deps.bus });
  c.register(Tokens.Logger, { useValue: deps.log });
  c.register(Tokens.Clock, { useValue: deps.clock });
  c.register(Tokens.HostId, { useValue: deps.hostId });
  c.register(Tokens.Adapters, { useValue: deps.adapters });
  return c;
}
