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

/** Modality values as display reads them: float32, or integer cells that equal their float32 values. */
export type SampleArray = Float32Array | Uint8Array | Uint8ClampedArray | Int8Array | Uint16Array | Int16Array;

const EXACT_CELLS: ReadonlySet<string> = new Set(['[object Uint8Array]', '[object Uint8ClampedArray]', '[object Int8Array]', '[object Uint16Array]', '[object Int16Array]']);

/** Cells of 16 bits or fewer that are their own stored values, unrescaled: each equals its float32 Modality value. */
function exactCells(p: Pending): SampleArray | undefined {
  const { cells, length, plain } = p.samples;
  if (!plain || p.slope !== 1 || p.intercept !== 0 || !EXACT_CELLS.has(Object.prototype.toString.call(cells))) return undefined;
  const typed = cells as Exclude<SampleArray, Float32Array>;
  return typed.length === length ? typed : typed.subarray(0, length);
}

/** Reused by {@link modalityValues}; display is synchronous, so one suffices. */
let scratch = new Float32Array(0);
/** Frames up to this many samples (16 MiB of float32) share the scratch; larger ones get their own array. */
const SCRATCH_MAX = 4 * 1024 * 1024;

/**
 * The frame's modality values for immediate, read-only use: `frame.values` when made; else the
 * cells themselves when they equal the values (8- and 16-bit cells, no rescale), which saves
 * writing and reading a copy; else the same numbers written into a scratch array that the next
 * call overwrites.
 */
export function modalityValues(frame: ModalityFrame): SampleArray {
  const lazy = pending.get(frame);
  if (lazy === undefined) return frame.values;
  const exact = exactCells(lazy);
  if (exact !== undefined) return exact;
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
