import { SafeEventEmitter } from '@auralink/core'
import { EndReason, FILE_PROTOCOL, RECORD_PROTOCOL, SIGNAL_PROTOCOL, SIP_INBOUND_PROTOCOL, SIP_PROTOCOL } from '@auralink/protocol'
import { createGroupOp, DEFAULT_GROUP_MAX_MEMBERS, GroupMembership, validateAuraId } from '@auralink/identity'
import { createMeshNode, RelayUnreachableError } from '@auralink/mesh'
import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { closeAicRuntime, loadAicRuntime } from './aic-runtime.js'
import { ClientImages } from './images.js'
import { checkAicMode } from './aic-wire.js'
import { Call } from './call.js'
import { checkInit, checkMedia } from './client-init.js'
import { openIdentity } from './client-identity.js'
import { CallTimeline } from './call-timeline.js'
import { EarlyMedia } from './early-media.js'
import { groupStateOf, theirsWins } from './call-machine.js'
import { CallerNames, inviteLimits } from './caller-names.js'
import {
  CALL_DIAL_TIMEOUT_MS, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_RECONNECTING_AFTER_MS, DEFAULT_AIC_CAPABILITY_TIMEOUT_MS, DEFAULT_AIC_MODE,
  DEFAULT_AIC_TICK_MS, DEFAULT_RECONNECT_TIMEOUT_MS, DEFAULT_RING_TIMEOUT_MS, DEFAULT_VANISHED_AFTER_MS, EARLY_OFFER_TIMEOUT_MS
} from './constants.js'
import { InvalidStateError } from './errors.js'
import { fileLimits, IncomingFiles } from './file-receiver.js'
import { checkNodeVersion } from './node-version.js'
import { SignalChannel } from './signal-channel.js'
import { acquire, defaultGetUserMedia } from './user-media.js'
import { relayRecordings } from './recording-playback.js'
import { GroupCall, roomOfInvite } from './group-call.js'
import { placePhoneCall, ringPhoneCall } from './phone-call.js'
import type { PhoneCall, PhoneCallOptions, PhoneComponents } from './phone-call.js'
import type { GroupHost } from './group-call.js'
import type { GroupStateMessage } from './call-machine.js'
import type { RelayRecordings } from './recording-playback.js'
import type { AicRuntime } from './aic-runtime.js'
import type { CallComponents, CallMediaOptions } from './call.js'
import type { AuraLinkInit } from './client-init.js'
import type { Identity } from './client-identity.js'
import type { AicMode } from './aic-wire.js'
import type { FileRefusal } from './file-receiver.js'
import type { MediaRequest } from './call-machine.js'
import type { AuraIdRecord } from '@auralink/identity'
import type { MeshConnection, MeshNode, RegisterOptions, RelayInfo } from '@auralink/mesh'
import type { MediaRequestFields } from '@auralink/protocol'
import type { AbortOptions, Connection, PeerId, Stream } from '@libp2p/interface'

export type { AuraLinkInit } from './client-init.js'

/** The events of an AuraLink client, by name (`client.addEventListener('incoming', ...)`). */
export interface AuraLinkEvents {
  /**
   * A call is ringing: call `accept()` or `reject()` on it. For an invite to a group call
   * (docs/group-calls.md), `group` is set: answer with `group.accept()` or `group.reject()`
   * (calls from members of a group call this client is in are joined without this event).
   */
  incoming: CustomEvent<{ call: Call, group?: GroupCall }>
  /**
   * A phone calls this client through one of its relays (docs/sip.md "Inbound"; only with
   * `phone: { incoming: true }`): a PhoneCall in state 'ringing', `target` the caller's SIP URI,
   * `displayName` its name as the phone system gives it. Answer with `call.accept()` or
   * `call.reject()`. A separate event from `incoming`, whose `call` is always an AuraLink Call.
   */
  'incoming:phone': CustomEvent<{ call: PhoneCall }>
  /** A relay reservation was lost or regained. */
  'relay:lost': CustomEvent<{ relay: PeerId }>
  'relay:reserved': CustomEvent<{ relay: PeerId }>
  /** An incoming file stream was refused (too many at once, too large, a bad header, no such call); the call, if known, gets it too. */
  'file:refused': CustomEvent<FileRefusal>
}

/**
 * The AuraLink client: an identity, a mesh node attached to relays, and calls by AuraID.
 * Make one with `AuraLink.create()`.
 */
