/**
 * Group calls (issue 18; docs/group-calls.md): three to eight people, peer to peer. Every pair of
 * participants holds its own Call (the existing dial, signalling and media path), so no server
 * sees the media; the room's membership is a set of signed ops (`GroupMembership` in
 * `@auralink/identity`) that each participant merges and checks for itself.
 *
 * Who dials whom: an inviter calls its invitee (the call's Invite carries the room's state); for
 * any other pair, the member that came in later dials the earlier one. A call that names a room
 * is joined without asking the user only when, after merging the caller's ops, the caller is a
 * member (its connection's PeerId is checked as in any call); an invite to a new room reaches the
 * app (`incoming` with `group`) only when its ops make this client and the caller members.
 */
import { SafeEventEmitter } from '@auralink/core'
import { createGroupOp, GroupMembership, verifyGroupOp } from '@auralink/identity'
import { InvalidStateError } from './errors.js'
import { DEFAULT_GROUP_UPLINK_BPS } from './constants.js'
import { MIN_VIDEO_BUDGET_BPS } from './sender-params.js'
import type { Call, CallMediaOptions } from './call.js'
import type { CallStats } from './stats.js'
import type { FileInput, FileTransfer } from './file-transfer.js'
import type { ImageFailure, ImageInput, ReceivedImage, SendImageOptions, SentImage } from './images.js'
import type { SharedImage } from './call-images.js'
import type { GroupStateMessage } from './call-machine.js'
import type { GroupMember } from '@auralink/identity'
import type { AbortOptions, Logger, PeerId, PrivateKey } from '@libp2p/interface'

/** A participant of a group call, as this side sees it. */
export interface GroupParticipant {
  peer: PeerId
  /** Its AuraID, when known (proved by its call, or named by another member and checked on dial). */
  auraId?: string
  /** 'connecting' (a member without a call up yet), 'connected', 'left' (left the room, or its call ended). */
  state: 'connecting' | 'connected' | 'left'
  /** Who let it in; undefined for the room's creator. */
  invitedBy?: PeerId
  /** Its call with this side, while there is one. */
  call?: Call
  /** Its media as this side receives it (its call's remote stream), once a track arrived. */
  stream?: MediaStream
}

/** Who a group message or file went to. */
export interface GroupDelivery {
  /** The participants it was handed to (their calls send it; a reconnecting call sends chat once it is back). */
  to: PeerId[]
  /** Members it could not go to: no call up with them (yet), or (files) a call that is reconnecting. */
  unreached: PeerId[]
}

/** One participant's figures (`GroupCall.stats()`). */
export interface GroupParticipantStats {
  peer: PeerId
  auraId?: string
  state: GroupParticipant['state']
  /** Its call's stats (path, round trip, bitrates, frames, AIC), while there is a call. */
  stats?: CallStats
  /** This pair's share of the uplink for video (bit/s): its sender's ceiling. */
  videoBudgetBps?: number
}

/** The events of a GroupCall. */
export interface GroupCallEvents {
  /** A participant's call is up. */
  'participant:joined': CustomEvent<{ participant: GroupParticipant }>
  /** A participant left the room, or its call ended (`reason`). */
  'participant:left': CustomEvent<{ participant: GroupParticipant, reason: string }>
  /** A remote track arrived, with whose it is. */
  track: CustomEvent<{ participant: GroupParticipant, track: MediaStreamTrack, stream: MediaStream }>
  /** A chat message from a participant. */
  message: CustomEvent<{ participant: GroupParticipant, text?: string, data?: Uint8Array }>
  /** A file is arriving from a participant (as a Call's `file` event: its progress, its `done`). */
  file: CustomEvent<{ participant: GroupParticipant, transfer: FileTransfer }>
  /** A still from a participant (its `sendImage()`), decoded: as a Call's `image` event. */
  image: CustomEvent<ReceivedImage & { participant: GroupParticipant }>
  /** A still from a participant that could not be shown: as a Call's `image:failed` event. */
  'image:failed': CustomEvent<ImageFailure & { participant: GroupParticipant }>
  /** The room's members changed (an invite or a leave took effect). */
  members: CustomEvent<{ members: PeerId[] }>
}

