#!/usr/bin/env node
// TypeScript consumers of the published packages. Packs every workspace package (`npm pack`),
// installs the tarballs into two fresh projects (one with @types/node, a Node app; one without,
// a browser app), each with TypeScript 5.9 and TypeScript 7, and runs `tsc --noEmit --strict`
// on test/types/consumer.ts under `moduleResolution` bundler and node16: 8 combinations, printed
// as a table, with `skipLibCheck: false` (our published .d.ts files are checked too). Fails when
// any combination fails, and prints its errors.
//
// One failure is upstream's and is allowed, by its exact text: without @types/node,
// main-event's dist/src/events.d.ts (main-event is the event emitter of @libp2p/interface, so
// every libp2p type pulls it in) imports 'node:events', which does not resolve (TS2307; TS2591 in TypeScript 7). A
// browser project needs `skipLibCheck: true` (what Vite's templates set) or @types/node; the
// browser project is therefore also checked with `skipLibCheck: true`, where it must be clean.
// Any other error, in our types or another package's, fails the run.
//
// Needs `npm run build` first and the registry (the installs): scripts/test.sh runs it before it
// enters the network namespace. Install scripts are skipped (`--ignore-scripts`): nothing here
// runs the packages' code, only their types. `--legacy-peer-deps` is added only when the
// resolved tree would hold React Native (a peer dependency of `react-native-webrtc`, which
// `@libp2p/webrtc` depends on), and the script says so.
//   node test/types/consumers.mjs [--keep]    --keep: leave the temp folder and print its path
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const keep = process.argv.includes('--keep')
const work = mkdtempSync(join(tmpdir(), 'auralink-types-'))
const tarballs = join(work, 'tarballs')

/** The TypeScript versions a consumer may have: package alias -> the range installed. */
const TYPESCRIPTS = { ts59: 'typescript@~5.9', ts7: 'typescript@7' }
const RESOLUTIONS = ['bundler', 'node16']
/** A Node app (its types include @types/node) and a browser app (no @types/node installed at all). */
const PROJECTS = {
  node: { typesNode: true, lib: ['ES2023', 'DOM', 'DOM.Iterable'] },
  browser: { typesNode: false, lib: ['ES2023', 'DOM', 'DOM.Iterable'] }
}

function run (cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function publicWorkspaces () {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  return pkg.workspaces.filter((ws) => !ws.includes('*')).filter((ws) => {
    const p = JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8'))
    return p.private !== true
  })
}

function pack () {
  run('mkdir', ['-p', tarballs])
  for (const ws of publicWorkspaces()) {
    run('npm', ['pack', '-w', ws, '--pack-destination', tarballs, '--silent'], root)
  }
  return readdirSync(tarballs).filter((f) => f.endsWith('.tgz')).map((f) => join(tarballs, f))
}

function install (dir, tgz, typesNode) {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2))
  const specs = [...tgz, ...Object.entries(TYPESCRIPTS).map(([alias, spec]) => `${alias}@npm:${spec}`)]
  if (typesNode) specs.push('@types/node@^24')
  const flags = ['--ignore-scripts', '--no-audit', '--no-fund']
  // Resolve the tree first (no downloads): does it pull React Native in?
  run('npm', ['install', '--package-lock-only', ...flags, ...specs], dir)
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'))
  const reactNative = Object.keys(lock.packages).some((p) => p.endsWith('node_modules/react-native'))
  if (reactNative) {
    console.log(`types: ${relative(work, dir)}: the tree pulls in react-native; installing with --legacy-peer-deps`)
    flags.push('--legacy-peer-deps')
  }
  run('npm', ['install', ...flags, ...specs], dir)
  if (!typesNode && existsSync(join(dir, 'node_modules', '@types', 'node'))) {
    throw new Error(`types: ${dir}: @types/node was installed by a dependency, so the browser project is not one without it`)
  }
}

/** The one upstream error allowed (see the top of this file): main-event's types import node:events. */
// (TypeScript 5.9 says TS2307 "Cannot find module", TypeScript 7 TS2591 "Cannot find name")
const UPSTREAM_NODE_EVENTS = /^node_modules\/main-event\/dist\/src\/events\.d\.ts\(\d+,\d+\): error TS(2307: Cannot find module|2591: Cannot find name) 'node:events'/

function tsconfig (project, resolution, skipLibCheck = false) {
  return {
    compilerOptions: {
      target: 'ES2023',
      lib: project.lib,
      module: resolution === 'bundler' ? 'ESNext' : 'Node16',
      moduleResolution: resolution === 'bundler' ? 'Bundler' : 'Node16',
      strict: true,
      noEmit: true,
      // Check the published .d.ts files too: a consumer's broken types often sit there.
      skipLibCheck,
      types: project.typesNode ? ['node'] : []
    },
    files: ['consumer.ts']
  }
}

