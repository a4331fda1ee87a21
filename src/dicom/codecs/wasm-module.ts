/**
 * Loads the Emscripten builds of the codec packages (@cornerstonejs/codec-*) synchronously,
 * so that decoding stays a plain function call like the rest of the dicom layer.
 *
 * The packages ship their .wasm inside the package; nothing is downloaded. Their factories are
 * asynchronous only because browsers compile WebAssembly asynchronously: Emscripten's
 * documented `instantiateWasm` hook lets the host instantiate the module itself, and when the
 * hook answers synchronously the runtime (and its embind classes) is ready when the factory
 * returns. We compile each .wasm once and keep one instance per codec; an instance is thrown
 * away after any failure, because a C++ exception or an abort can leave its heap inconsistent.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** An embind decoder object as the cornerstone codecs expose it (JPEGDecoder, J2KDecoder, …). */
export interface EmbindDecoder {
  /** Allocates the encoded buffer inside the WebAssembly heap and returns a view of it. */
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  /** A view into the WebAssembly heap: copy it before the next call into the module. */
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): EmbindFrameInfo;
  delete(): void;
}

/** What the codecs report about the decoded frame. */
export interface EmbindFrameInfo {
  readonly width: number;
  readonly height: number;
  readonly bitsPerSample: number;
  readonly componentCount: number;
  readonly isSigned?: boolean;
}

/** The subset of the WebAssembly JS API used here (lib.dom is not in this project's libs). */
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: object };
}

type Factory = (moduleArg: Record<string, unknown>) => Promise<unknown>;

const requireFromHere = createRequire(import.meta.url);
const webAssembly = (globalThis as unknown as { readonly WebAssembly: WebAssemblyApi }).WebAssembly;

/** One codec package's decoder class, instantiated on first use. */
export class WasmDecoderModule {
  private compiled: object | undefined;
  private instance: Record<string, unknown> | undefined;

  /**
   * @param label - codec name for messages, e.g. `OpenJPEG`
   * @param factoryId - package subpath of the Emscripten glue, e.g. `@cornerstonejs/codec-openjpeg/decodewasmjs`
   * @param wasmId - package subpath of the .wasm, e.g. `@cornerstonejs/codec-openjpeg/decodewasm`
   * @param className - the embind class to construct, e.g. `J2KDecoder`
   */
  constructor(
    readonly label: string,
    private readonly factoryId: string,
    private readonly wasmId: string,
    private readonly className: string,
  ) {}

  /**
   * Decodes one codestream: copies it into the heap, decodes, checks the frame header with
   * `check` before the output is read, and returns a copy of the decoded bytes.
   *
   * @param check - throws when the frame info disagrees with what the DICOM header declares
   * @throws whatever the codec throws (numbers for C++ exceptions, RuntimeError for aborts), or
   *   what `check` throws; the instance is discarded in every failure case
   */
  decode(codestream: Uint8Array, check: (info: EmbindFrameInfo) => void): { info: EmbindFrameInfo; bytes: Uint8Array } {
    const Decoder = this.decoderClass();
    let decoder: EmbindDecoder | undefined;
    try {
      decoder = new Decoder();
      decoder.getEncodedBuffer(codestream.byteLength).set(codestream);
      decoder.decode();
      const info = decoder.getFrameInfo();
      check(info);
      // Copied out of the heap into a plain Uint8Array (some builds hand out Uint8ClampedArray views).
      const view = decoder.getDecodedBuffer();
      const bytes = new Uint8Array(view.length);
      bytes.set(view);
      return { info, bytes };
    } catch (err) {
      this.instance = undefined;
      throw err;
    } finally {
      try {
        decoder?.delete();
      } catch {
        this.instance = undefined;
      }
    }
  }

  private decoderClass(): new () => EmbindDecoder {
    this.instance ??= this.instantiate();
    const cls = this.instance[this.className];
    if (typeof cls !== 'function') throw new Error(`${this.label}: the WebAssembly module did not register ${this.className}.`);
    return cls as new () => EmbindDecoder;
  }

  private instantiate(): Record<string, unknown> {
    const factory = requireFromHere(this.factoryId) as Factory;
    const compiled = (this.compiled ??= new webAssembly.Module(readFileSync(requireFromHere.resolve(this.wasmId))));
    const moduleArg: Record<string, unknown> = {
      // The codecs print progress ("[INFO] Tile 1/16 has been decoded") to stdout; the service logs through pino only.
      print: () => undefined,
      printErr: () => undefined,
      instantiateWasm(imports: object, receive: (instance: object, module: object) => void): object {
        const instance = new webAssembly.Instance(compiled, imports);
        receive(instance, compiled);
        return instance.exports;
      },
    };
    // Resolved (or rejected, after an abort) later; the runtime itself is ready now.
    factory(moduleArg).catch(() => undefined);
    return moduleArg;
  }
}
