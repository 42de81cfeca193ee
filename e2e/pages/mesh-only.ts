// Imports createMeshNode and nothing else, and keeps it (so the bundler cannot drop it): the
// bundle of this page is what @auralink/mesh costs an app. Measured by bench/mesh-bundle-size.mjs.
import { createMeshNode } from '@auralink/mesh'

;(globalThis as unknown as { createMeshNode: typeof createMeshNode }).createMeshNode = createMeshNode
