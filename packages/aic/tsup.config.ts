import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.base.ts'

export default defineConfig({
  ...packageConfig(['src/index.ts', 'src/index.node.ts']),
  external: ['onnxruntime-node']
})
