/**
 * Rewrites the tables of docs/subjects.md from the catalogue in core (`npm run docs:subjects`).
 * A test fails when the committed file and the catalogue disagree, so run this after changing a
 * subject family, a stream, a bucket or a catalogue entry. The prose around the tables is kept.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { withCatalogueTables } from '@kokex/core';

const target = fileURLToPath(new URL('../docs/subjects.md', import.meta.url));
const before = await readFile(target, 'utf8');
const after = withCatalogueTables(before);
if (after === before) console.log(`${target} is up to date`);
else {
  await writeFile(target, after);
  console.log(`wrote ${target}`);
}