/** @internal what a GroupCall needs from the client */
export interface GroupHost {
  log: Logger
  key: PrivateKey
  self: PeerId
  /** This client's AuraID, if it holds one. */
  selfName(): string | undefined
  /** The PeerId an AuraID names (its verified record). */
  resolve(name: string, options?: AbortOptions): Promise<PeerId>
  /** Places a call to `name` carrying the group's state in its invite. */
  callMember(name: string, media: CallMediaOptions, group: GroupStateMessage): Promise<Call>
  /** The local stream for `media` (getUserMedia); the group owns it from then. */
  getMedia(media: CallMediaOptions): Promise<MediaStream | undefined>
  /** The group ended here. */
  forget(group: GroupCall): void
}

/** How long a member may stay without a call up before its pair is given up for now. */
const PAIR_TIMEOUT_MS = 30_000
/**
 * A pair call that failed, or ended without a leave, is made again after each of these waits in
 * turn (about 30 s in all): a busy device's pair may need more than a few quick tries, and a
 * group has no "call again" button for one pair.
 */
const REDIAL_WAITS_MS = [2_000, 4_000, 8_000, 16_000]
/** Ends of a pair call that mean its path broke (not a hangup, a refusal or a glare): the pair is made again. */
const BROKEN = new Set(['timeout', 'peer-vanished', 'connection-lost', 'media-failed', 'error'])

/** One group call, as this side takes part in it. */
export class GroupCall extends SafeEventEmitter<GroupCallEvents> {
  private readonly pairs = new Map<string, Call>()
  private readonly names = new Map<string, string>()
  private readonly gone = new Map<string, string>()
  private readonly dialling = new Set<string>()
  /**
   * A member's new call while its pair call is connected: it takes the pair's place once it is
   * connected itself, and the old one is hung up then (see attach).
   */
  private readonly waiting = new Map<string, Call>()
  /** Calls this side made again to a member whose pair call failed or ended without a leave. */
  private readonly redials = new Map<string, number>()
  private media: CallMediaOptions = {}
  private stream: MediaStream | undefined
  private state_: 'ringing' | 'joined' | 'left' = 'ringing'
  private lastMembers = ''
  private uplink = DEFAULT_GROUP_UPLINK_BPS

  /** @internal made by the client (client.call([...]), or an incoming group invite) */
  constructor (private readonly host: GroupHost, private readonly room: GroupMembership) {
    super()
    const mine = host.selfName()
    if (mine !== undefined) this.names.set(host.self.toString(), mine)
  }

  /** The room's id (32 hex characters). */
  get roomId (): string {
    return this.room.roomId
  }

  /** 'ringing' (invited, not yet accepted), 'joined', 'left'. */
  get state (): 'ringing' | 'joined' | 'left' {
    return this.state_
  }

  /** The video uplink (bit/s) this side shares equally among its pairs: see setUplink(). */
  get uplinkBps (): number { return this.uplink }

  /**
   * The video uplink this side shares among its pairs (bit/s; default 2.5 Mbit/s): each pair's
   * video sender gets an equal share as its ceiling, and AIC decides within it (a smaller share may
   * send a reduced picture that the receiver restores). Shares follow the room as pairs come and go.
   */
  setUplink (bps: number): void {
    if (typeof bps !== 'number' || !Number.isFinite(bps) || bps < MIN_VIDEO_BUDGET_BPS) throw new RangeError(`setUplink(${String(bps)}): the uplink must be a number of bit/s, at least ${MIN_VIDEO_BUDGET_BPS}`)
    this.uplink = bps
    this.rebalance()
  }

  /** Each pair call that is not over gets an equal share of the uplink (at least the floor a picture needs). */
  private rebalance (): void {
    const live = [...this.pairs.entries()].filter(([id, c]) => c.state !== 'ended' && !this.gone.has(id)).map(([, c]) => c)
    if (live.length === 0) return
    const share = Math.max(MIN_VIDEO_BUDGET_BPS, Math.floor(this.uplink / live.length))
    for (const c of live) c.setVideoBudget(share)
  }

