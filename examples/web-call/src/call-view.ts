// One call on screen: its state line, the two videos, chat, files, stats and the Hang up button.
import { action, byId, onSubmit, showError } from './dom.js'
import { showGroup } from './group-view.js'
import { showRecording } from './recording-view.js'
import { watchStats } from './stats-panel.js'
import { clearTransfers, showTransfer } from './transfers.js'
import { sendPhoto, showPhoto, showPhotoFailure } from './photos.js'
import type { AicMode, Call, CallStateChange } from '@auralink/sdk'

const el = {
  state: byId('call-state', HTMLSpanElement),
  remote: byId('remote-video', HTMLVideoElement),
  remoteLabel: byId('remote-label', HTMLSpanElement),
  local: byId('local-video', HTMLVideoElement),
  localTile: byId('local-tile', HTMLDivElement),
  placeholder: byId('remote-placeholder', HTMLParagraphElement),
  unmute: byId('unmute', HTMLButtonElement),
  hangup: byId('hangup', HTMLButtonElement),
  chatLog: byId('chat-log', HTMLUListElement),
  chatForm: byId('chat-form', HTMLFormElement),
  chatInput: byId('chat-input', HTMLInputElement),
  chatSend: byId('chat-send', HTMLButtonElement),
  fileInput: byId('file-input', HTMLInputElement),
  photoInput: byId('photo-input', HTMLInputElement),
  photos: byId('photos', HTMLUListElement),
  inviteForm: byId('call-invite-form', HTMLFormElement),
  invitee: byId('call-invitee', HTMLInputElement),
  invite: byId('call-invite', HTMLButtonElement),
  aicToggle: byId('aic-toggle', HTMLInputElement)
}

const STATE_TEXT: Record<string, string> = {
  ringing: 'ringing…',
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'reconnecting…'
}

let current: Call | undefined
let stopStats: (() => void) | undefined

/** The call on screen, if one is not over. */
/** AIC for the next call: the toggle beside the AIC badge (it switches the running call too). */
export function aicChoice (): AicMode {
  return el.aicToggle.checked ? 'adaptive' : 'off'
}

export function activeCall (): Call | undefined {
  return current !== undefined && current.state !== 'ended' ? current : undefined
}

function who (call: Call): string {
  return call.remoteAuraId ?? `${call.remotePeer.toString().slice(0, 12)}…`
}

function setState (change: CallStateChange, call: Call): void {
  el.state.dataset.state = change.state
  if (change.state === 'ended') {
    const reason = change.reason ?? 'error'
    el.state.dataset.reason = reason
    el.state.textContent = `ended: ${reason}${change.message !== undefined && change.message !== '' ? ` (${change.message})` : ''}`
    return
  }
  delete el.state.dataset.reason
  el.state.textContent = `${STATE_TEXT[change.state] ?? change.state} · ${who(call)}`
}

function addChatLine (from: string, text: string, mine: boolean): void {
  const li = document.createElement('li')
  li.className = mine ? 'mine' : 'theirs'
  const name = document.createElement('span')
  name.className = 'from'
  name.textContent = from
  li.append(name, document.createTextNode(text))
  el.chatLog.append(li)
  el.chatLog.scrollTop = el.chatLog.scrollHeight
}

/** Plays the remote stream with sound; where the browser's autoplay policy refuses, muted plus an Unmute button. */
function playRemote (stream: MediaStream): void {
  if (el.remote.srcObject === stream) return
  el.remote.srcObject = stream
  el.remote.muted = false
  el.placeholder.hidden = true
  el.remoteLabel.hidden = false
  el.remote.play().catch(() => {
    el.remote.muted = true
    el.unmute.hidden = false
    void el.remote.play().catch((err: unknown) => { showError(err, 'playing the remote video') })
  })
}

function setLive (live: boolean): void {
  el.hangup.disabled = !live
  el.chatInput.disabled = !live
  el.chatSend.disabled = !live
  el.fileInput.disabled = !live
  el.photoInput.disabled = !live
  el.invitee.disabled = !live
  el.invite.disabled = !live
}

