import { defineConfig } from 'tsup'
import { packageConfig } from '../../tsup.base.ts'

// `@libp2p/webrtc` is bundled into mesh's own dist (it is a devDependency here): published, it
// depends on react-native-webrtc, whose peer dependency npm 7+ installs, ~175 MB of React Native
// tooling in every app and relay that installs mesh. Bundled, its code ships with mesh and its
// other dependencies are mesh's own (package.json), so nothing pulls react-native-webrtc in.
// See docs/dependencies.md; its licence notice is THIRD-PARTY-NOTICES.md.
//
// Two builds of the main entry, chosen by the `exports` conditions: Node (`dist/index.js`, the
// node-datachannel RTCPeerConnection) and browsers and React Native (`dist/browser/index.js`,
// the global RTCPeerConnection: react-native-webrtc's registerGlobals() in React Native), built for the
// browser platform so that esbuild honours @libp2p/webrtc's `browser` field (the browser's own
// RTCPeerConnection, no node:net, no node-datachannel). The score stores are an entry of their
// own, `@auralink/mesh/reputation-store`: the file store under the node condition, the
// IndexedDB one for browsers.
const bundled = ['@libp2p/webrtc']

export default defineConfig([
  {
    ...packageConfig(['src/index.ts', 'src/reputation/store.node.ts', 'src/reputation/store.browser.ts']),
    platform: 'node',
    noExternal: bundled
  },
  {
    ...packageConfig(['src/index.ts']),
    outDir: 'dist/browser',
    platform: 'browser',
    target: 'es2022',
    // the types are the Node build's (dist/index.d.ts): the API is the same
    dts: false,
    clean: false,
    noExternal: bundled
  }
])
