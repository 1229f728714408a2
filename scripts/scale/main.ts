/**
 * `npm run scale [-- --window S] [--speed N] [--json] [--keep]`: the local scale proof (issue 13
 * item 6) on a 3-node nats-server cluster. Prints the table (or `--json`, the report); exit 0 when
 * every loss and duplicate count is 0 and every kill's lag drained, else 1.
 */
import { flags } from '../chaos/lib.js';
import { runScale, scaleTable } from './harness.js';

const f = flags(process.argv.slice(2));
const report = await runScale({
  ...(f.has('window') ? { windowS: Number(f.get('window')) } : {}),
  ...(f.has('speed') ? { speed: Number(f.get('speed')) } : {}),
  keep: f.has('keep'),
  print: (line) => process.stderr.write(`scale: ${line}\n`),
});
if (f.has('json')) process.stdout.write(`${JSON.stringify(report)}\n`);
else process.stdout.write(`\n== scale\n${scaleTable(report)}\n`);
const zero =
  report.candles.every((c) => (c.lost === 0 || Number.isNaN(c.lost)) && c.duplicated === 0) &&
  report.intentsWithoutVerdict + report.clientOrderIdsPlacedTwice + report.venueOrdersTwice === 0 &&
  report.kills.every((k) => !Number.isNaN(k.drainedAfterS));
process.exit(zero ? 0 : 1);
