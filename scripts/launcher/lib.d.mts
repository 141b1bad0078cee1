// Types of lib.mjs for the tests (the launcher itself is plain JavaScript so it runs before any build).
export declare const DEFAULT_ELECTRON_MIRROR: string
export declare function electronMirror(env: NodeJS.ProcessEnv): string
export declare function electronPlatformPath(platform: string): string | null
export type FoundElectron = { path: string; missing?: undefined } | { path?: undefined; missing: 'package' | 'binary' | 'override' | 'platform'; detail: string }
export declare function findElectron(root: string, env?: NodeJS.ProcessEnv, platform?: string): FoundElectron
export declare function noDisplayReason(env: NodeJS.ProcessEnv, platform: string): string | null
export declare function mirrorHost(mirror: string): string
export declare function installFailureLine(stderr: string): string
export declare function networkErrorCode(err: unknown): string
export declare function fallbackLine(reason: string): string
export declare function unreachableReason(mirror: string, code: string): string
export declare function desktopDataDir(env?: NodeJS.ProcessEnv, platform?: string, home?: string): string
export declare function rememberedServeArgs(dataDir: string): string[]
export declare function onPath(name: string, env?: NodeJS.ProcessEnv, platform?: string): string | null
export type BrowserCommand = { command: string; args: string[]; verbatim?: boolean; none?: undefined } | { none: string; command?: undefined }
export declare function browserCommand(url: string, env?: NodeJS.ProcessEnv, platform?: string): BrowserCommand
export declare function buildNeeded(root: string): string | null
