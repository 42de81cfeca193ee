// The browser bundle of @auralink/mesh: a production Vite build (Rolldown, Vite's default Oxc
// minifier) of e2e/pages/mesh-only.html, a page that imports createMeshNode and nothing else;
// prints the size of its JavaScript minified, gzipped (level 9, as `gzip -9`) and brotli'd, and
// writes bench/results/mesh-bundle-size.json. Needs packages/mesh built (npm run build).
//   node bench/mesh-bundle-size.mjs
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { build } from 'vite'
import { root, writeResult } from './lib.mjs'

const pages = join(root, 'e2e/pages')
const outDir = mkdtempSync(join(tmpdir(), 'auralink-mesh-bundle-'))
try {
  await build({
    configFile: false,
    envDir: false,
    root: pages,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: true,
      minify: true,
      sourcemap: false,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 10_000,
      rolldownOptions: { input: { 'mesh-only': join(pages, 'mesh-only.html') } }
    }
  })
  const assets = join(outDir, 'assets')
  const files = readdirSync(assets).filter((f) => f.endsWith('.js'))
  const js = Buffer.concat(files.map((f) => readFileSync(join(assets, f))))
  const gzip = gzipSync(js, { level: 9 }).length
  const brotli = brotliCompressSync(js, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`
  console.log(`@auralink/mesh browser bundle (createMeshNode only; ${files.length} JS file(s)):`)
  console.log(`  minified         ${js.length} B (${kib(js.length)})`)
  console.log(`  minified + gzip  ${gzip} B (${kib(gzip)})  [zlib level 9]`)
  console.log(`  minified + br    ${brotli} B (${kib(brotli)})  [brotli quality 11]`)
  const pkg = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version
  writeResult('mesh-bundle-size', {
    entry: 'e2e/pages/mesh-only.ts (import { createMeshNode } from "@auralink/mesh")',
    bundler: `vite ${pkg('vite')}, build.minify: true (Oxc), target: Vite default (baseline-widely-available browsers)`,
    versions: { libp2p: pkg('libp2p'), '@libp2p/webrtc': pkg('@libp2p/webrtc'), '@libp2p/websockets': pkg('@libp2p/websockets') },
    unit: 'bytes',
    files: files.length,
    minified: js.length,
    gzip,
    brotli
  })
} finally {
  rmSync(outDir, { recursive: true, force: true })
}
