/**
 * Native (uncompressed) Pixel Data → stored values of one frame: byte order, bit packing,
 * BitsStored/HighBit masking, sign extension, planar and YBR_FULL_422 layouts.
 *
 * Cells are read through a typed-array view of the file's bytes when their byte order and
 * alignment allow (the usual case: little endian, even offsets), else from an aligned,
 * byte-order-corrected copy; masking and sign extension happen where the values are written
 * (stored.ts), so no intermediate array is made for the common layouts.
 */
import type { PixelModule } from './parse.js';
import { storedSamples, storedToFloat64 } from './stored.js';
import type { StoredSamples } from './stored.js';

/** Checked geometry of one instance's native Pixel Data. */
export interface NativeLayout {
  readonly kind: 'native';
  readonly data: Uint8Array;
  readonly pixelsPerFrame: number;
  readonly samplesPerPixel: 1 | 3;
  /** Samples stored per frame: YBR_FULL_422 stores two per pixel (Y Y Cb Cr for two pixels). */
  readonly storedSamplesPerFrame: number;
  readonly littleEndian: boolean;
  /** Big endian OW with 8-bit samples: bytes are swapped within each 16-bit word (PS3.5 A.2). */
  readonly swapBytePairs: boolean;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * True when the frame's stored values are in the order the frame's samples are (one sample
 * per monochrome pixel, or interleaved colour): no planar or YBR_FULL_422 rearrangement.
 */
export function nativeInOrder(px: PixelModule, layout: NativeLayout): boolean {
  return px.photometricInterpretation !== 'YBR_FULL_422' && !(layout.samplesPerPixel === 3 && px.planarConfiguration === 1);
}

/** The stored values of one frame as cells plus shifts, in storage order (see {@link nativeInOrder}). */
export function nativeStoredSamples(px: PixelModule, layout: NativeLayout, frameIndex: number): StoredSamples {
  const count = layout.storedSamplesPerFrame;
  const signed = px.pixelRepresentation === 1;
  if (px.bitsAllocated === 1) {
    const bits = storedSamples(readBits(layout.data, frameIndex * count, count), count, px.highBit, px.bitsStored, signed);
    // Unpacked unsigned bits are their own stored values (0 or 1).
    return signed ? bits : { ...bits, plain: true };
  }
  const bytesPerCell = px.bitsAllocated / 8;
  const start = frameIndex * count * bytesPerCell;
  // A signed view makes full-width signed cells plain (no shifting needed).
  const fullSigned = signed && px.bitsStored === px.bitsAllocated && px.highBit === px.bitsAllocated - 1;
  const cells = readCells(layout, start, count, bytesPerCell, fullSigned);
  return storedSamples(cells, count, px.highBit, px.bitsStored, signed);
}

/**
 * Stored values of one native frame as float64, samples interleaved, YBR_FULL_422 expanded to
 * one Y Cb Cr triple per pixel (not converted to RGB).
 */
export function readNativeFrame(px: PixelModule, layout: NativeLayout, frameIndex: number): Float64Array {
  const raw = storedToFloat64(nativeStoredSamples(px, layout, frameIndex));
  if (px.photometricInterpretation === 'YBR_FULL_422') return expandYbr422(raw, layout.pixelsPerFrame);
  if (layout.samplesPerPixel === 3 && px.planarConfiguration === 1) return planarToInterleaved(raw, layout.pixelsPerFrame);
  return raw;
}

/** 1-bit data is packed across the whole Pixel Data, first pixel in the least significant bit. */
function readBits(data: Uint8Array, startBit: number, count: number): Uint8Array {
  const out = new Uint8Array(count);
  let i = 0;
  // Whole bytes when the frame starts on a byte boundary (it does unless Rows × Columns is not a multiple of 8).
  if ((startBit & 7) === 0) {
    for (let byte = startBit >>> 3; i + 8 <= count; byte++) {
      const b = data[byte] as number;
      for (let k = 0; k < 8; k++) out[i++] = (b >>> k) & 1;
    }
  }
  for (; i < count; i++) {
    const bit = startBit + i;
    out[i] = ((data[bit >>> 3] as number) >>> (bit & 7)) & 1;
  }
  return out;
}

type Cells = Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array;

/** `count` cells of `bytesPerCell` bytes from byte `start`, as a view when possible, else an aligned copy in host order. */
function readCells(layout: NativeLayout, start: number, count: number, bytesPerCell: number, signedView: boolean): Cells {
  const { data } = layout;
  const byteLength = count * bytesPerCell;
  if (bytesPerCell === 1) {
    const bytes = layout.swapBytePairs ? swapPairs(data, start, count) : data.subarray(start, start + count);
    return signedView ? new Int8Array(bytes.buffer, bytes.byteOffset, count) : bytes;
  }
  let buffer: ArrayBuffer;
  let offset: number;
  if (layout.littleEndian === HOST_LITTLE_ENDIAN) {
    const at = data.byteOffset + start;
    if (at % bytesPerCell === 0) {
      buffer = data.buffer as ArrayBuffer;
      offset = at;
    } else {
      buffer = data.slice(start, start + byteLength).buffer;
      offset = 0;
    }
  } else {
    buffer = reversedCells(data, start, count, bytesPerCell).buffer as ArrayBuffer;
    offset = 0;
  }
  if (bytesPerCell === 2) return signedView ? new Int16Array(buffer, offset, count) : new Uint16Array(buffer, offset, count);
  return signedView ? new Int32Array(buffer, offset, count) : new Uint32Array(buffer, offset, count);
}

/** Big endian OW 8-bit: XOR 1 maps each byte index to its partner within the 16-bit word. */
function swapPairs(data: Uint8Array, start: number, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = data[(start + i) ^ 1] as number;
  return out;
}

/** A copy of the cells with the bytes of each cell reversed (the other byte order). */
function reversedCells(data: Uint8Array, start: number, count: number, bytesPerCell: number): Uint8Array {
  const out = new Uint8Array(count * bytesPerCell);
  for (let i = 0, p = start; i < out.length; i += bytesPerCell, p += bytesPerCell) {
    for (let k = 0; k < bytesPerCell; k++) out[i + k] = data[p + bytesPerCell - 1 - k] as number;
  }
  return out;
}

function planarToInterleaved(planar: Float64Array, pixels: number): Float64Array {
  const out = new Float64Array(planar.length);
  for (let c = 0; c < 3; c++) {
    const base = c * pixels;
    for (let p = 0; p < pixels; p++) out[p * 3 + c] = planar[base + p] as number;
  }
  return out;
}

/** Y1 Y2 Cb Cr → Y1 Cb Cr Y2 Cb Cr (PS3.3 C.7.6.3.1.2). */
function expandYbr422(pairs: Float64Array, pixels: number): Float64Array {
  const out = new Float64Array(pixels * 3);
  for (let p = 0, s = 0; p < pixels; p += 2, s += 4) {
    const cb = pairs[s + 2] as number;
    const cr = pairs[s + 3] as number;
    const o = p * 3;
    out[o] = pairs[s] as number;
    out[o + 1] = cb;
    out[o + 2] = cr;
    out[o + 3] = pairs[s + 1] as number;
    out[o + 4] = cb;
    out[o + 5] = cr;
  }
  return out;
}
