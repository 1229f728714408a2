import type { CommandDefinition } from '@kokex/core';
import { OKX_SIM_DEFAULT_PORT } from './actor.js';
import { parseSimulatorArgs, type RunSimulatorOptions, runSimulator } from './cli.js';
import { SimError } from './errors.js';
import { chooseReplayData, spotInstrument } from './replay-data.js';

const USAGE = `usage: kokex sim okx [--data FILE] [--speed N] [--port P] [--faults SPEC] [--inst ID] [--start DATE] [--seed N]

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
