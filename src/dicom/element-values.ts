/**
 * Values of the elements a walk located (dataset.ts), decoded on demand: strings (split at
 * backslashes, trimmed; text VRs through the Specific Character Set), numbers (binary VRs in
 * the data set's byte order, IS and DS parsed as dcmjs does), and raw bytes.
 */
import type { DataSet, Located } from './dataset.js';

/** The dictionary VR of an element, used when the file gives none (implicit VR) or UN. */
export type DictionaryVr = 'US' | 'SS' | 'UL' | 'IS' | 'DS' | 'CS' | 'UI' | 'LO' | 'OW' | 'AS' | 'DA';

/** VRs whose text goes through the Specific Character Set (the others are ASCII). */
const TEXT_VRS: ReadonlySet<string> = new Set(['LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT']);

/** Specific Character Set defined terms → TextDecoder labels (the mapping dcmjs uses). */
const CHARSETS: Readonly<Record<string, string>> = {
  '': 'latin1', 'iso-ir-6': 'latin1', 'iso-ir-13': 'shift-jis', 'iso-ir-100': 'latin1', 'iso-ir-101': 'iso-8859-2',
  'iso-ir-109': 'iso-8859-3', 'iso-ir-110': 'iso-8859-4', 'iso-ir-126': 'iso-ir-126', 'iso-ir-127': 'iso-ir-127',
  'iso-ir-138': 'iso-ir-138', 'iso-ir-144': 'iso-ir-144', 'iso-ir-148': 'iso-ir-148', 'iso-ir-166': 'tis-620',
  'iso-2022-ir-6': 'latin1', 'iso-2022-ir-13': 'shift-jis', 'iso-2022-ir-87': 'iso-2022-jp', 'iso-2022-ir-100': 'latin1',
  'iso-2022-ir-101': 'iso-8859-2', 'iso-2022-ir-109': 'iso-8859-3', 'iso-2022-ir-110': 'iso-8859-4', 'iso-2022-ir-126': 'iso-ir-126',
  'iso-2022-ir-127': 'iso-ir-127', 'iso-2022-ir-138': 'iso-ir-138', 'iso-2022-ir-144': 'iso-ir-144', 'iso-2022-ir-148': 'iso-ir-148',
  'iso-2022-ir-149': 'euc-kr', 'iso-2022-ir-159': 'iso-2022-jp', 'iso-2022-ir-166': 'tis-620', 'iso-2022-ir-58': 'gbk',
  'iso-ir-192': 'utf-8', gb18030: 'gb18030', gbk: 'gbk', 'iso-2022-gbk': 'gbk', 'iso-2022-58': 'gbk',
};
type Decoder = InstanceType<typeof TextDecoder>;
const decoders = new Map<string, Decoder>();

function decoderFor(label: string): Decoder {
  let decoder = decoders.get(label);
  if (decoder === undefined) {
    decoder = new TextDecoder(label);
    decoders.set(label, decoder);
  }
  return decoder;
}

/**
 * The TextDecoder label for a Specific Character Set value. With code extensions (several
 * terms, ISO 2022) the last term known wins: the multi-byte set (Japanese, Korean, Chinese),
 * whose decoders also read the ASCII part. Unknown terms fall back to the default repertoire.
 */
export function charsetLabel(value: string | undefined): string {
  const terms = (value ?? '').split('\\').map((t) => t.trim().replace(/[_ ]/g, '-').toLowerCase());
  let label = 'latin1';
  for (const term of terms) {
    const known = CHARSETS[term];
    if (known !== undefined && term !== '') label = known;
  }
  return label;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) out += String.fromCharCode(bytes[i] as number);
  return out;
}

/** True when every byte is 7-bit and no ISO 2022 escape occurs: every supported decoder then agrees with Latin-1. */
function plainAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i] as number;
    if (b >= 0x80 || b === 0x1b) return false;
  }
  return true;
}

