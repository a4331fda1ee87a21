/**
 * The dicom layer's public surface: DICOMweb in, decoded frames and display images out.
 * Nothing outside src/dicom needs dcmjs or any module below this one.
 */
export { createDicomWebClient, DICOMWEB_CLIENT_DEFAULTS } from './dicomweb-client.js';
export type { DicomWebClient, DicomWebClientOptions, QidoQuery } from './dicomweb-client.js';
export { createDicomWebImageSource } from './image-source.js';
export type { DicomImageSource, DicomImageSourceOptions, PacsSeries } from './image-source.js';
export { loadInstanceFrames } from './load.js';
export type { LoadedInstance } from './load.js';
export { applyVoi, toDisplayImage } from './display.js';
export { createByteBudget, streamMultipart } from './multipart-stream.js';
export type { ByteBudget, StreamMultipartOptions } from './multipart-stream.js';
export type { AllowList, PacsAuth, UrlAllowList } from './outbound.js';
export { DEFAULT_DICOM_LIMITS, parseDicom } from './parse.js';
export type { ParsedDicom, PixelModule } from './parse.js';
export { decodeFrame, decodeFrames } from './pixels.js';
export { SUPPORTED_ENCAPSULATED_SYNTAXES } from './codecs/index.js';
export { jsonNumber, jsonString } from './dicom-json.js';
export type {
  DicomImageInfo,
  DicomJsonDataset,
  DicomJsonElement,
  DicomLimits,
  LookupTable,
  ModalityFrame,
  VoiWindow,
} from './types.js';
export { analyseCineSeries } from './cine.js';
export type { CineGeometry } from './cine.js';
// Results back to the PACS (IHE AI Results): SEG and TID 1500 SR builders; the client's storeInstances sends them.
export { buildSegmentation, packBits, SEGMENTATION_STORAGE } from './seg.js';
export type { Mask, SegmentationFrame, SegmentationInput, SegmentationObject, SegmentDescription, SegmentInput } from './seg.js';
export { buildMeasurementReport, COMPREHENSIVE_SR_STORAGE, MEASUREMENT_CODES, PRELIMINARY_AI_TEXT, UNITS } from './sr.js';
export type { MeasurementReportInput, SegmentMeasurement } from './sr.js';
export { derivedUid, readSourceHeader } from './derived.js';
export type { Code, DerivedInstance, ModelIdentity, SourceHeader } from './derived.js';
export { maskAtSourceResolution } from './mask.js';
export { RESULT_MEASUREMENTS, storeSegmentationResults } from './results-to-pacs.js';
export type { ResultMeasurementKind, SegmentationResultsInput, StoredResultObjects } from './results-to-pacs.js';
export { SEGMENT_DESCRIPTIONS, segmentDescription } from './segment-codes.js';
export type { StowInstance, StowResult } from './stow.js';
