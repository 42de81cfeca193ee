import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.base.ts'

// the Node-only score store is its own entry: `@auralink/mesh/reputation-store` (exports, node
// condition); relay adverts are one too (`@auralink/mesh/relay-advert`), so that a relay node can
// make and check them without loading the mesh node's WebRTC stack
export default defineConfig(packageConfig(['src/index.ts', 'src/reputation/store.node.ts', 'src/relay-advert.ts']))
