/**
 * Huffman decoding for sequential JPEG (ITU T.81 Annex C and F.2.2): tables built from the DHT
 * code-length counts, a bit reader over the entropy-coded segment that handles byte stuffing,
 * markers and restart intervals. Used by jpeg-dct.ts.
 */
import { AppError } from '../../errors.js';

/** A decoding table (T.81 F.2.2.3: MAXCODE, VALPTR, MINCODE, HUFFVAL). */
export interface Huffman {
  readonly maxcode: Int32Array;
  readonly valptr: Int32Array;
  readonly mincode: Int32Array;
  readonly values: Uint8Array;
}

export function corrupt(detail: string): AppError {
  return new AppError('DICOM_INVALID', `The JPEG codestream is malformed: ${detail}.`);
}

/** Reads the entropy-coded segment bit by bit; a marker ends the data (zeros are fed after it, as libjpeg does). */
export class BitReader {
  private byte = 0;
  private left = 0;
  /** The marker that stopped the data (its FF is at `pos`), or undefined. */
  marker: number | undefined;

  constructor(
    private readonly data: Uint8Array,
    public pos: number,
  ) {}

  bit(): number {
    if (this.left === 0) {
      this.byte = this.nextByte();
      this.left = 8;
    }
    this.left--;
    return (this.byte >> this.left) & 1;
  }

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }

  private nextByte(): number {
    if (this.marker !== undefined || this.pos >= this.data.byteLength) return 0;
    const b = this.data[this.pos] as number;
    if (b !== 0xff) {
      this.pos++;
      return b;
    }
    const next = this.data[this.pos + 1];
    if (next === 0) {
      this.pos += 2;
      return 0xff;
    }
    this.marker = next ?? 0xd9;
    return 0;
  }

  /** Discards buffered bits and consumes an RSTn marker (T.81 F.1.2.3); resynchronises on the next one if it is not here. */
  restart(): void {
    this.left = 0;
    if (this.marker === undefined) {
      while (this.pos + 1 < this.data.byteLength && !(this.data[this.pos] === 0xff && isRst(this.data[this.pos + 1] as number))) this.pos++;
      if (this.pos + 1 >= this.data.byteLength) throw corrupt('a restart marker is missing');
    } else if (!isRst(this.marker)) {
      throw corrupt(`marker FF${this.marker.toString(16).toUpperCase()} where a restart marker was expected`);
    }
    this.pos += 2;
    this.marker = undefined;
  }
}

export const isRst = (m: number): boolean => m >= 0xd0 && m <= 0xd7;

export function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let l = 1; l <= 16; l++) {
    const n = counts[l - 1] as number;
    if (n > 0) {
      valptr[l] = k;
      mincode[l] = code;
      code += n;
      k += n;
      maxcode[l] = code - 1;
    }
    if (code > 2 ** l) throw corrupt('a Huffman table has more codes than its code lengths allow');
    code *= 2;
  }
  maxcode[17] = 0x7fffffff;
  return { maxcode, valptr, mincode, values };
}

export function decodeHuffman(r: BitReader, t: Huffman): number {
  let code = r.bit();
  let l = 1;
  while (code > (t.maxcode[l] as number)) {
    if (++l > 16) throw corrupt('a Huffman code is not in its table');
    code = code * 2 + r.bit();
  }
  const value = t.values[(t.valptr[l] as number) + code - (t.mincode[l] as number)];
  if (value === undefined) throw corrupt('a Huffman code points past its table');
  return value;
}

/** RECEIVE and EXTEND (T.81 F.2.2.1): s bits as a signed magnitude category. */
export function receiveExtend(r: BitReader, s: number): number {
  if (s === 0) return 0;
  if (s > 16) throw corrupt(`a coefficient of magnitude category ${s}`);
  const v = r.bits(s);
  return v < 2 ** (s - 1) ? v - 2 ** s + 1 : v;
}
