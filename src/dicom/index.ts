/**
 * The dicom layer's public surface: DICOMweb in, decoded frames and display images out.
 * Nothing outside src/dicom needs dcmjs or any module below this one.
 */
export { createDicomWebClient } from './dicomweb-client.js';
export type { DicomWebClient, DicomWebClientOptions, QidoQuery } from './dicomweb-client.js';
export { createDicomWebImageSource } from './image-source.js';
export type { DicomImageSource, DicomImageSourceOptions } from './image-source.js';
export { fetchSeriesImages, loadInstanceFrames } from './load.js';
export type { FetchSeriesOptions, LoadedInstance } from './load.js';
export { applyVoi, resizeArea, toDisplayImage } from './display.js';
export { createByteBudget, streamMultipart } from './multipart-stream.js';
export type { ByteBudget, StreamMultipartOptions } from './multipart-stream.js';
export type { AllowList, PacsAuth, UrlAllowList } from './outbound.js';
export { DEFAULT_DICOM_LIMITS, parseDicom } from './parse.js';
export type { ParsedDicom, PixelModule } from './parse.js';
export { decodeFrame, decodeFrames } from './pixels.js';
export { sortBySlicePosition } from './series.js';
export { SUPPORTED_ENCAPSULATED_SYNTAXES } from './codecs/index.js';
export { assembleVolume, resampleVolume } from './volume.js';
export type { AssembleOptions, Volume } from './volume.js';
export { analyseSliceGeometry, groupBySeries } from './volume-geometry.js';
export type { GeometryTolerances, SliceGeometry } from './volume-geometry.js';
export { imageInfoFromMetadata, judgeSeries, selectSeries } from './series-selection.js';
export type { SeriesAccepts, SeriesCandidate, SeriesChoice } from './series-selection.js';
export { jsonNumber, jsonString } from './dicom-json.js';
export type {
  DicomImageInfo,
  DicomJsonDataset,
  DicomJsonElement,
  DicomLimits,
  DisplayImage,
  LookupTable,
  ModalityFrame,
  VoiWindow,
  WindowingSpec,
} from './types.js';
