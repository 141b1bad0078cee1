// Renders resources/icon.svg into the PNG icons electron-builder needs (build/icon.png, build/icons/*).
// Run: node scripts/render-icons.mjs (needs Chromium at CHROME_PATH or /usr/bin/chromium).
import { chromium } from '@playwright/test'
import { copyFileSync, readFileSync } from 'node:fs'
const svg = readFileSync('resources/icon.svg', 'utf8')
const browser = await chromium.launch({ executablePath: process.env.CHROME_PATH || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] })
const page = await browser.newPage({ viewport: { width: 1024, height: 1024 } })
await page.setContent(`<html><body style="margin:0;background:transparent">${svg.replace('<svg ', '<svg width="1024" height="1024" ')}</body></html>`)
await page.screenshot({ path: 'build/icon.png', omitBackground: true })


for (const size of [16, 32, 48, 64, 128, 256, 512]) {
  await page.setViewportSize({ width: size, height: size })
  await page.setContent(`<html><body style="margin:0;background:transparent">${svg.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body></html>`)
  await page.screenshot({ path: `build/icons/${size}x${size}.png`, omitBackground: true })
  if (size === 512) copyFileSync(`build/icons/${size}x${size}.png`, 'resources/icon.png')
}
await browser.close()
