import { builtinModules } from 'node:module'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

// @libp2p/webrtc is bundled into mesh's dist (packages/mesh/tsup.config.ts, docs/dependencies.md)
// so that installing mesh never pulls react-native-webrtc and react-native. These checks read the
// built files (`npm run build` first, as scripts/test.sh does): every package the bundles import
// is one mesh depends on, neither bundle names react-native-webrtc, the browser one takes nothing
// from Node, and the licence notice names the version that was bundled.
const root = resolve(import.meta.dirname, '..')
const read = (path: string): string => readFileSync(resolve(root, path), 'utf8')
const pkg = JSON.parse(read('package.json')) as {
  dependencies: Record<string, string>, devDependencies: Record<string, string>, files: string[],
  exports: Record<string, Record<string, string>>
}
const webrtc = JSON.parse(read('../../node_modules/@libp2p/webrtc/package.json')) as { version: string, dependencies: Record<string, string> }
const BUNDLES = ['dist/index.js', 'dist/browser/index.js']
const built = BUNDLES.every((f) => existsSync(resolve(root, f)))

/** The packages a built ES module imports statically or dynamically (`@scope/name` or `name`). */
function importedPackages (code: string): string[] {
  const specifiers = [
    ...code.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gm),
    ...code.matchAll(/^import\s*["']([^"']+)["']/gm),
    ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)
  ].map((m) => m[1]!)
  const names = specifiers.filter((s) => !s.startsWith('.')).map((s) => s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!)
  return [...new Set(names)].sort()
}

describe.skipIf(!built)('@auralink/mesh with @libp2p/webrtc bundled (skipped when packages/mesh is not built: npm run build -w packages/mesh)', () => {
  it('package.json: @libp2p/webrtc is an exact devDependency, neither it nor react-native-webrtc is a dependency', () => {
    expect(pkg.devDependencies['@libp2p/webrtc']).toMatch(/^\d+\.\d+\.\d+$/)
    expect(pkg.devDependencies['@libp2p/webrtc']).toBe(webrtc.version)
    expect(Object.keys(pkg.dependencies)).not.toContain('@libp2p/webrtc')
    expect(Object.keys(pkg.dependencies)).not.toContain('react-native-webrtc')
  })

  it.each(BUNDLES)('%s imports only node: builtins and packages listed in dependencies', (file) => {
    const missing = importedPackages(read(file)).filter((name) => !name.startsWith('node:') && !builtinModules.includes(name) && !(name in pkg.dependencies))
    expect(missing).toEqual([])
  })

  it.each(BUNDLES)('%s has @libp2p/webrtc inlined and does not name react-native-webrtc', (file) => {
    const code = read(file)
    expect(importedPackages(code)).not.toContain('@libp2p/webrtc')
    expect(code).not.toMatch(/react-native/)
    expect(code).toMatch(/\/webrtc-signaling\/0\.0\.1/)
  })

  it.each(BUNDLES)('%s carries the fix that fails a WebRTC dial at once when its peer connection fails during signalling (tsup.config.ts)', (file) => {
    const code = read(file)
    expect(code).toContain(`if ((options.signal?.aborted === true || pc.connectionState === "failed" || pc.connectionState === "closed") && pc.connectionState !== "connected") {`)
    expect(code).not.toContain('if (options.signal?.aborted === true && pc.connectionState !== "connected") {')
  })

  it.each(BUNDLES)('%s carries the fix that lets a dial go on when the other end closes the \'init\' data channel before it opened here (tsup.config.ts)', (file) => {
    const code = read(file)
    // esbuild may rename pEvent (pEvent2): the calls are matched with any suffix
    expect(code).toMatch(/await pEvent\d*\(channel, \["open", "close"\], \{/)
    expect(code).toMatch(/if \(channel\.readyState !== "closed"\) \{\s*log\.trace\("closing init channel"\);/)
    expect(code).not.toMatch(/await pEvent\d*\(channel, "open", \{/)
  })

  it('dist/browser/index.js takes the browser files of @libp2p/webrtc: no node-datachannel, no node: modules', () => {
    const imported = importedPackages(read('dist/browser/index.js'))
    expect(imported.filter((n) => n === 'node-datachannel' || n.startsWith('node:') || builtinModules.includes(n))).toEqual([])
    expect(importedPackages(read('dist/index.js'))).toContain('node-datachannel')
  })

  it('a dependency added for the bundle keeps the range @libp2p/webrtc itself declares', () => {
    const bundledOnly = importedPackages(BUNDLES.map(read).join('\n')).filter((n) => n in webrtc.dependencies && n in pkg.dependencies)
    for (const name of bundledOnly) {
      // mesh may ask for a newer floor than @libp2p/webrtc (its own code uses the package too), never an older major
      expect([name, pkg.dependencies[name]!.replace(/^\^/, '').split('.')[0]]).toEqual([name, webrtc.dependencies[name]!.replace(/^\^/, '').split('.')[0]])
    }
  })

  it('exports: browsers (and React Native, on its globals) get dist/browser/index.js, Node dist/index.js; the licence notice of the bundled code is published', () => {
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', 'react-native': './dist/browser/index.js', browser: './dist/browser/index.js', import: './dist/index.js' })
    expect(pkg.files).toContain('THIRD-PARTY-NOTICES.md')
    const notice = read('THIRD-PARTY-NOTICES.md')
    expect(notice).toContain(`@libp2p/webrtc ${webrtc.version}`)
    expect(notice).toMatch(/Apache-2\.0 OR MIT/)
    expect(notice).toMatch(/Permission is hereby granted, free of charge/)
  })
})