  /** The local stream sent to every participant. */
  get localStream (): MediaStream | undefined {
    return this.stream
  }

  /** Every other member, and those who left, with their state. */
  get participants (): GroupParticipant[] {
    const out: GroupParticipant[] = []
    for (const m of this.room.members()) {
      const id = m.peer.toString()
      if (id === this.host.self.toString()) continue
      out.push(this.participant(m.peer, m))
    }
    for (const [id] of this.gone) if (!out.some((p) => p.peer.toString() === id)) out.push(this.participant(this.pairs.get(id)?.remotePeer ?? this.peerOf(id)))
    return out
  }

  private peerOf (id: string): PeerId {
    return this.pairs.get(id)?.remotePeer ?? this.room.members().find((m) => m.peer.toString() === id)?.peer ?? this.host.self
  }

  private participant (peer: PeerId, member?: GroupMember): GroupParticipant {
    const id = peer.toString()
    const call = this.pairs.get(id)
    const state = this.gone.has(id) ? 'left' : call?.state === 'connected' || call?.state === 'reconnecting' ? 'connected' : 'connecting'
    const auraId = this.names.get(id) ?? call?.remoteAuraId
    const live = call !== undefined && state !== 'left' ? call : undefined
    return {
      peer,
      state,
      ...(auraId !== undefined ? { auraId } : {}),
      ...(member?.invitedBy !== undefined ? { invitedBy: member.invitedBy } : {}),
      ...(live !== undefined ? { call: live } : {}),
      ...(live?.remoteStream !== undefined ? { stream: live.remoteStream } : {})
    }
  }

  /** @internal the media each pair call of this side sends: the group's stream */
  pairMedia (): CallMediaOptions {
    return { ...this.media, ...(this.stream !== undefined ? { stream: this.stream } : {}) }
  }

  /** @internal the state this side sends: its ops and the names it knows */
  groupState (): GroupStateMessage {
    return { ops: this.room.signedOps(), names: [...this.names].map(([peer, auraId]) => ({ peer, auraId })) }
  }

  /**
   * @internal starts the room as its creator: invites each name and calls it. Resolves as soon as
   * one invite is delivered (the app then listens before any pair's media can arrive: a pair's
   * media needs its invite answered first); the other invites go on, and one that fails is
   * logged. Rejects with the first error when every invite failed (the room is left).
   */
  async start (names: string[], media: CallMediaOptions, options: AbortOptions): Promise<void> {
    await this.useMedia(media)
    this.state_ = 'joined'
    const invites = names.map(async (n) => { await this.invite(n, options) })
    for (const p of invites) p.catch((err: Error) => { this.host.log('group %s: an invite failed: %s', this.roomId, err.message) })
    try {
      await Promise.any(invites)
    } catch (err) {
      await this.leave()
      throw (err as AggregateError).errors?.[0] ?? err
    }
  }

  /**
   * Lets `name` (`@dave.aura`) into the room: signs an invite, tells every member, and calls it
   * with the room's state. Resolves once the invite is delivered (its device rings).
   */
  async invite (name: string, options: AbortOptions = {}): Promise<void> {
    if (this.state_ !== 'joined') throw new InvalidStateError(`invite(): the group call is ${this.state_}`)
    const peer = await this.host.resolve(name, options)
    if (peer.equals(this.host.self)) throw new TypeError(`invite(${JSON.stringify(name)}): that is this client`)
    if (this.room.isMember(peer) && this.pairs.has(peer.toString())) return
    const op = await createGroupOp(this.host.key, { kind: 'invite', roomId: this.roomId, subject: peer })
    const { added } = await this.room.merge([op.bytes])
    if (added[0]?.effect === 'full') throw new InvalidStateError(`invite(${JSON.stringify(name)}): the room is full (${this.room.maxMembers})`)
    this.names.set(peer.toString(), name)
    this.gone.delete(peer.toString())
    this.membersChanged()
    await this.broadcast()
    const call = await this.host.callMember(name, this.pairMedia(), this.groupState())
    this.attach(call)
  }

