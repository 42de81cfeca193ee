// A group call on screen (docs/group-calls.md): a grid with a tile per participant (video and
// name, "left" when gone), an invite box, chat to everyone, and Leave. The 1:1 call's stage
// (call-view.ts) is hidden meanwhile.
import { action, byId, onSubmit } from './dom.js'
import type { GroupCall, GroupParticipant } from '@auralink/sdk'

const el = {
  section: byId('group', HTMLElement),
  grid: byId('group-grid', HTMLDivElement),
  state: byId('group-state', HTMLSpanElement),
  inviteForm: byId('group-invite-form', HTMLFormElement),
  invitee: byId('group-invitee', HTMLInputElement),
  chatLog: byId('group-chat', HTMLUListElement),
  chatForm: byId('group-chat-form', HTMLFormElement),
  chatInput: byId('group-chat-input', HTMLInputElement),
  leave: byId('group-leave', HTMLButtonElement),
  stage: byId('stage', HTMLElement)
}

let current: GroupCall | undefined
let onEnd: (() => void) | undefined

/** The group call on screen, if one is not over. */
export function activeGroup (): GroupCall | undefined {
  return current !== undefined && current.state !== 'left' ? current : undefined
}

const label = (p: GroupParticipant): string => p.auraId ?? `${p.peer.toString().slice(0, 12)}…`

function tile (p: GroupParticipant): HTMLDivElement {
  const id = p.peer.toString()
  let t = el.grid.querySelector<HTMLDivElement>(`[data-peer="${id}"]`)
  if (t === null) {
    t = document.createElement('div')
    t.className = 'group-tile'
    t.dataset.peer = id
    const v = document.createElement('video')
    v.autoplay = true
    v.playsInline = true
    const tag = document.createElement('span')
    tag.className = 'tag'
    t.append(v, tag)
    el.grid.append(t)
  }
  t.dataset.state = p.state
  // a participant whose media came before this view (the 1:1 call this group grew from)
  const v = t.querySelector('video')!
  if (p.stream !== undefined && v.srcObject === null) {
    v.srcObject = p.stream
    void v.play().catch(() => {})
  }
  t.querySelector('.tag')!.textContent = p.state === 'connected' ? label(p) : `${label(p)} · ${p.state}`
  return t
}

function render (): void {
  const g = current
  if (g === undefined) return
  for (const p of g.participants) tile(p)
  const up = g.participants.filter((p) => p.state === 'connected').length
  el.state.textContent = g.state === 'left' ? 'you left the group call' : `group call · ${up} of ${g.participants.filter((p) => p.state !== 'left').length} connected`
  el.state.dataset.state = g.state
}

function chat (from: string, text: string): void {
  const li = document.createElement('li')
  li.textContent = `${from}: ${text}`
  el.chatLog.append(li)
}

/** Shows `group` (joined, or being joined) until it is left; `ended` runs then. */
export function showGroup (group: GroupCall, ended: () => void): void {
  current = group
  onEnd = ended
  el.grid.replaceChildren()
  el.chatLog.replaceChildren()
  el.section.hidden = false
  el.stage.hidden = true
  const local = document.createElement('div')
  local.className = 'group-tile local'
  const lv = document.createElement('video')
  lv.autoplay = true
  lv.playsInline = true
  lv.muted = true
  if (group.localStream !== undefined) lv.srcObject = group.localStream
  const tag = document.createElement('span')
  tag.className = 'tag'
  tag.textContent = 'you'
  local.append(lv, tag)
  el.grid.append(local)
  group.addEventListener('track', (e) => {
    const v = tile(e.detail.participant).querySelector('video')!
    if (v.srcObject !== e.detail.stream) v.srcObject = e.detail.stream
    void v.play().catch(() => {})
  })
  for (const type of ['participant:joined', 'participant:left', 'members'] as const) group.addEventListener(type, render)
  group.addEventListener('message', (e) => { chat(label(e.detail.participant), e.detail.text ?? '') })
  render()
}

function hide (): void {
  el.section.hidden = true
  el.stage.hidden = false
  current = undefined
  onEnd?.()
}

onSubmit(el.inviteForm, async () => {
  const g = activeGroup()
  if (g === undefined) return
  const name = el.invitee.value.trim()
  await g.invite(name)
  el.invitee.value = ''
  render()
}, 'inviting')

onSubmit(el.chatForm, async () => {
  const g = activeGroup()
  const text = el.chatInput.value
  if (g === undefined || text === '') return
  const { unreached } = await g.send(text)
  chat('you', text)
  // members with no call up yet do not get it: said, not dropped silently
  if (unreached.length > 0) chat('not delivered to', unreached.map((p) => label(g.participants.find((x) => x.peer.equals(p)) ?? { peer: p, state: 'connecting' })).join(', '))
  el.chatInput.value = ''
}, 'sending to the group')

el.leave.addEventListener('click', action(async () => {
  await current?.leave()
  hide()
}, 'leaving the group call'))
