import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.base.ts'

// the score stores are an entry of their own, `@auralink/mesh/reputation-store`: the file store
// under the node condition, the IndexedDB one for browsers (exports)
export default defineConfig(packageConfig(['src/index.ts', 'src/reputation/store.node.ts', 'src/reputation/store.browser.ts']))
