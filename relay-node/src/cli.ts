#!/usr/bin/env node
// The `auralink-relay` command. Exit codes: 0 stopped cleanly, 1 runtime failure (a port in
// use, a second signal during shutdown), 2 bad configuration (flags, env, config file, data dir),
// a damaged datastore (DatastoreDamagedError: restore the data dir, or run with --repair) or a Node
// older than 22.
import { readFileSync } from 'node:fs'
import { pino } from 'pino'
import { loadConfig, usage } from './config.js'
import { RELAY_NAME } from './constants.js'
import { AuraLinkError } from '@auralink/core'
import { ConfigError, DatastoreDamagedError, DataDirError } from './errors.js'
import { createRelayNode } from './node.js'
import type { RelayNode } from './node.js'

function version (): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

// before anything else: an older Node fails later with errors that do not say why
// (`Promise.withResolvers is not a function`)
const MIN_NODE_MAJOR = 22
if (Number.parseInt(process.versions.node, 10) < MIN_NODE_MAJOR) {
  console.error(`${RELAY_NAME}: AuraLink needs Node ${MIN_NODE_MAJOR} or later, this is Node ${process.versions.node}`)
  process.exit(2)
}

// `auralink-relay recordings ...`: the operator's tools for recordings (keygen, decrypt), not a relay
if (process.argv[2] === 'recordings') {
  const { recordingsCommand } = await import('./recordings-cli.js')
  process.exit(await recordingsCommand(process.argv.slice(3)))
}

let parsed
try {
  parsed = loadConfig(process.argv.slice(2))
} catch (err) {
  // one line: what was wrong, then where to look
  console.error(`${RELAY_NAME}: ${(err as Error).message.replace(/\s*\n\s*/g, ' ')} (see ${RELAY_NAME} --help)`)
  process.exit(2)
}
if (parsed.help) {
  console.log(usage())
  process.exit(0)
}
if (parsed.version) {
  console.log(version())
  process.exit(0)
}
const { config, repair } = parsed
const log = pino({ name: RELAY_NAME, level: config.logLevel })
for (const d of parsed.deprecations) log.warn({ setting: d.setting, replacement: d.replacement }, d.message)

// Signals are handled from the first moment: one stops cleanly (after a start under way),
// a second forces exit 1.
let relay: RelayNode | undefined
let signals = 0
const shutdown = (signal: string): void => {
  if (++signals > 1) {
    log.warn({ signal }, 'second signal: exiting now')
    process.exit(1)
  }
  log.info({ signal }, 'shutting down')
  if (relay === undefined) process.exit(0)
  relay.stop().then(() => process.exit(0), (err: unknown) => {
    log.error({ reason: (err as Error).message }, 'shutdown failed')
    process.exit(1)
  })
}
process.on('SIGINT', () => { shutdown('SIGINT') })
process.on('SIGTERM', () => { shutdown('SIGTERM') })

try {
  relay = await createRelayNode({ ...config, repair, logger: log })
  if (relay.repaired !== undefined) console.log(`${RELAY_NAME} ${relay.repaired.message}`)
  await relay.start()
} catch (err) {
  const e = err as Error
  // a supervisor restarting on 1 would loop: damage and bad settings need a person (exit 2)
  const code = e instanceof DataDirError || e instanceof ConfigError || e instanceof DatastoreDamagedError ? 2 : 1
  log.fatal({ err: e.name, ...(e instanceof AuraLinkError ? { code: e.code } : {}), reason: e.message }, 'could not start')
  console.error(`${RELAY_NAME}: ${e.message}`)
  process.exit(code)
}

if (signals === 0) {
  for (const addr of relay.multiaddrs) console.log(`${RELAY_NAME} listening ${addr}`)
  console.log(`${RELAY_NAME} http ${relay.httpUrl} (/healthz, /metrics)`)
}
