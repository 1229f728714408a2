import { z } from 'zod';

/**
 * The history projector's configuration (strict). The MongoDB URL itself is never config: it may
 * hold a password, and config is logged and stored. It comes from the environment variable named
 * here; when that is unset the actor runs idle.
 */
export const historyConfigSchema = z
  .object({
    /** Environment variable holding the MongoDB URL. Default MONGO_URL. */
    mongoUrlEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .default('MONGO_URL'),
    /** Database name. Default: the URL's, else `kokex`. */
    database: z.string().min(1).optional(),
    /** Prefix of the durable consumers (`history-turns`, `history-intents`, …). Default `history`. */
    durablePrefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('history'),
    /** Messages projected at once per consumer. Default 64. */
    maxInFlight: z.number().int().positive().default(64),
    /** How long to wait for MongoDB on start. Default 5 s. */
    connectTimeoutMs: z.number().int().positive().default(5000),
  })
  .strict();
export type HistoryConfig = z.output<typeof historyConfigSchema>;
export type HistoryOptions = z.input<typeof historyConfigSchema>;
