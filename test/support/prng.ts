/**
 * Deterministic pseudo-random numbers (the tools' mulberry32), so a failing generated case can be
 * replayed from its seed.
 */
import { mulberry32 } from '../../tools/prng.js';

/** A generator of numbers in [0, 1) from `seed`. */
export const prng = mulberry32;
