/**
 * Bytes → decoded frames: the path the analysis layer takes into DICOM.
 */
import { AppError } from '../errors.js';
import { DEFAULT_DICOM_LIMITS, parseDicom } from './parse.js';
import { decodeFrames } from './pixels.js';
import type { DicomImageInfo, DicomLimits, ModalityFrame } from './types.js';

/** One instance, decoded. */
export interface LoadedInstance {
  readonly info: DicomImageInfo;
  readonly frames: ModalityFrame[];
}

/** Fills unset limits with the defaults. */
export function resolveLimits(limits: Partial<DicomLimits> = {}): DicomLimits {
  return {
    maxPixels: limits.maxPixels ?? DEFAULT_DICOM_LIMITS.maxPixels,
    maxInflatedBytes: limits.maxInflatedBytes ?? DEFAULT_DICOM_LIMITS.maxInflatedBytes,
  };
}

/**
 * Parses a Part 10 file and decodes all its frames (Modality LUT applied).
 *
 * @param buffer - the file; views into larger buffers (Node Buffers, multipart parts) are fine.
 *   Frames read their samples from it when their values are first needed, so it must not be
 *   modified while they are in use.
 * @param limits - size guards; unset ones take the defaults
 * @throws AppError DICOM_INVALID, DICOM_UNSUPPORTED or DICOM_TOO_LARGE
 */
export function loadInstanceFrames(buffer: ArrayBuffer | Uint8Array, limits: Partial<DicomLimits> = {}): LoadedInstance {
  const resolved = resolveLimits(limits);
  const parsed = parseDicom(buffer, resolved);
  return { info: parsed.info, frames: decodeFrames(parsed, resolved) };
}

/**
 * Throws unless the PACS returned the instance that was asked for: decoding another study's
 * image under this study's name would be a silent wrong answer.
 *
 * @throws AppError UPSTREAM_FAILED
 */
export function assertRequestedInstance(info: DicomImageInfo, studyUid: string, seriesUid: string, sopUid: string): void {
  if (info.studyInstanceUid !== studyUid || info.seriesInstanceUid !== seriesUid || info.sopInstanceUid !== sopUid) {
    throw new AppError('UPSTREAM_FAILED', 'The PACS returned a different instance than the one requested.');
  }
}
