/**
 * Synthetic source images for the SEG and SR builders: a colour fundus photograph (Ophthalmic
 * Photography 8 Bit, no Frame of Reference) and cine MR short-axis slices (with one).
 */
import { buildPart10, imageElements } from './part10-builder.js';
import type { Element } from './part10-builder.js';

export const STUDY_UID = '1.2.826.0.1.3680043.8.498.7702.1';

const patientAndStudy: Element[] = [
  { tag: 0x00080020, vr: 'DA', value: '20240105' },
  { tag: 0x00080030, vr: 'TM', value: '101500' },
  { tag: 0x00080050, vr: 'SH', value: 'ACC42' },
  { tag: 0x00080090, vr: 'PN', value: '' },
  { tag: 0x00100010, vr: 'PN', value: 'Test^Fundus' },
  { tag: 0x00100020, vr: 'LO', value: 'PAT-7702' },
  { tag: 0x00100030, vr: 'DA', value: '19600101' },
  { tag: 0x00100040, vr: 'CS', value: 'F' },
  { tag: 0x00200010, vr: 'SH', value: 'S1' },
  { tag: 0x0020000d, vr: 'UI', value: STUDY_UID },
];

function withOwn(base: Element[], own: readonly Element[]): Element[] {
  return [...base.filter((e) => !own.some((o) => o.tag === e.tag)), ...own];
}

/** A small RGB fundus photograph: a bright disc on black, with a dark "vessel" band. */
export function fundusPhotograph(columns = 64, rows = 48): Uint8Array {
  const pixels = new Uint8Array(columns * rows * 3);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      const inside = (x - columns / 2) ** 2 + (y - rows / 2) ** 2 < (rows / 2.2) ** 2;
      const at = (y * columns + x) * 3;
      pixels.set(inside ? [200, 90, 40] : [0, 0, 0], at);
    }
  }
  const own: Element[] = [
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.77.1.5.1' },
    { tag: 0x00080018, vr: 'UI', value: '1.2.826.0.1.3680043.8.498.7702.3' },
    { tag: 0x00080060, vr: 'CS', value: 'OP' },
    { tag: 0x0020000e, vr: 'UI', value: '1.2.826.0.1.3680043.8.498.7702.2' },
    { tag: 0x00180015, vr: 'CS', value: 'EYE' },
    { tag: 0x00200011, vr: 'IS', value: '1' },
    { tag: 0x00200013, vr: 'IS', value: '1' },
    ...patientAndStudy,
  ];
  const base = imageElements({ rows, columns, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'RGB', pixels });
  return buildPart10(withOwn(base, own), 'explicit-le');
}

/** One cine MR slice: `slice` along the normal (8 mm apart), `phase` in the cycle. */
export function cineSlice(slice: number, phase: number, columns = 32, rows = 32): Uint8Array {
  const pixels = new Uint8Array(columns * rows * 2);
  const n = slice * 10 + phase + 1;
  const own: Element[] = [
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.4' },
    { tag: 0x00080018, vr: 'UI', value: `1.2.826.0.1.3680043.8.498.7703.${100 + n}` },
    { tag: 0x00080060, vr: 'CS', value: 'MR' },
    { tag: 0x0020000e, vr: 'UI', value: '1.2.826.0.1.3680043.8.498.7703.2' },
    { tag: 0x00200052, vr: 'UI', value: '1.2.826.0.1.3680043.8.498.7703.9' },
    { tag: 0x00201040, vr: 'LO', value: '' },
    { tag: 0x00200032, vr: 'DS', value: `-100\\-100\\${(slice * 8).toFixed(1)}` },
    { tag: 0x00200037, vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
    { tag: 0x00280030, vr: 'DS', value: '1.5\\1.5' },
    { tag: 0x00180050, vr: 'DS', value: '8' },
    { tag: 0x00200011, vr: 'IS', value: '2' },
    { tag: 0x00200013, vr: 'IS', value: String(n) },
    ...patientAndStudy,
  ];
  const base = imageElements({ rows, columns, bitsAllocated: 16, pixels });
  return buildPart10(withOwn(base, own), 'explicit-le');
}
