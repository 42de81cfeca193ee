import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.base.ts'

// the Node-only score store is its own entry: `@auralink/mesh/reputation-store` (exports, node condition)
export default defineConfig(packageConfig(['src/index.ts', 'src/reputation/store.node.ts']))
