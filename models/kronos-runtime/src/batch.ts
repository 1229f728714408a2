/**
 * Row-major batch helpers for tensors laid out as [outer, batch, inner] (outer = 1 for [batch, ...]).
 * The loop keeps one row per sample path; these copy rows between batch layouts without touching
 * values.
 */
type Typed = Float32Array | BigInt64Array;

/** Rows picked from a source batch: out[o][b] = src[o][pick[b]], for layout [outer, srcBatch, inner]. */
export function gatherRows<T extends Typed>(src: T, outer: number, srcBatch: number, inner: number, pick: ArrayLike<number>): T {
  const rows = pick.length;
  const out = new (src.constructor as new (n: number) => T)(outer * rows * inner);
  for (let o = 0; o < outer; o++) {
    for (let b = 0; b < rows; b++) {
      const from = (o * srcBatch + (pick[b] as number)) * inner;
      out.set(src.subarray(from, from + inner) as never, (o * rows + b) * inner);
    }
  }
  return out;
}

/** Columns [start, end) of every row of a [rows, width, inner] buffer. */
export function sliceColumns<T extends Typed>(src: T, rows: number, width: number, inner: number, start: number, end: number): T {
  const n = end - start;
  const out = new (src.constructor as new (n: number) => T)(rows * n * inner);
  for (let r = 0; r < rows; r++) out.set(src.subarray((r * width + start) * inner, (r * width + end) * inner) as never, r * n * inner);
  return out;
}

/** [rows, la, inner] followed by [rows, lb, inner] along the sequence axis. */
export function concatColumns(a: Float32Array, la: number, b: Float32Array, lb: number, rows: number, inner: number): Float32Array {
  const out = new Float32Array(rows * (la + lb) * inner);
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * la * inner, (r + 1) * la * inner), r * (la + lb) * inner);
    out.set(b.subarray(r * lb * inner, (r + 1) * lb * inner), (r * (la + lb) + la) * inner);
  }
  return out;
}
