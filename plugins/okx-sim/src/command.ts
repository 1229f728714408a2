import { type CommandDefinition, type CommandIo, connectBus } from '@kokex/core';
import { resetSimAccounts, simAccountKey } from './account-store.js';
import { OKX_SIM_DEFAULT_PORT } from './actor.js';
import { parseSimulatorArgs, type RunSimulatorOptions, runSimulator } from './cli.js';
import { SimError } from './errors.js';
import { chooseReplayData, spotInstrument } from './replay-data.js';

const USAGE = `usage: kokex sim okx [--data FILE] [--speed N] [--port P] [--faults SPEC] [--inst ID] [--start DATE] [--seed N]
       kokex sim reset [--inst ID]   forget the simulated accounts kept on the bus (the next start opens fresh ones)

  Runs the OKX V5 simulator on localhost until Ctrl-C: REST and WebSocket on one port (default
  ${OKX_SIM_DEFAULT_PORT}, where the okx adapter's sim mode connects), replaying 1m candles at N× real time.
  --data   CSV or CSV.gz (ts,open,high,low,close,volume); default: the 1m file of --inst in
           KOKEX_DATA_DIR, else the bundled BTC-USD dataset
  --inst   instrument (BTC-USDT or BTC-USDT-SWAP: the spot one is served with its -SWAP twin; default BTC-USDT)
  --faults skip=0.05,dup=0.05,reorder=0.05,malformed=0.01,drop=30,dropbars=500,notice=60,
           noticebars=500,grace=60000,50011=0.1,slow=200,badbody=0.01,private,nopong`;

/** `npx kokex sim okx --data FILE --speed N [--port P] [--faults SPEC]`. */
export const simCommand: CommandDefinition = {
  name: 'sim',
  summary: 'run the OKX V5 simulator on localhost (real candles replayed, fault switches)',
  usage: USAGE,
  async run(args, io) {
    const [venue, ...rest] = args;
    if (venue === '--help' || venue === '-h' || venue === 'help') {
      io.print(USAGE);
      return 0;
    }
    if (venue === 'reset') return resetCommand(rest, io);
    let options: RunSimulatorOptions;
    try {
      if (venue !== 'okx') throw new Error(venue ? `no simulator for venue "${venue}" (only okx)` : 'name the venue: kokex sim okx');
      options = parseSimulatorArgs(rest);
    } catch (err) {
      io.print(`kokex sim: ${(err as Error).message}`);
      io.print(USAGE);
      return 2;
    }
    if (options.data === undefined) {
      const data = await chooseReplayData({
        inst: options.instId ?? 'BTC-USDT',
        env: io.env,
        onSkip: (reason) => io.print(`data: ${reason}`),
      });
      io.print(`data: ${data.origin}`);
      options.data = data.bars;
    }
    // The simulator lists a spot instrument and its -SWAP twin: `--inst BTC-USDT-SWAP` means BTC-USDT.
    if (options.instId) options.instId = spotInstrument(options.instId);
    let running: Awaited<ReturnType<typeof runSimulator>>;
    try {
      running = await runSimulator({ ...options, port: options.port ?? OKX_SIM_DEFAULT_PORT, log: io.print });
    } catch (err) {
      if (!(err instanceof SimError)) throw err;
      io.print(`kokex sim: ${err.message}`);
      return 2;
    }
    io.print('Ctrl-C stops it');
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await running.stop();
    io.print('simulator stopped');
    return 0;
  },
};

/**
 * `kokex sim reset [--inst ID]`: the simulator started by plans keeps its accounts in the
 * `kokex-sim` bucket across restarts, as a venue would; starting over is an explicit act.
 */
async function resetCommand(args: string[], io: CommandIo): Promise<number> {
  const i = args.indexOf('--inst');
  const inst = i >= 0 ? args[i + 1] : 'BTC-USDT';
  if (!inst || args.some((a, j) => a.startsWith('-') && a !== '--inst' && j !== i + 1)) {
    io.print('usage: kokex sim reset [--inst ID]');
    return 2;
  }
  const key = simAccountKey(spotInstrument(inst));
  const bus = await connectBus({ name: 'kokex-sim-reset', reconnect: false });
  try {
    const had = await resetSimAccounts(bus, key);
    io.print(
      had
        ? `simulated accounts for ${spotInstrument(inst)} forgotten; the next start opens fresh ones`
        : `no simulated accounts kept for ${spotInstrument(inst)}`,
    );
    return 0;
  } finally {
    await bus.close();
  }
}
