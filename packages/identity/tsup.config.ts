import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.base.ts'

export default defineConfig({
  ...packageConfig(['src/index.ts', 'src/keystore.node.ts', 'src/keystore.browser.ts', 'src/compliance.ts']),
  external: ['vitest']
})
