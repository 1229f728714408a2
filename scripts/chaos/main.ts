/**
 * `npm run chaos [-- --minutes N] [--seed S] [--kill-every S] [--forge a,b] [--json] [--keep]`: the chaos harness
 * (issue 12). Runs the demo plan under kills and forged messages for N minutes (default 10) and
 * prints the table; `--json` prints the report as one JSON object instead. Exit 0 when every
 * loss, duplicate, disagreement and forged-acted-on count is 0 (out of order is reported only), else 1.
 */
import { chaosTable, FORGERIES, type Forgery, runChaos } from './harness.js';
import { flags } from './lib.js';

const f = flags(process.argv.slice(2));
const minutes = Number(f.get('minutes') ?? 10);
if (!(minutes > 0)) {
  process.stderr.write('usage: npm run chaos -- [--minutes N] [--seed S] [--kill-every SECONDS] [--forge a,b] [--json] [--keep]\n');
  process.exit(2);
}
const json = f.has('json');
const forge = f.get('forge')?.split(',').filter(Boolean) as Forgery[] | undefined;
const unknown = forge?.filter((x) => !(FORGERIES as readonly string[]).includes(x));
if (unknown?.length) {
  process.stderr.write(`--forge takes ${FORGERIES.join(',')} (got ${unknown.join(',')})\n`);
  process.exit(2);
}
const report = await runChaos({
  minutes,
  ...(f.has('seed') ? { seed: Number(f.get('seed')) } : {}),
  ...(f.has('kill-every') ? { killEveryS: Number(f.get('kill-every')) } : {}),
  keep: f.has('keep'),
  ...(forge ? { forge } : {}),
  print: (line) => process.stderr.write(`chaos: ${line}\n`),
});
if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
else process.stdout.write(`\n== chaos (${minutes} min)\n${chaosTable(report)}\n`);
const p = report.positions[0];
// Out of order is in the table, not in the verdict: a bar repaired from the venue after an outage is stored after later ones.
const failed = [
  ...report.candles
    .filter((c) => c.lost !== 0 || c.duplicated !== 0)
    .map((c) => `candles ${c.series}: lost ${c.lost}, duplicated ${c.duplicated}`),
  ...(report.intentsWithoutVerdict + report.verdictsWithoutIntent + report.approvalsWithoutVerdict + report.clientOrderIdsPlacedTwice !== 0
    ? ['intents, verdicts, approvals or client order ids unmatched']
    : []),
  ...(report.venueOrdersTwice !== 0 ? ['an order placed twice at the venue'] : []),
  ...(report.forgedActedOn !== 0 ? ['a forged message acted on'] : []),
  ...(p === undefined || p.venue === null ? ['no venue position read'] : []),
  ...(p && p.guard !== p.venue ? [`the running guard's position ${p.guard} is not the venue's ${p.venue}`] : []),
  ...(p && p.executorFills !== p.venue ? [`the executor's fills net ${p.executorFills}, not the venue's ${p.venue}`] : []),
  // The books `kokex orders` rebuilds from ORDERS are what a restarted guard without a snapshot would hold.
  ...(p && p.guardRebuilt !== p.venue ? [`the books rebuilt from ORDERS hold ${p.guardRebuilt}, not the venue's ${p.venue}`] : []),
];
for (const line of failed) process.stderr.write(`chaos: FAILED: ${line}\n`);
process.exit(failed.length === 0 ? 0 : 1);
