// The web call app: register an AuraID at a relay, call someone by AuraID or answer their call.
//
// The identity key stays in this browser's IndexedDB (idbKeyStore, from the SDK), one key per
// AuraID (its keyLabel), so a reload (or a second visit) registers the same name with the same key
// again. One key per name, not one per browser: two windows of one browser share IndexedDB, and
// @alice.aura and @bob.aura in two windows must be two peers. The same name in two windows at once
// is refused (KeyInUseError: the SDK locks a key while a client uses it).
import { validateAuraId } from '@auralink/identity'
import { AuraLink, idbKeyStore } from '@auralink/sdk'
import { activeCall, aicChoice, showCall } from './call-view.js'
import { activeGroup, showGroup } from './group-view.js'
import { action, byId, onSubmit, showError } from './dom.js'
import { setRecordingsClient, setRelayHttp } from './recordings-list.js'
import type { Call, CallMediaOptions, GroupCall } from '@auralink/sdk'

const el = {
  me: byId('me', HTMLSpanElement),
  registerForm: byId('register-form', HTMLFormElement),
  learnedImages: byId('learned-images', HTMLInputElement),
  relay: byId('relay', HTMLInputElement),
  auraId: byId('aura-id', HTMLInputElement),
  register: byId('register', HTMLButtonElement),
  registered: byId('registered', HTMLParagraphElement),
  callForm: byId('call-form', HTMLFormElement),
  callee: byId('callee', HTMLInputElement),
  call: byId('call', HTMLButtonElement),
  incoming: byId('incoming', HTMLDivElement),
  incomingFrom: byId('incoming-from', HTMLElement),
  incomingWhat: byId('incoming-what', HTMLElement),
  accept: byId('accept', HTMLButtonElement),
  reject: byId('reject', HTMLButtonElement),
  camera: byId('camera', HTMLSelectElement)
}

/** This tab's last AuraID (sessionStorage: per tab, kept across reloads). */
const NAME_KEY = 'auralink-web-call:aura-id'
const keyStore = idbKeyStore({ dbName: 'auralink-web-call' })

let client: AuraLink | undefined
let ringing: Call | undefined
let ringingGroup: GroupCall | undefined

/** Fills the relay field from /config.json (written by server.mjs from its --relay flags). */
async function loadConfig (): Promise<void> {
  const res = await fetch('./config.json', { cache: 'no-store' })
  if (!res.ok) throw new Error(`GET /config.json: HTTP ${res.status}`)
  const config = await res.json() as { relays?: unknown, relayHttp?: unknown }
  const relays = Array.isArray(config.relays) ? config.relays.filter((r): r is string => typeof r === 'string') : []
  if (el.relay.value === '') el.relay.value = relays.join(', ')
  if (typeof config.relayHttp === 'string') setRelayHttp(config.relayHttp)
}

/**
 * What a call or an accept sends: audio and video, the camera at the size chosen (`WxH@FPS`, or
 * the browser's default), AIC as its toggle says.
 */
function callMedia (): CallMediaOptions {
  const size = /^(\d+)x(\d+)@(\d+)$/.exec(el.camera.value)
  return {
    audio: true,
    video: true,
    aic: aicChoice(),
    ...(size !== null ? { camera: { width: Number(size[1]), height: Number(size[2]), frameRate: Number(size[3]) } } : {})
  }
}

function setCallControls (): void {
  const busy = activeCall() !== undefined || activeGroup() !== undefined || ringing !== undefined
  el.callee.disabled = client === undefined
  el.call.disabled = client === undefined || busy
}

