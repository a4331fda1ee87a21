/**
 * Stored values (PS3.5 8.1.1) without an intermediate copy: a frame's cells as a typed array,
 * with the shifts that take a cell to its stored value (keep bits HighBit−BitsStored+1 …
 * HighBit, sign-extend when PixelRepresentation is 1). The Modality LUT's rescale is applied in
 * the same pass that reads the cells, straight into the frame's float32 values.
 */

/** Cells of one frame and how each becomes its stored value. */
export interface StoredSamples {
  /** Native cells (unsigned, or signed when that makes them plain), or a codec's samples. */
  readonly cells: ArrayLike<number>;
  /** Number of samples to read from the start of `cells`. */
  readonly length: number;
  /** Stored value = signed ? (cell << left) >> right : (cell << left) >>> right. */
  readonly left: number;
  readonly right: number;
  readonly signed: boolean;
  /** The cells already are the stored values (element type exactly as wide as the stored bits). */
  readonly plain: boolean;
}

/**
 * Describes `cells` whose stored bits end at `highBit` (right-aligned codec output: BitsStored − 1).
 *
 * @param cells - integer samples below 2^32 in magnitude (typed array or array of numbers)
 */
export function storedSamples(cells: ArrayLike<number>, length: number, highBit: number, bitsStored: number, signed: boolean): StoredSamples {
  return { cells, length, left: 31 - highBit, right: 32 - bitsStored, signed, plain: highBit === bitsStored - 1 && isPlain(cells, bitsStored, signed) };
}

/**
 * True when a typed array's element type already holds exactly the stored values: unsigned
 * elements no wider than BitsStored for unsigned data, signed elements exactly BitsStored
 * wide for signed data. Then masking and sign extension change nothing.
 */
function isPlain(cells: ArrayLike<number>, bitsStored: number, signed: boolean): boolean {
  // The tag rather than instanceof: the arrays may come from another realm (a WebAssembly heap copy, a test VM).
  const tag = Object.prototype.toString.call(cells);
  if (!signed) {
    return (
      ((tag === '[object Uint8Array]' || tag === '[object Uint8ClampedArray]') && bitsStored >= 8) ||
      (tag === '[object Uint16Array]' && bitsStored >= 16) ||
      (tag === '[object Uint32Array]' && bitsStored === 32)
    );
  }
  return (tag === '[object Int8Array]' && bitsStored === 8) || (tag === '[object Int16Array]' && bitsStored === 16) || (tag === '[object Int32Array]' && bitsStored === 32);
}

function isTypedArray(cells: ArrayLike<number>): cells is Uint8Array {
  return ArrayBuffer.isView(cells);
}

/**
 * Writes `stored × slope + intercept` (computed in double precision, as PS3.3 C.11.1.1.2
 * defines the rescale) for every sample into `out` (float32 or float64).
 */
export function writeRescaled(s: StoredSamples, out: Float32Array | Float64Array, slope = 1, intercept = 0): void {
  const { cells, length: n, left, right } = s;
  if (s.plain && slope === 1 && intercept === 0 && isTypedArray(cells)) {
    // Integers convert to float32/float64 exactly as the loop below would store them.
    out.set(cells.length === n ? cells : cells.subarray(0, n));
    return;
  }
  if (out instanceof Float32Array) writeFloat32(cells, out, n, left, right, s.plain ? 0 : s.signed ? 1 : 2, slope, intercept);
  else writeFloat64(cells, out, n, left, right, s.plain ? 0 : s.signed ? 1 : 2, slope, intercept);
}

/** mode 0: plain cells, 1: signed field, 2: unsigned field. */
function writeFloat32(c: ArrayLike<number>, out: Float32Array, n: number, left: number, right: number, mode: number, slope: number, intercept: number): void {
  if (mode === 0) for (let i = 0; i < n; i++) out[i] = (c[i] as number) * slope + intercept;
  else if (mode === 1) for (let i = 0; i < n; i++) out[i] = (((c[i] as number) << left) >> right) * slope + intercept;
  else for (let i = 0; i < n; i++) out[i] = (((c[i] as number) << left) >>> right) * slope + intercept;
}

function writeFloat64(c: ArrayLike<number>, out: Float64Array, n: number, left: number, right: number, mode: number, slope: number, intercept: number): void {
  if (mode === 0) for (let i = 0; i < n; i++) out[i] = (c[i] as number) * slope + intercept;
  else if (mode === 1) for (let i = 0; i < n; i++) out[i] = (((c[i] as number) << left) >> right) * slope + intercept;
  else for (let i = 0; i < n; i++) out[i] = (((c[i] as number) << left) >>> right) * slope + intercept;
}

/** The stored values as float64 (what an independent decoder's raw pixel array holds). */
export function storedToFloat64(s: StoredSamples): Float64Array {
  const out = new Float64Array(s.length);
  writeRescaled(s, out);
  return out;
}
