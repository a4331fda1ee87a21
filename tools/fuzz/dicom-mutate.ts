/**
 * Mutations of real DICOM files: blind ones (bit flips, byte insert/delete, truncation) and
 * ones aimed through the header walk (length fields, VRs, tags, pixel-module values, declared
 * sizes, transfer syntax, encapsulated fragments, header/pixel crossover between files).
 */
import type { Random } from './random.js';
import { fragmentDamage } from './dicom-fragments.js';
import { ALL_VRS, TAG, TRANSFER_SYNTAXES, ascii, elementEnd, encodeElement, splice, walkDicom, writeUint, type Walk, type WalkedElement } from './dicom-walk.js';

export const DICOM_MUTATIONS = [
  'bit-flip', 'byte-insert', 'byte-delete', 'truncate', 'interesting-bytes', 'length-field', 'vr-swap', 'tag-swap',
  'element-delete', 'element-duplicate', 'huge-size', 'pixel-module-value', 'transfer-syntax-swap', 'fragment-damage', 'crossover',
] as const;
export type DicomMutation = (typeof DICOM_MUTATIONS)[number];

/** What one mutation step did, in words, for the report. */
type Step = (bytes: Uint8Array, walk: Walk, r: Random, other: Uint8Array) => { bytes: Uint8Array; note: string };

const INTERESTING_32 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** An offset biased towards the header, where most decisions are made. */
function headerBiased(n: number, walk: Walk, r: Random): number {
  const pixel = walk.elements.find((e) => e.tag === TAG.pixelData && e.depth === 0);
  const headerEnd = pixel === undefined ? n : pixel.valueOffset + 64;
  return r.chance(0.7) ? r.int(Math.max(1, Math.min(n, headerEnd))) : r.int(Math.max(1, n));
}

const bitFlip: Step = (bytes, walk, r) => {
  const out = Uint8Array.from(bytes);
  const k = r.between(1, 16);
  for (let i = 0; i < k; i++) {
    const at = headerBiased(out.byteLength, walk, r);
    out[at] = (out[at] ?? 0) ^ (1 << r.int(8));
  }
  return { bytes: out, note: `${k} bit flip(s)` };
};

const byteInsert: Step = (bytes, walk, r) => {
  const at = headerBiased(bytes.byteLength, walk, r);
  const n = r.pick([1, 2, 3, 4, 8, r.between(1, 512)]);
  const fill = r.chance(0.5) ? r.bytes(n) : bytes.subarray(Math.max(0, at - n), at);
  return { bytes: splice(bytes, at, at, fill), note: `${fill.byteLength} byte(s) inserted at ${at}` };
};

const byteDelete: Step = (bytes, walk, r) => {
  const at = headerBiased(bytes.byteLength, walk, r);
  const n = r.pick([1, 2, 4, 8, r.between(1, 1024)]);
  return { bytes: splice(bytes, at, at + n), note: `${n} byte(s) deleted at ${at}` };
};

const truncate: Step = (bytes, walk, r) => {
  const cuts = walk.elements.map((e) => e.offset + r.between(0, 12));
  const at = cuts.length > 0 && r.chance(0.6) ? r.pick(cuts) : r.chance(0.5) ? bytes.byteLength - r.between(1, 64) : r.int(bytes.byteLength);
  const end = Math.max(0, Math.min(bytes.byteLength, at));
  return { bytes: bytes.slice(0, end), note: `truncated to ${end} of ${bytes.byteLength} bytes` };
};

const interestingBytes: Step = (bytes, walk, r) => {
  const out = Uint8Array.from(bytes);
  const at = headerBiased(out.byteLength, walk, r);
  const v = r.pick(INTERESTING_32);
  writeUint(out, Math.min(at, Math.max(0, out.byteLength - 4)), r.chance(0.5) ? 2 : 4, v, r.chance(0.2));
  return { bytes: out, note: `0x${v.toString(16)} written at ${at}` };
};

function pickElement(walk: Walk, r: Random, filter: (e: WalkedElement) => boolean = () => true): WalkedElement | undefined {
  const candidates = walk.elements.filter(filter);
  return candidates.length === 0 ? undefined : r.pick(candidates);
}

