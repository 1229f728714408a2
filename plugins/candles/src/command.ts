import { parseArgs } from 'node:util';
import {
  type Bus,
  canAggregate,
  type CommandDefinition,
  type CommandIo,
  connectBus,
  isTimeframe,
  KOKEX_TOPOLOGY,
  nextBarOpen,
  provisionStream,
  resolveNatsUrl,
  type SeriesKey,
  Streams,
  subject,
} from '@kokex/core';
import { loadExchangeAdapter } from './adapters.js';
import { listDataFiles, resolveDataDir } from './directory.js';
import { DataUsageError } from './errors.js';
import { type PullCandlesResult, type PullProgress, pullCandles } from './pull.js';
import { type CandleSourceSpec, openCandleSource } from './sources.js';

const USAGE = `usage: kokex data pull --inst ID --tf BAR --since DATE [--until DATE] [--venue okx]
                       [--source venue|directory|bundled] [--mode live|demo|sim] [--rest-url URL] [--dir DIR]
       kokex data ls [--dir DIR]

  pull   copies history into MD_RAW (kokex.md.raw.{venue}.{inst}.{tf}), where the validator checks
         it into MD_CANDLES; resumes after the last bar already sent or validated; re-runs store
         nothing twice. --source venue (default) reads the
         venue's REST history through its exchange adapter (--mode live by default; sim = the local
         simulator), directory reads KOKEX_DATA_DIR or --dir, bundled the offline BTC dataset.
         DATE is ISO (2026-01-01, 2026-01-01T12:00Z) or Unix ms; --until is exclusive.
  ls     lists the data directory's candle files and the instruments they serve.`;

const BAR_WIDTH = 24;
/** Timeframes `data ls` says a file can build besides its own. */
const LISTED_TFS = ['5m', '15m', '1H', '4H', '1D', '1Dutc'];

function parseTime(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new DataUsageError(`${flag} is not a date: "${text}"`);
  return ms;
}

function progressLine(p: PullProgress, end: number): string {
  const span = Math.max(1, end - p.from);
  // Measured to the close of the newest bar handled, so the last page reads 100%.
  const ratio = Math.min(1, Math.max(0, (nextBarOpen(p.reached, p.key.tf) - p.from) / span));
  const filled = Math.round(ratio * BAR_WIDTH);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
  return `[${bar}] ${(ratio * 100).toFixed(0).padStart(3)}%  ${p.read.toLocaleString('en-US')} bars read, ${p.stored.toLocaleString('en-US')} stored, at ${new Date(p.reached).toISOString()}`;
}

function summary(r: PullCandlesResult): string {
  const id = `${r.key.venue} ${r.key.inst} ${r.key.tf}`;
  const resumed = r.resumedAfter === undefined ? '' : ` (resumed after ${new Date(r.resumedAfter).toISOString()})`;
  const range =
    r.first === undefined || r.last === undefined
      ? 'nothing new'
      : `${new Date(r.first).toISOString()} … ${new Date(r.last).toISOString()}`;
  return `${id}: ${r.stored} stored, ${r.duplicates} already stored, ${r.rejected} rejected; ${range}${resumed}${r.aborted ? '; stopped early' : ''}`;
}

async function connect(io: CommandIo): Promise<Bus> {
  const bus = await connectBus({ url: resolveNatsUrl(io.env).url, name: 'kokex-data', reconnect: false });
  // Only the two candle streams (the raw inbox it writes, the validated one it resumes from): a
  // data pull must not reshape anything else.
  for (const spec of KOKEX_TOPOLOGY.streams.filter((s) => s.name === Streams.raw || s.name === Streams.candles)) {
    await provisionStream(bus.jsm, spec);
  }
  return bus;
}

