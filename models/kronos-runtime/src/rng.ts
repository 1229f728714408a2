/**
 * A small seeded generator (xoshiro128**, seeded through splitmix32). Every sample path gets its
 * own stream, derived from the forecast seed and the path's index, so a path draws the same numbers
 * whether it runs alone or batched with others, and a seeded forecast is reproducible bit for bit.
 */
export interface Rng {
  /** Uniform in [0, 1) with 53 random bits. */
  next(): number;
}

function splitmix32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

class Xoshiro128 implements Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  constructor(seed: number, stream: number) {
    // Seeds up to 2^53 keep their high bits; the stream index makes per-path streams independent.
    const low = seed >>> 0;
    const high = Math.floor(seed / 2 ** 32) >>> 0;
    const mix = splitmix32(low ^ Math.imul(high, 0x85ebca6b) ^ Math.imul(stream + 1, 0x27d4eb2f));
    this.#s0 = mix();
    this.#s1 = mix();
    this.#s2 = mix();
    this.#s3 = mix() | 1; // never the all-zero state
  }

  #next32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  next(): number {
    const a = this.#next32() >>> 5;
    const b = this.#next32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }
}

/** A generator for one stream of a seed (a forecast's seed and a path index). */
export function createRng(seed: number, stream = 0): Rng {
  return new Xoshiro128(seed, stream);
}
