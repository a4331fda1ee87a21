/**
 * Narrow local declarations for the part of dcmjs (0.52) this folder uses. dcmjs ships no
 * types; declaring only what we call keeps its untyped surface from leaking past src/dicom.
 */
declare module 'dcmjs' {
  /** A data set keyed by tag (`00080018`), each element `{ vr, Value }`: dcmjs's "denaturalized" form. */
  type DenaturalizedDataset = Record<string, { vr: string; Value?: unknown[] }>;

  interface DicomMetaDictionary {
    /**
     * DICOM JSON (PS3.18 F.2, tag keys) → an object keyed by attribute keyword, single values
     * unwrapped, PN values as their component groups. Unknown private tags keep their tag key.
     */
    naturalizeDataset(dataset: unknown): Record<string, unknown>;
    /** The inverse: keyword-keyed object → tag-keyed elements, VRs from the dictionary or `_vrMap`. */
    denaturalizeDataset(dataset: Record<string, unknown>): DenaturalizedDataset;
    /** `00080018` → `(0008,0018)`, the key of {@link DicomMetaDictionary.dictionary}. */
    punctuateTag(tag: string): string;
    /** The standard data dictionary: punctuated tag → its keyword (`name`) and VR. */
    readonly dictionary: Readonly<Record<string, { readonly name: string; readonly vr: string } | undefined>>;
  }

  /** A parsed or to-be-written Part 10 file: File Meta Information and data set, both tag-keyed. */
  interface DicomDict {
    meta: DenaturalizedDataset;
    dict: DenaturalizedDataset;
    /** The Part 10 file: preamble, `DICM`, meta (Explicit VR Little Endian), data set in the meta's syntax. */
    write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
  }

  interface DicomMessage {
    /** Parses a Part 10 file; `untilTag` (e.g. `7FE00010`) stops before that element. */
    readFile(buffer: ArrayBuffer, options?: { ignoreErrors?: boolean; untilTag?: string | null; includeUntilTagValue?: boolean; noCopy?: boolean }): DicomDict;
  }

  interface LogLevelLogger {
    setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void;
  }

  const dcmjs: {
    readonly data: {
      readonly DicomMetaDictionary: DicomMetaDictionary;
      readonly DicomMessage: DicomMessage;
      readonly DicomDict: new (meta: DenaturalizedDataset) => DicomDict;
    };
    /** loglevel: the root logger and its named children (e.g. `validation.dcmjs`). */
    readonly log: LogLevelLogger & { getLoggers(): Record<string, LogLevelLogger> };
  };
  export default dcmjs;
}
