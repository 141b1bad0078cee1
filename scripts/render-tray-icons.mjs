// Renders the tray and taskbar-overlay icons into resources/tray/ (plain Node, no browser needed):
//   tray.png / tray@2x.png                      Windows and Linux: the app's eye on its dark tile
//   tray-pending.png / tray-pending@2x.png      the same with an amber dot: review gates are waiting
//   trayTemplate.png / trayTemplate@2x.png      macOS menu bar: black + alpha only, macOS tints it
//   tray-pendingTemplate.png / …@2x.png         the same with a dot
//   overlay.png / overlay@2x.png                Windows taskbar overlay (the badge Windows has instead of a count)
// Electron's nativeImage picks the @2x file on high-DPI screens; a name ending in "Template" makes it a
// macOS template image. Shapes follow resources/icon.svg (an eye with a green pupil), simplified for 16 px.
// Run: node scripts/render-tray-icons.mjs
import { mkdirSync, writeFileSync } from 'node:fs'
import { deflateSync } from 'node:zlib'

const OUT = 'resources/tray'
const NAVY = [29, 40, 66]
const BLUE = [110, 168, 255]
const GREEN = [76, 195, 138]
const AMBER = [255, 176, 32]
const BLACK = [0, 0, 0]

// Geometry in a 16-unit square; every size scales it. An eye is the intersection of two circles (a vesica).
function eye(halfWidth, halfHeight, cx = 8, cy = 8) {
  const d = (halfWidth * halfWidth - halfHeight * halfHeight) / (2 * halfHeight)
  const r = halfHeight + d
  // Signed distance (approximate) to the lens: >0 outside.
  return (x, y) => Math.max(Math.hypot(x - cx, y - cy - d) - r, Math.hypot(x - cx, y - cy + d) - r)
}
const circle = (cx, cy, r) => (x, y) => Math.hypot(x - cx, y - cy) - r
function roundedSquare(x0, y0, x1, y1, radius) {
  return (x, y) => {
    const qx = Math.max(x0 + radius - x, 0, x - (x1 - radius))
    const qy = Math.max(y0 + radius - y, 0, y - (y1 - radius))
    const outside = Math.hypot(qx, qy) - radius
    const inside = Math.min(Math.max(x0 - x, x - x1, y0 - y, y - y1), 0)
    return qx > 0 || qy > 0 ? outside : inside
  }
}

/** Layers, painted in order: {fill, sdf} paints where sdf <= 0; {stroke, sdf, width} paints |sdf| <= width/2; {clear, sdf} erases. */
function layersFor(variant) {
  const template = variant.template
  const layers = []
  if (!template) layers.push({ color: NAVY, shape: roundedSquare(0.5, 0.5, 15.5, 15.5, 3.5) })
  const lens = template ? eye(7.2, 4.6) : eye(5.9, 3.8)
  layers.push({ color: template ? BLACK : BLUE, shape: (x, y) => Math.abs(lens(x, y)) - (template ? 0.8 : 0.7) })
  layers.push({ color: template ? BLACK : GREEN, shape: circle(8, 8, template ? 2.5 : 2.1) })
  if (!template) layers.push({ color: [216, 245, 230], shape: circle(8.7, 7.3, 0.6) })
  if (variant.pending) {
    layers.push({ clear: true, shape: circle(12.6, 3.4, 4.3) })
    layers.push({ color: template ? BLACK : AMBER, shape: circle(12.6, 3.4, 3.1) })
  }
  return layers
}

function overlayLayers() {
  return [
    { color: NAVY, shape: circle(8, 8, 7.6) },
    { color: AMBER, shape: circle(8, 8, 6.2) },
    // An exclamation mark: bar and dot, cut out of the amber disc.
    { color: NAVY, shape: roundedSquare(7, 3.6, 9, 9.4, 1) },
    { color: NAVY, shape: circle(8, 11.6, 1.15) }
  ]
}

/** Supersampled rasteriser: straight (non-premultiplied) RGBA out. */
function render(size, layers, samples = 8) {
  const scale = 16 / size
  const rgba = Buffer.alloc(size * size * 4)
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const x = (px + (sx + 0.5) / samples) * scale
          const y = (py + (sy + 0.5) / samples) * scale
          let color = null
          for (const layer of layers) {
            if (layer.shape(x, y) > 0) continue
            color = layer.clear ? null : layer.color
          }
          if (color) {
            r += color[0]
            g += color[1]
            b += color[2]
            a += 1
          }
        }
      }
      const i = (py * size + px) * 4
      if (a > 0) {
        rgba[i] = Math.round(r / a)
        rgba[i + 1] = Math.round(g / a)
        rgba[i + 2] = Math.round(b / a)
      }
      rgba[i + 3] = Math.round((255 * a) / (samples * samples))
    }
  }
  return rgba
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(buf) {
  let c = 0xffffffff
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
function chunk(type, data) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}
function png(size, rgba) {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 6 // RGBA
  const rows = []
  for (let y = 0; y < size; y++) rows.push(Buffer.from([0]), rgba.subarray(y * size * 4, (y + 1) * size * 4))
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk('IEND', Buffer.alloc(0))
  ])
}

mkdirSync(OUT, { recursive: true })
const variants = [
  { name: 'tray', template: false, pending: false },
  { name: 'tray-pending', template: false, pending: true },
  { name: 'trayTemplate', template: true, pending: false },
  { name: 'tray-pendingTemplate', template: true, pending: true }
]
for (const v of variants) {
  for (const [suffix, size] of [['', 16], ['@2x', 32]]) {
    writeFileSync(`${OUT}/${v.name}${suffix}.png`, png(size, render(size, layersFor(v))))
  }
}
for (const [suffix, size] of [['', 16], ['@2x', 32]]) {
  writeFileSync(`${OUT}/overlay${suffix}.png`, png(size, render(size, overlayLayers())))
}
console.log(`wrote ${variants.length * 2 + 2} icons to ${OUT}/`)
