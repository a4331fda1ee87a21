/**
 * Reading values out of DICOM JSON (PS3.18 F.2), as QIDO-RS and WADO-RS metadata return it.
 */
import type { DicomJsonDataset } from './types.js';

/** Tags used by the client and the facade, as DICOM JSON keys. */
export const TAG = {
  SOPInstanceUID: '00080018',
  SeriesInstanceUID: '0020000E',
  Modality: '00080060',
  InstanceNumber: '00200013',
  NumberOfFrames: '00280008',
} as const;

/** First value of an attribute as a string (PN values give their Alphabetic form), or undefined. */
export function jsonString(ds: DicomJsonDataset, tag: string): string | undefined {
  const first = ds[tag.toUpperCase()]?.Value?.[0];
  if (typeof first === 'string') return first;
  if (typeof first === 'number') return String(first);
  if (typeof first === 'object' && first !== null && 'Alphabetic' in first && typeof first.Alphabetic === 'string') return first.Alphabetic;
  return undefined;
}

/** First value of an attribute as a number (IS/DS may arrive as numbers or strings), or undefined. */
export function jsonNumber(ds: DicomJsonDataset, tag: string): number | undefined {
  const first = ds[tag.toUpperCase()]?.Value?.[0];
  const value = typeof first === 'string' ? Number(first) : first;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
