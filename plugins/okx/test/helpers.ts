import { waitFor as pollFor } from '@kokex/core/testing';
import { OkxSimulator, type OkxSimulatorAddress, type OkxSimulatorOptions } from '@kokex/plugin-okx-sim';
import { OkxRestClient, type OkxRestClientOptions, OkxWsClient, type OkxWsClientOptions } from '../src/index.js';

export const SIM_KEY = { apiKey: 'sim-key', secretKey: 'sim-secret', passphrase: 'sim-pass' };

/** Polls until `check` returns a truthy value (core's poller, with this suite's default timeout). */
export const waitFor = <T>(check: () => T | undefined | false, timeoutMs = 4000, what = 'condition'): Promise<T> =>
  pollFor(check, timeoutMs, what);

/** A simulator on a free port plus factories for clients pointed at it. */
export interface SimHarness {
  sim: OkxSimulator;
  address: OkxSimulatorAddress;
  rest(options?: OkxRestClientOptions): OkxRestClient;
  ws(options?: OkxWsClientOptions): OkxWsClient;
  stop(): Promise<void>;
}

export async function startSim(options: OkxSimulatorOptions): Promise<SimHarness> {
  const sim = new OkxSimulator(options);
  const address = await sim.start({ port: 0 });
  const clients: OkxWsClient[] = [];
  return {
    sim,
    address,
    rest: (o = {}) => new OkxRestClient({ baseUrl: address.restUrl, demo: true, credentials: SIM_KEY, ...o }),
    ws: (o = {}) => {
      const client = new OkxWsClient({
        urls: address.wsUrls,
        credentials: SIM_KEY,
        reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
        requestTimeoutMs: 2000,
        ...o,
      });
      clients.push(client);
      return client;
    },
    stop: async () => {
      for (const c of clients) await c.close();
      await sim.stop();
    },
  };
}
