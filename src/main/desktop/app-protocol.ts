import { protocol } from 'electron'
import { readStaticFile, RENDERER_CSP } from '../server/static-files'

export const APP_SCHEME = 'app'
export const APP_ENTRY_URL = 'app://renderer/index.html'

/** Must run before `ready`: app:// behaves like https (standard, secure), so the renderer never uses file://. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } }
  ])
}

/** Serves the built renderer on app://renderer/…, with the same traversal checks and CSP as `vigil serve`. */
export function handleAppProtocol(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url)
    if (url.host !== 'renderer') return new Response('Not found', { status: 404 })
    const file = await readStaticFile(rendererDir, url.pathname)
    if (!file) return new Response('Not found', { status: 404 })
    return new Response(new Uint8Array(file.body), {
      headers: {
        'content-type': file.contentType,
        'content-security-policy': RENDERER_CSP,
        'x-content-type-options': 'nosniff'
      }
    })
  })
}