const lengthField: Step = (bytes, walk, r) => {
  const e = pickElement(walk, r);
  if (e === undefined) return bitFlip(bytes, walk, r, bytes);
  const out = Uint8Array.from(bytes);
  const max = e.lengthSize === 2 ? 0xffff : 0xffffffff;
  const v = r.pick([0, 1, e.length + 1, Math.max(0, e.length - 1), e.length * 2, max, max - 1, 0x7fffffff, bytes.byteLength, r.int(max)]) % (max + 1);
  writeUint(out, e.lengthOffset, e.lengthSize, v, e.bigEndian);
  return { bytes: out, note: `length of (${hex(e.tag)}) ${e.length} → ${v}` };
};

const vrSwap: Step = (bytes, walk, r) => {
  const e = pickElement(walk, r, (x) => x.vr !== undefined);
  if (e === undefined) return lengthField(bytes, walk, r, bytes);
  const out = Uint8Array.from(bytes);
  const vr = r.pick(ALL_VRS);
  out[e.offset + 4] = vr.charCodeAt(0);
  out[e.offset + 5] = vr.charCodeAt(1);
  return { bytes: out, note: `VR of (${hex(e.tag)}) ${e.vr ?? ''} → ${JSON.stringify(vr)}` };
};

const SWAP_TAGS = [
  TAG.rows, TAG.columns, TAG.bitsAllocated, TAG.bitsStored, TAG.highBit, TAG.pixelRepresentation, TAG.samplesPerPixel, TAG.photometric,
  TAG.numberOfFrames, TAG.planar, TAG.pixelData, TAG.transferSyntax, TAG.item, TAG.itemDelimiter, TAG.sequenceDelimiter, TAG.rescaleSlope,
  TAG.windowWidth, 0x00283000, 0x00283010, 0x00281101, 0x00281201, 0x7fe00008, 0x7fe00009, 0x00090010, 0x00080016, 0x0020000d, 0xffffffff, 0,
];

const tagSwap: Step = (bytes, walk, r) => {
  const a = pickElement(walk, r);
  if (a === undefined) return bitFlip(bytes, walk, r, bytes);
  const out = Uint8Array.from(bytes);
  const b = pickElement(walk, r, (x) => x !== a);
  const target = b !== undefined && r.chance(0.4) ? b.tag : r.pick(SWAP_TAGS);
  writeUint(out, a.offset, 2, target >>> 16, a.bigEndian);
  writeUint(out, a.offset + 2, 2, target & 0xffff, a.bigEndian);
  if (b !== undefined && target === b.tag && r.chance(0.5)) {
    writeUint(out, b.offset, 2, a.tag >>> 16, b.bigEndian);
    writeUint(out, b.offset + 2, 2, a.tag & 0xffff, b.bigEndian);
    return { bytes: out, note: `tags (${hex(a.tag)}) and (${hex(b.tag)}) swapped` };
  }
  return { bytes: out, note: `tag (${hex(a.tag)}) → (${hex(target)})` };
};

const PIXEL_MODULE = [TAG.rows, TAG.columns, TAG.bitsAllocated, TAG.bitsStored, TAG.highBit, TAG.pixelRepresentation, TAG.samplesPerPixel, TAG.photometric, TAG.numberOfFrames, TAG.planar, TAG.pixelData, TAG.transferSyntax];

const elementDelete: Step = (bytes, walk, r) => {
  const e = r.chance(0.6) ? pickElement(walk, r, (x) => PIXEL_MODULE.includes(x.tag as never)) : pickElement(walk, r);
  if (e === undefined) return byteDelete(bytes, walk, r, bytes);
  return { bytes: splice(bytes, e.offset, elementEnd(bytes, e)), note: `element (${hex(e.tag)}) removed` };
};

const elementDuplicate: Step = (bytes, walk, r) => {
  const e = pickElement(walk, r, (x) => elementEnd(bytes, x) - x.offset < 1 << 20);
  if (e === undefined) return byteInsert(bytes, walk, r, bytes);
  const copy = bytes.slice(e.offset, elementEnd(bytes, e));
  const at = r.chance(0.5) ? elementEnd(bytes, e) : (pickElement(walk, r)?.offset ?? e.offset);
  return { bytes: splice(bytes, at, at, copy), note: `element (${hex(e.tag)}) duplicated at ${at}` };
};

