/// <reference types="node" />
// Builds the web call app into dist/ (`npm run build`), served by server.mjs. `npm run dev`
// runs Vite's dev server on the same address; there /config.json lists the relays in
// AURALINK_RELAYS (comma-separated multiaddrs), as server.mjs's --relay does for the build.
import { defineConfig } from 'vite'

const HOST = '127.0.0.1'
const PORT = 5173

export default defineConfig({
  // 127.0.0.1 is a secure context (getUserMedia, IndexedDB keys, crypto.subtle) without TLS
  server: { host: HOST, port: PORT, strictPort: true },
  preview: { host: HOST, port: PORT, strictPort: true },
  base: './',
  build: {
    sourcemap: true,
    // libp2p makes one large bundle; the warning would say nothing useful
    chunkSizeWarningLimit: 10_000,
    reportCompressedSize: false
  },
  plugins: [{
    name: 'auralink-dev-config',
    configureServer (server) {
      server.middlewares.use('/config.json', (_req, res) => {
        const relays = (process.env.AURALINK_RELAYS ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ relays }))
      })
    }
  }]
})
