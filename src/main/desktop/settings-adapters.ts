// The Electron side of the Settings page, thin on purpose: the logic (src/main/settings/app-settings.ts,
// secret-store.ts) is plain Node and tested with fakes; these calls are only type-checked here.
import { app, safeStorage } from 'electron'
import type { LoginItem } from '../settings/app-settings'
import type { SecretCipher } from '../settings/secret-store'
import { autostartDir, xdgAutostartLoginItem } from '../settings/xdg-autostart'

/**
 * Electron's safeStorage as the secret store's cipher, or null where it would not really protect anything:
 * not available yet, or on Linux with no keyring (the "basic_text" backend encrypts with a key built into
 * Chromium). Null makes the store a 0600 file, and the Settings page says so. Call after app ready.
 */
export function safeStorageCipher(platform: NodeJS.Platform = process.platform): SecretCipher | null {
  if (!safeStorage.isEncryptionAvailable()) return null
  if (platform === 'linux') {
    const backend = safeStorage.getSelectedStorageBackend()
    if (backend === 'basic_text' || backend === 'unknown') return null
  }
  return {
    encrypt: (plain) => safeStorage.encryptString(plain),
    decrypt: (encrypted) => safeStorage.decryptString(encrypted)
  }
}

/**
 * Start at login: macOS and Windows through app.setLoginItemSettings; Linux through an XDG autostart entry
 * for an installed build (the AppImage's own path, or the deb's binary); elsewhere only remembered.
 */
export function electronLoginItem(platform: NodeJS.Platform = process.platform): LoginItem {
  if (platform === 'linux' && app.isPackaged) {
    return xdgAutostartLoginItem(autostartDir(process.env), [process.env.APPIMAGE ?? process.execPath])
  }
  const supported = platform === 'darwin' || platform === 'win32'
  return {
    supported,
    get: () => (supported ? app.getLoginItemSettings().openAtLogin : false),
    set: (enabled) => {
      if (supported) app.setLoginItemSettings({ openAtLogin: enabled })
    }
  }
}
