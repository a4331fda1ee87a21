/**
 * Reading values out of DICOM JSON (PS3.18 F.2), as QIDO-RS and WADO-RS metadata return it.
 * dcmjs's data dictionary turns the JSON into attributes by keyword; the values arrive from a
 * PACS unvalidated, so every read checks its type and a malformed data set reads as "absent".
 */
import dcmjs from 'dcmjs';
import type { DicomJsonDataset } from './types.js';

/** Tags used by the client and the facade, as DICOM JSON keys. */
export const TAG = {
  SOPInstanceUID: '00080018',
  SeriesInstanceUID: '0020000E',
  Modality: '00080060',
  InstanceNumber: '00200013',
  NumberOfFrames: '00280008',
  BodyPartExamined: '00180015',
  SeriesDescription: '0008103E',
} as const;

const dictionary = dcmjs.data.DicomMetaDictionary;

/** The attribute's first value, by its standard keyword (private tags by their tag), or undefined. */
function firstValue(ds: DicomJsonDataset, tag: string): unknown {
  const element = ds[tag.toUpperCase()] as { readonly Value?: unknown } | undefined;
  // PS3.18 F.2.4: Value is an array; anything else is malformed and reads as absent.
  if (element === undefined || !Array.isArray(element.Value)) return undefined;
  let natural: Record<string, unknown>;
  try {
    natural = dictionary.naturalizeDataset({ [tag.toUpperCase()]: element });
  } catch {
    return undefined;
  }
  const keyword = dictionary.dictionary[dictionary.punctuateTag(tag.toUpperCase())]?.name ?? tag.toUpperCase();
  const value = natural[keyword];
  return Array.isArray(value) ? (value as unknown[])[0] : value;
}

/** First value of an attribute as a string (PN values give their Alphabetic form), or undefined. */
export function jsonString(ds: DicomJsonDataset, tag: string): string | undefined {
  const first = firstValue(ds, tag);
  if (typeof first === 'string') return first;
  if (typeof first === 'number') return String(first);
  if (typeof first === 'object' && first !== null && 'Alphabetic' in first && typeof first.Alphabetic === 'string') return first.Alphabetic;
  return undefined;
}

/** First value of an attribute as a number (IS/DS may arrive as numbers or strings), or undefined. */
export function jsonNumber(ds: DicomJsonDataset, tag: string): number | undefined {
  const first = firstValue(ds, tag);
  const value = typeof first === 'string' ? Number(first) : first;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
