/**
 * Sequential DCT JPEG with Huffman coding (ITU T.81 processes 1, 2 and 4: SOF0/SOF1) at 8 or
 * 12 bits. Used for 12-bit JPEG Extended (1.2.840.10008.1.2.4.51), which still turns up in CT
 * and MR archives: the libjpeg-turbo build on npm decodes 8-bit JPEG only and no maintained
 * npm package decodes 12-bit DCT, so this one is written here from the standard.
 *
 * The inverse DCT is the accurate integer algorithm of the IJG library (Loeffler–Ligtenberg–
 * Moschytz with 13-bit constants; 1 extra bit of pass-1 precision at 12 bits, 2 at 8 bits), so
 * results match libjpeg/dcmtk's default `islow` method. Arithmetic is done in doubles with
 * floor division, because 12-bit products overflow JavaScript's 32-bit integer operators.
 * Components must share one sampling factor (12-bit colour with subsampling is not seen in
 * DICOM); every loop is bounded by the frame size, so corrupt data cannot make it spin.
 */
import { AppError } from '../../errors.js';
import { BitReader, buildHuffman, corrupt, decodeHuffman, isRst, receiveExtend } from './jpeg-huffman.js';
import type { Huffman } from './jpeg-huffman.js';

/** A decoded image: samples pixel-interleaved, no colour conversion. */
export interface DctImage {
  readonly width: number;
  readonly height: number;
  readonly components: number;
  readonly precision: number;
  readonly samples: Uint16Array;
}

interface Component {
  readonly id: number;
  readonly h: number;
  readonly v: number;
  readonly tq: number;
  readonly blocksX: number;
  readonly blocksY: number;
  readonly plane: Uint16Array;
  pred: number;
  decoded: boolean;
}

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly precision: number;
  readonly comps: Component[];
  readonly mcusX: number;
  readonly mcusY: number;
  readonly hmax: number;
  readonly vmax: number;
}


const ZIGZAG = Uint8Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50,
  43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

const F = {
  c0298: 2446, c0390: 3196, c0541: 4433, c0765: 6270, c0899: 7373, c1175: 9633,
  c1501: 12299, c1847: 15137, c1961: 16069, c2053: 16819, c2562: 20995, c3072: 25172,
} as const;
const CONST_BITS = 13;

/** IJG's DESCALE: (x + 2^(n−1)) >> n, as exact floor division on doubles (the quotient is exact: n is a power of two). */
function descale(x: number, n: number): number {
  const q = (x + 2 ** (n - 1)) / 2 ** n;
  const fraction = q % 1;
  return fraction < 0 ? q - fraction - 1 : q - fraction;
}

/** One 1-D pass of the IJG accurate integer IDCT over 8 values at in[o + k·step]; writes unscaled sums to out. */
function idct1d(src: Float64Array, o: number, step: number, out: Float64Array): void {
  const s = (k: number): number => src[o + k * step] as number;
  let z1 = (s(2) + s(6)) * F.c0541;
  const tmp2e = z1 - s(6) * F.c1847;
  const tmp3e = z1 + s(2) * F.c0765;
  const tmp0e = (s(0) + s(4)) * 2 ** CONST_BITS;
  const tmp1e = (s(0) - s(4)) * 2 ** CONST_BITS;
  const tmp10 = tmp0e + tmp3e;
  const tmp13 = tmp0e - tmp3e;
  const tmp11 = tmp1e + tmp2e;
  const tmp12 = tmp1e - tmp2e;
  let tmp0 = s(7);
  let tmp1 = s(5);
  let tmp2 = s(3);
  let tmp3 = s(1);
  z1 = tmp0 + tmp3;
  let z2 = tmp1 + tmp2;
  let z3 = tmp0 + tmp2;
  let z4 = tmp1 + tmp3;
  const z5 = (z3 + z4) * F.c1175;
  tmp0 *= F.c0298;
  tmp1 *= F.c2053;
  tmp2 *= F.c3072;
  tmp3 *= F.c1501;
  z1 *= -F.c0899;
  z2 *= -F.c2562;
  z3 = z3 * -F.c1961 + z5;
  z4 = z4 * -F.c0390 + z5;
  tmp0 += z1 + z3;
  tmp1 += z2 + z4;
  tmp2 += z2 + z3;
  tmp3 += z1 + z4;
  out[0] = tmp10 + tmp3;
  out[7] = tmp10 - tmp3;
  out[1] = tmp11 + tmp2;
  out[6] = tmp11 - tmp2;
  out[2] = tmp12 + tmp1;
  out[5] = tmp12 - tmp1;
  out[3] = tmp13 + tmp0;
  out[4] = tmp13 - tmp0;
}