export class AuraLink extends SafeEventEmitter<AuraLinkEvents> {
  readonly mesh: MeshNode
  private readonly log = defaultLogger().forComponent('auralink:sdk')
  private readonly active = new Map<string, Call>()
  private readonly groups = new Map<string, GroupCall>()
  /** Outgoing calls between resolve and the invite being sent, by PeerId: glare checks wait for them. */
  private readonly dialing = new Map<string, Promise<unknown>>()
  private readonly names = new Set<string>()
  private readonly ownedStreams = new WeakSet<MediaStream>()
  /** Phone calls under way (client.call('sip:...')). */
  private readonly phoneCalls = new Set<PhoneCall>()
  private readonly phone: PhoneComponents
  private readonly components: CallComponents
  private readonly files: IncomingFiles
  private readonly callers: CallerNames
  private readonly lifetime = new AbortController()
  private readonly maxCalls: number
  /** `phone.incoming`: whether relays may ring this client with phones' calls. */
  private readonly takesPhoneCalls: boolean
  private readonly identity: Identity
  private stopped = false
  private stopping: Promise<void> | undefined
  private aicRuntime: Promise<AicRuntime> | undefined
  private aicLoaded = false
  /** Still-image codecs (call.sendImage()): tool 2 loaded on first use. */
  private readonly images: ClientImages

