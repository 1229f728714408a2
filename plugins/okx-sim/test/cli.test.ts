import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseFaultSpec, parseSimulatorArgs, runSimulator, SimErrorCode, syntheticCandles } from '../src/index.js';
import { waitFor } from './helpers.js';

describe('runSimulator (npx kokex sim okx)', () => {
  it('replays a CSV.gz file in real time at the given speed', async () => {
    const bars = syntheticCandles({ count: 200 });
    const csv = ['ts,open,high,low,close,volume', ...bars.map((b) => [b.ts, b.open, b.high, b.low, b.close, b.volume].join(','))].join(
      '\n',
    );
    const file = join(mkdtempSync(join(tmpdir(), 'okx-sim-cli-')), 'btc.csv.gz');
    writeFileSync(file, gzipSync(csv));
    const lines: string[] = [];
    const running = await runSimulator({ data: file, speed: 6000, port: 0, faults: 'dup=0.1', log: (l) => lines.push(l) });
    try {
      expect(running.address.restUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(lines[0]).toContain(running.address.wsUrl);
      const start = running.simulator.now();
      // 6000× real time: a simulated minute every 10 ms.
      await waitFor(() => running.simulator.now() >= start + 5 * 60_000, 5000, 'replay to advance');
      expect(running.simulator.faults.duplicatePushes).toBe(0.1);
    } finally {
      await running.stop();
    }
  });

  it('refuses to start without data or with a bad speed, with a stable code', async () => {
    await expect(runSimulator({ data: undefined })).rejects.toMatchObject({ code: SimErrorCode.Config });
    await expect(runSimulator({ data: syntheticCandles({ count: 5 }), speed: 0 })).rejects.toMatchObject({ code: SimErrorCode.Config });
  });

  it('parses the command line and the fault spec', () => {
    expect(parseSimulatorArgs(['--data', 'f.csv.gz', '--speed', '60', '--port', '9000', '--faults', 'skip=0.1'])).toEqual({
      data: 'f.csv.gz',
      speed: 60,
      port: 9000,
      faults: 'skip=0.1',
    });
    expect(parseFaultSpec('skip=0.05,dup=0.1,reorder=0.2,drop=30,notice=60,50011=0.1,slow=200,malformed=0.01,nopong')).toEqual({
      skipPushes: 0.05,
      duplicatePushes: 0.1,
      reorderPushes: 0.2,
      dropEverySec: 30,
      noticeEverySec: 60,
      rateLimit50011: 0.1,
      slowResponseMs: 200,
      malformedFrames: 0.01,
      dropPongs: true,
    });
    expect(() => parseFaultSpec('explode=1')).toThrow(/unknown fault/);
    expect(() => parseSimulatorArgs(['--what'])).toThrow(/unknown option/);
  });
});