  /** Accepts the invite (the `incoming` event's `group`): media once for every participant, then calls to the other members. */
  async accept (media: CallMediaOptions = {}, options: AbortOptions = {}): Promise<void> {
    if (this.state_ !== 'ringing') throw new InvalidStateError(`accept(): the group call is ${this.state_}`)
    await this.useMedia(media)
    // the invite's call, and any member's that came while this side was asked
    const ringing = [...this.pairs.values()].filter((c) => c.state === 'ringing')
    if (ringing.length === 0) throw new InvalidStateError('accept(): the invite\'s call has ended')
    await ringing[0]!.accept(this.pairMedia(), options)
    this.state_ = 'joined'
    this.answerHeld(ringing.slice(1))
    this.connectMembers()
  }

  /** Members' calls that came while this side was not joined yet: answered now, with the group's media. */
  private answerHeld (calls: Call[]): void {
    for (const c of calls) void c.accept(this.pairMedia()).catch((err: Error) => { this.host.log('group %s: a member\'s call could not be accepted: %s', this.roomId, err.message) })
  }

  /** Refuses the invite: its call is rejected; nothing else happens. */
  async reject (reason = ''): Promise<void> {
    if (this.state_ !== 'ringing') throw new InvalidStateError(`reject(): the group call is ${this.state_}`)
    this.state_ = 'left'
    for (const c of this.pairs.values()) await c.reject(reason).catch(() => {})
    this.host.forget(this)
  }

  /**
   * A chat message to every participant, or to one (`to`). Calls that are reconnecting hold it
   * and send it once back (as 1:1 calls do); members with no call up are named in `unreached`.
   * Throws when `to` is not a participant with a call up.
   */
  async send (message: string | Uint8Array, options: { to?: PeerId } = {}): Promise<GroupDelivery> {
    const { calls, unreached } = this.targets('send()', options.to, (c) => c.state === 'connected' || c.state === 'reconnecting')
    await Promise.all(calls.map(async (c) => { await c.send(message) }))
    return { to: calls.map((c) => c.remotePeer), unreached }
  }

  /**
   * Sends a file to every connected participant, or to one (`to`): one transfer per participant
   * (each with its own progress and `done`, which rejects if that call ends first). Members whose
   * call is not connected now are named in `unreached`.
   */
  sendFile (file: FileInput, options: AbortOptions & { to?: PeerId } = {}): { transfers: Array<{ peer: PeerId, transfer: FileTransfer }>, unreached: PeerId[] } {
    const { calls, unreached } = this.targets('sendFile()', options.to, (c) => c.state === 'connected')
    const signal = options.signal
    return { transfers: calls.map((c) => ({ peer: c.remotePeer, transfer: c.sendFile(file, signal !== undefined ? { signal } : {}) })), unreached }
  }

  /**
   * Sends a still picture to every connected participant, or to one (`to`): each in the best
   * codec it and this side share (as `call.sendImage()`; docs/images.md), the picture read once
   * and each codec's bytes made once. Resolves when every participant has it or failed:
   * `sent` per participant, `failed` with each error (the others still get theirs), and
   * members whose call is not connected now in `unreached`.
   */
  async sendImage (image: ImageInput, options: SendImageOptions & { to?: PeerId } = {}): Promise<{ sent: Array<{ peer: PeerId, image: SentImage }>, failed: Array<{ peer: PeerId, error: Error }>, unreached: PeerId[] }> {
    const { calls, unreached } = this.targets('sendImage()', options.to, (c) => c.state === 'connected')
    const { to: _to, ...single } = options
    const shared: SharedImage = { coded: new Map() }
    const results = await Promise.allSettled(calls.map(async (c) => c.sendSharedImage(image, single, shared)))
    const sent: Array<{ peer: PeerId, image: SentImage }> = []
    const failed: Array<{ peer: PeerId, error: Error }> = []
    results.forEach((r, i) => {
      const peer = calls[i]!.remotePeer
      if (r.status === 'fulfilled') sent.push({ peer, image: r.value })
      else failed.push({ peer, error: r.reason as Error })
    })
    return { sent, failed, unreached }
  }

