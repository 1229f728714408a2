import { SimError, SimErrorCode } from './errors.js';
import { parseFaultSpec, type SimFaults } from './faults.js';
import type { SimDataSource } from './market/data-source.js';
import { DEFAULT_SIM_CREDENTIAL, OkxSimulator, type OkxSimulatorAddress } from './simulator.js';

export interface RunSimulatorOptions {
  /** CSV(.gz) path or candles. Required. */
  data: SimDataSource | undefined;
  /** Replay speed (N× real time). Default 1. */
  speed?: number;
  /** Port; default 0 (any free port). */
  port?: number;
  host?: string;
  /** Fault switches, as an object or a spec like `skip=0.05,dup=0.05,drop=30`. */
  faults?: Partial<SimFaults> | string;
  instId?: string;
  /** Start of the replay (ms or ISO date); earlier bars are history. */
  startAt?: number | string;
  seed?: number;
  /** Where the banner goes. Default console.log. */
  log?: (line: string) => void;
}

export interface RunningSimulator {
  simulator: OkxSimulator;
  address: OkxSimulatorAddress;
  stop(): Promise<void>;
}

/**
 * Entry of `npx kokex sim okx --data FILE --speed N [--port P] [--faults SPEC]`: starts the
 * simulator in real-time mode and prints where it listens and which demo key it accepts.
 */
export async function runSimulator(options: RunSimulatorOptions): Promise<RunningSimulator> {
  if (options.data === undefined || options.data === '') {
    throw new SimError(SimErrorCode.Config, 'okx simulator needs --data FILE (CSV or CSV.gz: ts,open,high,low,close,volume)');
  }
  const speed = options.speed ?? 1;
  if (!(speed > 0)) throw new SimError(SimErrorCode.Config, `--speed must be a positive number, got ${String(options.speed)}`);
  let faults: Partial<SimFaults> | undefined;
  try {
    faults = typeof options.faults === 'string' ? parseFaultSpec(options.faults) : options.faults;
  } catch (err) {
    throw new SimError(SimErrorCode.Config, (err as Error).message, { faults: options.faults });
  }
  const startAt = typeof options.startAt === 'string' ? Date.parse(options.startAt) : options.startAt;
  if (startAt !== undefined && Number.isNaN(startAt))
    throw new SimError(SimErrorCode.Config, `--start is not a date: ${String(options.startAt)}`);
  const simulator = new OkxSimulator({
    data: options.data,
    clock: 'realtime',
    speed,
    faults,
    instId: options.instId,
    startAt,
    seed: options.seed,
  });
  const address = await simulator.start({ port: options.port ?? 0, host: options.host });
  const log = options.log ?? ((line: string) => console.log(line));
  log(`okx simulator: REST ${address.restUrl}  WS ${address.wsUrl}/ws/v5/{public,private,business}`);
  log(
    `  replay ×${speed} from ${new Date(simulator.now()).toISOString()}, ${simulator.tape.length} bars of ${simulator.tape.baseMs / 1000}s`,
  );
  log(
    `  demo key: apiKey=${DEFAULT_SIM_CREDENTIAL.apiKey} secret=${DEFAULT_SIM_CREDENTIAL.secretKey} passphrase=${DEFAULT_SIM_CREDENTIAL.passphrase}`,
  );
  if (faults && Object.keys(faults).length > 0) log(`  faults: ${JSON.stringify(faults)}`);
  return { simulator, address, stop: () => simulator.stop() };
}

/** `--data F --speed N --port P --faults S --inst I --start D --seed N` → options (for the CLI wiring). */
export function parseSimulatorArgs(argv: string[]): RunSimulatorOptions {
  const out: RunSimulatorOptions = { data: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const take = () => {
      i++;
      if (value === undefined) throw new SimError(SimErrorCode.Config, `${flag} needs a value`);
      return value;
    };
    switch (flag) {
      case '--data':
        out.data = take();
        break;
      case '--speed':
        out.speed = Number(take());
        break;
      case '--port':
        out.port = Number(take());
        break;
      case '--host':
        out.host = take();
        break;
      case '--faults':
        out.faults = take();
        break;
      case '--inst':
        out.instId = take();
        break;
      case '--start':
        out.startAt = take();
        break;
      case '--seed':
        out.seed = Number(take());
        break;
      default:
        throw new SimError(SimErrorCode.Config, `unknown option ${flag}`);
    }
  }
  return out;
}
