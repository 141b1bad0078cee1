// Errors cross process and network boundaries as plain data; both bridges rebuild an ApiError.

export type ApiErrorCode =
  | 'bad-request'
  | 'not-found'
  | 'conflict'
  | 'unavailable'
  | 'forbidden'
  | 'unauthorized'
  | 'rate-limited'
  | 'internal'

export interface ApiErrorData {
  code: ApiErrorCode
  message: string
}

export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor(
    readonly code: ApiErrorCode,
    message: string
  ) {
    super(message)
  }

  toData(): ApiErrorData {
    return { code: this.code, message: this.message }
  }
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiErrorData }

const CODES: ReadonlySet<string> = new Set<ApiErrorCode>([
  'bad-request',
  'not-found',
  'conflict',
  'unavailable',
  'forbidden',
  'unauthorized',
  'rate-limited',
  'internal'
])

/** Turns anything thrown by an implementation into wire data; unknown errors keep only their message. */
export function toErrorData(err: unknown): ApiErrorData {
  if (err instanceof ApiError) return err.toData()
  const message = err instanceof Error ? err.message : String(err)
  return { code: 'internal', message }
}

/** Rebuilds an ApiError from wire data of unknown shape. */
export function fromErrorData(data: unknown): ApiError {
  const obj = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>
  const code = typeof obj.code === 'string' && CODES.has(obj.code) ? (obj.code as ApiErrorCode) : 'internal'
  const message = typeof obj.message === 'string' ? obj.message : 'Unknown error'
  return new ApiError(code, message)
}