  /** Every participant's state and, where it has a call, that call's stats. */
  async stats (): Promise<GroupParticipantStats[]> {
    return Promise.all(this.participants.map(async (p) => ({
      peer: p.peer,
      state: p.state,
      ...(p.auraId !== undefined ? { auraId: p.auraId } : {}),
      ...(p.call !== undefined ? { stats: await p.call.stats() } : {}),
      ...(p.call?.videoBudgetBps !== undefined ? { videoBudgetBps: p.call.videoBudgetBps } : {})
    })))
  }

  /** The calls a message or file goes to (`usable`), and the members it cannot reach. */
  private targets (what: string, to: PeerId | undefined, usable: (c: Call) => boolean): { calls: Call[], unreached: PeerId[] } {
    if (this.state_ !== 'joined') throw new InvalidStateError(`${what}: the group call is ${this.state_}`)
    const members = this.participants.filter((p) => p.state !== 'left' && (to === undefined || p.peer.equals(to)))
    const calls: Call[] = []
    const unreached: PeerId[] = []
    for (const p of members) {
      if (p.call !== undefined && usable(p.call)) calls.push(p.call)
      else unreached.push(p.peer)
    }
    if (to !== undefined && calls.length === 0) throw new InvalidStateError(`${what}: ${to.toString()} is not ${members.length === 0 ? 'a participant of' : 'connected in'} this group call`)
    return { calls, unreached }
  }

  /** Leaves the room: a signed leave to every member, then every call hangs up. Idempotent. */
  async leave (): Promise<void> {
    if (this.state_ === 'left') return
    const wasJoined = this.state_ === 'joined'
    this.state_ = 'left'
    if (wasJoined) {
      const op = await createGroupOp(this.host.key, { kind: 'leave', roomId: this.roomId })
      await this.room.merge([op.bytes])
      await this.broadcast()
    }
    await Promise.allSettled([...this.pairs.values(), ...this.waiting.values()].map(async (c) => c.hangup()))
    this.waiting.clear()
    if (this.stream !== undefined) for (const t of this.stream.getTracks()) t.stop()
    this.host.forget(this)
  }

  /** @internal merges a state from a member (a call's Invite or GroupState); true when the room changed */
  async mergeState (state: GroupStateMessage, from: PeerId): Promise<void> {
    const { added, refused } = await this.room.merge(state.ops)
    for (const r of refused) this.host.log('group %s: an op from %p refused: %s', this.roomId, from, r.reason)
    // names are hints: one is used only to dial the member it names, whose record must carry that key
    for (const n of state.names) if (n.peer !== this.host.self.toString() && !this.names.has(n.peer) && /^@/.test(n.auraId)) this.names.set(n.peer, n.auraId)
    if (added.length > 0) {
      this.membersChanged()
      // members that left: their calls end here too
      for (const [id, call] of this.pairs) {
        if (this.room.isMember(call.remotePeer)) continue
        void call.hangup().catch(() => {})
        const waiting = this.waiting.get(id)
        this.waiting.delete(id)
        void waiting?.hangup().catch(() => {})
        this.markGone(id, 'left the room')
      }
      await this.broadcast(from)
      this.connectMembers()
    }
  }

  /**
   * @internal a connected 1:1 call becomes this room's first pair (docs/group-calls.md "From a
   * 1:1 call"): its local stream is the group's, this side is joined, the call's app hears `group`.
   */
  adopt (call: Call): void {
    const stream = call.localStream
    this.media = { audio: (stream?.getAudioTracks().length ?? 0) > 0, video: (stream?.getVideoTracks().length ?? 0) > 0 }
    this.stream = stream
    this.state_ = 'joined'
    this.attach(call)
    this.membersChanged()
    void call.sendGroupState(this.groupState()).catch(() => {})
    call.joinGroup(this, true)
    // a member's call that came while the room was being read
    this.answerHeld([...this.pairs.values()].filter((c) => c !== call && c.state === 'ringing'))
    this.connectMembers()
  }