function resetMedia (): void {
  el.remote.srcObject = null
  el.local.srcObject = null
  el.localTile.hidden = true
  el.placeholder.hidden = false
  el.remoteLabel.hidden = true
  el.unmute.hidden = true
}

/** Puts `call` on screen (outgoing after client.call(), incoming once accepted) until it ends. */
export function showCall (call: Call, onEnded: () => void): void {
  current = call
  el.chatLog.replaceChildren()
  clearTransfers()
  el.photos.replaceChildren()
  resetMedia()
  el.placeholder.textContent = `Waiting for ${who(call)}…`
  el.remoteLabel.textContent = who(call)
  if (call.localStream !== undefined) {
    el.local.srcObject = call.localStream
    el.localTile.hidden = false
  }
  if (call.remoteStream !== undefined) playRemote(call.remoteStream)
  setState({ state: call.state }, call)
  setLive(call.state !== 'ended')
  showRecording(call, who(call))

  // someone was added (here or by the other side): the call goes on as the group's pair with them
  call.addEventListener('group', (e) => {
    if (current !== call) return
    leave(call)
    el.state.dataset.state = 'group'
    el.state.textContent = `in a group call with ${who(call)}`
    showGroup(e.detail.group, onEnded)
  })
  call.addEventListener('state', (e) => {
    if (current !== call) return
    setState(e.detail, call)
    if (e.detail.state === 'connected') stopStats ??= watchStats(call)
    if (e.detail.state !== 'ended') return
    leave(call)
    el.placeholder.textContent = 'Call ended'
    onEnded()
  })
  call.addEventListener('track', (e) => { if (current === call) playRemote(e.detail.stream) })
  call.addEventListener('message', (e) => {
    if (current === call) addChatLine(who(call), e.detail.text ?? `<${e.detail.data?.byteLength ?? 0} bytes>`, false)
  })
  call.addEventListener('file', (e) => { if (current === call) showTransfer(e.detail.transfer, who(call)) })
  call.addEventListener('image', (e) => { if (current === call) showPhoto(el.photos, e.detail, who(call)) })
  call.addEventListener('image:failed', (e) => { if (current === call) showPhotoFailure(el.photos, e.detail, who(call)) })
  if (call.state === 'connected') stopStats ??= watchStats(call)
}

/** Takes `call` off the screen (it ended, or it became a group call's pair). */
function leave (call: Call): void {
  if (current !== call) return
  current = undefined
  stopStats?.()
  stopStats = undefined
  setLive(false)
  resetMedia()
}

// controls that act on the call on screen

// adding someone makes the call a group call (docs/group-calls.md "From a 1:1 call"): the 'group' event shows it
onSubmit(el.inviteForm, async () => {
  const call = activeCall()
  const name = el.invitee.value.trim()
  if (call === undefined || name === '') return
  await call.invite(name)
  el.invitee.value = ''
}, 'adding to the call')

onSubmit(el.chatForm, async () => {
  const call = activeCall()
  const text = el.chatInput.value.trim()
  if (call === undefined || text === '') return
  await call.send(text)
  addChatLine('me', text, true)
  el.chatInput.value = ''
}, 'sending the message')

el.fileInput.addEventListener('change', action(() => {
  const call = activeCall()
  const file = el.fileInput.files?.[0]
  el.fileInput.value = ''
  if (call === undefined || file === undefined) return
  showTransfer(call.sendFile(file), who(call))
}, 'sending the file'))

el.photoInput.addEventListener('change', action(async () => {
  const call = activeCall()
  const file = el.photoInput.files?.[0]
  el.photoInput.value = ''
  if (call === undefined || file === undefined) return
  await sendPhoto(el.photos, call, file, who(call))
}, 'sending the photo'))

el.hangup.addEventListener('click', action(async () => { await activeCall()?.hangup() }, 'hanging up'))

// the AIC switch: off sends full-size video again within about a second; on lets the controller decide
el.aicToggle.addEventListener('change', action(() => {
  const call = activeCall()
  if (call === undefined || call.state === 'ended') return
  call.setAicMode(aicChoice())
}, 'switching AIC'))

el.unmute.addEventListener('click', () => {
  el.remote.muted = false
  el.unmute.hidden = true
})
