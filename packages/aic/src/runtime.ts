/** What AIC needs of an ONNX Runtime: one session that runs one float tensor to another. */
export interface InferenceSession {
  /** The execution provider that runs the model: 'cpu' (onnxruntime-node), 'wasm', 'webgpu'. */
  readonly executionProvider: string
  /**
   * Runs the model on one 1 x C x H x W tensor (and the session's `extraInputs`, each by name in
   * `extra`); returns the output tensor and its dimensions.
   */
  run(input: Float32Array, dims: readonly number[], extra?: Readonly<Record<string, FloatTensor>>): Promise<FloatTensor>
  /**
   * As run(), but returns the model's outputs named in `outputs` (an adaptive enhancer's
   * `features` and `base`, which the sender's refit reads), each by name.
   */
  runOutputs(outputs: readonly string[], input: Float32Array, dims: readonly number[], extra?: Readonly<Record<string, FloatTensor>>): Promise<Record<string, FloatTensor>>
  release(): Promise<void>
}

/** A float32 tensor and its dimensions. */
export interface FloatTensor { data: Float32Array, dims: readonly number[] }

export interface SessionOptions {
  /** Threads for one inference; undefined leaves it to the runtime. */
  threads?: number
  /** The model's input and output names. */
  input: string
  output: string
  /** Names the model in errors. */
  file: string
  /** More inputs, given with every run (an adaptive enhancer's tail weights). @default none */
  extraInputs?: readonly string[]
}

/** Makes a session from a model's bytes. One per runtime: onnxruntime-node, onnxruntime-web. */
export type SessionFactory = (model: Uint8Array, options: SessionOptions) => Promise<InferenceSession>