  /** @internal a call of this room (ours, or a member's that called us): its events become the group's */
  attach (call: Call): void {
    const id = call.remotePeer.toString()
    const old = this.pairs.get(id)
    if (old === call || this.waiting.get(id) === call) return
    // make before break: a live pair call is replaced only by a call that works. A member's invite
    // can come after the pair is up and end before it connects, or before it is read: the loser of
    // a glare that its sender already gave up (it took our call instead; under load our answer can
    // reach it before we read its invite), or a call its sender hangs up. Replacing at once hung up
    // the pair both sides agreed on, and left the two without one.
    if (call.state === 'ended' && old !== undefined && old.state !== 'ended') return
    call.joinGroup(this, false)
    if (call.remoteAuraId !== undefined) this.names.set(id, call.remoteAuraId)
    const replaceLater = old !== undefined && old.state === 'connected' && call.state !== 'connected' && call.state !== 'ended'
    const previous = this.waiting.get(id)
    if (previous !== undefined) { this.waiting.delete(id); void previous.hangup().catch(() => {}) }
    if (replaceLater) this.waiting.set(id, call)
    else this.install(id, call)
    // this pair's states merge in order, and its end waits for them: a leave sent just before a
    // hangup is read as the leave it is
    let merging = Promise.resolve()
    call.addEventListener('state', (e) => {
      if (this.waiting.get(id) === call) {
        if (e.detail.state === 'ended') this.waiting.delete(id)
        if (e.detail.state !== 'connected') return
        this.waiting.delete(id)
        this.install(id, call)
      }
      if (this.pairs.get(id) !== call) return
      if (e.detail.state === 'connected') {
        // a pair that is up again gets its tries back for a later break
        this.redials.delete(id)
        this.safeDispatchEvent('participant:joined', { detail: { participant: this.participant(call.remotePeer) } })
        // the other side may not know every op yet
        void call.sendGroupState(this.groupState()).catch(() => {})
      }
      if (e.detail.state === 'ended') {
        this.dialling.delete(id)
        // a call waiting to replace this one takes its place now (the other side, connected
        // first, hung this one up): the member has not left
        const next = this.waiting.get(id)
        if (next !== undefined) {
          this.waiting.delete(id)
          this.install(id, next)
          return
        }
        const reason = e.detail.reason ?? 'ended'
        void merging.then(() => {
          if (this.pairs.get(id) !== call) return
          this.markGone(id, reason)
          // a member still in the room (no leave) whose call broke: this side calls again if the pair is its to dial
          if (this.room.isMember(call.remotePeer) && BROKEN.has(reason)) this.retryLater(id)
        })
      }
    })
    call.addEventListener('track', (e) => { this.safeDispatchEvent('track', { detail: { participant: this.participant(call.remotePeer), ...e.detail } }) })
    call.addEventListener('message', (e) => { this.safeDispatchEvent('message', { detail: { participant: this.participant(call.remotePeer), ...e.detail } }) })
    call.addEventListener('file', (e) => { this.safeDispatchEvent('file', { detail: { participant: this.participant(call.remotePeer), ...e.detail } }) })
    call.addEventListener('image', (e) => { this.safeDispatchEvent('image', { detail: { participant: this.participant(call.remotePeer), ...e.detail } }) })
    call.addEventListener('image:failed', (e) => { this.safeDispatchEvent('image:failed', { detail: { participant: this.participant(call.remotePeer), ...e.detail } }) })
    call.addEventListener('groupstate', (e) => {
      merging = merging.then(async () => { await this.mergeState(e.detail, call.remotePeer) }).catch((err: Error) => { this.host.log('group %s: a state from %p: %s', this.roomId, call.remotePeer, err.message) })
    })
  }

  /** Makes `call` the pair call with its member, hanging up the one it replaces. */
  private install (id: string, call: Call): void {
    const old = this.pairs.get(id)
    if (old !== undefined && old !== call && old.state !== 'ended') void old.hangup().catch(() => {})
    this.pairs.set(id, call)
    this.gone.delete(id)
    this.rebalance()
  }

  /** Calls a member again after the next of REDIAL_WAITS_MS, while there is one (connectMembers decides whether it is this side's to dial). */
  private retryLater (id: string): void {
    const n = this.redials.get(id) ?? 0
    const wait = REDIAL_WAITS_MS[n]
    if (wait === undefined || this.state_ !== 'joined') return
    this.redials.set(id, n + 1)
    this.host.log('group %s: calling member %s again in %d ms (%d of %d)', this.roomId, id, wait, n + 1, REDIAL_WAITS_MS.length)
    setTimeout(() => { this.connectMembers() }, wait)
  }

