/**
 * Lookup tables from the header: the Modality LUT Sequence (PS3.3 C.11.1), the VOI LUT Sequence
 * (C.11.2) and the Palette Color LUTs (C.7.6.3.1.5–6), read from the located data set into
 * plain typed tables, and applied the way pydicom's `apply_modality_lut`, `apply_voi` and
 * `apply_color_lut` apply them (the reference the tests compare with).
 */
import { AppError } from '../errors.js';
import type { DataSet } from './dataset.js';
import { numbers, valueBytes, writtenVr } from './element-values.js';
import type { LookupTable } from './types.js';

export type { LookupTable } from './types.js';

/** The three Palette Color LUTs of a PALETTE COLOR image, all with the same descriptor. */
export interface PaletteLuts {
  readonly red: LookupTable;
  readonly green: LookupTable;
  readonly blue: LookupTable;
  /** Largest value an output sample can take: 2^bits − 1 of the entries as stored. */
  readonly maxValue: number;
}

const TAG_LUT_DESCRIPTOR = 0x00283002;
const TAG_LUT_DATA = 0x00283006;
/** Red, Green, Blue: descriptor (0028,1101+c), data (0028,1201+c), segmented data (0028,1221+c). */
const COLOURS = ['Red', 'Green', 'Blue'] as const;

/** Tags the LUT readers need: at the top level, and in the first item of a LUT sequence. */
export const LUT_TAGS: readonly number[] = [0, 1, 2].flatMap((c) => [0x00281101 + c, 0x00281201 + c, 0x00281221 + c]);
export const LUT_ITEM_TAGS: readonly number[] = [TAG_LUT_DESCRIPTOR, TAG_LUT_DATA];

/**
 * Reads the first item of a LUT sequence (Modality or VOI), or undefined when the sequence is
 * absent or empty.
 *
 * @param signed - PixelRepresentation is 1: the first mapped value is then SS, not US (PS3.3
 *   C.11.1.1.1), whatever VR the writer used (implicit VR files leave it ambiguous)
 * @throws AppError DICOM_INVALID for a missing or inconsistent descriptor or data
 */
export function readSequenceLut(ds: DataSet, sequenceTag: number, keyword: 'ModalityLUTSequence' | 'VOILUTSequence', tag: string, signed: boolean): LookupTable | undefined {
  const item = ds.firstItems.get(sequenceTag);
  if (item === undefined) return undefined;
  const what = `${keyword} (${tag})`;
  const descriptor = readDescriptor(numbers(item, TAG_LUT_DESCRIPTOR, 'US'), signed, `the LUT Descriptor of ${what}`);
  const data = readEntries(item, TAG_LUT_DATA, descriptor.entries, `the LUT Data of ${what}`);
  if (data === undefined) throw invalid(`${what} has no LUT Data`);
  if (descriptor.bits < 1 || descriptor.bits > 16) throw invalid(`the LUT Descriptor of ${what} declares ${descriptor.bits} bits per entry (1 to 16 are valid)`);
  return { firstMapped: descriptor.firstMapped, bits: descriptor.bits, data };
}

/**
 * Reads the Red, Green and Blue Palette Color LUTs (descriptor + data).
 *
 * @throws AppError DICOM_UNSUPPORTED for segmented palettes; DICOM_INVALID for missing or
 *   inconsistent tables
 */
export function readPalette(ds: DataSet, signed: boolean): PaletteLuts {
  if ([0, 1, 2].some((c) => !ds.elements.has(0x00281201 + c) && ds.elements.has(0x00281221 + c))) {
    throw new AppError('DICOM_UNSUPPORTED', 'Segmented Palette Color Lookup Tables (0028,1221-1223) are not supported; only the plain tables (0028,1201-1203) are.');
  }
  const [red, green, blue] = [0, 1, 2].map((c) => readPaletteLut(ds, c, signed)) as [LookupTable, LookupTable, LookupTable];
  if (green.data.length !== red.data.length || blue.data.length !== red.data.length || green.bits !== red.bits || blue.bits !== red.bits) {
    throw invalid('the Red, Green and Blue Palette Color Lookup Tables differ in size or depth');
  }
  return { red, green, blue, maxValue: 2 ** red.bits - 1 };
}

