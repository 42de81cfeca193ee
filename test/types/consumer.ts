// A stranger's app, written against the published types only: the public API of
// @auralink/sdk (create, register, call, events, stats, errors) and @auralink/identity/keystore.
// test/types/consumers.mjs type-checks it with `tsc --noEmit --strict` in fresh projects
// (TypeScript 5.9 and 7, `moduleResolution` bundler and node16, with and without @types/node).
// It is never run.
import { AuraLink, CallEndedError, RelayUnreachableError } from '@auralink/sdk'
import type { AuraLinkInit, Call, CallStateChange, CallStats, FileTransfer, ReceivedFile } from '@auralink/sdk'
import { fileKeyStore, idbKeyStore } from '@auralink/identity/keystore'
import type { FileKeyStoreInit, IdbKeyStoreInit, KeyStore } from '@auralink/identity/keystore'

// The same declarations whichever export condition resolved: both stores are named in either.
const fileInit: FileKeyStoreInit = { dir: './keys' }
const idbInit: IdbKeyStoreInit = { dbName: 'my-app-keys' }
const keyStore: KeyStore = typeof indexedDB === 'undefined' ? fileKeyStore(fileInit) : idbKeyStore(idbInit)

export async function main (relay: string): Promise<void> {
  const init: AuraLinkInit = { relays: [relay], keyStore, iceServers: [] }
  let client: AuraLink
  try {
    client = await AuraLink.create(init, { signal: AbortSignal.timeout(10_000) })
  } catch (err) {
    if (err instanceof RelayUnreachableError) console.error('relay down:', err.message)
    throw err
  }
  const record = await client.register('@alice.aura')
  const peer: string = client.peerId.toString()
  console.log(record.name, peer)

  client.addEventListener('incoming', (e) => {
    const incoming: Call = e.detail.call
    void incoming.accept({ audio: true, video: false })
  })
  client.addEventListener('relay:lost', (e) => { console.log('lost', e.detail.relay.toString()) })

  const call = await client.call('@bob.aura', { audio: true, video: true })
  call.addEventListener('state', (e) => {
    const change: CallStateChange = e.detail
    if (change.state === 'ended') console.log(change.reason, change.message)
  })
  call.addEventListener('track', (e) => { const stream: MediaStream = e.detail.stream; console.log(stream.id) })
  call.addEventListener('message', (e) => { console.log(e.detail.text ?? e.detail.data?.byteLength) })
  call.addEventListener('file', (e) => {
    const transfer: FileTransfer = e.detail.transfer
    transfer.addEventListener('progress', (p) => { console.log(p.detail) })
    void transfer.done.then((file: ReceivedFile | undefined) => { console.log(file?.name, file?.sha256) })
  })
  await call.whenConnected()
  await call.send('hello')
  const stats: CallStats = await call.stats()
  const line: string = `${stats.path} ${stats.rttMs ?? '-'} ms ${stats.bitrateIn} b/s ${stats.codecs.video ?? ''} ${stats.timestamp}`
  console.log(line, stats.candidates?.local, stats.audio?.packetsReceived)
  try {
    await call.send('after')
  } catch (err) {
    if (err instanceof CallEndedError || (err instanceof Error && err.name === 'CallEndedError')) console.log('ended')
  }
  await call.hangup()
  await client.stop()
  await keyStore.close()
}
