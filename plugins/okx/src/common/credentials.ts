/** An OKX API key. The secret is used as UTF-8 text (never base64-decoded). */
export interface OkxCredentials {
  apiKey: string;
  secretKey: string;
  passphrase: string;
}

/** Reads `OKX_API_KEY`, `OKX_API_SECRET`, `OKX_API_PASSPHRASE`; undefined unless all three are set. */
export function credentialsFromEnv(env: Record<string, string | undefined> = process.env): OkxCredentials | undefined {
  const apiKey = env.OKX_API_KEY;
  const secretKey = env.OKX_API_SECRET;
  const passphrase = env.OKX_API_PASSPHRASE;
  if (!apiKey || !secretKey || !passphrase) return undefined;
  return { apiKey, secretKey, passphrase };
}

/** For logs: the key's first and last characters only, never the secret or passphrase. */
export function redactCredentials(credentials: OkxCredentials | undefined): string {
  if (!credentials) return '(none)';
  const k = credentials.apiKey;
  return k.length <= 8 ? '****' : `${k.slice(0, 4)}…${k.slice(-4)}`;
}