/**
 * A palette table: 16-bit entries, or 8-bit entries packed two per OW word when the data has
 * one byte per entry (PS3.3 C.7.6.3.1.6). As pydicom does, the data's length decides the
 * depth, so a file that declares 8 bits but stores 16-bit words keeps its 16-bit values.
 */
function readPaletteLut(ds: DataSet, c: number, signed: boolean): LookupTable {
  const what = `the ${COLOURS[c] ?? ''} Palette Color Lookup Table`;
  const descriptor = readDescriptor(numbers(ds, 0x00281101 + c, 'US'), signed, `${what} Descriptor`);
  const bytes = valueBytes(ds, 0x00281201 + c);
  if (bytes === undefined) throw invalid(`${what} Data is missing`);
  if (bytes.byteLength === descriptor.entries || (descriptor.bits === 8 && bytes.byteLength === descriptor.entries + 1)) {
    // One byte per entry; in big endian OW the bytes of each word are swapped (PS3.5 A.2), XOR 1 undoes it.
    const flip = ds.encoding.littleEndian ? 0 : 1;
    const data = new Uint16Array(descriptor.entries);
    for (let i = 0; i < data.length; i++) data[i] = bytes[i ^ flip] as number;
    return { firstMapped: descriptor.firstMapped, bits: 8, data };
  }
  const data = readEntries(ds, 0x00281201 + c, descriptor.entries, `${what} Data`) as Uint16Array;
  return { firstMapped: descriptor.firstMapped, bits: 16, data };
}

interface Descriptor {
  readonly entries: number;
  readonly firstMapped: number;
  readonly bits: number;
}

function readDescriptor(values: readonly (number | undefined)[], signed: boolean, what: string): Descriptor {
  const [count, first, bits] = values;
  if (values.length !== 3 || count === undefined || first === undefined || bits === undefined) throw invalid(`${what} must have 3 numbers`);
  // PS3.3 C.11.1.1.1: 0 entries means 2^16. A signed first value read as US is re-read as SS.
  const entries = count === 0 ? 65536 : count;
  const firstMapped = signed && first >= 0x8000 ? first - 0x10000 : first;
  return { entries, firstMapped, bits };
}

/** LUT Data as 16-bit words in the data set's byte order; at least `entries` of them must be there. */
function readEntries(ds: DataSet, tag: number, entries: number, what: string): Uint16Array | undefined {
  const bytes = valueBytes(ds, tag);
  if (bytes === undefined) return undefined;
  const vr = writtenVr(ds, tag);
  if (bytes.byteLength < 2 * entries) {
    // US values are counted as entries (as written), other VRs (OW, UN, implicit) as bytes.
    if (vr === 'US' || vr === 'SS') throw invalid(`${what} has ${bytes.byteLength >> 1} entries, fewer than the ${entries} its descriptor declares`);
    throw invalid(`${what} holds ${bytes.byteLength} bytes, fewer than the ${2 * entries} its descriptor declares`);
  }
  const little = vr === 'UN' || ds.encoding.littleEndian;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Uint16Array(entries);
  for (let i = 0; i < entries; i++) data[i] = view.getUint16(2 * i, little);
  return data;
}

/**
 * Maps values through a table: below `firstMapped` gives the first entry, beyond the table the
 * last (PS3.3 C.11.1.1.1). Non-integer inputs (a rescaled value feeding a VOI LUT) are floored,
 * as pydicom's integer index does.
 *
 * @param stride - step between the samples to map in `src` and `out` (1, or 3 for palette output)
 */
export function applyLut(src: ArrayLike<number>, out: Float32Array, lut: LookupTable, outOffset = 0, stride = 1): void {
  const { data, firstMapped } = lut;
  const last = data.length - 1;
  for (let i = 0, o = outOffset; i < src.length; i++, o += stride) {
    let index = Math.floor((src[i] as number) - firstMapped);
    if (index < 0) index = 0;
    else if (index > last) index = last;
    out[o] = data[index] as number;
  }
}

function invalid(detail: string): AppError {
  return new AppError('DICOM_INVALID', `${detail.charAt(0).toUpperCase()}${detail.slice(1)}.`);
}
