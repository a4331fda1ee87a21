/**
 * Seeded randomness. Every case gets its own generator, derived from the run's seed and the
 * case's number, so any single case can be replayed without running the ones before it.
 */
import { mulberry32 } from '../prng.js';

/** A seeded source of numbers and choices. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform integer in [lo, hi]. */
  between(lo: number, hi: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
}

/** Mixes the run seed, a stream number and a case number into one 32-bit seed (murmur3 finaliser). */
export function caseSeed(runSeed: number, stream: number, index: number): number {
  let h = (runSeed ^ Math.imul(stream + 1, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Case streams: a DICOM case and a request case with the same number are unrelated. */
export const STREAM = { dicom: 1, request: 2 } as const;

/** A generator for one case. */
export function randomFor(runSeed: number, stream: number, index: number): Random {
  const next = mulberry32(caseSeed(runSeed, stream, index));
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    between: (lo, hi) => lo + int(hi - lo + 1),
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[int(items.length)] as T;
    },
    bytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = int(256);
      return out;
    },
  };
}
