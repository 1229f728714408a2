import { z } from 'zod';

/**
 * The `mongo` store's configuration (strict). The history actor passes `url` from the environment
 * variable it names (`MONGO_URL`), never from a plan or a host config, since it may hold a password;
 * the rest comes from the actor's `adapters: {mongo: {…}}` settings.
 */
export const mongoStoreConfigSchema = z
  .object({
    /** `mongodb://` or `mongodb+srv://` URL. */
    url: z.string().min(1),
    /** Database name. Default: the URL's, else `kokex`. */
    database: z.string().min(1).optional(),
    /** How long `open()` waits for MongoDB. Default 5 s. */
    connectTimeoutMs: z.number().int().positive().default(5000),
  })
  .strict();
export type MongoStoreConfig = z.output<typeof mongoStoreConfigSchema>;
export type MongoStoreOptions = z.input<typeof mongoStoreConfigSchema>;