function tscOf (dir, alias) {
  // TypeScript 7 (the native port) keeps the `tsc` name; its bin is a launcher for the Go binary.
  const bin = JSON.parse(readFileSync(join(dir, 'node_modules', alias, 'package.json'), 'utf8')).bin
  const name = typeof bin === 'string' ? bin : (bin.tsc ?? bin.tsgo)
  return join(dir, 'node_modules', alias, name)
}

/**
 * For an error inside a dependency's .d.ts, the chain of imports from one of our published
 * .d.ts files (node_modules/@auralink/...) to it, from `tsc --explainFiles`: which of our
 * public types pulls the failing file in.
 */
function importChain (dir, tsc, config, file) {
  const r = spawnSync('node', [tsc, '-p', config, '--noEmit', '--explainFiles'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28 })
  const importers = new Map()
  let current
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith(' ')) { current = line.trim(); continue }
    const m = /Imported via '([^']+)' from file '([^']+)'/.exec(line)
    if (m !== null && current !== undefined && !importers.has(current)) importers.set(current, { via: m[1], from: m[2] })
  }
  const chain = [file]
  const seen = new Set(chain)
  for (let f = file; !f.includes('node_modules/@auralink/') && importers.has(f);) {
    const { via, from } = importers.get(f)
    if (seen.has(from)) break
    seen.add(from)
    chain.push(`${from} (imports '${via}')`)
    f = from
  }
  return chain.reverse().join('\n    -> ')
}

const results = []
let failed = false
try {
  const tgz = pack()
  console.log(`types: packed ${tgz.length} packages: ${tgz.map((f) => f.split('/').pop()).join(' ')}`)
  for (const [name, project] of Object.entries(PROJECTS)) {
    const dir = join(work, name)
    run('mkdir', ['-p', dir])
    const started = Date.now()
    install(dir, tgz, project.typesNode)
    console.log(`types: ${name} project installed in ${((Date.now() - started) / 1000).toFixed(0)} s`)
    copyFileSync(join(root, 'test', 'types', 'consumer.ts'), join(dir, 'consumer.ts'))
    for (const resolution of RESOLUTIONS) for (const skipLibCheck of project.typesNode ? [false] : [false, true]) {
      const config = `tsconfig.${resolution}${skipLibCheck ? '.skiplib' : ''}.json`
      writeFileSync(join(dir, config), JSON.stringify(tsconfig(project, resolution, skipLibCheck), null, 2))
      for (const alias of Object.keys(TYPESCRIPTS)) {
        const tsc = tscOf(dir, alias)
        const version = run('node', [tsc, '--version'], dir).trim().replace(/^Version /, '')
        const r = spawnSync('node', [tsc, '-p', config, '--noEmit', '--strict'], { cwd: dir, encoding: 'utf8' })
        const errors = (r.stdout + r.stderr).split('\n').filter((l) => /error TS\d+/.test(l))
        // an error inside a dependency's types: say which of ours pulled that file in
        const libFiles = [...new Set(errors.map((l) => /^(node_modules\/[^(]+)\(/.exec(l)?.[1]).filter((f) => f !== undefined))]
        const chains = alias === 'ts59' ? libFiles.map((f) => importChain(dir, tsc, config, f)) : []
        const upstreamOnly = r.status !== 0 && !project.typesNode && !skipLibCheck && errors.length > 0 && errors.every((l) => UPSTREAM_NODE_EVENTS.test(l))
        const ok = r.status === 0 || upstreamOnly
        results.push({ version, resolution, typesNode: project.typesNode, skipLibCheck, ok, upstreamOnly, errors, output: r.stdout + r.stderr, chains })
        if (!ok) failed = true
      }
    }
  }
} finally {
  const rows = [['TypeScript', 'moduleResolution', '@types/node', 'skipLibCheck', 'result']]
  for (const r of results) {
    const result = r.upstreamOnly ? `ok but upstream: main-event's events.d.ts imports node:events (${r.errors.length})` : r.ok ? 'ok' : `FAIL (${r.errors.length} errors)`
    rows.push([r.version, r.resolution, r.typesNode ? 'yes' : 'no', String(r.skipLibCheck), result])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)))
  console.log(rows.map((row) => row.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n'))
  for (const r of results.filter((x) => !x.ok || x.upstreamOnly)) {
    console.log(`\n--- ${r.version}, ${r.resolution}, @types/node ${r.typesNode ? 'yes' : 'no'}, skipLibCheck ${String(r.skipLibCheck)}:\n${r.output.trim().split('\n').slice(0, 40).join('\n')}`)
    for (const chain of r.chains) console.log(`  pulled in by:\n    ${chain}`)
  }
  if (keep) console.log(`types: kept ${work}`)
  else rmSync(work, { recursive: true, force: true })
}
// node project: 2 resolutions x 2 TypeScripts; browser project: the same with skipLibCheck false and true
if (failed || results.length !== 3 * RESOLUTIONS.length * Object.keys(TYPESCRIPTS).length) process.exit(1)
