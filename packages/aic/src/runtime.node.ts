import { ModelLoadError, RuntimeUnavailableError } from './errors.js'
import type { InferenceSession, SessionFactory, SessionOptions } from './runtime.js'
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
  return {
    executionProvider: 'cpu',
    async run (input, dims, extra = {}) {
      const feeds: Record<string, InstanceType<typeof Tensor>> = { [options.input]: new Tensor('float32', input, dims) }
      for (const name of options.extraInputs ?? []) {
        const t = extra[name]
        if (t === undefined) throw new RangeError(`run(): the model's input "${name}" was not given`)
        feeds[name] = new Tensor('float32', t.data, t.dims)
      }
      // only the output asked for is fetched (an adaptive model's other outputs are not copied out)
      const result = await session.run(feeds, [options.output])
      const out = result[options.output]
      if (out === undefined || !(out.data instanceof Float32Array)) throw new ModelLoadError(options.file, `no float32 output "${options.output}"`)
      return { data: out.data, dims: out.dims }
    },
    async release () { await session.release() }
  }
}
