/**
 * Damage to encapsulated Pixel Data: fragment lengths, the Basic Offset Table, the sequence
 * delimiter, fragments removed, duplicated or split, and codestream headers (JPEG SOF, J2K SIZ,
 * JPEG-LS, RLE header) overwritten with extreme values.
 */
import type { Random } from './random.js';
import { TAG, elementEnd, splice, writeUint, type Walk, type WalkedElement } from './dicom-walk.js';

const EXTREMES = [0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff];

function u32(value: number, big: boolean): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, !big);
  return out;
}

function itemHeader(length: number, big: boolean): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xfffe, !big);
  view.setUint16(2, 0xe000, !big);
  view.setUint32(4, length >>> 0, !big);
  return out;
}

type Damage = (bytes: Uint8Array, pixel: WalkedElement, items: readonly WalkedElement[], r: Random) => { bytes: Uint8Array; note: string } | undefined;

const fragmentLength: Damage = (bytes, _pixel, items, r) => {
  const item = r.pick(items);
  const out = Uint8Array.from(bytes);
  const v = r.pick([0, 1, 3, item.length + 1, Math.max(0, item.length - 1), item.length + 1000, 0x7fffffff, 0xfffffffe, 0xffffffff, r.int(2 ** 32)]);
  writeUint(out, item.lengthOffset, 4, v, item.bigEndian);
  return { bytes: out, note: `fragment at ${item.offset}: length ${item.length} → ${v}` };
};

const offsetTable: Damage = (bytes, _pixel, items, r) => {
  const bot = items[0];
  if (bot === undefined) return undefined;
  if (bot.length >= 4 && r.chance(0.7)) {
    const out = Uint8Array.from(bytes);
    const entries = Math.floor(bot.length / 4);
    for (let k = r.between(1, Math.min(4, entries)); k > 0; k--) {
      writeUint(out, bot.valueOffset + 4 * r.int(entries), 4, r.pick([0, 1, 2, 0x7fffffff, 0xffffffff, r.int(2 ** 32), r.int(bytes.byteLength)]), bot.bigEndian);
    }
    return { bytes: out, note: 'Basic Offset Table entries overwritten' };
  }
  // A fabricated table: many frames, or offsets into nowhere.
  const n = r.pick([1, 2, 3, 17, 1000]);
  const table = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) table.set(u32(r.chance(0.5) ? i * r.int(5000) : r.int(2 ** 32), bot.bigEndian), 4 * i);
  const replacement = new Uint8Array(8 + table.byteLength);
  replacement.set(itemHeader(table.byteLength, bot.bigEndian), 0);
  replacement.set(table, 8);
  return { bytes: splice(bytes, bot.offset, elementEnd(bytes, bot), replacement), note: `Basic Offset Table replaced by ${n} entries` };
};

const delimiter: Damage = (bytes, pixel, items, r) => {
  const last = items[items.length - 1];
  const end = last === undefined ? pixel.valueOffset : elementEnd(bytes, last);
  if (r.chance(0.5)) return { bytes: bytes.slice(0, end), note: 'sequence delimiter and everything after it removed' };
  // Pixel Data with a defined length although it is encapsulated.
  const out = Uint8Array.from(bytes);
  writeUint(out, pixel.lengthOffset, 4, r.pick([end - pixel.valueOffset, 0, 8, bytes.byteLength]), pixel.bigEndian);
  return { bytes: out, note: 'encapsulated Pixel Data given a defined length' };
};

const removeOrDuplicate: Damage = (bytes, _pixel, items, r) => {
  const frags = items.slice(1);
  if (frags.length === 0) return undefined;
  const f = r.pick(frags);
  const whole = bytes.slice(f.offset, elementEnd(bytes, f));
  if (r.chance(0.5)) return { bytes: splice(bytes, f.offset, elementEnd(bytes, f)), note: `fragment at ${f.offset} removed` };
  return { bytes: splice(bytes, elementEnd(bytes, f), elementEnd(bytes, f), whole), note: `fragment at ${f.offset} duplicated` };
};

const split: Damage = (bytes, _pixel, items, r) => {
  const frags = items.slice(1).filter((f) => f.length >= 4 && f.length !== 0xffffffff);
  if (frags.length === 0) return undefined;
  const f = r.pick(frags);
  const cut = r.between(1, f.length - 1);
  const first = itemHeader(cut, f.bigEndian);
  const second = itemHeader(f.length - cut, f.bigEndian);
  const out = new Uint8Array(bytes.byteLength + 8);
  out.set(bytes.subarray(0, f.offset), 0);
  out.set(first, f.offset);
  out.set(bytes.subarray(f.valueOffset, f.valueOffset + cut), f.offset + 8);
  out.set(second, f.offset + 8 + cut);
  out.set(bytes.subarray(f.valueOffset + cut), f.offset + 16 + cut);
  return { bytes: out, note: `fragment at ${f.offset} split at ${cut}` };
};

const codestreamHeader: Damage = (bytes, _pixel, items, r) => {
  const frags = items.slice(1).filter((f) => f.length >= 16);
  if (frags.length === 0) return undefined;
  const f = r.pick(frags);
  const out = Uint8Array.from(bytes);
  const span = Math.min(f.length, elementEnd(bytes, f) - f.valueOffset, 160) - 2;
  const k = r.between(1, 4);
  for (let i = 0; i < k; i++) writeUint(out, f.valueOffset + r.int(Math.max(1, span)), 2, r.pick(EXTREMES), true);
  return { bytes: out, note: `${k} 16-bit value(s) in the codestream header of the fragment at ${f.offset} overwritten` };
};

const truncateFragment: Damage = (bytes, _pixel, items, r) => {
  const frags = items.slice(1).filter((f) => f.length > 2 && f.length !== 0xffffffff);
  if (frags.length === 0) return undefined;
  const f = r.pick(frags);
  const keep = r.pick([0, 2, r.int(f.length), f.length - 2]);
  const out = splice(bytes, f.valueOffset + keep, f.valueOffset + f.length);
  writeUint(out, f.lengthOffset, 4, keep, f.bigEndian);
  return { bytes: out, note: `fragment at ${f.offset} cut from ${f.length} to ${keep} bytes` };
};

const DAMAGES: readonly Damage[] = [fragmentLength, offsetTable, delimiter, removeOrDuplicate, split, codestreamHeader, codestreamHeader, truncateFragment];

/**
 * Damages the encapsulated Pixel Data of a file; undefined when the file has none (native
 * pixels, deflated, or a header too broken to find it).
 */
export function fragmentDamage(bytes: Uint8Array, walk: Walk, r: Random): { bytes: Uint8Array; note: string } | undefined {
  const pixel = walk.elements.find((e) => e.tag === TAG.pixelData && e.depth === 0 && e.length === 0xffffffff);
  if (pixel === undefined) return undefined;
  const items = walk.elements.filter((e) => e.fragment && e.tag === TAG.item && e.offset > pixel.offset);
  if (items.length === 0) return undefined;
  for (let tries = 0; tries < 4; tries++) {
    const done = r.pick(DAMAGES)(bytes, pixel, items, r);
    if (done !== undefined) return done;
  }
  return fragmentLength(bytes, pixel, items, r);
}
