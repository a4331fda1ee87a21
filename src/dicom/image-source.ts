/**
 * The dicom layer as the analysis layer's image port: list a series' instances, load one
 * decoded, window a frame for display. Wiring builds it from config.
 */
import { jsonNumber, jsonString, TAG } from './dicom-json.js';
import { createDicomWebClient } from './dicomweb-client.js';
import { toDisplayImage } from './display.js';
import { perFrameInfo } from './enhanced-frames.js';
import { assertRequestedInstance, loadInstanceFrames, resolveLimits } from './load.js';
import type { LoadedInstance } from './load.js';
import type { AllowList, PacsAuth } from './outbound.js';
import type { DicomLimits, ModalityFrame } from './types.js';
import type { Image, WindowingSpec } from '../image/index.js';

/** Configuration of the image source; PACS auth is separate from any EHR token. */
export interface DicomImageSourceOptions {
  readonly allowList: AllowList;
  readonly auth: PacsAuth;
  /** Limit for one WADO-RS attempt, body included (the client's `timeoutMs`). */
  readonly timeoutMs?: number;
  /** Limit for one QIDO-RS attempt (the client's `jsonTimeoutMs`). */
  readonly jsonTimeoutMs?: number;
  /** Most bytes of one PACS response, i.e. of one instance (the client's `maxResponseBytes`). */
  readonly maxBytes?: number;
  /** Most bytes of one QIDO-RS answer (the client's `maxJsonBytes`). */
  readonly maxJsonBytes?: number;
  readonly retries?: number;
  readonly retryBaseDelayMs?: number;
  readonly acceptTransferSyntax?: string;
  readonly limits?: Partial<DicomLimits>;
}

/** A series as a PACS lists it (QIDO-RS). */
export interface PacsSeries {
  readonly uid: string;
  readonly modality: string | undefined;
  readonly bodyPart: string | undefined;
  readonly description: string | undefined;
}

/** Structurally the analysis layer's `ImageSource` port, and the series of a study. */
export interface DicomImageSource {
  /** The series of a study (QIDO-RS), for a study known only by its StudyInstanceUID. */
  listSeries(root: string, studyUid: string): Promise<PacsSeries[]>;
  /** SOP Instance UIDs of a series (QIDO-RS), ordered by InstanceNumber where given. */
  listInstances(root: string, studyUid: string, seriesUid: string): Promise<string[]>;
  /** Retrieves one instance (WADO-RS), checks it is the one asked for, and decodes its frames. */
  loadInstance(root: string, studyUid: string, seriesUid: string, sopUid: string): Promise<LoadedInstance>;
  /** VOI / photometric handling for display. */
  toDisplay(frame: ModalityFrame, windowing: WindowingSpec): Image;
}

/**
 * Builds the image source over a DICOMweb client.
 *
 * @throws RangeError for invalid numeric options
 */
export function createDicomWebImageSource(options: DicomImageSourceOptions): DicomImageSource {
  const client = createDicomWebClient({
    allowList: options.allowList,
    auth: options.auth,
    timeoutMs: options.timeoutMs,
    jsonTimeoutMs: options.jsonTimeoutMs,
    maxResponseBytes: options.maxBytes,
    maxJsonBytes: options.maxJsonBytes,
    retries: options.retries,
    retryBaseDelayMs: options.retryBaseDelayMs,
    acceptTransferSyntax: options.acceptTransferSyntax,
  });
  const limits = resolveLimits(options.limits);
  return {
    async listSeries(root, studyUid) {
      // Modality and series UID are returned by default; body part and description are asked for.
      const found = await client.searchSeries(root, studyUid, { includefield: `${TAG.BodyPartExamined},${TAG.SeriesDescription}` });
      const series = new Map<string, PacsSeries>();
      for (const ds of found) {
        const uid = jsonString(ds, TAG.SeriesInstanceUID);
        if (uid !== undefined && !series.has(uid)) {
          series.set(uid, { uid, modality: jsonString(ds, TAG.Modality), bodyPart: jsonString(ds, TAG.BodyPartExamined), description: jsonString(ds, TAG.SeriesDescription) });
        }
      }
      return [...series.values()];
    },
    async listInstances(root, studyUid, seriesUid) {
      const found = await client.searchInstances(root, studyUid, seriesUid);
      const entries = found
        .map((ds, index) => ({ uid: jsonString(ds, TAG.SOPInstanceUID), number: jsonNumber(ds, TAG.InstanceNumber), index }))
        .filter((e): e is { uid: string; number: number | undefined; index: number } => e.uid !== undefined);
      entries.sort((a, b) => (a.number ?? Infinity) - (b.number ?? Infinity) || a.index - b.index);
      return [...new Set(entries.map((e) => e.uid))];
    },
    async loadInstance(root, studyUid, seriesUid, sopUid) {
      const bytes = await client.retrieveInstance(root, studyUid, seriesUid, sopUid);
      const instance = loadInstanceFrames(bytes, limits);
      assertRequestedInstance(instance.info, studyUid, seriesUid, sopUid);
      // An enhanced multi-frame image: each frame carries its own position, orientation and time.
      const frameInfos = perFrameInfo(bytes, instance.info);
      return frameInfos === undefined ? instance : { ...instance, frames: instance.frames.map((f, i) => ({ ...f, info: frameInfos[i] ?? f.info })) };
    },
    toDisplay: toDisplayImage,
  };
}