const WORKSPACE = new Float64Array(64);
const ROW = new Float64Array(8);

/** Dequantized coefficients (natural order) → one 8×8 block of samples written into the plane. */
function idctBlock(coef: Float64Array, precision: number, plane: Uint16Array, stride: number, x0: number, y0: number): void {
  const pass1 = precision === 8 ? 2 : 1;
  const max = 2 ** precision - 1;
  const center = 2 ** (precision - 1);
  const ws = WORKSPACE;
  const tmp = ROW;
  for (let col = 0; col < 8; col++) {
    idct1d(coef, col, 8, tmp);
    for (let row = 0; row < 8; row++) ws[row * 8 + col] = descale(tmp[row] as number, CONST_BITS - pass1);
  }
  for (let row = 0; row < 8; row++) {
    idct1d(ws, row * 8, 1, tmp);
    const line = (y0 + row) * stride + x0;
    for (let col = 0; col < 8; col++) {
      const v = descale(tmp[col] as number, CONST_BITS + pass1 + 3) + center;
      plane[line + col] = v < 0 ? 0 : v > max ? max : v;
    }
  }
}

/**
 * Decodes a sequential DCT Huffman JPEG (SOF0 or SOF1) at 8 or 12 bits.
 *
 * @throws AppError DICOM_INVALID for corrupt data, DICOM_UNSUPPORTED for other processes or subsampling
 */
export function decodeJpegDct(data: Uint8Array): DctImage {
  const quant: (Uint16Array | undefined)[] = [];
  const dc: (Huffman | undefined)[] = [];
  const ac: (Huffman | undefined)[] = [];
  let frame: Frame | undefined;
  let restartInterval = 0;
  if (data[0] !== 0xff || data[1] !== 0xd8) throw corrupt('it does not start with SOI');
  let pos = 2;
  for (;;) {
    while (pos < data.byteLength && data[pos] !== 0xff) pos++; // tolerate junk between segments
    while (data[pos + 1] === 0xff) pos++;
    if (pos + 1 >= data.byteLength) break;
    const marker = data[pos + 1] as number;
    pos += 2;
    if (marker === 0xd9) break;
    if (isRst(marker) || marker === 0x01) continue;
    if (pos + 2 > data.byteLength) throw corrupt('a segment is truncated');
    const length = ((data[pos] as number) << 8) | (data[pos + 1] as number);
    if (length < 2 || pos + length > data.byteLength) throw corrupt('a segment overruns the data');
    const seg = data.subarray(pos + 2, pos + length);
    pos += length;
    if (marker === 0xc0 || marker === 0xc1) {
      if (frame !== undefined) throw corrupt('it has two frame headers');
      frame = readFrame(seg);
    } else if (marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8) {
      // Progressive, lossless, hierarchical and arithmetic-coded (DAC, FFCC) processes.
      throw new AppError('DICOM_UNSUPPORTED', `JPEG process with marker FF${marker.toString(16).toUpperCase()} is not supported by the 12-bit decoder.`);
    } else if (marker === 0xc4) {
      readHuffmanTables(seg, dc, ac);
    } else if (marker === 0xdb) {
      readQuantTables(seg, quant);
    } else if (marker === 0xdd) {
      if (seg.byteLength < 2) throw corrupt('DRI is truncated');
      restartInterval = ((seg[0] as number) << 8) | (seg[1] as number);
    } else if (marker === 0xda) {
      if (frame === undefined) throw corrupt('a scan comes before the frame header');
      pos = decodeScan(data, pos, seg, frame, quant, dc, ac, restartInterval);
    }
  }
  if (frame === undefined || !frame.comps.every((c) => c.decoded)) throw corrupt('the data ends before every component was decoded');
  return { width: frame.width, height: frame.height, components: frame.comps.length, precision: frame.precision, samples: crop(frame) };
}

