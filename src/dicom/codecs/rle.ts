/**
 * RLE Lossless (1.2.840.10008.1.2.5), DICOM PS3.5 Annex G. Small enough to write here: no npm
 * package decodes DICOM RLE on its own without pulling in a whole viewer.
 *
 * A frame is a 64-byte header (number of segments, then 15 offsets) followed by the segments.
 * Each segment is one byte plane of one sample (most significant byte first), PackBits-coded:
 * n in 0…127 copies the next n + 1 bytes, n in −127…−1 repeats the next byte 1 − n times,
 * −128 is a no-op.
 */
import { AppError } from '../../errors.js';
import type { CodecOutput, FrameDescriptor } from './types.js';
import { declaredPhotometric } from './types.js';

const HEADER_BYTES = 64;
const MAX_SEGMENTS = 15;
/** Runs up to this long are copied in a loop rather than through subarray/fill. */
const SHORT_RUN = 16;

function invalid(detail: string): AppError {
  return new AppError('DICOM_INVALID', `The RLE frame is malformed: ${detail}.`);
}

/**
 * Decodes one RLE frame into pixel-interleaved samples (whole BitsAllocated cells).
 *
 * @throws AppError DICOM_INVALID for a bad header, a segment count that does not match
 *   SamplesPerPixel × BitsAllocated / 8, or a segment that decodes to too few bytes;
 *   DICOM_UNSUPPORTED for BitsAllocated other than 8, 16, 32 or YBR_FULL_422
 */
export function decodeRle(data: Uint8Array, frame: FrameDescriptor): CodecOutput {
  const { rows, columns, samplesPerPixel, bitsAllocated } = frame;
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw new AppError('DICOM_UNSUPPORTED', `RLE with BitsAllocated ${bitsAllocated} is not supported (8, 16 and 32 are).`);
  }
  if (frame.photometricInterpretation.endsWith('_422') || frame.photometricInterpretation.endsWith('_420')) {
    // PS3.5 G.2: RLE stores every sample of every pixel; a subsampled photometric is a contradiction.
    throw new AppError('DICOM_UNSUPPORTED', `RLE with PhotometricInterpretation ${frame.photometricInterpretation} is not supported.`);
  }
  if (data.byteLength < HEADER_BYTES) throw invalid(`the frame holds ${data.byteLength} bytes, less than its 64-byte header`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const bytesPerSample = bitsAllocated / 8;
  const segments = view.getUint32(0, true);
  const expected = samplesPerPixel * bytesPerSample;
  if (segments < 1 || segments > MAX_SEGMENTS) throw invalid(`the header declares ${segments} segments (1 to 15 are allowed)`);
  if (segments !== expected) {
    throw invalid(`the header declares ${segments} segments, but SamplesPerPixel ${samplesPerPixel} × BitsAllocated ${bitsAllocated} needs ${expected}`);
  }
  const offsets: number[] = [];
  for (let s = 0; s < segments; s++) offsets.push(view.getUint32(4 + 4 * s, true));
  offsets.push(data.byteLength);
  const pixels = rows * columns;
  const planes: Uint8Array[] = [];
  for (let s = 0; s < segments; s++) {
    const start = offsets[s] as number;
    const end = offsets[s + 1] as number;
    if (start < HEADER_BYTES || end > data.byteLength || end < start) throw invalid(`segment ${s + 1} has an offset outside the frame`);
    planes.push(unpackSegment(data.subarray(start, end), pixels, s + 1));
  }
  return { samples: interleave(planes, pixels, samplesPerPixel, bytesPerSample), photometric: declaredPhotometric(frame), alignment: 'cell' };
}

/** PackBits-decodes one segment into exactly `length` bytes; trailing padding is ignored. */
function unpackSegment(src: Uint8Array, length: number, segment: number): Uint8Array {
  const out = new Uint8Array(length);
  let i = 0;
  let o = 0;
  while (o < length && i < src.byteLength) {
    const n = src[i++] as number;
    if (n < 128) {
      const count = n + 1;
      if (i + count > src.byteLength) break;
      if (o + count > length) throw invalid(`segment ${segment} decodes to more than ${length} bytes`);
      // Short runs are copied by hand: a subarray per run costs more than the copy.
      if (count <= SHORT_RUN) for (let k = 0; k < count; k++) out[o + k] = src[i + k] as number;
      else out.set(src.subarray(i, i + count), o);
      i += count;
      o += count;
    } else if (n > 128) {
      const count = 257 - n;
      if (i >= src.byteLength) break;
      if (o + count > length) throw invalid(`segment ${segment} decodes to more than ${length} bytes`);
      const value = src[i++] as number;
      if (count <= SHORT_RUN) for (let k = 0; k < count; k++) out[o + k] = value;
      else out.fill(value, o, o + count);
      o += count;
    }
    // n === 128: no operation
  }
  if (o < length) throw invalid(`segment ${segment} decodes to ${o} bytes, fewer than the ${length} its image needs`);
  return out;
}

/** Byte planes (sample 0 MSB … LSB, sample 1 MSB … LSB, …) → pixel-interleaved cells. */
function interleave(planes: readonly Uint8Array[], pixels: number, samplesPerPixel: number, bytesPerSample: number): ArrayLike<number> {
  const count = pixels * samplesPerPixel;
  if (bytesPerSample === 1) {
    if (samplesPerPixel === 1) return planes[0] as Uint8Array;
    const out = new Uint8Array(count);
    for (let c = 0; c < samplesPerPixel; c++) {
      const plane = planes[c] as Uint8Array;
      for (let p = 0; p < pixels; p++) out[p * samplesPerPixel + c] = plane[p] as number;
    }
    return out;
  }
  const out = bytesPerSample === 2 ? new Uint16Array(count) : new Uint32Array(count);
  for (let c = 0; c < samplesPerPixel; c++) {
    for (let b = 0; b < bytesPerSample; b++) {
      const plane = planes[c * bytesPerSample + b] as Uint8Array;
      // Multiplication, not shifts: `x << 24` is negative in JavaScript's 32-bit signed maths.
      const weight = 2 ** (8 * (bytesPerSample - 1 - b));
      for (let p = 0; p < pixels; p++) {
        const at = p * samplesPerPixel + c;
        out[at] = (out[at] as number) + (plane[p] as number) * weight;
      }
    }
  }
  return out;
}
