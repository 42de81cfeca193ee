// "Your recordings": the calls this AuraID took part in that the relay recorded, each playable in
// place. The relay serves them only to their participants: every request is signed with this
// browser's key (client.recordings(httpUrl): list() and url(id), a signed URL for <video src>).
import { byId, onSubmit } from './dom.js'
import type { AuraLink } from '@auralink/sdk'

const el = {
  form: byId('recordings-form', HTMLFormElement),
  httpUrl: byId('relay-http', HTMLInputElement),
  show: byId('recordings-show', HTMLButtonElement),
  list: byId('recordings', HTMLUListElement)
}

let client: AuraLink | undefined

/** The client the list is for (after a register), or none. */
export function setRecordingsClient (c: AuraLink | undefined): void {
  client = c
  el.show.disabled = c === undefined
  el.list.replaceChildren()
}

/** The relay's HTTP port from /config.json, unless the user typed one. */
export function setRelayHttp (url: string): void {
  if (el.httpUrl.value === '') el.httpUrl.value = url
}

onSubmit(el.form, async () => {
  if (client === undefined) throw new TypeError('register an AuraID first')
  const relay = client.recordings(el.httpUrl.value.trim())
  const recordings = await relay.list()
  el.list.replaceChildren()
  if (recordings.length === 0) {
    const li = document.createElement('li')
    li.className = 'muted'
    li.textContent = 'No recordings of yours at this relay.'
    el.list.append(li)
    return
  }
  for (const r of recordings) {
    const li = document.createElement('li')
    li.dataset.id = r.id
    li.dataset.status = r.status
    const when = new Date(r.startedAt).toLocaleString()
    li.textContent = `${when} · ${(r.bytes / 1024 / 1024).toFixed(1)} MiB · ${r.participants.length} participants`
    if (r.status === 'complete' && !r.encrypted) {
      const video = document.createElement('video')
      video.controls = true
      video.preload = 'metadata'
      video.src = await relay.url(r.id)
      li.append(video)
    } else {
      li.append(document.createTextNode(r.encrypted ? ' · encrypted at rest: the relay\'s operator decrypts it' : ` · ${r.status}`))
    }
    el.list.append(li)
  }
}, 'listing your recordings')