  /**
   * Creates the client: loads its identity key (see `keyStore`), starts its mesh node and resolves
   * as soon as a relay holds a reservation for it. Rejects with RelayUnreachableError (at once when
   * every relay refused or proved another peer id, else after `connectTimeoutMs`), KeyInUseError
   * when another client holds the key, UnsupportedRuntimeError on Node before 22.
   */
  static async create (init: AuraLinkInit, options: AbortOptions = {}): Promise<AuraLink> {
    checkNodeVersion((globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node)
    const { connectTimeoutMs, maxCalls } = checkInit(init)
    const identity = await openIdentity(init, options)
    let mesh: MeshNode
    try {
      const timeout = AbortSignal.timeout(connectTimeoutMs)
      mesh = await createMeshNode({
        privateKey: identity.key,
        relays: init.relays,
        iceServers: init.iceServers ?? [],
        ...(init.dial !== undefined ? { dial: init.dial } : {}),
        ...(init.reputation !== undefined ? { reputation: init.reputation } : {})
      }, { signal: AbortSignal.any([timeout, ...(options.signal != null ? [options.signal] : [])]) })
    } catch (err) {
      await identity.release()
      throw err
    }
    const client = new AuraLink(mesh, init, { maxCalls, identity })
    await client.start(connectTimeoutMs, options)
    return client
  }

  private constructor (mesh: MeshNode, init: AuraLinkInit, settings: { maxCalls: number, identity: Identity }) {
    super()
    this.mesh = mesh
    this.maxCalls = settings.maxCalls
    this.takesPhoneCalls = init.phone?.incoming === true
    this.identity = settings.identity
    this.files = new IncomingFiles(fileLimits(init.maxFileBytes, init.files), {
      log: this.log,
      findCall: (callId, peer) => {
        const call = this.active.get(callId)
        return call?.remotePeer.equals(peer) === true ? call : undefined
      },
      refused: (refusal) => {
        const call = refusal.callId !== undefined ? this.active.get(refusal.callId) : this.calls().find((c) => c.remotePeer.equals(refusal.peer))
        if (call?.remotePeer.equals(refusal.peer) === true) call.fileRefused(refusal)
        this.safeDispatchEvent('file:refused', { detail: refusal })
      }
    })
    this.images = new ClientImages({ ...init.images, ...(init.aic?.wasmPaths !== undefined ? { wasmPaths: init.aic.wasmPaths } : {}), ...(init.aic?.threads !== undefined ? { threads: init.aic.threads } : {}) }, this.log)
    this.callers = new CallerNames(inviteLimits(init.invites), { log: this.log, resolve: async (name, options) => mesh.resolve(name, options) })
    const getUserMedia = init.getUserMedia ?? defaultGetUserMedia()
    this.components = {
      log: this.log,
      iceServers: init.iceServers ?? [],
      ringTimeoutMs: init.ringTimeoutMs ?? DEFAULT_RING_TIMEOUT_MS,
      heartbeat: {
        intervalMs: init.heartbeat?.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
        reconnectingAfterMs: init.heartbeat?.reconnectingAfterMs ?? DEFAULT_RECONNECTING_AFTER_MS,
        vanishedAfterMs: init.heartbeat?.vanishedAfterMs ?? DEFAULT_VANISHED_AFTER_MS
      },
      reconnect: { timeoutMs: init.reconnect?.timeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS },
      dial: async (peer, options) => this.mesh.dial(peer, options),
      getMedia: async (media, _signal, camera) => {
        const stream = await acquire(getUserMedia, media, camera)
        if (stream !== undefined) this.ownedStreams.add(stream)
        return stream
      },
      recording: {
        key: settings.identity.key,
        self: mesh.peerId,
        relayAddrs: () => this.mesh.relays()
          .filter((r) => r.state === 'reserved' || r.state === 'connected')
          .map((r) => { const a = r.addr.toString(); return a.includes('/p2p/') ? a : `${a}/p2p/${r.peerId.toString()}` }),
        openRecordStream: async (addr, options) => this.mesh.libp2p.dialProtocol(multiaddr(addr), RECORD_PROTOCOL, options)
      },
      aic: {
        mode: init.aic?.mode ?? DEFAULT_AIC_MODE,
        capabilityTimeoutMs: init.aic?.capabilityTimeoutMs ?? DEFAULT_AIC_CAPABILITY_TIMEOUT_MS,
        tickMs: DEFAULT_AIC_TICK_MS,
        runtime: async () => (this.aicRuntime ??= loadAicRuntime(init.aic ?? {}).then((rt) => { this.aicLoaded = true; return rt })),
        loaded: () => this.aicLoaded
      },
      images: this.images,
      groups: {
        upgrade: async (call) => this.upgradeToGroup(call),
        adopt: async (call, state) => this.adoptGroup(call, state)
      },
      forget: (call) => {
        this.active.delete(call.id)
        if (call.localStream !== undefined && this.ownedStreams.has(call.localStream)) {
          for (const t of call.localStream.getTracks()) t.stop()
        }
      }
    }
    this.phone = {
      log: this.log,
      iceServers: this.components.iceServers,
      relayAddrs: () => this.components.recording.relayAddrs(),
      openSipStream: async (addr, options) => this.mesh.libp2p.dialProtocol(multiaddr(addr), SIP_PROTOCOL, options),
      getAudio: async () => {
        const stream = await acquire(getUserMedia, { audio: true, video: false, data: false })
        if (stream !== undefined) this.ownedStreams.add(stream)
        return stream
      },
      forget: (call, owned) => {
        this.phoneCalls.delete(call)
        if (owned) for (const t of call.localStream?.getTracks() ?? []) t.stop()
      }
    }
    mesh.addEventListener('relay:lost', (e) => { this.safeDispatchEvent('relay:lost', { detail: e.detail }) })
    mesh.addEventListener('relay:reserved', (e) => { this.safeDispatchEvent('relay:reserved', { detail: e.detail }) })
  }

  protected override onListenerError (type: string, err: unknown): void {
    this.log.error('a %s listener threw: %s', type, (err as Error)?.message ?? String(err))
  }

  private async start (timeoutMs: number, options: AbortOptions): Promise<void> {
    await this.mesh.start()
    try {
      // on relayed connections too: a call whose direct path broke carries on over one (README "Reconnecting")
      await this.mesh.handle(SIGNAL_PROTOCOL, (stream, connection) => { void this.onSignalStream(stream, connection) }, { runOnLimitedConnection: true })
      await this.mesh.handle(FILE_PROTOCOL, (stream, connection) => { void this.onFileStream(stream, connection) })
      if (this.takesPhoneCalls) await this.mesh.handle(SIP_INBOUND_PROTOCOL, (stream, connection) => { void this.onPhoneStream(stream, connection) })
      const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(options.signal != null ? [options.signal] : [])])
      try {
        await this.mesh.waitForReservation({ signal })
      } catch (err) {
        options.signal?.throwIfAborted()
        // every relay failed for good: the mesh's error names each address and reason already
        if (err instanceof RelayUnreachableError) throw err
        const why = this.mesh.relays().map((r) => `${r.addr.toString()}: ${r.lastError ?? r.state}`).join('; ')
        throw new RelayUnreachableError(`no relay gave a reservation within ${timeoutMs} ms (${why})`, { cause: err })
      }
    } catch (err) {
      this.stopped = true
      await this.mesh.stop().finally(async () => this.identity.release())
      throw err
    }
  }

  /** This client's libp2p PeerId (its address in the mesh). */
  get peerId (): PeerId { return this.mesh.peerId }

  /** Relays with their state. */
  relays (): RelayInfo[] { return this.mesh.relays() }

  /** Calls in progress (ringing, connecting, connected, reconnecting). */
  calls (): Call[] { return [...this.active.values()] }

  /**
   * The recordings this client took part in at the relay whose HTTP port is `httpUrl` (e.g.
   * `http://127.0.0.1:4002`): `list()`, and `url(id)`, a signed URL a `<video src>` plays. Each
   * request is signed with this client's key; the relay serves nobody else (docs/recording.md).
   */
  recordings (httpUrl: string): RelayRecordings {
    return relayRecordings(httpUrl, this.identity.key)
  }

  /** Binds `name` (`@alice.aura`) to this client's key at its relays' directories. NAME_TAKEN when another key holds it. */
  async register (name: string, options: RegisterOptions = {}): Promise<AuraIdRecord> {
    this.assertRunning()
    const record = await this.mesh.register(name, options)
    this.names.add(record.name)
    return record
  }

  /** The verified record of `name`; AuraIdNotFoundError when no directory knows it. */
  async resolve (name: string, options: AbortOptions = {}): Promise<AuraIdRecord> {
    this.assertRunning()
    return this.mesh.resolve(name, options)
  }

  /**
   * Calls a phone (docs/sip.md): `target` a SIP URI (`sip:alice@pbx.example.com`) on a trunk of a
   * relay that runs `--sip-listen`, which places the call and bridges its audio. Resolves once the
   * relay placed it, with a PhoneCall in state 'calling'; `whenConnected()` waits for the answer.
   * PhoneCallFailedError when the relay refuses (`refused`: the target is on none of its trunks,
   * or this client holds no name there; `limit`) or none of this client's relays places SIP calls
   * (`unavailable`).
   */
  async call (target: `sip:${string}`, media?: PhoneCallOptions, options?: AbortOptions): Promise<PhoneCall>
  /**
   * Calls `target` (`@bob.aura`). Resolves once the invite is delivered (the callee's device is
   * ringing) with a Call in state 'connecting'; `call.whenConnected()` waits for the answer.
   * Rejects fast when the name is unknown (AuraIdNotFoundError), the callee is offline
   * (PeerOfflineError), no relay is reachable (RelayUnreachableError) or media is refused
   * (MediaAccessDeniedError, which wins over any other failure of the same call).
   *
   * Local media, the media session's first offer (and its ICE gathering), the name's resolution
   * and the connection's dial run at once; the offer goes in the invite, so the callee answers
   * with its accept. `call.stats().setup` says when each step was reached.
   */
  async call (target: string, media?: CallMediaOptions, options?: AbortOptions): Promise<Call>
  /**
   * Starts a group call (docs/group-calls.md) with everyone in `targets` (`['@bob.aura',
   * '@carol.aura']`): a new room, an invite signed for each, a call to each; each then calls the
   * others. Resolves with the GroupCall once at least one invite was delivered; rejects as
   * call() does when none was.
   */
  async call (targets: string[], media?: CallMediaOptions, options?: AbortOptions): Promise<GroupCall>
  async call (target: string | string[], media: CallMediaOptions & PhoneCallOptions = {}, options: AbortOptions = {}): Promise<Call | GroupCall | PhoneCall> {
    if (Array.isArray(target)) return this.callGroup(target, media, options)
    if (typeof target === 'string' && target.startsWith('sip:')) return this.placePhone(target, media, options)
    return this.placeCall(target, media, options)
  }

  private async placePhone (target: string, media: CallMediaOptions & PhoneCallOptions, options: AbortOptions): Promise<PhoneCall> {
    this.assertRunning()
    if (media.video === true) throw new TypeError('call(target, { video: true }): a phone call carries audio only')
    const call = await placePhoneCall(this.phone, target, media, { signal: AbortSignal.any([this.lifetime.signal, ...(options.signal !== undefined ? [options.signal] : [])]) })
    this.phoneCalls.add(call)
    if (call.state === 'ended') this.phoneCalls.delete(call)
    return call
  }

  private async callGroup (targets: string[], media: CallMediaOptions, options: AbortOptions): Promise<GroupCall> {
    this.assertRunning()
    if (targets.length === 0) throw new TypeError('call(targets): targets must name at least one AuraID')
    const names = targets.map((t) => validateAuraId(t))
    if (new Set(names).size !== names.length) throw new TypeError(`call(targets): an AuraID is named twice in ${JSON.stringify(targets)}`)
    const create = await createGroupOp(this.identity.key, { kind: 'create', maxMembers: Math.max(DEFAULT_GROUP_MAX_MEMBERS, names.length + 1) })
    const group = new GroupCall(this.groupHost(), await GroupMembership.from(create.bytes))
    this.groups.set(group.roomId, group)
    await group.start(names, media, options)
    return group
  }

  /** Calls in progress as the user sees them (`maxCalls` counts these): 1:1 calls, and each group call once. */
  private callsInProgress (): number {
    const inGroups = new Set<Call>()
    for (const g of this.groups.values()) for (const p of g.participants) if (p.call !== undefined) inGroups.add(p.call)
    return [...this.active.values()].filter((c) => !inGroups.has(c)).length + this.groups.size
  }

  /** A connected 1:1 call made a group call by this side (`call.invite()`): a room with both sides in it, this side its creator. */
  private async upgradeToGroup (call: Call): Promise<GroupCall> {
    const create = await createGroupOp(this.identity.key, { kind: 'create' })
    const room = await GroupMembership.from(create.bytes)
    const invite = await createGroupOp(this.identity.key, { kind: 'invite', roomId: room.roomId, subject: call.remotePeer })
    await room.merge([invite.bytes])
    return this.groupOfCall(call, room)
  }

  /** The other side of a 1:1 call made it a group call: its room, when the room's ops admit both sides. */
  private async adoptGroup (call: Call, state: GroupStateMessage): Promise<GroupCall | undefined> {
    const checked = await roomOfInvite(state, this.mesh.peerId, call.remotePeer)
    if ('why' in checked) {
      this.log('call %s: the other side\'s room is ignored: %s', call.id, checked.why)
      return undefined
    }
    if (this.groups.has(checked.room.roomId)) {
      this.log('call %s: the other side\'s room %s is one this client is in already', call.id, checked.room.roomId)
      return undefined
    }
    return this.groupOfCall(call, checked.room, state)
  }

  /** The group call `call` becomes the first pair of (`state`: the other side's, for its name hints). */
  private async groupOfCall (call: Call, room: GroupMembership, state?: GroupStateMessage): Promise<GroupCall> {
    // registered before anything is awaited, as an invite's room is (groupInvite): a member's call
    // for this room that comes meanwhile is held in it and answered by adopt()
    const group = new GroupCall(this.groupHost(), room)
    this.groups.set(group.roomId, group)
    try {
      if (state !== undefined) await group.mergeState(state, call.remotePeer)
      if (call.state === 'ended') throw new InvalidStateError(`the call ended (${call.ended?.reason ?? 'ended'}) before it became a group call`)
    } catch (err) {
      if (this.groups.get(group.roomId) === group) this.groups.delete(group.roomId)
      throw err
    }
    group.adopt(call)
    return group
  }

  /** The group calls this client takes part in. */
  groupCalls (): GroupCall[] { return [...this.groups.values()] }

  private groupHost (): GroupHost {
    return {
      log: this.log,
      key: this.identity.key,
      self: this.mesh.peerId,
      selfName: () => [...this.names][0],
      resolve: async (name, options) => (await this.mesh.resolve(name, options)).peerId,
      callMember: async (name, media, group) => this.placeCall(name, media, {}, group),
      getMedia: async (media) => {
        const requested = checkMedia(media, 'group call')
        return requested.audio || requested.video ? this.components.getMedia(requested, undefined, media.camera) : undefined
      },
      forget: (g) => { if (this.groups.get(g.roomId) === g) this.groups.delete(g.roomId) }
    }
  }

  private async placeCall (target: string, media: CallMediaOptions, options: AbortOptions, group?: GroupStateMessage): Promise<Call> {
    this.assertRunning()
    const timeline = new CallTimeline()
    const name = validateAuraId(target)
    const requested = checkMedia(media, 'call')
    const aic = media.aic !== undefined ? checkAicMode(media.aic, 'call(target, media): media.aic') : undefined
    // the first failure of one part stops the others
    const stop = new AbortController()
    const signal = options.signal != null ? AbortSignal.any([stop.signal, options.signal]) : stop.signal
    let prepared: PreparedMedia = { stream: media.stream }
    let mediaError: Error | undefined
    const preparing = this.prepareMedia(requested, media.stream, media.camera, aic ?? this.components.aic.mode, timeline, signal).then((p) => { prepared = p }, (err: unknown) => {
      mediaError = err instanceof Error ? err : new Error(String(err))
      stop.abort(err)
    })
    let peerKey: string | undefined
    try {
      const record = await this.mesh.resolve(name, { signal })
      timeline.mark('resolved')
      peerKey = record.peerId.toString()
      const placing = this.place(name, record.peerId, requested, aic, timeline, async () => {
        await preparing
        if (mediaError !== undefined) throw mediaError
        return prepared
      }, signal, group)
      this.dialing.set(peerKey, placing)
      return await placing
    } catch (err) {
      stop.abort(err)
      await preparing
      prepared.early?.stop()
      const stream = prepared.stream
      if (stream !== undefined && stream !== media.stream && this.ownedStreams.has(stream)) for (const t of stream.getTracks()) t.stop()
      // the camera or microphone refused is what the user must hear of, whatever else failed meanwhile
      if (mediaError !== undefined) throw mediaError
      options.signal?.throwIfAborted()
      throw err
    } finally {
      if (peerKey !== undefined) this.dialing.delete(peerKey)
    }
  }

  /**
   * A call's local media (`given`, or getUserMedia) and, for a call with audio or video where
   * this runtime has WebRTC media, the media session whose first offer goes in the invite. A
   * session that makes no offer in time is dropped (the call then offers after the accept), and
   * none is made once `signal` aborted (the call failed: call() stops the stream it returns).
   * Rejects only when getting the media failed.
   */
  private async prepareMedia (requested: MediaRequest, given: MediaStream | undefined, camera: MediaTrackConstraints | undefined, aicMode: AicMode, timeline: CallTimeline, signal: AbortSignal): Promise<PreparedMedia> {
    let stream = given
    if (stream === undefined && (requested.audio || requested.video)) stream = await this.components.getMedia(requested, signal, camera)
    timeline.mark('media')
    if (signal.aborted || !(requested.audio || requested.video) || typeof globalThis.RTCPeerConnection !== 'function') return { stream }
    let early: EarlyMedia | undefined
    try {
      early = new EarlyMedia({ iceServers: this.components.iceServers, ...(stream !== undefined ? { stream } : {}), log: this.log, aic: requested.video && aicMode !== 'off' })
      await early.whenOffered(EARLY_OFFER_TIMEOUT_MS, signal)
      timeline.mark('offer')
      return { stream, early }
    } catch (err) {
      early?.stop()
      if (!signal.aborted) this.log('no offer in the invite: %s', (err as Error).message)
      return { stream }
    }
  }

  private async place (name: string, peer: PeerId, requested: MediaRequest, aic: AicMode | undefined, timeline: CallTimeline, media: () => Promise<PreparedMedia>, signal: AbortSignal, group?: GroupStateMessage): Promise<Call> {
    timeline.reusedConnection = this.mesh.libp2p.getConnections(peer).some((c) => c.status === 'open' && c.direct && c.limits == null)
    // by name (the record is cached by the resolve just made), so that errors name it
    // within CALL_DIAL_TIMEOUT_MS the mesh retries past dial.retries: on a busy machine a run of
    // stalled WebRTC attempts no longer ends the call while the caller still waits
    const conn = await this.mesh.dial(name, { signal, timeoutMs: CALL_DIAL_TIMEOUT_MS, onProgress: (e) => { dialProgress(timeline, e.type) } })
    timeline.mark('dialled')
    const s = await conn.newStream(SIGNAL_PROTOCOL, { signal })
    timeline.mark('stream')
    const channel = new SignalChannel(s, this.log)
    const callId = randomId()
    let prepared: PreparedMedia
    try {
      prepared = await media()
      const offer = prepared.early?.inviteOffer() ?? ''
      await channel.send({ callId, invite: { from: [...this.names][0] ?? '', to: name, media: requested, ...(offer !== '' ? { offer } : {}), ...(group !== undefined ? { group } : {}) } })
      timeline.mark('invited')
    } catch (err) {
      channel.abort(err as Error)
      throw err
    }
    const { stream, early } = prepared
    const call = new Call({
      role: 'caller', callId, requested, channel, conn, remoteAuraId: name, timeline,
      ...(stream !== undefined ? { localStream: stream } : {}),
      ...(aic !== undefined ? { aic } : {}),
      ...(early !== undefined ? { early } : {})
    }, this.components)
    this.active.set(callId, call)
    this.log('calling %s (call %s)', name, callId)
    return call
  }

  /**
   * A call whose invite names a group (docs/group-calls.md). A room this client is in: the
   * caller's ops are merged, and the call is joined without asking when the caller is a member,
   * refused otherwise. A new room: the app hears `incoming` with the GroupCall only when the
   * room's ops admit both this client and the caller; anything else is refused.
   */
  private async groupInvite (call: Call, state: GroupStateMessage, checked: Awaited<ReturnType<typeof roomOfInvite>>): Promise<GroupCall | undefined> {
    const refuse = async (why: string): Promise<undefined> => {
      this.log('refusing group call %s from %p: %s', call.id, call.remotePeer, why)
      await call.reject(why).catch(() => {})
      return undefined
    }
    let made: GroupCall | undefined
    try {
      if ('why' in checked) return await refuse(checked.why)
      const known = this.groups.get(checked.room.roomId)
      if (known !== undefined) {
        await known.mergeState(state, call.remotePeer)
        if (known.state === 'left' || !known.participants.some((p) => p.peer.equals(call.remotePeer) && p.state !== 'left')) return await refuse('not a member of this room here')
        known.attach(call)
        // a call that ended while its room was read (its caller hung up) is left as it is
        if (call.state === 'ended') return undefined
        // a member calling before this side accepted the invite is answered with the invite
        if (known.state === 'joined') await call.accept(known.pairMedia())
        return undefined
      }
      // registered before anything is awaited: a second member's call for this room that comes
      // meanwhile (under load one can come before the inviter's) joins this GroupCall instead of
      // making another that the app never hears of, whose calls would ring until they time out
      const group = made = new GroupCall(this.groupHost(), checked.room)
      this.groups.set(group.roomId, group)
      group.attach(call)
      await group.mergeState(state, call.remotePeer)
      return group
    } catch (err) {
      if (made !== undefined && this.groups.get(made.roomId) === made) this.groups.delete(made.roomId)
      return await refuse(`the group invite could not be read: ${(err as Error).message}`)
    }
  }

  /**
   * Ends every call, stops the mesh node and releases the identity key (another client may then
   * use it). Idempotent: a second call while it stops resolves once it has stopped.
   */
  async stop (): Promise<void> {
    this.stopping ??= this.stopOnce()
    await this.stopping
  }

  private async stopOnce (): Promise<void> {
    this.stopped = true
    this.lifetime.abort(new InvalidStateError('the client stopped'))
    this.files.stop()
    await Promise.allSettled([...this.groups.values()].map(async (g) => g.leave()))
    await Promise.allSettled(this.calls().map(async (c) => c.hangup()))
    await Promise.allSettled([...this.phoneCalls].map(async (c) => c.hangup()))
    if (this.aicRuntime !== undefined) await this.aicRuntime.then(closeAicRuntime, () => {})
    await this.images.close()
    try {
      await this.mesh.stop()
    } finally {
      await this.identity.release()
    }
  }

  /** A relay rings this client with a phone's call: only one of its relays may, only while it takes calls. */
  private async onPhoneStream (stream: Stream, connection: Connection): Promise<void> {
    const relay = this.mesh.relays().find((r) => r.peerId.equals(connection.remotePeer))
    if (relay === undefined || this.stopped || this.callsInProgress() + this.phoneCalls.size >= this.maxCalls) {
      stream.abort(new Error(relay === undefined ? 'phone calls come only from this client\'s relays' : 'busy'))
      return
    }
    try {
      const call = await ringPhoneCall(this.phone, `${relay.addr.toString()}`, stream)
      if (call === undefined) { stream.abort(new Error('not a SipIncoming with a SIP URI')); return }
      if (call.state === 'ended') return
      this.phoneCalls.add(call)
      this.log('phone call from %s', call.target)
      this.safeDispatchEvent('incoming:phone', { detail: { call } })
    } catch (err) {
      this.log('a phone call from relay %s could not be read: %s', connection.remotePeer.toString(), (err as Error).message)
      stream.abort(err as Error)
    }
  }

  private assertRunning (): void {
    if (this.stopped) throw new InvalidStateError('the AuraLink client was stopped')
  }

  private async onSignalStream (stream: Stream, connection: Connection): Promise<void> {
    const channel = new SignalChannel(stream, this.log)
    let timeline: CallTimeline | undefined
    const from = connection.remotePeer
    let invite: { callId: string, from: string, media: MediaRequestFields | null | undefined, offer?: string, group?: GroupStateMessage }
    try {
      const msg = await channel.readOne(AbortSignal.any([AbortSignal.timeout(5000), this.lifetime.signal]))
      if (msg.body === 'resume') { await this.onResume(msg.callId, msg.resume?.chatReceived ?? 0, channel, connection); return }
      if (msg.body !== 'invite' || msg.invite == null) throw new Error(`the first message was ${msg.body ?? 'empty'}, not an invite or a resume`)
      if (!/^[0-9a-f]{32}$/.test(msg.callId)) throw new Error(`call id ${JSON.stringify(msg.callId.slice(0, 40))} is not 32 hex digits`)
      if (this.active.has(msg.callId)) throw new Error(`call id ${msg.callId} is in use`)
      timeline = new CallTimeline()
      const offer = msg.invite.offer ?? ''
      invite = { callId: msg.callId, from: msg.invite.from ?? '', media: msg.invite.media, ...(offer !== '' ? { offer } : {}), ...(msg.invite.group != null ? { group: groupStateOf(msg.invite.group) } : {}) }
    } catch (err) {
      this.log('refusing a call stream from %p: %s', from, (err as Error).message)
      channel.abort(err as Error)
      return
    }
    const conn = wrapConnection(connection)
    // a claimed AuraID is believed only when its record names the key this connection authenticated;
    // names that do not resolve are remembered, and lookups at once are bounded (caller-names.ts)
    let remoteAuraId: string | undefined
    try {
      remoteAuraId = await this.callers.verify(invite.from, from, { signal: this.lifetime.signal })
    } catch (err) {
      this.log('refusing an invite from %p: %s', from, (err as Error).message)
      channel.abort(err as Error)
      return
    }
    if (this.stopped) { channel.abort(new InvalidStateError('the client stopped')); return }
    const requested = checkMedia(invite.media ?? {}, 'invite')
    // glare: we are calling the same peer and it has not answered yet (wait for our own invite to go out first)
    await this.dialing.get(from.toString())?.catch(() => {})
    const mine = this.calls().find((c) => c.remotePeer.equals(from) && c.awaitingAnswer)
    if (mine !== undefined) {
      if (theirsWins(mine.id, invite.callId)) {
        this.active.delete(mine.id)
        this.active.set(invite.callId, mine)
        await mine.adopt(invite.callId, channel, conn, invite.offer)
      } else {
        this.log('glare with %p: our call %s wins over %s', from, mine.id, invite.callId)
        await channel.send({ callId: invite.callId, end: { reason: EndReason.END_REASON_GLARE } }).catch(() => {})
        await channel.close()
      }
      return
    }
    // a call of a group this client is in is part of that call, not another one
    const checked = invite.group !== undefined ? await roomOfInvite(invite.group, this.mesh.peerId, from).catch((err: Error) => ({ why: err.message })) : undefined
    if (checked !== undefined && 'why' in checked) {
      // a group invite whose ops do not admit this client and the caller: refused, the app never asked
      this.log('refusing group call %s from %p: %s', invite.callId, from, checked.why)
      await channel.send({ callId: invite.callId, end: { reason: EndReason.END_REASON_REJECTED, message: checked.why.slice(0, 256) } }).catch(() => {})
      await channel.close()
      return
    }
    const ofJoinedGroup = checked !== undefined && this.groups.has(checked.room.roomId)
    if (!ofJoinedGroup && this.callsInProgress() >= this.maxCalls) {
      // busy: the caller's call ends with 'busy'; this app never hears of it (init.maxCalls)
      this.log('busy: refusing call %s from %p (%d of %d calls in progress)', invite.callId, from, this.active.size, this.maxCalls)
      await channel.send({ callId: invite.callId, end: { reason: EndReason.END_REASON_BUSY } }).catch(() => {})
      await channel.close()
      return
    }
    // an offer only where the caller asked for audio or video (the media session answers it at accept())
    const remoteOffer = invite.offer !== undefined && (requested.audio || requested.video) ? invite.offer : undefined
    const call = new Call({
      role: 'callee', callId: invite.callId, requested, channel, conn,
      ...(timeline !== undefined ? { timeline } : {}),
      ...(remoteAuraId !== undefined ? { remoteAuraId } : {}),
      ...(remoteOffer !== undefined ? { remoteOffer } : {})
    }, this.components)
    this.active.set(invite.callId, call)
    this.log('incoming call %s from %s', invite.callId, remoteAuraId ?? from.toString())
    if (invite.group !== undefined && checked !== undefined) {
      const group = await this.groupInvite(call, invite.group, checked)
      if (group !== undefined) this.safeDispatchEvent('incoming', { detail: { call, group } })
      return
    }
    this.safeDispatchEvent('incoming', { detail: { call } })
  }

  /** A caller carries its call on over a new call stream after its path broke (README "Reconnecting"). */
  private async onResume (callId: string, chatReceived: number, channel: SignalChannel, connection: Connection): Promise<void> {
    const call = this.active.get(callId)
    if (call === undefined || !call.remotePeer.equals(connection.remotePeer)) {
      // a call that ended here meanwhile (a hangup that could not reach the caller): it hears it now
      this.log('a resume of call %s from %p, which is no call of ours with it', callId.slice(0, 40), connection.remotePeer)
      await channel.send({ callId, end: { reason: EndReason.END_REASON_HANGUP, message: 'no such call' } }).catch(() => {})
      await channel.close()
      return
    }
    await call.resumeFrom(channel, wrapConnection(connection), chatReceived)
  }

  private async onFileStream (stream: Stream, connection: Connection): Promise<void> {
    await this.files.handle(stream, connection.remotePeer)
  }
}

/** A call's local media, and the media session made before its invite (calls with audio or video). */
interface PreparedMedia {
  stream: MediaStream | undefined
  early?: EarlyMedia
}

/** libp2p's progress events of a WebRTC dial, as steps of the call's setup. */
function dialProgress (timeline: CallTimeline, type: string): void {
  if (type === 'webrtc:open-signaling-stream') timeline.mark('dialRelay')
  else if (type === 'webrtc:read-sdp-answer') timeline.mark('dialOffer')
  else if (type === 'webrtc:read-ice-candidates') timeline.mark('dialAnswer')
}

function wrapConnection (connection: Connection): MeshConnection {
  const relayed = connection.limits != null || !connection.direct
  return {
    connection,
    remotePeer: connection.remotePeer,
    direct: !relayed,
    path: relayed ? 'relayed' : 'direct',
    attempts: 0,
    newStream: async (protocol, options) => connection.newStream(protocol, { ...options, runOnLimitedConnection: relayed }),
    close: async (options) => { await connection.close(options) }
  }
}

function randomId (): string {
  const b = new Uint8Array(16)
  globalThis.crypto.getRandomValues(b)
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}


