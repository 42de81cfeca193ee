// The file list: one row per transfer with a progress bar; received files get a download link.
import { byId, bytes, describeError } from './dom.js'
import type { FileTransfer } from '@auralink/sdk'

const list = byId('transfers', HTMLUListElement)
/** Object URLs of received files, revoked when the list is cleared. */
const urls: string[] = []

/** Adds a row for `transfer` and keeps it up to date until the transfer is over. */
export function showTransfer (transfer: FileTransfer, peer: string): void {
  const row = document.createElement('li')
  row.className = 'transfer'
  row.dataset.testid = 'transfer'
  row.dataset.direction = transfer.direction
  row.dataset.status = 'active'

  const title = document.createElement('div')
  title.className = 'transfer-title'
  title.textContent = `${transfer.direction === 'send' ? '↑' : '↓'} ${transfer.name}`
  const bar = document.createElement('progress')
  bar.max = Math.max(transfer.size, 1)
  bar.value = 0
  const note = document.createElement('div')
  note.className = 'transfer-note muted'
  note.textContent = `${transfer.direction === 'send' ? 'to' : 'from'} ${peer} · 0 of ${bytes(transfer.size)}`
  row.append(title, bar, note)
  list.prepend(row)

  transfer.addEventListener('progress', (e) => {
    bar.value = transfer.size === 0 ? 1 : e.detail.bytes
    note.textContent = `${transfer.direction === 'send' ? 'to' : 'from'} ${peer} · ${bytes(e.detail.bytes)} of ${bytes(e.detail.total)}`
  })

  transfer.done.then((file) => {
    bar.value = bar.max
    row.dataset.status = 'done'
    if (file === undefined) {
      note.textContent = `sent ${bytes(transfer.size)} to ${peer}; checksum confirmed`
      return
    }
    // files over the SDK's in-memory cap come without a blob (this page gives no sink, so it never gets one)
    if (file.blob === undefined) return
    const url = URL.createObjectURL(file.blob)
    urls.push(url)
    const link = document.createElement('a')
    link.href = url
    link.download = file.name
    link.className = 'download'
    link.textContent = `Download ${file.name}`
    note.textContent = `${bytes(file.size)} from ${peer} · SHA-256 ${file.sha256.slice(0, 16)}…`
    row.append(link)
  }, (err: unknown) => {
    row.dataset.status = 'failed'
    row.classList.add('failed')
    note.textContent = describeError(err)
  })
}

/** Empties the list and frees the received files' memory. */
export function clearTransfers (): void {
  for (const url of urls.splice(0)) URL.revokeObjectURL(url)
  list.replaceChildren()
}
