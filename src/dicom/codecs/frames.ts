/**
 * Encapsulated Pixel Data (PS3.5 A.4) → one codestream per frame.
 *
 * dcmjs reads the item sequence: with a Basic Offset Table it returns one buffer per frame
 * (fragments of a frame already joined), without one it returns every fragment. So: as many
 * items as frames means one per frame; a single frame takes all fragments; otherwise fragments
 * are grouped at the items that start a codestream (JPEG SOI, JPEG 2000 SOC or JP2 signature,
 * RLE header), which is how PS3.5 A.4 lets a reader without offsets find frame boundaries.
 */
import { AppError } from '../../errors.js';

/** How a codestream of each family starts. */
export type CodestreamFamily = 'rle' | 'jpeg' | 'jpeg-ls' | 'jpeg2000';

/**
 * Assigns encapsulated items to frames.
 *
 * @param items - what the parser found in the Pixel Data item sequence (offset table excluded)
 * @param numberOfFrames - NumberOfFrames (0028,0008), at least 1
 * @param family - decides which items can start a frame
 * @throws AppError DICOM_INVALID when there are no items or they cannot be split into that many frames
 */
export function encapsulatedFrames(items: readonly Uint8Array[], numberOfFrames: number, family: CodestreamFamily): Uint8Array[] {
  if (items.length === 0) throw new AppError('DICOM_INVALID', 'The encapsulated Pixel Data holds no fragments.');
  if (items.length === numberOfFrames) return [...items];
  if (numberOfFrames === 1) return [concat(items)];
  if (items.length < numberOfFrames) {
    throw new AppError('DICOM_INVALID', `The encapsulated Pixel Data holds ${items.length} fragment(s) for ${numberOfFrames} frames.`);
  }
  const frames: Uint8Array[][] = [];
  for (const item of items) {
    const last = frames[frames.length - 1];
    if (last === undefined || startsCodestream(item, family)) frames.push([item]);
    else last.push(item);
  }
  if (frames.length !== numberOfFrames) {
    throw new AppError(
      'DICOM_INVALID',
      `The ${items.length} fragments of the encapsulated Pixel Data hold ${frames.length} codestream(s), not the ${numberOfFrames} frames declared.`,
    );
  }
  return frames.map(concat);
}

function startsCodestream(item: Uint8Array, family: CodestreamFamily): boolean {
  switch (family) {
    case 'jpeg':
    case 'jpeg-ls':
      return item[0] === 0xff && item[1] === 0xd8;
    case 'jpeg2000':
      return (item[0] === 0xff && item[1] === 0x4f && item[2] === 0xff && item[3] === 0x51) || (item[4] === 0x6a && item[5] === 0x50 && item[6] === 0x20 && item[7] === 0x20);
    case 'rle': {
      // Header: segment count 1–15 (little endian UL), first segment at offset 64.
      if (item.byteLength < 64) return false;
      const view = new DataView(item.buffer, item.byteOffset, 8);
      const segments = view.getUint32(0, true);
      return segments >= 1 && segments <= 15 && view.getUint32(4, true) === 64;
    }
  }
}

/** Concatenates byte arrays (returns the one array itself when there is only one). */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
