import { describe, expect, it } from 'vitest'
import { hardenedWebPreferences, isExternalLinkAllowed } from '../../../src/main/desktop/web-preferences'

describe('desktop window hardening', () => {
  it('isolates and sandboxes every window, with no Node in the page', () => {
    const prefs = hardenedWebPreferences('/app/out/preload/index.js')
    expect(prefs).toMatchObject({
      preload: '/app/out/preload/index.js',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false
    })
    expect(prefs).not.toHaveProperty('enableBlinkFeatures')
  })

  it('opens only http(s) links outside the app', () => {
    expect(isExternalLinkAllowed('https://github.com/eonseed/perspt')).toBe(true)
    expect(isExternalLinkAllowed('http://localhost:7329/')).toBe(true)
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', 'app://renderer/', 'nope']) {
      expect(isExternalLinkAllowed(url)).toBe(false)
    }
  })
})
