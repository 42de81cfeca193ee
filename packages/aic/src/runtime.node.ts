import { ModelLoadError, RuntimeUnavailableError } from './errors.js'
import type { FloatTensor, InferenceSession, SessionFactory, SessionOptions } from './runtime.js'
import type * as OrtModule from 'onnxruntime-node'

type Ort = typeof OrtModule

let ort: Promise<Ort> | undefined

/** onnxruntime-node, an optional peer dependency: loaded on first use, with a clear error when missing. */
async function loadOrt (): Promise<Ort> {
  ort ??= import('onnxruntime-node').catch((err: unknown) => {
    ort = undefined
    throw new RuntimeUnavailableError('runtime "node" needs the optional peer dependency onnxruntime-node: npm install onnxruntime-node (set ONNXRUNTIME_NODE_INSTALL=skip to skip its CUDA download)', { cause: err })
  })
  return ort
}

/** Sessions on onnxruntime-node's CPU execution provider. */
export const nodeSessionFactory: SessionFactory = async (model: Uint8Array, options: SessionOptions): Promise<InferenceSession> => {
  const { InferenceSession: Session, Tensor } = await loadOrt()
  let session: Awaited<ReturnType<typeof Session.create>>
  try {
    session = await Session.create(model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      ...(options.threads !== undefined ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {})
    })
  } catch (err) {
    throw new ModelLoadError(options.file, `onnxruntime-node refused it (${(err as Error).message})`, { cause: err })
  }
  const inputs = [options.input, ...(options.extraInputs ?? [])]
  if (inputs.some((i) => !session.inputNames.includes(i)) || !session.outputNames.includes(options.output)) {
    await session.release()
    throw new ModelLoadError(options.file, `expected inputs ${JSON.stringify(inputs)} and output "${options.output}", the model has ${JSON.stringify(session.inputNames)} and ${JSON.stringify(session.outputNames)}`)
  }
  const feedsOf = (input: Float32Array, dims: readonly number[], extra: Readonly<Record<string, FloatTensor>>): Record<string, InstanceType<typeof Tensor>> => {
    const feeds: Record<string, InstanceType<typeof Tensor>> = { [options.input]: new Tensor('float32', input, dims) }
    for (const name of options.extraInputs ?? []) {
      const t = extra[name]
      if (t === undefined) throw new RangeError(`run(): the model's input "${name}" was not given`)
      feeds[name] = new Tensor('float32', t.data, t.dims)
    }
    return feeds
  }
  const runOutputs = async (names: readonly string[], input: Float32Array, dims: readonly number[], extra: Readonly<Record<string, FloatTensor>> = {}): Promise<Record<string, FloatTensor>> => {
    const missing = names.filter((n) => !session.outputNames.includes(n))
    if (missing.length > 0) throw new RangeError(`runOutputs(): the model has no output ${missing.map((n) => `"${n}"`).join(', ')} (it has ${JSON.stringify(session.outputNames)})`)
    // only the outputs asked for are fetched (an adaptive model's other outputs are not copied out)
    const result = await session.run(feedsOf(input, dims, extra), [...names])
    const out: Record<string, FloatTensor> = {}
    for (const name of names) {
      const t = result[name]
      if (t === undefined || !(t.data instanceof Float32Array)) throw new ModelLoadError(options.file, `no float32 output "${name}"`)
      out[name] = { data: t.data, dims: t.dims }
    }
    return out
  }
  return {
    executionProvider: 'cpu',
    async run (input, dims, extra = {}) {
      return (await runOutputs([options.output], input, dims, extra))[options.output]!
    },
    runOutputs,
    async release () { await session.release() }
  }
}
