/**
 * Modality values made when first needed. A decoded frame keeps its stored cells (a view of the
 * file, or the codec's output) with the rescale to apply; `frame.values` makes the float32
 * array on first read. Display (display.ts) reads the same numbers through a reused scratch
 * array instead, so a frame that is only displayed never allocates its values.
 */
import { writeRescaled } from './stored.js';
import type { StoredSamples } from './stored.js';
import type { ModalityFrame } from './types.js';

interface Pending {
  readonly samples: StoredSamples;
  readonly slope: number;
  readonly intercept: number;
}

/** Frames whose values have not been made yet. */
const pending = new WeakMap<ModalityFrame, Pending>();

/**
 * A frame whose `values` are `stored × slope + intercept` (double precision, then float32),
 * made on first read of `values`.
 */
export function lazyModalityFrame(base: Omit<ModalityFrame, 'values'>, samples: StoredSamples, slope: number, intercept: number): ModalityFrame {
  let values: Float32Array | undefined;
  const frame = Object.defineProperty({ ...base }, 'values', {
    enumerable: true,
    get(): Float32Array {
      if (values === undefined) {
        values = new Float32Array(samples.length);
        writeRescaled(samples, values, slope, intercept);
        pending.delete(frame);
      }
      return values;
    },
  }) as ModalityFrame;
  pending.set(frame, { samples, slope, intercept });
  return frame;
}

/** Reused by {@link modalityValues}; display is synchronous, so one suffices. */
let scratch = new Float32Array(0);
/** Frames up to this many samples (16 MiB of float32) share the scratch; larger ones get their own array. */
const SCRATCH_MAX = 4 * 1024 * 1024;

/**
 * The frame's modality values for immediate, read-only use: `frame.values` when made, else the
 * same numbers written into a scratch array that the next call overwrites.
 */
export function modalityValues(frame: ModalityFrame): Float32Array {
  const lazy = pending.get(frame);
  if (lazy === undefined) return frame.values;
  const n = lazy.samples.length;
  let view: Float32Array;
  if (n > SCRATCH_MAX) {
    view = new Float32Array(n);
  } else {
    if (scratch.length < n) scratch = new Float32Array(Math.min(SCRATCH_MAX, Math.max(n, scratch.length * 2)));
    view = scratch.length === n ? scratch : scratch.subarray(0, n);
  }
  writeRescaled(lazy.samples, view, lazy.slope, lazy.intercept);
  return view;
}