function us(value: number, big: boolean): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, value & 0xffff, !big);
  return out;
}

/** Replaces (or inserts, at its sorted place in the top-level data set) one element. */
export function setTopLevel(bytes: Uint8Array, walk: Walk, tag: number, vr: string, value: (big: boolean) => Uint8Array): Uint8Array {
  const top = walk.elements.filter((e) => e.depth === 0 && e.offset >= walk.datasetStart && e.tag >>> 16 !== 0xfffe);
  const like = top[0] ?? { bigEndian: false, explicit: true };
  const existing = top.find((e) => e.tag === tag);
  if (existing !== undefined) {
    const encoded = encodeElement(tag, existing.vr ?? vr, value(existing.bigEndian), existing);
    return splice(bytes, existing.offset, elementEnd(bytes, existing), encoded);
  }
  const after = top.find((e) => e.tag > tag);
  const at = after?.offset ?? bytes.byteLength;
  return splice(bytes, at, at, encodeElement(tag, vr, value(like.bigEndian), like));
}

const hugeSize: Step = (bytes, walk, r) => {
  const tag = r.pick([TAG.rows, TAG.columns, TAG.numberOfFrames, TAG.bitsAllocated, TAG.samplesPerPixel, TAG.bitsStored]);
  if (tag === TAG.numberOfFrames) {
    const v = r.pick(['0', '-1', '2', '3', '1000', '65536', '99999999', '2147483648', '1e9', 'NaN', 'abc', '']);
    return { bytes: setTopLevel(bytes, walk, tag, 'IS', () => ascii(v)), note: `NumberOfFrames → ${JSON.stringify(v)}` };
  }
  const values: Record<number, readonly number[]> = {
    [TAG.rows]: [0, 1, 2, 0x7fff, 0x8000, 0xfffe, 0xffff, 4096, 8192, 16384],
    [TAG.columns]: [0, 1, 3, 0x7fff, 0x8000, 0xffff, 4096, 8192, 16384],
    [TAG.bitsAllocated]: [0, 1, 4, 7, 8, 12, 16, 24, 32, 64, 255, 0xffff],
    [TAG.samplesPerPixel]: [0, 1, 2, 3, 4, 255, 0xffff],
    [TAG.bitsStored]: [0, 1, 7, 8, 12, 15, 16, 17, 32, 33, 0xffff],
  };
  const v = r.pick(values[tag] ?? [0xffff]);
  return { bytes: setTopLevel(bytes, walk, tag, 'US', (big) => us(v, big)), note: `(${hex(tag)}) → ${v}` };
};

const STRING_VALUES: readonly (readonly [number, string, readonly string[]])[] = [
  [TAG.photometric, 'CS', ['MONOCHROME1', 'MONOCHROME2', 'RGB', 'PALETTE COLOR', 'YBR_FULL', 'YBR_FULL_422', 'YBR_PARTIAL_420', 'YBR_ICT', 'YBR_RCT', 'CMYK', 'ARGB', 'HSV', '', 'X'.repeat(70)]],
  [TAG.rescaleSlope, 'DS', ['0', '-1', '1e308', '-1e308', 'NaN', 'inf', 'abc', '1\\2', '']],
  [TAG.rescaleIntercept, 'DS', ['-1e308', '1e308', 'NaN', '-inf', '']],
  [TAG.windowCenter, 'DS', ['0', '-1e308', 'NaN', '40\\400', '']],
  [TAG.windowWidth, 'DS', ['0', '-1', '0.5', '1e-300', '1e308', 'NaN', '']],
];

