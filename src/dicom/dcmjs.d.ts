/**
 * Narrow local declarations for the part of dcmjs (0.52) this folder uses. dcmjs ships no
 * types; declaring only what we call keeps its untyped surface from leaking past src/dicom.
 * Only src/dicom/parse.ts imports dcmjs.
 */
declare module 'dcmjs' {
  /** One element as dcmjs reads it: `Value` holds strings, numbers, nested data sets or ArrayBuffers. */
  interface DcmjsElement {
    readonly vr: string;
    readonly Value: readonly unknown[];
  }

  type DcmjsDict = Readonly<Record<string, DcmjsElement>>;

  interface DicomDict {
    readonly meta: DcmjsDict;
    readonly dict: DcmjsDict;
  }

  interface ReadFileOptions {
    readonly ignoreErrors?: boolean;
    readonly untilTag?: string | null;
    readonly includeUntilTagValue?: boolean;
    readonly noCopy?: boolean;
    readonly forceStoreRaw?: boolean;
  }

  interface Logger {
    setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void;
  }

  interface RootLogger extends Logger {
    getLogger(name: string): Logger;
  }

  interface Dcmjs {
    readonly data: {
      readonly DicomMessage: {
        /** Reads a whole Part 10 file. Throws plain Errors on malformed input. */
        readFile(buffer: ArrayBuffer, options?: ReadFileOptions): DicomDict;
      };
      readonly DicomMetaDictionary: {
        /** Keys become keywords (`Rows`), single values are unwrapped, IS/DS become numbers. */
        naturalizeDataset(dict: DcmjsDict): Record<string, unknown>;
      };
    };
    readonly log: RootLogger;
  }

  const dcmjs: Dcmjs;
  export default dcmjs;
}