function readFrame(seg: Uint8Array): Frame {
  if (seg.byteLength < 6) throw corrupt('the frame header is truncated');
  const precision = seg[0] as number;
  const height = ((seg[1] as number) << 8) | (seg[2] as number);
  const width = ((seg[3] as number) << 8) | (seg[4] as number);
  const n = seg[5] as number;
  if (precision !== 8 && precision !== 12) throw new AppError('DICOM_UNSUPPORTED', `JPEG DCT sample precision ${precision} is not supported (8 and 12 are).`);
  if (width === 0 || height === 0 || n < 1 || n > 4 || seg.byteLength < 6 + 3 * n) throw corrupt('the frame header declares no size or no components');
  const raw = Array.from({ length: n }, (_, i) => ({ id: seg[6 + 3 * i] as number, h: (seg[7 + 3 * i] as number) >> 4, v: (seg[7 + 3 * i] as number) & 15, tq: seg[8 + 3 * i] as number }));
  const hmax = Math.max(...raw.map((c) => c.h));
  const vmax = Math.max(...raw.map((c) => c.v));
  if (raw.some((c) => c.h < 1 || c.v < 1 || c.h > 4 || c.v > 4 || c.tq > 3)) throw corrupt('a component has invalid sampling factors or table');
  if (raw.some((c) => c.h !== hmax || c.v !== vmax)) throw new AppError('DICOM_UNSUPPORTED', 'Subsampled colour JPEG is not supported at 12 bits.');
  const mcusX = Math.ceil(width / (8 * hmax));
  const mcusY = Math.ceil(height / (8 * vmax));
  const comps = raw.map((c) => {
    const blocksX = mcusX * c.h;
    const blocksY = mcusY * c.v;
    return { ...c, blocksX, blocksY, plane: new Uint16Array(blocksX * 8 * blocksY * 8), pred: 0, decoded: false };
  });
  return { width, height, precision, comps, mcusX, mcusY, hmax, vmax };
}

function readHuffmanTables(seg: Uint8Array, dc: (Huffman | undefined)[], ac: (Huffman | undefined)[]): void {
  let p = 0;
  while (p < seg.byteLength) {
    if (p + 17 > seg.byteLength) throw corrupt('DHT is truncated');
    const tc = (seg[p] as number) >> 4;
    const th = (seg[p] as number) & 15;
    const counts = seg.subarray(p + 1, p + 17);
    const total = counts.reduce((a, b) => a + b, 0);
    if (tc > 1 || th > 3 || total > 256 || p + 17 + total > seg.byteLength) throw corrupt('DHT is invalid');
    (tc === 0 ? dc : ac)[th] = buildHuffman(counts, seg.slice(p + 17, p + 17 + total));
    p += 17 + total;
  }
}

function readQuantTables(seg: Uint8Array, quant: (Uint16Array | undefined)[]): void {
  let p = 0;
  while (p < seg.byteLength) {
    const pq = (seg[p] as number) >> 4;
    const tq = (seg[p] as number) & 15;
    const size = pq === 0 ? 64 : 128;
    if (pq > 1 || tq > 3 || p + 1 + size > seg.byteLength) throw corrupt('DQT is invalid');
    const table = new Uint16Array(64);
    for (let k = 0; k < 64; k++) table[ZIGZAG[k] as number] = pq === 0 ? (seg[p + 1 + k] as number) : ((seg[p + 1 + 2 * k] as number) << 8) | (seg[p + 2 + 2 * k] as number);
    quant[tq] = table;
    p += 1 + size;
  }
}