async function pull(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      venue: { type: 'string', default: 'okx' },
      inst: { type: 'string' },
      tf: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      source: { type: 'string', default: 'venue' },
      mode: { type: 'string', default: 'live' },
      'rest-url': { type: 'string' },
      dir: { type: 'string' },
    },
  });
  if (!values.inst || !values.tf || !values.since) throw new DataUsageError('pull needs --inst, --tf and --since');
  if (!isTimeframe(values.tf)) throw new DataUsageError(`--tf ${values.tf} is not an OKX bar name (1m, 5m, 1H, 4H, 1D, …)`);
  const key: SeriesKey = { venue: values.venue, inst: values.inst, tf: values.tf };
  try {
    subject('candle', key);
  } catch (err) {
    throw new DataUsageError((err as Error).message);
  }
  const since = parseTime('--since', values.since) as number;
  const until = parseTime('--until', values.until);
  let spec: CandleSourceSpec;
  let closeSource = async () => {};
  switch (values.source) {
    case 'venue': {
      const exchange = await loadExchangeAdapter(key.venue, {
        mode: values.mode,
        ...(values['rest-url'] ? { restUrl: values['rest-url'] } : {}),
      });
      spec = { kind: 'venue', adapter: exchange.adapter };
      closeSource = exchange.close;
      break;
    }
    case 'directory': {
      const dir = resolveDataDir({ explicit: values.dir, env: io.env });
      if (!dir) throw new DataUsageError('--source directory needs --dir or KOKEX_DATA_DIR');
      spec = { kind: 'directory', dir };
      break;
    }
    case 'bundled':
      spec = { kind: 'bundled' };
      break;
    default:
      throw new DataUsageError(`--source must be venue, directory or bundled, not "${values.source}"`);
  }
  const bus = await connect(io);
  try {
    const source = openCandleSource(spec);
    io.print(`pulling ${key.venue} ${key.inst} ${key.tf} from ${await source.describe(key)} into ${subject('rawCandle', key)} (the validator checks them into ${subject('candle', key)})`);
    // Without --until a venue goes up to its current bar; the bar measures against the wall clock then.
    const end = until ?? Date.now();
    const result = await pullCandles({
      bus,
      source,
      key,
      since,
      until,
      signal: io.signal,
      onProgress: (p) => io.progress(progressLine(p, end)),
      onRejected: (c, reason) => io.print(`rejected ${new Date(c.ts).toISOString()}: ${reason}`),
    });
    io.print('');
    io.print(summary(result));
    return result.aborted ? 130 : 0;
  } finally {
    await bus.close();
    await closeSource();
  }
}

async function list(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { dir: { type: 'string' } } });
  const dir = resolveDataDir({ explicit: values.dir, env: io.env });
  if (!dir) throw new DataUsageError('ls needs --dir or KOKEX_DATA_DIR');
  const files = await listDataFiles(dir);
  io.print(`${dir}: ${files.length} candle file(s)`);
  for (const f of files) {
    const serves =
      f.exchange === 'okx' ? f.symbol : `any ${f.symbol} instrument (e.g. ${f.symbol.slice(0, 3)}-${f.symbol.slice(3)}, …-SWAP)`;
    const bars = [f.tf, ...LISTED_TFS.filter((tf) => canAggregate(f.tf, tf))];
    io.print(`  ${f.name.padEnd(46)} ${serves}: ${bars.join(' ')}`);
  }
  return 0;
}

/** `kokex data pull|ls`. */
export const dataCommand: CommandDefinition = {
  name: 'data',
  summary: 'pull candle history into MD_CANDLES (venue, data directory or bundled dataset); list the data directory',
  usage: USAGE,
  async run(args, io) {
    const [verb, ...rest] = args;
    try {
      if (verb === 'pull') return await pull(rest, io);
      if (verb === 'ls') return await list(rest, io);
      if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') {
        io.print(USAGE);
        return verb === undefined ? 2 : 0;
      }
      throw new DataUsageError(`unknown data command "${verb}"`);
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (err instanceof DataUsageError || code.startsWith('ERR_PARSE_ARGS')) {
        io.print(`kokex data: ${(err as Error).message}`);
        io.print(USAGE);
        return 2;
      }
      throw err;
    }
  },
};
