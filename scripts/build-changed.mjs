#!/usr/bin/env node
// npm run build:changed: builds only the workspaces whose build inputs changed since their last
// build by this script, in dependency order (`npm run build` still builds every one).
//
// A workspace is rebuilt when its dist/ is missing, when it has no stamp yet
// (.auralink/build-stamps/<name>), when any file under it (except node_modules/, dist/, test/,
// training/ and *.md) or a shared input (tsconfig.json, tsup.base.ts, package-lock.json) is newer
// than its stamp, or when an @auralink workspace it depends on was built after it. The stamp
// takes the time the build started, so a file saved during a build triggers the next one.
//
//   node scripts/build-changed.mjs           build what changed
//   node scripts/build-changed.mjs --force   build every workspace (and stamp it)
//   node scripts/build-changed.mjs --dry-run print what would be built and why
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const args = new Set(process.argv.slice(2))
for (const arg of args) {
  if (!['--force', '--dry-run'].includes(arg)) {
    console.error(`build-changed: unknown argument '${arg}' (usage: node scripts/build-changed.mjs [--force] [--dry-run])`)
    process.exit(2)
  }
}
const force = args.has('--force')
const dryRun = args.has('--dry-run')
const stampDir = join(root, '.auralink', 'build-stamps')
const SKIP_DIRS = new Set(['node_modules', 'dist', 'test', 'training', '.git'])
const SHARED_INPUTS = ['tsconfig.json', 'tsup.base.ts', 'package-lock.json']

/** The newest mtime (ms) of the files under `dir`, and the file that has it. */
function newest (dir) {
  let best = { mtimeMs: 0, file: '' }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (SKIP_DIRS.has(entry.name)) continue
      const sub = newest(path)
      if (sub.mtimeMs > best.mtimeMs) best = sub
    } else if (entry.isFile() && !entry.name.endsWith('.md')) {
      const { mtimeMs } = statSync(path)
      if (mtimeMs > best.mtimeMs) best = { mtimeMs, file: path }
    }
  }
  return best
}

const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const workspaces = []
for (const pattern of rootPkg.workspaces) {
  const dirs = pattern.endsWith('/*')
    ? readdirSync(join(root, pattern.slice(0, -2)), { withFileTypes: true })
      .filter((e) => e.isDirectory()).map((e) => join(pattern.slice(0, -2), e.name))
    : [pattern]
  for (const dir of dirs) {
    const file = join(root, dir, 'package.json')
    if (!existsSync(file)) continue
    const pkg = JSON.parse(readFileSync(file, 'utf8'))
    if (pkg.scripts?.build == null) continue
    const deps = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies })
    workspaces.push({ dir, name: pkg.name, deps })
  }
}
const byName = new Map(workspaces.map((w) => [w.name, w]))

// dependency order: a workspace after every workspace it depends on
const ordered = []
const state = new Map()
function visit (w, path) {
  if (state.get(w.name) === 'done') return
  if (state.get(w.name) === 'visiting') throw new Error(`build-changed: dependency cycle ${[...path, w.name].join(' -> ')}`)
  state.set(w.name, 'visiting')
  for (const dep of w.deps) {
    const d = byName.get(dep)
    if (d != null) visit(d, [...path, w.name])
  }
  state.set(w.name, 'done')
  ordered.push(w)
}
for (const w of workspaces) visit(w, [])

const shared = SHARED_INPUTS.map((f) => join(root, f)).filter((f) => existsSync(f))
  .map((file) => ({ file, mtimeMs: statSync(file).mtimeMs }))
  .reduce((a, b) => (b.mtimeMs > a.mtimeMs ? b : a), { file: '', mtimeMs: 0 })
const stampOf = (w) => join(stampDir, w.name.replace(/[@/]/g, (c) => (c === '@' ? '' : '+')))
const stampTime = (w) => (existsSync(stampOf(w)) ? statSync(stampOf(w)).mtimeMs : null)

const rebuilt = new Set()
let built = 0
for (const w of ordered) {
  const stamp = stampTime(w)
  let why = null
  if (force) why = '--force'
  else if (!existsSync(join(root, w.dir, 'dist'))) why = 'no dist/'
  else if (stamp == null) why = 'no build stamp'
  else {
    const own = newest(join(root, w.dir))
    const rebuiltDep = w.deps.map((d) => byName.get(d)).find((d) => d != null && (rebuilt.has(d.name) || (stampTime(d) ?? Infinity) > stamp))
    if (own.mtimeMs > stamp) why = `${relative(root, own.file)} changed`
    else if (shared.mtimeMs > stamp) why = `${relative(root, shared.file)} changed`
    else if (rebuiltDep != null) why = `${rebuiltDep.name} was rebuilt`
  }
  if (why == null) continue
  console.log(`build-changed: ${w.name} (${why})`)
  rebuilt.add(w.name)
  if (dryRun) continue
  const started = new Date()
  const run = spawnSync('npm', ['run', 'build', '-w', w.dir], { cwd: root, stdio: 'inherit' })
  if (run.status !== 0) {
    console.error(`build-changed: building ${w.name} failed (exit ${run.status ?? run.signal})`)
    process.exit(1)
  }
  mkdirSync(stampDir, { recursive: true })
  writeFileSync(stampOf(w), `${started.toISOString()}\n`)
  utimesSync(stampOf(w), started, started)
  built++
}
if (built === 0 && !dryRun) console.log(`build-changed: all ${ordered.length} workspaces up to date`)
