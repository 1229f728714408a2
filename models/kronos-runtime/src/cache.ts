import { Tensor } from 'onnxruntime-node';

/**
 * The caches of the in-place KV path (graph contract 2), owned by the runtime:
 *  - history keys/values, one tensor per layer [G, H, T, hd], written once by the prefill and read
 *    by every path of each of the G series (the graphs group B = G × S rows, S per series);
 *  - generated-position keys/values, one preallocated buffer per layer [B, H, C, hd] of C slots.
 *    Each step's graph returns only the new position's keys and values (B × H × hd floats per
 *    layer) and the runtime writes them into slot `gen_len` of the same buffer, which stays wrapped
 *    in the same Tensor for the whole forecast: no step copies, restacks or reallocates a cache.
 *    Slots past `gen_len` are masked inside the graphs.
 */

/** Per-layer tensors [G, H, T, hd] of a stacked [layers, G, H, T, hd] output (each layer copied once). */
export function layerTensors(stacked: Tensor): Tensor[] {
  const [layers, ...dims] = stacked.dims as number[];
  const data = stacked.data as Float32Array;
  const size = dims.reduce((a, b) => a * b, 1);
  return Array.from({ length: layers ?? 0 }, (_, l) => new Tensor('float32', data.slice(l * size, (l + 1) * size), dims));
}

/** Rows picked from a [rows, ...] tensor: out[b] = src[pick[b]] (a shared history tiled for unequal path counts). */
export function pickRows(t: Tensor, pick: ArrayLike<number>): Tensor {
  const dims = t.dims as number[];
  const inner = dims.slice(1).reduce((a, b) => a * b, 1);
  const src = t.data as Float32Array;
  const out = new Float32Array(pick.length * inner);
  for (let b = 0; b < pick.length; b++) out.set(src.subarray((pick[b] as number) * inner, ((pick[b] as number) + 1) * inner), b * inner);
  return new Tensor('float32', out, [pick.length, ...dims.slice(1)]);
}

/** A [rows, heads, capacity, dim] buffer of slots, one Tensor over it for the whole forecast. */
export class SlotCache {
  readonly data: Float32Array;
  readonly tensor: Tensor;

  constructor(
    readonly rows: number,
    readonly heads: number,
    readonly capacity: number,
    readonly dim: number,
  ) {
    this.data = new Float32Array(rows * heads * capacity * dim);
    this.tensor = new Tensor('float32', this.data, [rows, heads, capacity, dim]);
  }

  /** Writes one position, [rows, heads, 1, dim] at `offset` of `src`, into `slot`. */
  write(slot: number, src: Float32Array, offset = 0): void {
    if (slot >= this.capacity) return; // past the last step that reads it
    const { dim, capacity, data } = this;
    const n = this.rows * this.heads;
    if (dim < 32) {
      // Short rows (the shipped model's 16 floats): a plain loop, 4–8× faster than a subarray per row.
      for (let rh = 0; rh < n; rh++) {
        const from = offset + rh * dim;
        const to = (rh * capacity + slot) * dim;
        for (let k = 0; k < dim; k++) data[to + k] = src[from + k] as number;
      }
      return;
    }
    // Long rows (Kronos-small's 64): the native copy wins, 2.3× at 64 floats.
    for (let rh = 0; rh < n; rh++) {
      const from = offset + rh * dim;
      data.set(src.subarray(from, from + dim), (rh * capacity + slot) * dim);
    }
  }
}

/** The predictor's caches for one batch: trunk layers and the s2 head's cross-attention. */
export class PredictorCache {
  readonly genK: SlotCache[];
  readonly genV: SlotCache[];
  readonly crossK: SlotCache;
  readonly crossV: SlotCache;
  /** The per-layer cache inputs of predictor_s1_kv, by input name. */
  readonly feeds: Record<string, Tensor>;

  constructor(
    readonly histK: Tensor[],
    readonly histV: Tensor[],
    readonly crossHistK: Tensor,
    readonly crossHistV: Tensor,
    rows: number,
    heads: number,
    headDim: number,
    capacity: number,
  ) {
    const layers = histK.length;
    this.genK = Array.from({ length: layers }, () => new SlotCache(rows, heads, capacity, headDim));
    this.genV = Array.from({ length: layers }, () => new SlotCache(rows, heads, capacity, headDim));
    const [, crossHeads, , crossDim] = crossHistK.dims as number[];
    this.crossK = new SlotCache(rows, crossHeads as number, capacity, crossDim as number);
    this.crossV = new SlotCache(rows, crossHeads as number, capacity, crossDim as number);
    this.feeds = {};
    for (let l = 0; l < layers; l++) {
      this.feeds[`hist_k_${l}`] = histK[l] as Tensor;
      this.feeds[`hist_v_${l}`] = histV[l] as Tensor;
      this.feeds[`gen_k_${l}`] = (this.genK[l] as SlotCache).tensor;
      this.feeds[`gen_v_${l}`] = (this.genV[l] as SlotCache).tensor;
    }
  }

  /** Stores a step's new_k/new_v [layers, rows, H, 1, hd] into `slot` of every layer. */
  writeTrunk(slot: number, newK: Float32Array, newV: Float32Array): void {
    const per = newK.length / this.genK.length;
    for (const [l, c] of this.genK.entries()) c.write(slot, newK, l * per);
    for (const [l, c] of this.genV.entries()) c.write(slot, newV, l * per);
  }

  writeCross(slot: number, k: Float32Array, v: Float32Array): void {
    this.crossK.write(slot, k);
    this.crossV.write(slot, v);
  }
}
