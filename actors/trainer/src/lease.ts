import { type Bus, Buckets } from '@kokex/core';
import { LeaseHeldError } from './errors.js';

/**
 * A lease in the `kokex-leases` KV bucket, whose entries expire 60 s after their last write: the
 * holder creates the key (which fails when another holds it), rewrites it every `refreshMs` with
 * the revision it last wrote (which fails when the lease was lost), and deletes it at the end. A
 * holder that dies stops refreshing and its lease expires by itself.
 *
 * Refreshes run on the wall clock, not the injected one: the expiry they race is the server's.
 */
export interface LeaseHolder {
  jobId: string;
  instanceId: string;
  hostId: string;
  plan: string;
  since: number;
}

export interface Lease {
  readonly key: string;
  /** Aborted when a refresh finds the lease taken or gone. */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

/** Well inside the bucket's 60 s expiry, so two missed refreshes still keep the lease. */
export const LEASE_REFRESH_MS = 15_000;

export function leaseKey(inst: string, tf: string): string {
  return `trainer.${inst}.${tf}`;
}

const encode = (holder: LeaseHolder) => new TextEncoder().encode(JSON.stringify(holder));

/** The current holder of a lease, when there is one. */
export async function leaseHolder(bus: Bus, key: string): Promise<LeaseHolder | undefined> {
  const kv = await bus.kv(Buckets.leases);
  const entry = await kv.get(key);
  if (entry?.operation !== 'PUT' || entry.length === 0) return undefined;
  try {
    return entry.json<LeaseHolder>();
  } catch {
    return undefined;
  }
}

/** Takes the lease or throws LeaseHeldError naming the holder. */
export async function acquireLease(bus: Bus, key: string, holder: LeaseHolder, refreshMs = LEASE_REFRESH_MS): Promise<Lease> {
  const kv = await bus.kv(Buckets.leases);
  let revision: number;
  try {
    revision = await kv.create(key, encode(holder));
  } catch (err) {
    const current = await leaseHolder(bus, key);
    // A create that failed for another reason than "exists" (the bucket gone, no connection) is not a held lease.
    if (!current) throw err;
    throw new LeaseHeldError(key, { ...current });
  }
  const lost = new AbortController();
  let released = false;
  const timer = setInterval(() => {
    void kv.update(key, encode(holder), revision).then(
      (next) => {
        revision = next;
      },
      (err: unknown) => {
        if (released) return;
        clearInterval(timer);
        lost.abort(err);
      },
    );
  }, refreshMs);
  timer.unref();
  return {
    key,
    lost: lost.signal,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      // Only our own revision is deleted; a lease already lost to another holder stays theirs.
      await kv.delete(key, { previousSeq: revision }).catch(() => undefined);
    },
  };
}
