import { z } from 'zod';
import { durationField, uniqueListField } from './fields.js';

/**
 * Where candle history comes from, tried in order: `venue` (the venue's REST history, the
 * simulator's in sim mode), `directory` (CSV files in `data.directory` or KOKEX_DATA_DIR),
 * `bundled` (the offline dataset installed as an npm dependency).
 */
export const DATA_SOURCES = ['venue', 'directory', 'bundled'] as const;
export type DataSource = (typeof DATA_SOURCES)[number];

export const dataSchema = z
  .object({
    window: durationField('History kept, backfilled, validated and trained on, counted back from now.').default('30d'),
    sources: uniqueListField(
      z.enum(DATA_SOURCES),
      'source',
      'Where history comes from, tried in order: venue, directory, bundled.',
    ).default(['venue']),
    directory: z
      .string()
      .min(1)
      .optional()
      .describe('Directory of candle CSV files for the directory source, relative to the plan file. Default: KOKEX_DATA_DIR.'),
    scanEvery: durationField('How often the validator re-scans the whole window for gaps and bad bars.').default('6h'),
  })
  .strict()
  .describe('Candle history: how far back and from where.');
