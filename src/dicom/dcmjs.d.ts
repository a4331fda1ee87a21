/**
 * Narrow local declarations for the part of dcmjs (0.52) this folder uses. dcmjs ships no
 * types; declaring only what we call keeps its untyped surface from leaking past src/dicom.
 */
declare module 'dcmjs' {
  interface DicomMetaDictionary {
    /**
     * DICOM JSON (PS3.18 F.2, tag keys) → an object keyed by attribute keyword, single values
     * unwrapped, PN values as their component groups. Unknown private tags keep their tag key.
     */
    naturalizeDataset(dataset: unknown): Record<string, unknown>;
    /** `00080018` → `(0008,0018)`, the key of {@link DicomMetaDictionary.dictionary}. */
    punctuateTag(tag: string): string;
    /** The standard data dictionary: punctuated tag → its keyword (`name`) and VR. */
    readonly dictionary: Readonly<Record<string, { readonly name: string; readonly vr: string } | undefined>>;
  }
  const dcmjs: { readonly data: { readonly DicomMetaDictionary: DicomMetaDictionary } };
  export default dcmjs;
}
