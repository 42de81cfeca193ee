/**
 * The dedicated worker of the browser enhancer: holds one onnxruntime-web session and restores
 * the frames the main thread posts (RGBA bytes in, RGBA bytes out, buffers transferred), so that
 * inference, and the tensor layout work around it, never run on the page's main thread.
 * It may hold the sender's adaptive fitter instead (createAdaptiveFitter), which refits the
 * adaptive export's tail off the main thread too.
 * Started by createEnhancer({ worker: true }) and createAdaptiveFitter(); not an API of its own.
 */
import { SessionAdaptiveFitter } from './adaptive.js'
import { SessionEnhancer } from './enhancer.js'
import { InvalidStateError } from './errors.js'
import { webSessionFactory } from './runtime.web.js'
import { toWire } from './worker-protocol.browser.js'
import type { WorkerReply, WorkerRequest, WorkerValue } from './worker-protocol.browser.js'

interface WorkerScope {
  onmessage: ((ev: MessageEvent<WorkerRequest>) => void) | null
  postMessage(message: WorkerReply, transfer?: Transferable[]): void
  close(): void
}
const scope = globalThis as unknown as WorkerScope

let enhancer: SessionEnhancer | undefined
let fitter: SessionAdaptiveFitter | undefined
// requests are handled one after another, in the order they came
let queue: Promise<void> = Promise.resolve()

async function handle (req: WorkerRequest): Promise<{ value: WorkerValue, transfer: Transferable[] }> {
  switch (req.type) {
    case 'open': {
      if (enhancer !== undefined || fitter !== undefined) throw new InvalidStateError('the enhancer worker is open already')
      if (req.role === 'fit' && req.adaptive === undefined) throw new TypeError('a fitter needs its adaptive tail')
      const session = await webSessionFactory({ executionProvider: req.executionProvider, ...(req.wasmPaths !== undefined ? { wasmPaths: req.wasmPaths } : {}) })(req.model, {
        input: req.input,
        output: req.output,
        file: req.file,
        ...(req.extraInputs !== undefined ? { extraInputs: req.extraInputs } : {}),
        ...(req.threads !== undefined ? { threads: req.threads } : {})
      })
      const info = {
        runtime: req.executionProvider,
        executionProvider: session.executionProvider,
        scale: req.scale,
        threads: session.threads,
        model: { name: '', version: 0, file: req.file },
        loadMs: 0
      }
      if (req.role === 'fit') fitter = new SessionAdaptiveFitter(session, info, req.adaptive!, req.fit)
      else enhancer = new SessionEnhancer(session, info, req.adaptive)
      return { value: { executionProvider: session.executionProvider, threads: session.threads }, transfer: [] }
    }
    case 'update': {
      if (enhancer === undefined) throw new InvalidStateError('applyUpdate() on a closed enhancer')
      return { value: await enhancer.applyUpdate(req.bytes), transfer: [] }
    }
    case 'fit-add': {
      if (fitter === undefined) throw new InvalidStateError('add() on a closed fitter')
      return { value: await fitter.add(req.low, req.original), transfer: [] }
    }
    case 'fit-update': {
      if (fitter === undefined) throw new InvalidStateError('update() on a closed fitter')
      const u = await fitter.update()
      // a copy of its own: the encoder's bytes may be a view of a larger buffer
      const bytes = u.bytes.slice()
      return { value: { ...u, bytes }, transfer: [bytes.buffer] }
    }
    case 'enhance': {
      if (enhancer === undefined) throw new InvalidStateError('enhance() on a closed enhancer')
      const out = await enhancer.enhance({ width: req.width, height: req.height, data: req.data })
      const data = out.data as Uint8ClampedArray
      return { value: { width: out.width, height: out.height, data }, transfer: [data.buffer] }
    }
    case 'close': {
      const e = enhancer ?? fitter
      enhancer = undefined
      fitter = undefined
      await e?.close()
      return { value: null, transfer: [] }
    }
  }
}

scope.onmessage = (ev) => {
  const req = ev.data
  queue = queue.then(async () => {
    try {
      const { value, transfer } = await handle(req)
      scope.postMessage({ id: req.id, ok: true, value }, transfer)
    } catch (err) {
      scope.postMessage({ id: req.id, ok: false, error: toWire(err) })
    }
  })
}