  private markGone (id: string, reason: string): void {
    if (this.gone.has(id) || this.state_ === 'left') return
    this.gone.set(id, reason)
    this.rebalance()
    this.safeDispatchEvent('participant:left', { detail: { participant: this.participant(this.peerOf(id)), reason } })
  }

  private membersChanged (): void {
    const members = this.room.members().map((m) => m.peer)
    const key = members.map(String).join()
    if (key === this.lastMembers) return
    this.lastMembers = key
    this.safeDispatchEvent('members', { detail: { members } })
  }

  /** Sends the room's state to every connected member (but `except`). */
  private async broadcast (except?: PeerId): Promise<void> {
    const state = this.groupState()
    await Promise.allSettled([...this.pairs.values()].filter((c) => c.state === 'connected' && (except === undefined || !c.remotePeer.equals(except))).map(async (c) => { await c.sendGroupState(state) }))
  }

  /** Calls every member this side must dial (it came in after them) and has no call with. */
  private connectMembers (): void {
    if (this.state_ !== 'joined') return
    const self = this.room.members().find((m) => m.peer.equals(this.host.self))
    if (self === undefined) return
    for (const m of this.room.members()) {
      const id = m.peer.toString()
      if (m.peer.equals(this.host.self) || this.dialling.has(id) || (this.pairs.has(id) && this.pairs.get(id)!.state !== 'ended')) continue
      // an inviter calls its invitee; otherwise the later one dials the earlier
      const mine = m.invitedBy?.equals(this.host.self) === true || (self.invitedBy?.equals(m.peer) !== true && (self.since > m.since || (self.since === m.since && this.host.self.toString() > id)))
      if (!mine) continue
      const name = this.names.get(id)
      if (name === undefined) { this.host.log('group %s: no AuraID known for member %s: it must dial us', this.roomId, id); continue }
      this.dialling.add(id)
      void (async () => {
        // the name is a hint: the record it resolves to must carry the member's key
        const peer = await this.host.resolve(name, { signal: AbortSignal.timeout(PAIR_TIMEOUT_MS) })
        if (!peer.equals(m.peer)) throw new Error(`${name} resolves to ${peer.toString()}, not the member ${id}`)
        const call = await this.host.callMember(name, this.pairMedia(), this.groupState())
        if (this.state_ === 'left') { await call.hangup(); return }
        this.attach(call)
      })().catch((err: unknown) => {
        this.dialling.delete(id)
        this.host.log('group %s: calling member %s failed: %s', this.roomId, id, err instanceof Error ? `${err.name}: ${err.message}` : String(err))
        this.retryLater(id)
      })
    }
  }

  private async useMedia (media: CallMediaOptions): Promise<void> {
    this.media = { ...(media.audio !== undefined ? { audio: media.audio } : {}), ...(media.video !== undefined ? { video: media.video } : {}), ...(media.aic !== undefined ? { aic: media.aic } : {}), ...(media.camera !== undefined ? { camera: media.camera } : {}) }
    this.stream = media.stream ?? await this.host.getMedia(this.media)
  }
}

/**
 * The room a call's Invite names, checked: its create verifies, and after merging its ops both
 * this client and the caller are members. Undefined (with why) when it does not admit them.
 */
export async function roomOfInvite (state: GroupStateMessage, self: PeerId, caller: PeerId): Promise<{ room: GroupMembership } | { why: string }> {
  let create: Uint8Array | undefined
  for (const b of state.ops) {
    const op = await verifyGroupOp(b).catch(() => undefined)
    if (op?.kind === 'create') { create = b; break }
  }
  if (create === undefined) return { why: 'a group invite without its room\'s create' }
  const room = await GroupMembership.from(create)
  await room.merge(state.ops)
  if (!room.isMember(caller)) return { why: 'the caller is not a member of the room it invites to' }
  if (!room.isMember(self)) return { why: 'the room\'s ops do not let this client in' }
  return { room }
}
