/**
 * Bytes → decoded frames, and a whole series from a PACS in spatial order: the two paths the
 * analysis layer takes into DICOM.
 */
import { AppError } from '../errors.js';
import { jsonString, TAG } from './dicom-json.js';
import type { DicomWebClient } from './dicomweb-client.js';
import { createByteBudget } from './multipart-stream.js';
import { DEFAULT_DICOM_LIMITS, parseDicom } from './parse.js';
import { decodeFrames } from './pixels.js';
import { sortBySlicePosition } from './series.js';
import type { DicomImageInfo, DicomLimits, ModalityFrame } from './types.js';

/** One instance, decoded. */
export interface LoadedInstance {
  readonly info: DicomImageInfo;
  readonly frames: ModalityFrame[];
}

/** Options for {@link fetchSeriesImages}. */
export interface FetchSeriesOptions {
  readonly limits?: Partial<DicomLimits>;
  /** Most instances a series may have. Default 2000. */
  readonly maxInstances?: number;
  /** Most decoded samples over the whole series (4 bytes each in memory). Default 256 Mi. */
  readonly maxTotalSamples?: number;
  /** Instances retrieved at once (the client's per-origin cap applies on top). Default 4. */
  readonly concurrency?: number;
  /** Most bytes received over all instances of the series, counted as they arrive. Default 2 GiB. */
  readonly maxStudyBytes?: number;
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
 * @param buffer - the file; views into larger buffers (Node Buffers, multipart parts) are fine
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

/**
 * Lists a series with QIDO-RS, retrieves each instance with WADO-RS, decodes it and returns the
 * instances ordered along the slice normal (see {@link sortBySlicePosition}).
 *
 * @throws AppError from the client (UPSTREAM_FAILED, OUTBOUND_NOT_ALLOWED, DICOM_TOO_LARGE), from
 *   decoding, or DICOM_TOO_LARGE when the series exceeds `maxInstances`, `maxTotalSamples` or `maxStudyBytes`
 */
export async function fetchSeriesImages(
  client: DicomWebClient,
  root: string,
  studyUid: string,
  seriesUid: string,
  options: FetchSeriesOptions = {},
): Promise<LoadedInstance[]> {
  const maxInstances = options.maxInstances ?? 2000;
  const maxTotalSamples = options.maxTotalSamples ?? 256 * 1024 * 1024;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const budget = createByteBudget(options.maxStudyBytes ?? 2 * 1024 ** 3, 'The study retrieval');
  const listed = await client.searchInstances(root, studyUid, seriesUid);
  const sopUids = [...new Set(listed.map((ds) => jsonString(ds, TAG.SOPInstanceUID)).filter((uid): uid is string => uid !== undefined))];
  if (sopUids.length > maxInstances) {
    throw new AppError('DICOM_TOO_LARGE', `The series has ${sopUids.length} instances, more than the limit of ${maxInstances}.`);
  }
  const loaded: LoadedInstance[] = new Array<LoadedInstance>(sopUids.length);
  let totalSamples = 0;
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    // After the first failure the others stop taking new instances; Promise.all reports that failure.
    while (!failed && next < sopUids.length) {
      const index = next++;
      const sopUid = sopUids[index] as string;
      try {
        const instance = loadInstanceFrames(await client.retrieveInstance(root, studyUid, seriesUid, sopUid, budget), options.limits);
        assertRequestedInstance(instance.info, studyUid, seriesUid, sopUid);
        totalSamples += instance.frames.reduce((n, f) => n + f.values.length, 0);
        if (totalSamples > maxTotalSamples) {
          throw new AppError('DICOM_TOO_LARGE', `The series decodes to more than the limit of ${maxTotalSamples} samples.`);
        }
        loaded[index] = instance;
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, sopUids.length) }, worker));
  return sortBySlicePosition(loaded);
}
