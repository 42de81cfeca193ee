import { constants } from 'node:fs'
import { access, mkdir, open, readFile, rename } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { auraIdDirectory } from '@auralink/signalling'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { LevelDatastore } from 'datastore-level'
import { createLibp2p } from 'libp2p'
import { DataDirError, PortInUseError } from './errors.js'
import { createHttpServer } from './http.js'
import { RelayMetrics } from './metrics.js'
import type { RelayConfig } from './config.js'
import type { AuraIdDirectory } from '@auralink/signalling'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Server } from 'node:http'
import type { Logger } from 'pino'

export type RelayServices = {
  relay: CircuitRelayService
  directory: AuraIdDirectory
  identify: unknown
  ping: unknown
}

export interface RelayNode {
  readonly libp2p: Libp2p<RelayServices>
  readonly datastore: LevelDatastore
  readonly metrics: RelayMetrics
  readonly http: Server
  readonly config: RelayConfig
  /** The libp2p multiaddrs, each ending in /p2p/<relay peer id>. */
  readonly multiaddrs: string[]
  /** The HTTP base URL, e.g. http://127.0.0.1:4002 */
  readonly httpUrl: string
  start(): Promise<void>
  /** Stops HTTP, libp2p and the datastore. Idempotent. */
  stop(): Promise<void>
}

const KEY_FILE = 'relay.key'

/** Loads the relay's identity key from the data dir, or makes and stores one (mode 0600). */
async function loadOrCreateKey (dataDir: string): Promise<PrivateKey> {
  const file = join(dataDir, KEY_FILE)
  try {
    return privateKeyFromProtobuf(await readFile(file))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DataDirError(`cannot read the relay key ${file}: ${(err as Error).message}`, { cause: err })
    }
  }
  const key = await generateKeyPair('Ed25519')
  const tmp = `${file}.${process.pid}.tmp`
  const fh = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600)
  try {
    await fh.writeFile(privateKeyToProtobuf(key))
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, file)
  return key
}

async function prepareDataDir (dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await access(dir, constants.W_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOTDIR' ? 'a part of the path is a file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : (err as Error).message
    throw new DataDirError(`cannot use data dir ${dir}: ${why}`, { cause: err })
  }
}

function inUse (err: unknown): boolean {
  const e = err as NodeJS.ErrnoException & { errors?: unknown[] }
  return e?.code === 'EADDRINUSE' || /EADDRINUSE|address already in use/i.test(e?.message ?? '') || (Array.isArray(e?.errors) && e.errors.some(inUse))
}

/**
 * Builds a relay node from a resolved configuration: a libp2p node (WebSockets, Noise, yamux,
 * identify, ping, circuit relay v2 server, the AuraID directory on LevelDB) and an HTTP server
 * for /healthz and /metrics. Nothing listens until start().
 */
export async function createRelayNode (config: RelayConfig, log: Logger): Promise<RelayNode> {
  const dataDir = resolve(config.dataDir)
  await prepareDataDir(dataDir)
  const privateKey = await loadOrCreateKey(dataDir)
  const datastore = new LevelDatastore(join(dataDir, 'datastore'))
  try {
    await datastore.open()
  } catch (err) {
    throw new DataDirError(`cannot open the datastore in ${dataDir}: ${(err as Error).message}`, { cause: err })
  }

  const libp2p = await createLibp2p({
    privateKey,
    datastore,
    start: false,
    addresses: {
      listen: [`/ip4/${config.host}/tcp/${config.port}/ws`],
      announce: config.announce
    },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // peers and relays on loopback and private networks are normal for a relay
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      ping: ping(),
      relay: circuitRelayServer({
        reservations: {
          maxReservations: config.maxReservations,
          reservationTtl: config.reservationTtl * 1000,
          defaultDataLimit: BigInt(config.relayDataLimit),
          defaultDurationLimit: config.relayDurationLimit * 1000
        }
      }),
      directory: auraIdDirectory({
        datastore,
        maxRequestsPerMinute: config.directoryRateLimit,
        maxWritesPerMinute: config.directoryWriteLimit,
        maxNamesPerKey: config.directoryMaxNamesPerKey
      })
    }
  }) as unknown as Libp2p<RelayServices>

  let serving = false
  const startedAt = Date.now()
  const metrics = new RelayMetrics({
    reservations: () => libp2p.services.relay.reservations.size,
    connections: () => libp2p.getConnections().length,
    names: async () => libp2p.services.directory.size()
  })
  libp2p.services.directory.addEventListener('operation', ({ detail }) => {
    metrics.directoryOperations.inc({ op: detail.op, outcome: detail.outcome })
    if (detail.outcome === 'internal') metrics.errors.inc({ kind: 'directory_internal' })
  })
  libp2p.services.relay.addEventListener('relay:reservation', ({ detail }) => {
    log.debug({ peer: detail.addr.toString() }, 'reservation made')
  })

  const http = createHttpServer(metrics, {
    ready: () => serving,
    health: async () => ({
      peerId: libp2p.peerId.toString(),
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      reservations: libp2p.services.relay.reservations.size,
      connections: libp2p.getConnections().length,
      names: await libp2p.services.directory.size()
    })
  })

  let httpUrl = ''
  let stopping: Promise<void> | undefined

  const node: RelayNode = {
    libp2p,
    datastore,
    metrics,
    http,
    config,
    get multiaddrs () { return libp2p.getMultiaddrs().map(String) },
    get httpUrl () { return httpUrl },
    async start () {
      log.info({ dataDir, peerId: libp2p.peerId.toString() }, 'starting')
      try {
        await new Promise<void>((resolve, reject) => {
          http.once('error', reject)
          http.listen(config.httpPort, config.host, () => { http.off('error', reject); resolve() })
        })
      } catch (err) {
        await datastore.close().catch(() => {})
        if (inUse(err)) throw new PortInUseError(`HTTP port ${config.host}:${config.httpPort} is in use (another auralink-relay? choose one with --http-port)`, { cause: err })
        throw err
      }
      const addr = http.address()
      httpUrl = `http://${config.host}:${typeof addr === 'object' && addr !== null ? addr.port : config.httpPort}`
      try {
        await libp2p.start()
      } catch (err) {
        await new Promise((resolve) => http.close(resolve))
        await datastore.close().catch(() => {})
        if (inUse(err)) throw new PortInUseError(`port ${config.host}:${config.port} is in use (another auralink-relay? choose one with --port)`, { cause: err })
        throw err
      }
      serving = true
      log.info({ multiaddrs: node.multiaddrs, http: httpUrl }, 'listening')
    },
    async stop () {
      stopping ??= (async () => {
        serving = false
        log.info('stopping')
        http.closeAllConnections()
        await new Promise((resolve) => http.close(resolve))
        await libp2p.stop()
        await datastore.close()
        log.info('stopped')
      })()
      await stopping
    }
  }
  return node
}
