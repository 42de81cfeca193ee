#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { pino } from 'pino'
import { loadConfig, usage } from './config.js'
import { createRelayNode } from './node.js'
import type { RelayNode } from './node.js'

const NAME = 'auralink-relay'

function version (): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

let parsed
try {
  parsed = loadConfig(process.argv.slice(2))
} catch (err) {
  console.error(`${NAME}: ${(err as Error).message}\nsee ${NAME} --help`)
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
const { config } = parsed
const log = pino({ name: NAME, level: config.logLevel })

let relay: RelayNode
try {
  relay = await createRelayNode(config, log)
  await relay.start()
} catch (err) {
  const e = err as Error
  const code = e.name === 'DataDirError' || e.name === 'ConfigError' ? 2 : 1
  log.fatal({ err: e.name, reason: e.message }, 'could not start')
  console.error(`${NAME}: ${e.message}`)
  process.exit(code)
}

for (const addr of relay.multiaddrs) console.log(`${NAME} listening ${addr}`)
console.log(`${NAME} http ${relay.httpUrl} (/healthz, /metrics)`)

let signals = 0
const shutdown = (signal: string): void => {
  if (++signals > 1) {
    log.warn({ signal }, 'second signal: exiting now')
    process.exit(1)
  }
  log.info({ signal }, 'shutting down')
  relay.stop().then(() => process.exit(0), (err: unknown) => {
    log.error({ reason: (err as Error).message }, 'shutdown failed')
    process.exit(1)
  })
}
process.on('SIGINT', () => { shutdown('SIGINT') })
process.on('SIGTERM', () => { shutdown('SIGTERM') })