async function register (): Promise<void> {
  const relays = el.relay.value.split(/[\s,]+/).filter((r) => r !== '')
  if (relays.length === 0) throw new TypeError('relay: enter the address of a relay node (ws://host:port, wss://host, or its multiaddr /ip4/.../ws/p2p/...)')
  const name = validateAuraId(el.auraId.value.trim())
  el.register.disabled = true
  el.registered.textContent = `Connecting to the relay as ${name}…`
  try {
    activeCall()?.hangup().catch(() => {})
    await client?.stop()
    client = undefined
    setRecordingsClient(undefined)
    setCallControls()
    const next = await AuraLink.create({ relays, keyStore, keyLabel: name, images: { learned: el.learnedImages.checked } })
    try {
      await next.register(name)
    } catch (err) {
      await next.stop()
      throw err
    }
    client = next
    setRecordingsClient(next)
    client.addEventListener('incoming', (e) => { onIncoming(e.detail.call, e.detail.group) })
    sessionStorage.setItem(NAME_KEY, name)
    el.me.textContent = name
    el.me.classList.add('on')
    el.registered.textContent = `Registered as ${name} (peer ${client.peerId.toString().slice(-8)}); others can call you now.`
    el.registered.dataset.peerId = client.peerId.toString()
    el.registered.dataset.name = name
  } catch (err) {
    el.registered.textContent = 'Not registered.'
    el.me.textContent = 'not registered'
    el.me.classList.remove('on')
    throw err
  } finally {
    el.register.disabled = false
    setCallControls()
  }
}

async function call (): Promise<void> {
  if (client === undefined) throw new TypeError('register an AuraID first')
  const targets = el.callee.value.split(',').map((t) => t.trim()).filter((t) => t !== '')
  el.call.disabled = true
  try {
    if (targets.length > 1) {
      // several names: a group call, every pair peer to peer
      const g = await client.call(targets.map((t) => validateAuraId(t)), callMedia())
      showGroup(g, setCallControls)
      return
    }
    const c = await client.call(validateAuraId(targets[0] ?? ''), callMedia())
    showCall(c, setCallControls)
  } finally {
    setCallControls()
  }
}

function onIncoming (c: Call, group?: GroupCall): void {
  if (activeCall() !== undefined || activeGroup() !== undefined || ringing !== undefined) {
    void (group !== undefined ? group.reject('busy on another call') : c.reject('busy on another call'))
    return
  }
  ringing = c
  ringingGroup = group
  el.incomingFrom.textContent = c.remoteAuraId ?? `an unnamed peer (${c.remotePeer.toString().slice(-8)})`
  el.incomingWhat.textContent = group !== undefined ? `invites you to a group call with ${group.participants.length} others` : 'is calling'
  el.incoming.hidden = false
  setCallControls()
  // the caller hung up (or the ring timed out) before we answered
  c.addEventListener('state', (e) => {
    if (e.detail.state === 'ended' && ringing === c) endRinging()
  })
}

function endRinging (): void {
  ringing = undefined
  ringingGroup = undefined
  el.incoming.hidden = true
  setCallControls()
}

el.accept.addEventListener('click', action(async () => {
  const c = ringing
  const g = ringingGroup
  if (c === undefined) return
  endRinging()
  el.call.disabled = true
  try {
    if (g !== undefined) {
      await g.accept(callMedia())
      showGroup(g, setCallControls)
      return
    }
    await c.accept(callMedia())
    showCall(c, setCallControls)
  } finally {
    setCallControls()
  }
}, 'accepting the call'))

el.reject.addEventListener('click', action(async () => {
  const c = ringing
  const g = ringingGroup
  endRinging()
  if (g !== undefined) await g.reject('declined')
  else await c?.reject('declined')
}, 'rejecting the call'))

onSubmit(el.registerForm, register)
onSubmit(el.callForm, call)

// errors nobody caught still reach the screen
window.addEventListener('unhandledrejection', (e) => { showError(e.reason) })
window.addEventListener('error', (e) => { showError(e.error ?? e.message) })
window.addEventListener('pagehide', () => { void client?.stop() })

el.auraId.value = sessionStorage.getItem(NAME_KEY) ?? ''
loadConfig().catch((err: unknown) => { showError(err, 'loading the relay address') })
