// `npm publish --dry-run` of every public workspace package must be clean: no npm warning (but
// the one that says the dry run is not logged in: CI holds no token, a release does), and the
// fields a stranger's tools read: description, license MIT with its LICENSE text in the tarball,
// files, README.md and CHANGELOG.md in the
// tarball, Node >= 22, public access (scoped packages are restricted by default), and a
// changesets `fixed` group that covers it. Run by scripts/test.sh; needs `npm run build` first.
// Usage: node scripts/publish-check.mjs
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const repo = resolve(import.meta.dirname, '..')
const root = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'))
const changesets = JSON.parse(readFileSync(join(repo, '.changeset/config.json'), 'utf8'))
const rootLicence = readFileSync(join(repo, 'LICENSE'), 'utf8')
// npm exports the repository's .npmrc to scripts it runs (npm_config_*): publish as a user would
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)))

const dirs = root.workspaces.flatMap((w) => w.endsWith('/*')
  ? readdirSync(join(repo, w.slice(0, -2)), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `${w.slice(0, -2)}/${d.name}`)
  : [w])
const problems = []
let checked = 0
for (const dir of dirs) {
  const pkg = JSON.parse(readFileSync(join(repo, dir, 'package.json'), 'utf8'))
  if (pkg.private === true) continue
  checked++
  const bad = (what) => { problems.push(`${pkg.name} (${dir}): ${what}`) }
  let out
  try {
    out = await run('npm', ['publish', '--dry-run', '--json'], { cwd: join(repo, dir), env, maxBuffer: 64 << 20 })
  } catch (err) {
    bad(`npm publish --dry-run failed: ${err.stderr ?? err.message}`)
    continue
  }
  const warnings = out.stderr.split('\n').filter((l) => /^npm warn/i.test(l) && !/requires you to be logged in/.test(l))
  for (const w of warnings) bad(w)
  const files = new Set(Object.values(JSON.parse(out.stdout))[0].files.map((f) => f.path))
  if (typeof pkg.description !== 'string' || pkg.description.length < 10) bad(`description missing or too short: ${JSON.stringify(pkg.description)}`)
  if (pkg.license !== 'MIT') bad(`license must be "MIT", got ${JSON.stringify(pkg.license)}`)
  if (!files.has('LICENSE')) bad('LICENSE is not in the tarball')
  else if (readFileSync(join(repo, dir, 'LICENSE'), 'utf8') !== rootLicence) bad('LICENSE differs from the repository\'s LICENSE')
  if (!Array.isArray(pkg.files) || pkg.files.length === 0) bad('files is missing: say what the tarball holds')
  for (const f of ['README.md', 'CHANGELOG.md', 'package.json']) if (!files.has(f)) bad(`${f} is not in the tarball`)
  if (![...files].some((f) => f.startsWith('dist/'))) bad('no dist/ in the tarball: run npm run build first')
  if (pkg.engines?.node !== '>=22') bad(`engines.node must be ">=22", got ${JSON.stringify(pkg.engines?.node)}`)
  if (pkg.publishConfig?.access !== 'public') bad('publishConfig.access must be "public" (scoped packages publish restricted by default)')
  const fixed = (changesets.fixed ?? []).some((group) => group.some((g) => !g.startsWith('!') && new RegExp(`^${g.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`).test(pkg.name)))
  if (!fixed) bad('not in a changesets `fixed` group (.changeset/config.json): @auralink packages release at one version')
}
if (checked === 0) problems.push('no public workspace package found')
if (problems.length > 0) {
  console.error(`publish-check: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  process.exit(1)
}
console.log(`publish-check: npm publish --dry-run is clean for ${checked} packages`)