const pixelModuleValue: Step = (bytes, walk, r) => {
  if (r.chance(0.4)) {
    const tag = r.pick([TAG.pixelRepresentation, TAG.planar, TAG.highBit]);
    const v = r.pick([0, 1, 2, 7, 15, 31, 0xffff]);
    return { bytes: setTopLevel(bytes, walk, tag, 'US', (big) => us(v, big)), note: `(${hex(tag)}) → ${v}` };
  }
  const [tag, vr, values] = r.pick(STRING_VALUES);
  const v = r.pick(values);
  return { bytes: setTopLevel(bytes, walk, tag, vr, () => ascii(v)), note: `(${hex(tag)}) → ${JSON.stringify(v)}` };
};

const transferSyntaxSwap: Step = (bytes, walk, r) => {
  const ts = walk.elements.find((e) => e.tag === TAG.transferSyntax);
  const uid = r.pick(TRANSFER_SYNTAXES);
  if (ts === undefined) return pixelModuleValue(bytes, walk, r, bytes);
  const encoded = encodeElement(TAG.transferSyntax, 'UI', ascii(uid, '\0'), ts);
  const delta = encoded.byteLength - (elementEnd(bytes, ts) - ts.offset);
  const out = splice(bytes, ts.offset, elementEnd(bytes, ts), encoded);
  const groupLength = walk.elements.find((e) => e.tag === TAG.metaGroupLength);
  // Usually keep the meta group length right, so the swap reaches the data set parser.
  if (groupLength !== undefined && r.chance(0.85)) {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    if (groupLength.valueOffset + 4 <= out.byteLength) view.setUint32(groupLength.valueOffset, (view.getUint32(groupLength.valueOffset, true) + delta) >>> 0, true);
  }
  return { bytes: out, note: `transfer syntax ${walk.transferSyntax ?? '?'} → ${JSON.stringify(uid)}` };
};

const crossover: Step = (bytes, walk, r, other) => {
  const mine = walk.elements.find((e) => e.tag === TAG.pixelData && e.depth === 0);
  const theirs = walkDicom(other).elements.find((e) => e.tag === TAG.pixelData && e.depth === 0);
  if (mine === undefined || theirs === undefined) return truncate(bytes, walk, r, other);
  const out = new Uint8Array(mine.offset + other.byteLength - theirs.offset);
  out.set(bytes.subarray(0, mine.offset), 0);
  out.set(other.subarray(theirs.offset), mine.offset);
  return { bytes: out, note: "this file's header with another file's Pixel Data" };
};

const STEPS: Record<DicomMutation, Step> = {
  'bit-flip': bitFlip,
  'byte-insert': byteInsert,
  'byte-delete': byteDelete,
  truncate,
  'interesting-bytes': interestingBytes,
  'length-field': lengthField,
  'vr-swap': vrSwap,
  'tag-swap': tagSwap,
  'element-delete': elementDelete,
  'element-duplicate': elementDuplicate,
  'huge-size': hugeSize,
  'pixel-module-value': pixelModuleValue,
  'transfer-syntax-swap': transferSyntaxSwap,
  'fragment-damage': (bytes, walk, r) => fragmentDamage(bytes, walk, r) ?? hugeSize(bytes, walk, r, bytes),
  crossover,
};

export function hex(tag: number): string {
  const h = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `${h.slice(0, 4)},${h.slice(4)}`;
}

/** The result of mutating one seed. */
export interface MutatedDicom {
  readonly bytes: Uint8Array;
  /** The mutation kinds applied, in order. */
  readonly kinds: readonly DicomMutation[];
  /** What each step did. */
  readonly notes: readonly string[];
}

/**
 * Applies one to three mutations to `seed` (a copy; `seed` is not changed).
 *
 * @param other - a second real file, for crossover
 */
export function mutateDicom(seed: Uint8Array, other: Uint8Array, r: Random): MutatedDicom {
  const count = r.chance(0.7) ? 1 : r.chance(0.66) ? 2 : 3;
  let bytes = seed;
  const kinds: DicomMutation[] = [];
  const notes: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = r.pick(DICOM_MUTATIONS);
    const step = STEPS[kind](bytes, walkDicom(bytes), r, other);
    bytes = step.bytes;
    kinds.push(kind);
    notes.push(`${kind}: ${step.note}`);
  }
  return { bytes: bytes === seed ? Uint8Array.from(seed) : bytes, kinds, notes };
}
