/**
 * Native (uncompressed) Pixel Data → stored values of one frame: byte order, bit packing,
 * BitsStored/HighBit masking, sign extension, planar and YBR_FULL_422 layouts.
 */
import type { PixelModule } from './parse.js';

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

/**
 * Stored values of one native frame, samples interleaved, YBR_FULL_422 expanded to one
 * Y Cb Cr triple per pixel (not converted to RGB).
 */
export function readNativeFrame(px: PixelModule, layout: NativeLayout, frameIndex: number): Float64Array {
  const count = layout.storedSamplesPerFrame;
  const startBit = frameIndex * count * px.bitsAllocated;
  const raw = px.bitsAllocated === 1 ? readBits(layout.data, startBit, count) : readWords(px, layout, startBit / 8, count);
  maskAndSignExtend(raw, px);
  if (px.photometricInterpretation === 'YBR_FULL_422') return expandYbr422(raw, layout.pixelsPerFrame);
  if (layout.samplesPerPixel === 3 && px.planarConfiguration === 1) return planarToInterleaved(raw, layout.pixelsPerFrame);
  return raw;
}

/** 1-bit data is packed across the whole Pixel Data, first pixel in the least significant bit. */
function readBits(data: Uint8Array, startBit: number, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const bit = startBit + i;
    out[i] = ((data[bit >>> 3] as number) >>> (bit & 7)) & 1;
  }
  return out;
}

function readWords(px: PixelModule, layout: NativeLayout, startByte: number, count: number): Float64Array {
  const { data, littleEndian } = layout;
  const out = new Float64Array(count);
  if (px.bitsAllocated === 8) {
    // XOR 1 maps each byte index to its partner within the 16-bit word.
    const flip = layout.swapBytePairs ? 1 : 0;
    for (let i = 0; i < count; i++) out[i] = data[(startByte + i) ^ flip] as number;
    return out;
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (px.bitsAllocated === 16) {
    for (let i = 0; i < count; i++) out[i] = view.getUint16(startByte + 2 * i, littleEndian);
  } else {
    for (let i = 0; i < count; i++) out[i] = view.getUint32(startByte + 4 * i, littleEndian);
  }
  return out;
}

/** Keeps bits HighBit−BitsStored+1 … HighBit (PS3.5 8.1.1) and applies two's complement when signed. */
function maskAndSignExtend(values: Float64Array, px: PixelModule): void {
  const { bitsAllocated, bitsStored, highBit } = px;
  const signed = px.pixelRepresentation === 1;
  const shift = highBit + 1 - bitsStored;
  if (shift === 0 && bitsStored === bitsAllocated && !signed) return;
  const range = 2 ** bitsStored;
  const half = range / 2;
  // `>>>` is unsigned and exact for the cells read here (0 ≤ v < 2^32); `%` keeps BitsStored bits.
  // (Math.floor was the obvious choice, and far slower in this hot loop.)
  for (let i = 0; i < values.length; i++) {
    let v = (shift === 0 ? (values[i] as number) : (values[i] as number) >>> shift) % range;
    if (signed && v >= half) v -= range;
    values[i] = v;
  }
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

