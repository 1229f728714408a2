/** Reconnect timing: exponential with jitter, so a fleet of clients does not reconnect in step. */
export interface BackoffOptions {
  /** Delay before the first retry. Default 250 ms. */
  initialDelayMs?: number;
  /** Cap. Default 30,000 ms. */
  maxDelayMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Fraction of the delay that is randomised away (0 = none, 1 = full jitter). Default 0.5. */
  jitter?: number;
}

/**
 * Delay before retry number `attempt` (0-based): min(max, initial·factor^attempt), of which a
 * random `jitter` fraction is taken off. `random` is injectable for deterministic tests.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 30_000;
  const factor = options.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const base = Math.min(max, initial * factor ** Math.max(0, attempt));
  return Math.round(base * (1 - jitter * random()));
}
