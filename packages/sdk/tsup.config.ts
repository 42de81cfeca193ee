import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.base.ts'

export default defineConfig({
  // AIC's encoded-transform worker is an entry of its own: dist/index.js starts it as new URL('./aic-transform-worker.js', import.meta.url)
  ...packageConfig(['src/index.ts', 'src/aic-transform-worker.ts']),
  external: ['@auralink/aic']
})
