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
