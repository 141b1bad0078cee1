// The password and the ingress token: from --password-file / --ingress-token-file, else the environment;
// `vigil serve`'s reviewer token from --reviewer-token-file, else VIGIL_REVIEWER_TOKEN.
// Never echoed: errors name the file or variable, not what it holds.
import { readFileSync, statSync } from 'node:fs'
import type { ServeOptions } from './args'
import { StartupError } from './serve'

export interface Secrets {
  password: string | null
  ingressToken: string | null
}

function readSecretFile(flag: string, path: string): string {
  let text: string
  try {
    if (!statSync(path).isFile()) throw new StartupError(`cannot read ${flag} ${path}: it is not a file`)
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (err instanceof StartupError) throw err
    const code = (err as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'unreadable'
    throw new StartupError(`cannot read ${flag} ${path}: ${reason}`)
  }
  // `echo secret > file` adds a newline that is not part of the secret.
  const secret = text.replace(/[\r\n]+$/, '')
  if (secret === '') throw new StartupError(`${flag} ${path} is empty`)
  return secret
}

function fromEnv(name: string, env: NodeJS.ProcessEnv): string | null {
  const value = env[name]
  if (value === undefined) return null
  // Set but empty is a mistake, not "no password": refuse rather than serve unprotected.
  if (value === '') throw new StartupError(`${name} is set but empty`)
  return value
}

export function resolveSecrets(opts: Pick<ServeOptions, 'passwordFile' | 'ingressTokenFile'>, env: NodeJS.ProcessEnv): Secrets {
  return {
    password: opts.passwordFile ? readSecretFile('--password-file', opts.passwordFile) : fromEnv('VIGIL_PASSWORD', env),
    ingressToken: opts.ingressTokenFile
      ? readSecretFile('--ingress-token-file', opts.ingressTokenFile)
      : fromEnv('VIGIL_INGRESS_TOKEN', env)
  }
}

/** The reviewer token (`vigil serve` only), which must not be the ingress token: every agent would then review. */
export function resolveReviewerToken(opts: Pick<ServeOptions, 'reviewerTokenFile'>, ingressToken: string | null, env: NodeJS.ProcessEnv): string | null {
  const token = opts.reviewerTokenFile ? readSecretFile('--reviewer-token-file', opts.reviewerTokenFile) : fromEnv('VIGIL_REVIEWER_TOKEN', env)
  if (token !== null && token === ingressToken) {
    throw new StartupError('the reviewer token must differ from the ingress token (agents hold the ingress token; reviewers decide gates)')
  }
  return token
}
