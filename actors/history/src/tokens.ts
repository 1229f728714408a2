/**
 * DI token of this package: a `HistoryStore` registered under it in the host's container replaces
 * the MongoDB store (tests use an in-memory one; another database could be plugged in the same way).
 */
export const HISTORY_STORE = Symbol.for('kokex.history.Store');
