// A few argument checkers: the renderer and every network client are untrusted input.
import { ApiError } from './errors'

export type Check<T> = (value: unknown, name: string) => T

function bad(name: string, expected: string): never {
  throw new ApiError('bad-request', `Argument "${name}" must be ${expected}.`)
}

export function text(opts: { min?: number; max?: number } = {}): Check<string> {
  const min = opts.min ?? 0
  const max = opts.max ?? 4096
  return (value, name) => {
    if (typeof value !== 'string') bad(name, 'a string')
    if (value.length < min) bad(name, min === 1 ? 'a non-empty string' : `at least ${min} characters`)
    if (value.length > max) bad(name, `at most ${max} characters`)
    return value
  }
}

export function integer(opts: { min?: number; max?: number } = {}): Check<number> {
  const min = opts.min ?? Number.MIN_SAFE_INTEGER
  const max = opts.max ?? Number.MAX_SAFE_INTEGER
  return (value, name) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) bad(name, 'an integer')
    if (value < min || value > max) bad(name, `between ${min} and ${max}`)
    return value
  }
}

export const bool: Check<boolean> = (value, name) => (typeof value === 'boolean' ? value : bad(name, 'true or false'))

export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (value, name) => (value === undefined || value === null ? undefined : check(value, name))
}

/** An array of at most `max` items, each checked. */
export function listOf<T>(check: Check<T>, max: number): Check<T[]> {
  return (value, name) => {
    if (!Array.isArray(value)) bad(name, 'a list')
    if (value.length > max) bad(name, `a list of at most ${max} items`)
    return value.map((item, i) => check(item, `${name}[${i}]`))
  }
}

export function oneOf<const T extends string>(values: readonly T[]): Check<T> {
  return (value, name) => {
    if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
      bad(name, `one of ${values.join(', ')}`)
    }
    return value as T
  }
}

/** A ws:// or wss:// URL. */
export const wsUrl: Check<string> = (value, name) => {
  const raw = text({ min: 1, max: 2048 })(value, name)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return bad(name, 'a valid URL such as ws://localhost:7329/ws')
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') bad(name, 'a ws:// or wss:// URL')
  return raw
}

/** A plain object with exactly the known keys (unknown keys are refused, so typos surface). */
export function record<T extends object>(shape: { [K in keyof T]-?: Check<T[K]> }): Check<T> {
  return (value, name) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(name, 'an object')
    const obj = value as Record<string, unknown>
    for (const key of Object.keys(obj)) {
      if (!Object.prototype.hasOwnProperty.call(shape, key)) bad(`${name}.${key}`, 'absent (unknown field)')
    }
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(shape) as Array<keyof T & string>) {
      const parsed = shape[key](obj[key], `${name}.${key}`)
      if (parsed !== undefined) out[key] = parsed
    }
    return out as T
  }
}

type Checks<A extends unknown[]> = { [K in keyof A]: Check<A[K]> }

/**
 * Checks a positional argument list: exact arity (extra arguments are refused, missing optional
 * ones are allowed) and each argument's type.
 */
export function args<A extends unknown[]>(names: { [K in keyof A]: string }, ...checks: Checks<A>) {
  return (raw: unknown): A => {
    if (!Array.isArray(raw)) throw new ApiError('bad-request', 'Arguments must be an array.')
    if (raw.length > checks.length) {
      throw new ApiError('bad-request', `Expected at most ${checks.length} arguments, got ${raw.length}.`)
    }
    return checks.map((check, i) => (check as Check<unknown>)(raw[i], names[i] as string)) as A
  }
}
