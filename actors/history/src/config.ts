import { z } from 'zod';

/**
 * The history projector's configuration (strict). The store is a `store` adapter resolved by name
 * (`mongo`, from @kokex/plugin-store-mongo, by default). Its URL is never config: it may hold a
 * password, and config is logged and stored. It comes from the environment variable named here;
 * when that is unset the actor runs idle.
 */
export const historyConfigSchema = z
  .object({
    store: z
      .object({
        /** The `store` adapter to project into. Default `mongo`. */
        adapter: z.string().min(1).default('mongo'),
        /**
         * Environment variable holding the store's URL, passed to the adapter as `url`. Default
         * MONGO_URL. `null` for a store that needs no URL (the actor is then never idle).
         */
        urlEnv: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
          .nullable()
          .default('MONGO_URL'),
      })
      .strict()
      .default({}),
    /** Settings per store adapter name (`mongo: {database: kokex, connectTimeoutMs: 5000}`). */
    adapters: z.record(z.record(z.unknown())).default({}),
    /** Prefix of the durable consumers (`history-turns`, `history-intents`, …). Default `history`. */
    durablePrefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('history'),
    /** Messages projected at once per consumer. Default 64. */
    maxInFlight: z.number().int().positive().default(64),
  })
  .strict();
export type HistoryConfig = z.output<typeof historyConfigSchema>;
export type HistoryOptions = z.input<typeof historyConfigSchema>;
