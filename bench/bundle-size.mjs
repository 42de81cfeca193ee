// bench/bundle-size: what each AuraLink package costs a web app. For each entry below, a Vite
// production build (Rolldown, Oxc minifier, browser conditions) of a page that imports the
// entry and keeps it (so nothing is tree-shaken away that an app using it would keep); prints
// the JavaScript minified, gzipped (zlib level 9) and brotli'd (quality 11), and writes
// bench/results/bundle-size.json. Each entry is built alone: its size includes everything it
// pulls in (libp2p for mesh and sdk). Needs the packages built (npm run build).
//   node bench/bundle-size.mjs
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { build } from 'vite'
import { root, writeResult } from './lib.mjs'

const ENTRIES = [
  { name: '@auralink/protocol', what: 'the whole module', code: "import * as m from '@auralink/protocol'" },
  { name: '@auralink/identity', what: 'the whole module', code: "import * as m from '@auralink/identity'" },
  { name: '@auralink/identity/keystore', what: 'idbKeyStore (browser condition)', code: "import { idbKeyStore as m } from '@auralink/identity/keystore'" },
  { name: '@auralink/mesh', what: 'createMeshNode', code: "import { createMeshNode as m } from '@auralink/mesh'" },
  { name: '@auralink/sdk', what: 'AuraLink (the whole client: mesh, identity, media session)', code: "import { AuraLink as m } from '@auralink/sdk'" },
  { name: '@auralink/aic', what: 'the whole module (rANS coder, metrics)', code: "import * as m from '@auralink/aic'" }
]

// inside the repo, so that the entries resolve the workspace packages from node_modules
mkdirSync(join(root, '.auralink'), { recursive: true })
const work = mkdtempSync(join(root, '.auralink', 'bundle-size-'))
const pkg = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`
const sizes = []
try {
  for (const [i, e] of ENTRIES.entries()) {
    const dir = join(work, `e${i}`)
    mkdirSync(dir)
    writeFileSync(join(dir, 'entry.js'), `${e.code}\nglobalThis.__kept = m\n`)
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="./entry.js"></script>\n')
    const outDir = join(dir, 'out')
    await build({
      configFile: false,
      envDir: false,
      root: dir,
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true, minify: true, sourcemap: false, reportCompressedSize: false, chunkSizeWarningLimit: 10_000 }
    })
    const assets = join(outDir, 'assets')
    const files = readdirSync(assets).filter((f) => f.endsWith('.js'))
    // what the page loads at once: the entry script and the chunks index.html preloads; the rest
    // are chunks loaded on demand (AIC's onnxruntime-web, imported only when an enhancer loads)
    const html = readFileSync(join(outDir, 'index.html'), 'utf8')
    const initialFiles = files.filter((f) => html.includes(`/assets/${f}`))
    const js = Buffer.concat(files.map((f) => readFileSync(join(assets, f))))
    const initial = Buffer.concat(initialFiles.map((f) => readFileSync(join(assets, f))))
    const row = {
      package: e.name,
      entry: e.what,
      minified: js.length,
      gzip: gzipSync(js, { level: 9 }).length,
      brotli: brotliCompressSync(js, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
      initial: { minified: initial.length, gzip: gzipSync(initial, { level: 9 }).length },
      onDemandChunks: files.length - initialFiles.length
    }
    sizes.push(row)
    console.log(`${e.name.padEnd(28)} ${kib(row.minified).padStart(10)} min  ${kib(row.gzip).padStart(10)} gzip  ${kib(row.brotli).padStart(10)} br   (${e.what}); loaded at once: ${kib(row.initial.minified)} min, ${kib(row.initial.gzip)} gzip, ${row.onDemandChunks} chunks on demand`)
  }
  writeResult('bundle-size', {
    bundler: `vite ${pkg('vite')}, build.minify: true (Oxc), browser conditions, Vite's default browser targets`,
    versions: { libp2p: pkg('libp2p'), '@libp2p/webrtc': pkg('@libp2p/webrtc') },
    unit: 'bytes',
    sizes
  })
} finally {
  rmSync(work, { recursive: true, force: true })
}