/** Decodes one scan starting at `pos` (after its header); returns the position of the marker that ends it. */
function decodeScan(data: Uint8Array, pos: number, seg: Uint8Array, frame: Frame, quant: readonly (Uint16Array | undefined)[], dc: readonly (Huffman | undefined)[], ac: readonly (Huffman | undefined)[], restartInterval: number): number {
  const ns = seg[0] ?? 0;
  if (ns < 1 || ns > 4 || seg.byteLength < 1 + 2 * ns + 3) throw corrupt('the scan header is invalid');
  const scan = Array.from({ length: ns }, (_, i) => {
    const comp = frame.comps.find((c) => c.id === seg[1 + 2 * i]);
    const tables = seg[2 + 2 * i] as number;
    const q = comp === undefined ? undefined : quant[comp.tq];
    const d = dc[tables >> 4];
    const a = ac[tables & 15];
    if (comp === undefined || q === undefined || d === undefined || a === undefined) throw corrupt('a scan refers to a missing component or table');
    comp.pred = 0;
    return { comp, q, d, a };
  });
  const reader = new BitReader(data, pos);
  const coef = new Float64Array(64);
  const decodeBlock = (s: (typeof scan)[number], bx: number, by: number): void => {
    coef.fill(0);
    s.comp.pred += receiveExtend(reader, decodeHuffman(reader, s.d));
    coef[0] = s.comp.pred * (s.q[0] as number);
    for (let k = 1; k < 64; ) {
      const rs = decodeHuffman(reader, s.a);
      const run = rs >> 4;
      const size = rs & 15;
      if (size === 0) {
        if (run !== 15) break;
        k += 16;
        continue;
      }
      k += run;
      if (k > 63) throw corrupt('a block has more than 64 coefficients');
      const z = ZIGZAG[k] as number;
      coef[z] = receiveExtend(reader, size) * (s.q[z] as number);
      k++;
    }
    idctBlock(coef, frame.precision, s.comp.plane, s.comp.blocksX * 8, bx * 8, by * 8);
  };
  const single = scan.length === 1 ? scan[0] : undefined;
  // A non-interleaved scan codes only the blocks that cover the component (T.81 A.2.2).
  const units = single === undefined ? frame.mcusX * frame.mcusY : Math.ceil(Math.ceil((frame.width * single.comp.h) / frame.hmax) / 8) * Math.ceil(Math.ceil((frame.height * single.comp.v) / frame.vmax) / 8);
  const unitsPerLine = single === undefined ? frame.mcusX : Math.ceil(Math.ceil((frame.width * single.comp.h) / frame.hmax) / 8);
  for (let u = 0; u < units; u++) {
    if (restartInterval > 0 && u > 0 && u % restartInterval === 0) {
      reader.restart();
      for (const s of scan) s.comp.pred = 0;
    }
    const ux = u % unitsPerLine;
    const uy = Math.floor(u / unitsPerLine);
    if (single !== undefined) {
      decodeBlock(single, ux, uy);
    } else {
      for (const s of scan) for (let v = 0; v < s.comp.v; v++) for (let h = 0; h < s.comp.h; h++) decodeBlock(s, ux * s.comp.h + h, uy * s.comp.v + v);
    }
  }
  for (const s of scan) s.comp.decoded = true;
  // Continue parsing at the marker that ended the scan (or the end of the data).
  let next = reader.pos;
  while (next + 1 < data.byteLength && !(data[next] === 0xff && data[next + 1] !== 0 && !isRst(data[next + 1] as number))) next++;
  return next;
}

function crop(frame: Frame): Uint16Array {
  const { width, height, comps } = frame;
  const n = comps.length;
  const out = new Uint16Array(width * height * n);
  comps.forEach((c, ci) => {
    const stride = c.blocksX * 8;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[(y * width + x) * n + ci] = c.plane[y * stride + x] as number;
  });
  return out;
}
