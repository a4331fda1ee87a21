/**
 * A minimal reader for NumPy `.npz` files (a zip archive of `.npy` arrays), enough for the
 * MedMNIST, NIH and ACDC data sets: stored, deflated (node:zlib) or bzip2 (seek-bzip) entries, ZIP64 size fields
 * (NumPy writes them), `.npy` format 1.0–3.0 with little-endian or byte-sized dtypes in C order,
 * and fixed-width Unicode strings (`<U16`: UTF-32LE, NUL-padded) as JavaScript strings.
 */
import { readFile } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import Bunzip from 'seek-bzip';

/** One array: its dtype (`u1`, `f4`, `U16` …), shape, and values in C order (strings for `U` dtypes). */
export interface NpyArray {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array | BigInt64Array | readonly string[];
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const ZIP64_EOCD_LOCATOR = 0x07064b50;

/** Throws an `npz:`-prefixed error. */
function fail(msg: string): never {
  throw new Error(`npz: ${msg}`);
}

/** Zip entries (name → uncompressed bytes). */
export function readZip(buf: Buffer): Map<string, Buffer> {
  // End of central directory: the last 22+ bytes (a comment may follow, at most 65535 bytes).
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('no end-of-central-directory record (not a zip file)');
  let count = buf.readUInt16LE(eocd + 10);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if ((count === 0xffff || cdOffset === 0xffffffff) && eocd >= 20 && buf.readUInt32LE(eocd - 20) === ZIP64_EOCD_LOCATOR) {
    const z64 = Number(buf.readBigUInt64LE(eocd - 20 + 8));
    count = Number(buf.readBigUInt64LE(z64 + 32));
    cdOffset = Number(buf.readBigUInt64LE(z64 + 48));
  }
  const out = new Map<string, Buffer>();
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== CENTRAL) fail(`bad central directory entry at ${p}`);
    const method = buf.readUInt16LE(p + 10);
    let compSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let localOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    // ZIP64 extended information: present values appear in this order, only for fields at 0xFFFFFFFF.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = buf.readUInt16LE(e);
      const len = buf.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) { size = Number(buf.readBigUInt64LE(q)); q += 8; }
        if (compSize === 0xffffffff) { compSize = Number(buf.readBigUInt64LE(q)); q += 8; }
        if (localOffset === 0xffffffff) { localOffset = Number(buf.readBigUInt64LE(q)); q += 8; }
      }
      e += 4 + len;
    }
    if (buf.readUInt32LE(localOffset) !== LOCAL) fail(`bad local header for ${name}`);
    const dataStart = localOffset + 30 + buf.readUInt16LE(localOffset + 26) + buf.readUInt16LE(localOffset + 28);
    const raw = buf.subarray(dataStart, dataStart + compSize);
    let bytes: Buffer;
    if (method === 0) bytes = raw;
    else if (method === 8) bytes = inflateRawSync(raw);
    // bzip2 (method 12): Python's zipfile.ZIP_BZIP2, used by the ACDC copy.
    else if (method === 12) bytes = Bunzip.decode(raw, Buffer.alloc(size));
    else fail(`${name}: compression method ${method} is not supported (stored, deflate and bzip2 are)`);
    if (bytes.length !== size) fail(`${name}: ${bytes.length} bytes after decompression, expected ${size}`);
    out.set(name, bytes);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** Parses one `.npy` file. */
export function parseNpy(bytes: Buffer): NpyArray {
  if (bytes.readUInt8(0) !== 0x93 || bytes.toString('latin1', 1, 6) !== 'NUMPY') fail('not a .npy array');
  const major = bytes.readUInt8(6);
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail(`unreadable header ${header}`);
  if (fortran === 'True') fail('Fortran-ordered arrays are not supported');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const order = descr[0];
  const dtype = descr.slice(1);
  if (order === '>' && dtype !== 'u1' && dtype !== 'i1') fail(`big-endian dtype ${descr} is not supported`);
  const body = bytes.subarray(start + headerLen);
  const unicode = /^U(\d+)$/.exec(dtype);
  if (unicode !== null) {
    const width = Number(unicode[1]);
    if (body.length < count * width * 4) fail(`${descr}: ${body.length} bytes for ${count} strings`);
    const strings: string[] = [];
    for (let i = 0; i < count; i++) {
      const codes: number[] = [];
      for (let k = 0; k < width; k++) {
        const c = body.readUInt32LE((i * width + k) * 4);
        if (c === 0) break;
        codes.push(c);
      }
      strings.push(String.fromCodePoint(...codes));
    }
    return { dtype, shape, data: strings };
  }
  // Copy into an aligned buffer: typed arrays need their element alignment.
  const ab = new ArrayBuffer(body.length);
  new Uint8Array(ab).set(body);
  const ctor = {
    u1: Uint8Array, i1: Int8Array, u2: Uint16Array, i2: Int16Array, u4: Uint32Array, i4: Int32Array,
    f4: Float32Array, f8: Float64Array, i8: BigInt64Array,
  }[dtype];
  if (ctor === undefined) fail(`dtype ${descr} is not supported`);
  const data = new ctor(ab, 0, count);
  return { dtype, shape, data };
}

/** Reads every array of an `.npz` file, keyed by name without `.npy`. */
export async function readNpz(file: string): Promise<Map<string, NpyArray>> {
  const zip = readZip(await readFile(file));
  const out = new Map<string, NpyArray>();
  for (const [name, bytes] of zip) out.set(name.replace(/\.npy$/, ''), parseNpy(bytes));
  return out;
}
