// Installs AuraLink as a user would, from a registry (test/install/README.md): starts a local
// registry (verdaccio) in `<work>/registry`, publishes every public workspace package to it, and
// then, in empty folders, each with a fresh HOME (so a fresh npm cache and no npmrc but one line
// naming the registry) and no npm_config_* from our environment:
//   relay: `npm install @auralink/relay-node` (no @auralink/mesh, no WebRTC in its tree), then
//          `npx auralink-relay` answers /healthz;
//   app:   `npm install @auralink/sdk vite`, the SDK imports in Node, `npx vite build` of the
//          small app in test/install/app (the call itself runs in test/install/call.mjs, inside
//          the test network namespace).
// For both: no react-native anywhere in `npm ls --all`, every node-datachannel in the tree loads,
// sizes printed. The registry's uplink for third-party packages is the registry npm is
// configured with here (`npm config get registry`). Needs `npm run build` first.
// Usage: node test/install/install.mjs <work folder>   (it writes <work>/install.json)
import { execFile, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { delimiter, dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const repo = resolve(import.meta.dirname, '../..')
const work = process.argv[2]
if (work === undefined || !existsSync(work)) throw new TypeError(`usage: node test/install/install.mjs <existing work folder>, got ${JSON.stringify(work)}`)
const t0 = Date.now()
const say = (line) => { console.log(`install: [${((Date.now() - t0) / 1000).toFixed(1)} s] ${line}`) }

/**
 * The environment a user's shell would have: our PATH without the repository's node_modules/.bin
 * (but with the Node running this script first: engines >= 22), none of our npm_config_* (npm
 * exports the repository's .npmrc, legacy-peer-deps included, to scripts it runs), and `home`.
 */
function userEnv (home) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE_OPTIONS' && k !== 'INIT_CWD'))
  const path = (process.env.PATH ?? '').split(delimiter).filter((p) => p !== '' && !resolve(p).startsWith(resolve(repo, 'node_modules')))
  return { ...env, HOME: home, PATH: [dirname(process.execPath), ...path].join(delimiter) }
}

async function freePort () {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** The public (not private) workspace packages, in the root package.json's order. */
function publicWorkspaces () {
  const root = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'))
  const dirs = root.workspaces.flatMap((w) => w.endsWith('/*')
    ? readdirSync(join(repo, w.slice(0, -2)), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(w.slice(0, -2), d.name))
    : [w])
  return dirs.map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(repo, dir, 'package.json'), 'utf8')) })).filter(({ pkg }) => pkg.private !== true)
}

