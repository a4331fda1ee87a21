/**
 * The top-level Pixel Data value, located in place: native bytes (defined length) or the items
 * of encapsulated Pixel Data (PS3.5 A.4: Basic Offset Table, then fragments). The fragments are
 * views into the file; bytes are copied only to join the fragments of one frame.
 */
import { AppError } from '../errors.js';
import type { Encoding } from './dataset.js';
import { concat } from './codecs/frames.js';

const UNDEFINED_LENGTH = 0xffffffff;
const TAG_ITEM = 0xfffee000;
const TAG_SEQUENCE_END = 0xfffee0dd;

/** Pixel Data as found: `value` for a defined length, `fragments` for an undefined one. */
export interface PixelDataValue {
  /** VR as written ('OB', 'OW'), or 'OW' for implicit VR (the dictionary's reading). */
  readonly vr: string;
  /** Native Pixel Data, as far as the file holds it (a truncated file gives fewer bytes). */
  readonly value: Uint8Array | undefined;
  /** The items after the Basic Offset Table, in order. */
  readonly fragments: readonly Uint8Array[] | undefined;
  /** Basic Offset Table: where each frame's first item starts, from the first fragment's item. */
  readonly offsets: readonly number[];
  /** Where each fragment's item starts, from the first fragment's item. */
  readonly positions: readonly number[];
}

/**
 * Reads the Pixel Data value at `start`.
 *
 * @throws AppError DICOM_INVALID when an undefined length is not followed by items
 */
export function readPixelDataValue(enc: Encoding, start: number, length: number, vr: string): PixelDataValue {
  const { bytes } = enc;
  const pixelVr = vr === '' ? 'OW' : vr;
  if (length !== UNDEFINED_LENGTH) {
    // Clamped to what is there: the decoder then names both lengths (a truncated file).
    return { vr: pixelVr, value: bytes.subarray(start, Math.min(start + length, bytes.byteLength)), fragments: undefined, offsets: [], positions: [] };
  }
  const { view, littleEndian } = enc;
  const tagAt = (at: number): number => ((view.getUint16(at, littleEndian) << 16) | view.getUint16(at + 2, littleEndian)) >>> 0;
  const end = bytes.byteLength;
  if (start + 8 > end || tagAt(start) !== TAG_ITEM) {
    throw new AppError('DICOM_INVALID', 'The DICOM data set cannot be read: encapsulated Pixel Data does not start with an item.');
  }
  const tableLength = Math.min(view.getUint32(start + 4, littleEndian), end - start - 8);
  const offsets: number[] = [];
  if (tableLength % 4 === 0) for (let i = 0; i < tableLength; i += 4) offsets.push(view.getUint32(start + 8 + i, littleEndian));
  const first = start + 8 + tableLength;
  const fragments: Uint8Array[] = [];
  const positions: number[] = [];
  let pos = first;
  // Up to the sequence delimiter, or the end of a file that lacks it.
  while (pos + 8 <= end) {
    const tag = tagAt(pos);
    if (tag === TAG_SEQUENCE_END) break;
    if (tag !== TAG_ITEM) throw new AppError('DICOM_INVALID', `The DICOM data set cannot be read: expected a Pixel Data item at byte ${pos}.`);
    const itemLength = view.getUint32(pos + 4, littleEndian);
    const itemEnd = Math.min(pos + 8 + itemLength, end);
    positions.push(pos - first);
    fragments.push(bytes.subarray(pos + 8, itemEnd));
    pos = itemEnd;
  }
  return { vr: pixelVr, value: undefined, fragments, offsets, positions };
}

/**
 * The items of encapsulated Pixel Data, one per frame when the Basic Offset Table marks frames
 * (the fragments of a frame joined), else one per fragment (codecs/frames.ts then finds the
 * frames). A table whose offsets do not all fall on fragment starts is ignored.
 */
export function encapsulatedItems(value: PixelDataValue): Uint8Array[] | undefined {
  const { fragments, offsets, positions } = value;
  if (fragments === undefined) return value.value === undefined ? undefined : [value.value];
  if (offsets.length === 0 || offsets[0] !== 0) return [...fragments];
  const frameStarts: number[] = [];
  let k = 0;
  for (const offset of offsets) {
    while (k < positions.length && (positions[k] as number) < offset) k++;
    if (positions[k] !== offset || (frameStarts.length > 0 && k <= (frameStarts[frameStarts.length - 1] as number))) return [...fragments];
    frameStarts.push(k);
  }
  return frameStarts.map((startIndex, i) => concat(fragments.slice(startIndex, frameStarts[i + 1] ?? fragments.length)));
}

/** Native Pixel Data: the value, or (a writer's error) its fragments joined. */
export function nativePixelData(value: PixelDataValue): Uint8Array | undefined {
  if (value.fragments === undefined) return value.value;
  return value.fragments.length === 0 ? undefined : concat(value.fragments);
}

