/**
 * `npm run chaos [-- --minutes N] [--seed S] [--kill-every S] [--forge a,b] [--json] [--keep]`: the chaos harness
 * (issue 12). Runs the demo plan under kills and forged messages for N minutes (default 10) and
 * prints the table; `--json` prints the report as one JSON object instead. Exit 0 when every
 * loss, duplicate, disagreement and forged-acted-on count is 0 (out of order is reported only), else 1.
 */
import { chaosFailures, chaosTable, FORGERIES, type Forgery, runChaos } from './harness.js';
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
const failed = chaosFailures(report);
for (const line of failed) process.stderr.write(`chaos: FAILED: ${line}\n`);
process.exit(failed.length === 0 ? 0 : 1);
