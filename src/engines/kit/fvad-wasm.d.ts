/** Types for the Emscripten module of libfvad (WebRTC VAD) shipped by `@echogarden/fvad-wasm`. */
declare module '@echogarden/fvad-wasm' {
  export interface FvadModule {
    /** Views of the wasm memory: replaced when the memory grows, so read them at each use. */
    readonly HEAP16: Int16Array;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
    _fvad_new(): number;
    _fvad_free(instance: number): void;
    _fvad_reset(instance: number): void;
    /** 0 (least aggressive) … 3 (most): how readily non-speech is rejected. Returns 0, or −1 if invalid. */
    _fvad_set_mode(instance: number, mode: number): number;
    /** 8000, 16000, 32000 or 48000. Returns 0, or −1 if invalid. */
    _fvad_set_sample_rate(instance: number, rate: number): number;
    /** A 10, 20 or 30 ms frame: 1 = speech, 0 = not, −1 = invalid frame length. */
    _fvad_process(instance: number, frame: number, length: number): number;
  }
  const createFvadModule: (overrides?: Record<string, unknown>) => Promise<FvadModule>;
  export default createFvadModule;
}
