// Photos: the photo button sends a picture with call.sendImage() (tool 2, the learned image codec,
// when both sides offer it, else WebP, else JPEG). Each row shows the picture, its codec and bytes;
// the sender's row also shows what JPEG needed for the same picture quality (PSNR), found by
// trying the browser's JPEG encoder at qualities from 0.05 to 1.
import { bytes, describeError } from './dom.js'
import type { Call, ImageFailure, ReceivedImage } from '@auralink/sdk'

/** The largest side of a picture sent: the SDK's default, drawn here so the JPEG comparison sees the same pixels. */
const MAX_SIDE = 1920

/** PSNR of b against a (RGB, 8-bit), in dB. */
export function psnr (a: ImageData, b: ImageData): number {
  let se = 0
  let n = 0
  for (let i = 0; i < a.data.length; i++) {
    if (i % 4 === 3) continue
    se += (a.data[i]! - b.data[i]!) ** 2
    n++
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * n) / se)
}

async function pixelsOf (blob: Blob, maxSide = Infinity): Promise<ImageData> {
  const bitmap = await createImageBitmap(blob)
  try {
    const k = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height))
    const w = Math.max(1, Math.round(bitmap.width * k))
    const h = Math.max(1, Math.round(bitmap.height * k))
    const ctx = new OffscreenCanvas(w, h).getContext('2d')!
    ctx.drawImage(bitmap, 0, 0, w, h)
    return ctx.getImageData(0, 0, w, h)
  } finally {
    bitmap.close()
  }
}

/**
 * The fewest bytes the browser's JPEG encoder needs for at least `target` dB on `original`: a
 * search over quality (each step an encode and a decode). undefined when quality 1 falls short.
 */
export async function jpegBytesFor (original: ImageData, target: number): Promise<{ bytes: number, psnr: number, quality: number } | undefined> {
  const canvas = new OffscreenCanvas(original.width, original.height)
  canvas.getContext('2d')!.putImageData(original, 0, 0)
  const at = async (quality: number): Promise<{ bytes: number, psnr: number, quality: number }> => {
    const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality })
    return { bytes: blob.size, psnr: psnr(original, await pixelsOf(blob)), quality }
  }
  const best = await at(1)
  if (best.psnr < target) return undefined
  let lo = 0.05
  let hi = 1
  let found = best
  // 7 halvings: quality to within 0.01
  for (let i = 0; i < 7; i++) {
    const mid = (lo + hi) / 2
    const r = await at(mid)
    if (r.psnr >= target) { found = r; hi = mid } else lo = mid
  }
  return found
}

function row (list: HTMLUListElement, direction: 'send' | 'receive', title: string): { row: HTMLLIElement, note: HTMLDivElement, canvas: HTMLCanvasElement } {
  const li = document.createElement('li')
  li.className = 'photo'
  li.dataset.testid = 'photo'
  li.dataset.direction = direction
  li.dataset.status = 'active'
  const head = document.createElement('div')
  head.className = 'transfer-title'
  head.textContent = title
  const canvas = document.createElement('canvas')
  canvas.className = 'photo-view'
  const note = document.createElement('div')
  note.className = 'transfer-note muted'
  li.append(head, canvas, note)
  list.prepend(li)
  return { row: li, note, canvas }
}

function paint (canvas: HTMLCanvasElement, image: ImageData): void {
  canvas.width = image.width
  canvas.height = image.height
  canvas.getContext('2d')!.putImageData(image, 0, 0)
}

/** Sends `file` on `call` and shows it, with JPEG's bytes for the same PSNR beside the bytes sent. */
export async function sendPhoto (list: HTMLUListElement, call: Call, file: File, peer: string): Promise<void> {
  const r = row(list, 'send', `↑ ${file.name} to ${peer}`)
  r.note.textContent = 'coding…'
  try {
    const original = await pixelsOf(file, MAX_SIDE)
    const sent = await call.sendImage(original)
    const decoded = await sent.decode()
    paint(r.canvas, decoded as ImageData)
    const quality = psnr(original, decoded as ImageData)
    r.row.dataset.codec = sent.codec
    r.row.dataset.bytes = String(sent.bytes)
    r.note.textContent = `${sent.width}x${sent.height} · ${bytes(sent.bytes)} as ${sent.codec} · ${quality.toFixed(1)} dB · JPEG for the same: measuring…`
    const jpeg = await jpegBytesFor(original, quality)
    r.row.dataset.jpegBytes = jpeg !== undefined ? String(jpeg.bytes) : ''
    r.note.textContent = `${sent.width}x${sent.height} · ${bytes(sent.bytes)} as ${sent.codec} · ${quality.toFixed(1)} dB · ` +
      (jpeg !== undefined ? `JPEG for the same: ${bytes(jpeg.bytes)} (quality ${jpeg.quality.toFixed(2)})` : 'JPEG cannot reach it')
    r.row.dataset.status = 'done'
  } catch (err) {
    r.row.dataset.status = 'failed'
    r.row.classList.add('failed')
    r.note.textContent = describeError(err)
  }
}

/** Shows a picture that arrived. */
export function showPhoto (list: HTMLUListElement, image: ReceivedImage, peer: string): void {
  const r = row(list, 'receive', `↓ photo from ${peer}`)
  paint(r.canvas, image.image as ImageData)
  r.row.dataset.codec = image.codec
  r.row.dataset.bytes = String(image.bytes)
  r.row.dataset.status = 'done'
  r.note.textContent = `${image.width}x${image.height} · ${bytes(image.bytes)} as ${image.codec}`
}

/** Shows a picture that arrived and could not be shown. */
export function showPhotoFailure (list: HTMLUListElement, failure: ImageFailure, peer: string): void {
  const r = row(list, 'receive', `↓ photo from ${peer}`)
  r.canvas.hidden = true
  r.row.dataset.status = 'failed'
  r.row.classList.add('failed')
  r.note.textContent = `${bytes(failure.bytes)} in ${failure.mimeType}: ${describeError(failure.error)}`
}