async function startRegistry (dir) {
  const upstream = (await run('npm', ['config', 'get', 'registry'], { cwd: work, env: userEnv(join(work, 'home-probe')) })).stdout.trim()
  if (!/^https?:\/\//.test(upstream)) throw new Error(`npm config get registry gave ${JSON.stringify(upstream)}, not a URL`)
  const port = await freePort()
  mkdirSync(join(dir, 'storage'), { recursive: true })
  const config = join(dir, 'config.yaml')
  writeFileSync(config, [
    `storage: ${join(dir, 'storage')}`,
    'auth:',
    '  htpasswd:',
    `    file: ${join(dir, 'htpasswd')}`,
    'uplinks:',
    '  upstream:',
    `    url: ${upstream}`,
    '    timeout: 60s',
    '    maxage: 30m',
    'packages:',
    // ours are served from this registry only, never looked up upstream
    "  '@auralink/*':",
    '    access: $all',
    '    publish: $authenticated',
    "  '**':",
    '    access: $all',
    '    publish: $authenticated',
    '    proxy: upstream',
    'web:',
    '  enable: false',
    // @auralink/aic carries its ONNX models
    'max_body_size: 200mb',
    'log: { type: stdout, format: pretty, level: warn }',
    ''
  ].join('\n'))
  const child = spawn(join(repo, 'node_modules/.bin/verdaccio'), ['--config', config, '--listen', `127.0.0.1:${port}`], {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: dir }
  })
  let out = ''
  child.stdout.on('data', (d) => { out += String(d) })
  child.stderr.on('data', (d) => { out += String(d) })
  const url = `http://127.0.0.1:${port}/`
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited with ${child.exitCode}:\n${out}`)
    const ok = await fetch(`${url}-/ping`).then((r) => r.ok, () => false)
    if (ok) break
    if (i === 150) { child.kill('SIGKILL'); throw new Error(`verdaccio did not answer ${url}-/ping within 30 s:\n${out}`) }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  // a publisher account (verdaccio's htpasswd plugin creates it on first use): npm publishes with its token
  const res = await fetch(`${url}-/user/org.couchdb.user:auralink`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'auralink', password: 'install-test' })
  })
  const { token } = await res.json()
  if (typeof token !== 'string') throw new Error(`verdaccio gave no token for the publisher account (HTTP ${res.status})`)
  return { url, token, upstream, stop: () => { child.kill('SIGTERM') }, output: () => out }
}

/** A fresh HOME whose npmrc names the registry and nothing else (and the publisher's token when given). */
function freshHome (name, registry, token) {
  const home = join(work, name)
  mkdirSync(home, { recursive: true })
  const host = registry.url.replace(/^https?:/, '')
  writeFileSync(join(home, '.npmrc'), `registry=${registry.url}\n${token !== undefined ? `${host}:_authToken=${token}\n` : ''}`)
  return home
}

/** `npm ls --all --parseable` of `dir`: every installed package folder. */
async function installedFolders (dir, env) {
  const { stdout } = await run('npm', ['ls', '--all', '--parseable'], { cwd: dir, env, maxBuffer: 64 << 20 })
  return stdout.split('\n').filter((l) => l !== '' && resolve(l) !== resolve(dir))
}

/** The checks both installs share (and packages `absent` must not be installed); returns the figures. */
async function checkTree (label, dir, env, absent = []) {
  const folders = await installedFolders(dir, env)
  const names = folders.map((f) => f.slice(f.lastIndexOf('node_modules/') + 'node_modules/'.length))
  const rn = names.filter((n) => /^(@react-native[^/]*\/|react-native)/.test(n))
  if (rn.length > 0) throw new Error(`${label}: React Native in npm ls --all: ${[...new Set(rn)].join(', ')}`)
  const unwanted = absent.filter((n) => names.includes(n))
  if (unwanted.length > 0) throw new Error(`${label}: ${unwanted.join(', ')} installed, which it must not need`)
  const { stdout: tree } = await run('npm', ['ls', '--all'], { cwd: dir, env, maxBuffer: 64 << 20 })
  if (/react-native/.test(tree)) throw new Error(`${label}: npm ls --all names react-native:\n${tree.split('\n').filter((l) => /react-native/.test(l)).join('\n')}`)
  // every node-datachannel in the tree must load (its binding comes from a per-platform package;
  // 0.32 and older run prebuild-install, which downloads from outside the registry)
  const ndc = folders.filter((f) => /(^|\/)node_modules\/node-datachannel$/.test(f))
  for (const f of ndc) {
    const version = JSON.parse(readFileSync(join(f, 'package.json'), 'utf8')).version
    const probe = "import { createRequire } from 'node:module'; const m = await import(createRequire(process.argv[1]).resolve('node-datachannel')); if (typeof (m.PeerConnection ?? m.default?.PeerConnection) !== 'function') throw new Error('no PeerConnection')"
    try {
      await run(process.execPath, ['--input-type=module', '-e', probe, join(f, 'package.json')], { cwd: dir, env, timeout: 30_000 })
    } catch (err) {
      throw new Error(`${label}: node-datachannel ${version} (${f.slice(dir.length + 1)}) does not load: its install script did not provide its binding\n${err.stderr ?? err.message}`)
    }
  }
  const { stdout: du } = await run('du', ['-sb', join(dir, 'node_modules')])
  const bytes = Number(du.split('\t')[0])
  return { packages: folders.length, nodeModulesMB: Math.round(bytes / 1e5) / 10, nodeDatachannel: ndc.map((f) => JSON.parse(readFileSync(join(f, 'package.json'), 'utf8')).version) }
}

/** `npm install <what>` in a fresh folder; fails on npm errors, returns what npm printed. */
async function userInstall (label, dir, env, what) {
  mkdirSync(dir, { recursive: true })
  await run('npm', ['init', '-y'], { cwd: dir, env })
  const t = Date.now()
  let out
  try {
    out = await run('npm', ['install', ...what], { cwd: dir, env, maxBuffer: 64 << 20, timeout: 240_000 })
  } catch (err) {
    throw new Error(`${label}: npm install ${what.join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`)
  }
  const printed = `${out.stdout}${out.stderr}`
  if (/prebuild|ERR!|npm error/i.test(printed)) throw new Error(`${label}: npm install ${what.join(' ')} printed errors:\n${printed}`)
  say(`${label}: npm install ${what.join(' ')}: ${((Date.now() - t) / 1000).toFixed(1)} s`)
  return printed
}

async function relayAnswers (dir, env) {
  const child = spawn('npx', ['auralink-relay', '--port', '0', '--http-port', '0', '--data-dir', join(dir, 'relay-data')], {
    cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true
  })
  let out = ''
  child.stdout.on('data', (d) => { out += String(d) })
  child.stderr.on('data', (d) => { out += String(d) })
  try {
    let url
    for (let i = 0; i < 150 && url === undefined; i++) {
      if (child.exitCode !== null) break
      url = /auralink-relay http (\S+)/.exec(out)?.[1]
      if (url === undefined) await new Promise((resolve) => setTimeout(resolve, 200))
    }
    if (url === undefined) throw new Error(`relay: npx auralink-relay did not start within 30 s:\n${out}`)
    const res = await fetch(`${url}/healthz`)
    const body = await res.json()
    if (res.status !== 200 || body.status !== 'ok') throw new Error(`relay: ${url}/healthz answered ${res.status} ${JSON.stringify(body)}`)
    return `${url}/healthz`
  } finally {
    // npx runs the relay as its child: end the whole process group
    try { process.kill(-child.pid, 'SIGTERM') } catch {}
  }
}

const registry = await startRegistry(join(work, 'registry'))
const figures = {}
try {
  say(`verdaccio on ${registry.url} (uplink: the registry npm is configured with)`)
  const publisher = userEnv(freshHome('home-publish', registry, registry.token))
  const published = []
  for (const { dir, pkg } of publicWorkspaces()) {
    try {
      await run('npm', ['publish', '--registry', registry.url], { cwd: join(repo, dir), env: publisher, maxBuffer: 64 << 20 })
    } catch (err) {
      throw new Error(`npm publish of ${pkg.name} (${dir}) failed:\n${err.stderr ?? err.message}`)
    }
    published.push(`${pkg.name}@${pkg.version}`)
  }
  say(`published ${published.join(', ')}`)

  const relayDir = join(work, 'relay')
  const relayEnv = userEnv(freshHome('home-relay', registry))
  await userInstall('relay', relayDir, relayEnv, ['@auralink/relay-node'])
  // the relay signs and checks relay adverts with @auralink/identity: no mesh, no WebRTC
  figures.relay = await checkTree('relay', relayDir, relayEnv, ['@auralink/mesh', '@libp2p/webrtc', 'node-datachannel'])
  figures.relay.healthz = await relayAnswers(relayDir, relayEnv)
  say(`relay: npx auralink-relay answers ${figures.relay.healthz}`)

  const appDir = join(work, 'app')
  const appEnv = userEnv(freshHome('home-app', registry))
  await userInstall('app', appDir, appEnv, ['@auralink/sdk', 'vite'])
  figures.app = await checkTree('app', appDir, appEnv)
  await run(process.execPath, ['--input-type=module', '-e', "const m = await import('@auralink/sdk'); if (typeof m.AuraLink?.create !== 'function') throw new Error('no AuraLink.create')"], { cwd: appDir, env: appEnv, timeout: 60_000 })
    .catch((err) => { throw new Error(`app: import('@auralink/sdk') fails in Node:\n${err.stderr ?? err.message}`) })
  cpSync(join(import.meta.dirname, 'app'), appDir, { recursive: true })
  await run('npx', ['vite', 'build'], { cwd: appDir, env: appEnv, maxBuffer: 64 << 20, timeout: 180_000 })
    .catch((err) => { throw new Error(`app: npx vite build failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`) })
  say('app: @auralink/sdk imports in Node; npx vite build made dist/')
} finally {
  registry.stop()
}
for (const [label, f] of Object.entries(figures)) {
  say(`${label}: ${f.packages} packages, node_modules ${f.nodeModulesMB} MB (du -sb), node-datachannel ${f.nodeDatachannel.join(', ') || 'none'}, no react-native in npm ls --all`)
}
writeFileSync(join(work, 'install.json'), JSON.stringify({ ...figures, seconds: Math.round((Date.now() - t0) / 1000) }, null, 2) + '\n')