/** The element's raw string (text VRs decoded with `charset`, a TextDecoder label). */
function rawString(ds: DataSet, el: Located, charset: string): string {
  const { bytes } = ds.encoding;
  const end = el.start + el.length;
  if (!TEXT_VRS.has(el.vr) || plainAscii(bytes, el.start, end)) return latin1(bytes, el.start, end);
  return decoderFor(charset).decode(bytes.subarray(el.start, end));
}

/**
 * The values of a string element, split at backslashes and trimmed (UIDs keep only digits and
 * dots, their NUL padding included), or [] when absent.
 *
 * @param charset - TextDecoder label of the data set's Specific Character Set (see {@link charsetLabel})
 */
export function strings(ds: DataSet, tag: number, dictionaryVr: DictionaryVr, charset = 'latin1'): string[] {
  const el = ds.elements.get(tag);
  if (el === undefined) return [];
  const vr = el.vr === '' || el.vr === 'UN' ? dictionaryVr : el.vr;
  const values = rawString(ds, { ...el, vr }, charset).split('\\');
  return vr === 'UI' ? values.map((v) => v.replace(/[^0-9.]/g, '')) : values.map((v) => v.replace(/^[\s\0]+|[\s\0]+$/g, ''));
}

/** IS: an optionally signed base-10 integer; anything else is no value. */
function parseIs(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) return undefined;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : undefined;
}

/** DS: characters outside [0-9.+-e] are dropped (dcmjs's reading), then parsed; non-finite is no value. */
function parseDs(text: string): number | undefined {
  const cleaned = text.trim().replace(/[^0-9.\-+e]/gi, '');
  if (cleaned === '') return undefined;
  const n = Number(cleaned);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The values of a numeric element (binary or IS/DS), or [] when absent. An unreadable IS/DS
 * value is undefined in its place.
 */
export function numbers(ds: DataSet, tag: number, dictionaryVr: DictionaryVr): (number | undefined)[] {
  const el = ds.elements.get(tag);
  if (el === undefined) return [];
  const binaryUn = el.vr === 'UN' && dictionaryVr !== 'IS' && dictionaryVr !== 'DS';
  const vr = el.vr === '' || el.vr === 'UN' ? dictionaryVr : el.vr;
  if (vr === 'IS' || vr === 'DS') {
    if (el.length === 0) return [];
    const parse = vr === 'IS' ? parseIs : parseDs;
    return latin1(ds.encoding.bytes, el.start, el.start + el.length).split('\\').map(parse);
  }
  // UN holds the value as Implicit VR Little Endian would.
  const little = binaryUn || ds.encoding.littleEndian;
  const { view } = ds.encoding;
  const size = vr === 'UL' || vr === 'SL' || vr === 'FL' ? 4 : vr === 'FD' ? 8 : 2;
  const out: number[] = [];
  for (let at = el.start; at + size <= el.start + el.length; at += size) {
    if (vr === 'SS') out.push(view.getInt16(at, little));
    else if (vr === 'UL') out.push(view.getUint32(at, little));
    else if (vr === 'SL') out.push(view.getInt32(at, little));
    else if (vr === 'FL') out.push(view.getFloat32(at, little));
    else if (vr === 'FD') out.push(view.getFloat64(at, little));
    else out.push(view.getUint16(at, little));
  }
  return out;
}

/** The first value of a numeric element, when there is one. */
export function firstNumber(ds: DataSet, tag: number, dictionaryVr: DictionaryVr): number | undefined {
  return numbers(ds, tag, dictionaryVr)[0];
}

/** The raw bytes of an element's value (a view), or undefined when absent. */
export function valueBytes(ds: DataSet, tag: number): Uint8Array | undefined {
  const el = ds.elements.get(tag);
  return el === undefined ? undefined : ds.encoding.bytes.subarray(el.start, el.start + el.length);
}

/** The element's VR as written ('' under implicit VR), or undefined when absent. */
export function writtenVr(ds: DataSet, tag: number): string | undefined {
  return ds.elements.get(tag)?.vr;
}
