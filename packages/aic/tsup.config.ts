import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.base.ts'

export default defineConfig({
  // the enhancer's worker is an entry of its own: dist/index.js starts it as new URL('./enhancer-worker.browser.js', import.meta.url)
  ...packageConfig(['src/index.ts', 'src/index.node.ts', 'src/enhancer-worker.browser.ts']),
  external: ['onnxruntime-node', 'onnxruntime-web', /^onnxruntime-web\//]
})
