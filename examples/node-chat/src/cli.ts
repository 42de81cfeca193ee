#!/usr/bin/env node
import { homedir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { generateIdentityKey, parseAuraId } from '@auralink/identity'
import { fileKeyStore } from '@auralink/identity/keystore'
import { createMeshNode } from '@auralink/mesh'
import { startChat } from './chat.js'
import type { ChatSession } from './chat.js'

const USAGE = `usage: auralink-chat --as @alice.aura --relay <relay multiaddr or ws://host:port> [--relay ...] [--key-dir DIR]

Registers your AuraID at the relay, then reads commands:
  /call @bob.aura   open a direct chat with @bob.aura
  /quit             leave
  anything else     is sent to the peer you are talking to`

function fail (message: string): never {
  console.error(`auralink-chat: ${message}\n${USAGE}`)
  process.exit(2)
}

let args
try {
  args = parseArgs({
    options: {
      as: { type: 'string' },
      relay: { type: 'string', multiple: true },
      'key-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    },
    strict: true
  }).values
} catch (err) {
  fail((err as Error).message)
}
if (args.help === true) {
  console.log(USAGE)
  process.exit(0)
}
if (args.as === undefined) fail('--as is required')
if (args.relay === undefined || args.relay.length === 0) fail('--relay is required')
let me: string
try {
  me = parseAuraId(args.as)
} catch (err) {
  fail(`--as ${JSON.stringify(args.as)}: ${(err as Error).message}`)
}

const keys = fileKeyStore({ dir: args['key-dir'] ?? join(homedir(), '.auralink', 'keys') })
const stored = await keys.get(me)
const key = stored ?? await generateIdentityKey()

let node
try {
  node = await createMeshNode({ privateKey: key, relays: args.relay })
} catch (err) {
  fail(`--relay: ${(err as Error).message}`)
}
await node.start()
// keep a new key only once the node it is for has started
if (stored === undefined) await keys.put(me, key)
let session: ChatSession | undefined
let quitting = false
const say = (line: string): void => { console.log(line) }

const shutdown = async (code: number): Promise<never> => {
  quitting = true
  await session?.close().catch(() => {})
  await node.stop()
  await keys.close()
  process.exit(code)
}
process.on('SIGINT', () => { void shutdown(0) })
process.on('SIGTERM', () => { void shutdown(0) })

try {
  await node.waitForReservation({ signal: AbortSignal.timeout(20_000) })
  const record = await node.register(me)
  say(`* registered ${me} as ${record.peerId.toString()}`)
} catch (err) {
  console.error(`auralink-chat: could not register ${me}: ${(err as Error).message}`)
  await shutdown(1)
}

const chat = await startChat(node, me, {
  onOpen (s) {
    session = s
    say(`* connected to ${s.peer} (${s.direct ? 'direct' : 'relayed'})`)
  },
  onLine (from, line) { say(`<${from}> ${line}`) },
  onClose (peer, reason) {
    if (!quitting) say(`* ${peer} left (${reason})`)
    if (session?.peer === peer) session = undefined
  },
  onError (message) { say(`! ${message}`) }
})

const rl = createInterface({ input: process.stdin, terminal: false })
rl.on('close', () => { void shutdown(0) })
for await (const raw of rl) {
  const line = raw.trim()
  if (line === '') continue
  if (line === '/quit') break
  if (line.startsWith('/call')) {
    const target = line.slice(5).trim()
    try {
      say(`* calling ${parseAuraId(target)} ...`)
      await chat.call(target)
    } catch (err) {
      say(`! call failed: ${(err as Error).name}: ${(err as Error).message}`)
    }
    continue
  }
  if (line.startsWith('/')) {
    say(`! unknown command ${line.split(' ')[0]}: try /call @name.aura or /quit`)
    continue
  }
  if (session === undefined) {
    say('! not in a chat: /call @name.aura first')
    continue
  }
  try {
    await session.send(line)
  } catch (err) {
    say(`! not sent: ${(err as Error).message}`)
  }
}
await shutdown(0)
