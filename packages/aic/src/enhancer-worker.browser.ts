/**
 * The dedicated worker of the browser enhancer: holds one onnxruntime-web session and restores
 * the frames the main thread posts (RGBA bytes in, RGBA bytes out, buffers transferred), so that
 * inference, and the tensor layout work around it, never run on the page's main thread.
 * Started by createEnhancer({ worker: true }); not an API of its own.
 */
import { SessionEnhancer } from './enhancer.js'
import { InvalidStateError } from './errors.js'
import { webSessionFactory } from './runtime.web.js'
import { toWire } from './worker-protocol.browser.js'
import type { EnhanceResult, OpenResult, WorkerReply, WorkerRequest } from './worker-protocol.browser.js'

interface WorkerScope {
  onmessage: ((ev: MessageEvent<WorkerRequest>) => void) | null
  postMessage(message: WorkerReply, transfer?: Transferable[]): void
  close(): void
}
const scope = globalThis as unknown as WorkerScope

let enhancer: SessionEnhancer | undefined
// requests are handled one after another, in the order they came
let queue: Promise<void> = Promise.resolve()

async function handle (req: WorkerRequest): Promise<{ value: OpenResult | EnhanceResult | null, transfer: Transferable[] }> {
  switch (req.type) {
    case 'open': {
      if (enhancer !== undefined) throw new InvalidStateError('the enhancer worker is open already')
      const session = await webSessionFactory({ executionProvider: req.executionProvider, ...(req.wasmPaths !== undefined ? { wasmPaths: req.wasmPaths } : {}) })(req.model, {
        input: req.input,
        output: req.output,
        file: req.file,
        ...(req.threads !== undefined ? { threads: req.threads } : {})
      })
      enhancer = new SessionEnhancer(session, {
        runtime: req.executionProvider,
        executionProvider: session.executionProvider,
        scale: req.scale,
        threads: session.threads,
        model: { name: '', version: 0, file: req.file },
        loadMs: 0
      })
      return { value: { executionProvider: session.executionProvider, threads: session.threads }, transfer: [] }
    }
    case 'enhance': {
      if (enhancer === undefined) throw new InvalidStateError('enhance() on a closed enhancer')
      const out = await enhancer.enhance({ width: req.width, height: req.height, data: req.data })
      const data = out.data as Uint8ClampedArray
      return { value: { width: out.width, height: out.height, data }, transfer: [data.buffer] }
    }
    case 'close': {
      const e = enhancer
      enhancer = undefined
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
