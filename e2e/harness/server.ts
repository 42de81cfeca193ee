// Serves the e2e pages (e2e/pages/<name>.html and the modules they load) on 127.0.0.1.
//
// Built, not a dev server: each test file builds the pages it names once with Vite (Rolldown;
// about 1.5 s for the mesh page on 2 cores) into a temporary folder and serves that folder with
// a small static HTTP server. A Vite dev server would transform hundreds of libp2p modules
// on the first page load, pre-bundle dependencies it discovers while the page runs and then
// reload the page ("optimized dependencies changed"), which is slower and flaky on 2 cores
// with two pages loading at once. A build is one deterministic bundle per page, and it is what
// apps ship. Unminified, with source maps, so that stack traces in the test log stay readable.
//
// Workspace packages resolve to their built `dist/` (as an app would get them): build them first
// (`npm run build`, which scripts/test.sh does).
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { build } from 'vite'
import type { AddressInfo } from 'node:net'

export const PAGES_DIR = resolve(import.meta.dirname, '../pages')

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.svg': 'image/svg+xml'
}

export interface BuildPagesOptions {
  /** Minify the bundles (for size measurements). @default false */
  minify?: boolean
  /** Write source maps. @default true */
  sourcemap?: boolean
}

/**
 * Builds `e2e/pages/<page>.html` for each page named (and every module it imports) into `outDir`.
 * Vite reads no config file: everything it does is set here.
 */
export async function buildPages (pages: string[], outDir: string, options: BuildPagesOptions = {}): Promise<void> {
  if (!Array.isArray(pages) || pages.length === 0) throw new TypeError(`pages must name at least one page, got ${JSON.stringify(pages)}`)
  const input: Record<string, string> = {}
  for (const page of pages) {
    if (!/^[a-z0-9-]+$/.test(page)) throw new TypeError(`page names are kebab-case file names without .html, got ${JSON.stringify(page)}`)
    input[page] = join(PAGES_DIR, `${page}.html`)
  }
  await build({
    configFile: false,
    envDir: false,
    root: PAGES_DIR,
    base: '/',
    logLevel: 'warn',
    clearScreen: false,
    build: {
      outDir,
      emptyOutDir: true,
      minify: options.minify ?? false,
      sourcemap: options.sourcemap ?? true,
      reportCompressedSize: false,
      // libp2p is large; the warning says nothing a test needs to know
      chunkSizeWarningLimit: 10_000,
      rolldownOptions: { input }
    }
  })
}

export interface ServePagesOptions extends BuildPagesOptions {
  /**
   * The address to listen on, e.g. the test namespace's end of a child namespace's veth
   * (e2e/harness/shaped-link.ts) for a browser that runs in that child. @default '127.0.0.1'
   */
  host?: string
  /**
   * Serve every response with COOP same-origin and COEP require-corp, so that pages are
   * cross-origin isolated (SharedArrayBuffer: onnxruntime-web's WASM threads), as an app that
   * wants AIC's enhancer on several threads serves itself. @default false
   */
  crossOriginIsolated?: boolean
}

export interface PageServer {
  /** `http://<host>:<port>` (host 127.0.0.1 unless ServePagesOptions.host says otherwise) */
  readonly origin: string
  /** The address of a built page: url('mesh') -> http://127.0.0.1:<port>/mesh.html */
  url(page: string): string
  /** Stops the server (dropping open connections) and removes the build. Idempotent. */
  close(): Promise<void>
}

/** Builds the pages named and serves them on 127.0.0.1 (or `options.host`) on a free port. */
export async function servePages (pages: string[], options: ServePagesOptions = {}): Promise<PageServer> {
  const host = options.host ?? '127.0.0.1'
  const outDir = await mkdtemp(join(tmpdir(), 'auralink-e2e-pages-'))
  try {
    await buildPages(pages, outDir, options)
  } catch (err) {
    await rm(outDir, { recursive: true, force: true })
    throw err
  }
  const server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname)
      const file = normalize(join(outDir, path === '/' ? 'index.html' : path))
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end()
        return
      }
      if (!file.startsWith(outDir + sep)) {
        res.writeHead(403).end()
        return
      }
      const info = await stat(file).catch(() => undefined)
      if (info?.isFile() !== true) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`)
        return
      }
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': info.size,
        'cache-control': 'no-store',
        ...(options.crossOriginIsolated === true ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {})
      })
      if (req.method === 'HEAD') res.end()
      else createReadStream(file).pipe(res)
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500)
      res.end(String(err))
    })
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, host, () => { server.off('error', reject); resolve() })
    })
  } catch (err) {
    await rm(outDir, { recursive: true, force: true })
    throw err
  }
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`
  let closed: Promise<void> | undefined
  return {
    origin,
    url: (page) => `${origin}/${page}.html`,
    close: async () => {
      closed ??= (async () => {
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => { resolve() }))
        await rm(outDir, { recursive: true, force: true })
      })()
      await closed
    }
  }
}
