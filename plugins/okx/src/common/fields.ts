import { OkxParseError } from '../errors.js';

// Field readers for OKX objects: every OKX number is a string, and "" means "not applicable".

export type RawObject = Record<string, unknown>;

export function asObject(value: unknown, what: string): RawObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OkxParseError(`${what}: expected an object, got ${describe(value)}`, { value: preview(value) });
  }
  return value as RawObject;
}

export function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new OkxParseError(`${what}: expected an array, got ${describe(value)}`, { value: preview(value) });
  return value;
}

/** A string field that must be present and non-empty. */
export function reqStr(obj: RawObject, key: string, what: string): string {
  const v = obj[key];
  if (typeof v === 'string' && v.length > 0) return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new OkxParseError(`${what}: field "${key}" missing or empty`, { key, value: preview(v) });
}

/** A string field where "" or absence means undefined. */
export function optStr(obj: RawObject, key: string): string | undefined {
  const v = obj[key];
  if (typeof v === 'string') return v.length > 0 ? v : undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** A numeric string that must parse to a finite number. */
export function reqNum(obj: RawObject, key: string, what: string): number {
  const n = toNumber(obj[key]);
  if (n === undefined) throw new OkxParseError(`${what}: field "${key}" is not a number`, { key, value: preview(obj[key]) });
  return n;
}

/** A numeric string where "" or absence means undefined; garbage is an error, not undefined. */
export function optNum(obj: RawObject, key: string, what: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null || v === '') return undefined;
  const n = toNumber(v);
  if (n === undefined) throw new OkxParseError(`${what}: field "${key}" is not a number`, { key, value: preview(v) });
  return n;
}

export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** A short rendering for error data, so a huge frame does not end up in logs whole. */
export function preview(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? v : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return s === undefined ? 'undefined' : s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
