import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { defineConfig } from 'vitest/config'
import { chromiumBrowser } from '../../vitest.browser.base.ts'
import type { Plugin } from 'vite'

// Tool 1 in real Chromium (Debian's, through Playwright; nothing downloads a browser): the
// browser enhancer on onnxruntime-web's WASM and WebGPU (SwiftShader) execution providers,
// checked against onnxruntime-node's output, which test/browser/global-setup.ts computes in Node.
// From the repo root:
//   npx vitest run --config packages/aic/vitest.browser.config.ts
// Files are test/browser/*.browser.spec.ts: the root config's unit project (Node) takes *.test.ts.

const MODEL = join(import.meta.dirname, 'models/enhancer-x2.onnx')

/** Answers for the model-error tests: a missing model (404), a truncated one, a server error. */
function damagedModels (): Plugin {
  return {
    name: 'aic-damaged-models',
    configureServer (server) {
      server.middlewares.use((req, res, next) => {
        const path = req.url?.split('?')[0]
        if (path === '/__aic__/missing.onnx') res.writeHead(404).end('not found')
        else if (path === '/__aic__/truncated.onnx') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(MODEL).subarray(0, 5000))
        else if (path === '/__aic__/server-error.onnx') res.writeHead(503, 'Service Unavailable').end()
        else next()
      })
    }
  }
}

export default defineConfig({
  root: import.meta.dirname,
  plugins: [damagedModels()],
  // onnxruntime-web finds its .wasm beside its own module (new URL(..., import.meta.url)): served
  // from node_modules as it is, not pre-bundled into .vite/deps where the .wasm is not
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  server: {
    // cross-origin isolated, so that SharedArrayBuffer (and WASM threads) exist in the test page
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }
  },
  test: {
    name: 'aic-browser',
    include: ['test/browser/**/*.browser.spec.ts'],
    globalSetup: ['test/browser/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    // no GPU here; WebGPU still gets Chromium's SwiftShader adapter (software Vulkan)
    browser: chromiumBrowser(['--enable-unsafe-webgpu'])
  }
})
