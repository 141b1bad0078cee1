import { ARG_PARSERS, isMethodName, type VigilApi } from '../../shared/api/contract'
import { ApiError, toErrorData, type ApiResult } from '../../shared/api/errors'

/**
 * The single entry point both transports use: checks the method name and its arguments against the
 * contract, calls the implementation, and turns every outcome into wire data. Never throws.
 */
export async function dispatch(api: VigilApi, method: string, rawArgs: unknown): Promise<ApiResult<unknown>> {
  try {
    if (!isMethodName(method)) throw new ApiError('not-found', `Unknown method "${method}".`)
    const parsed = ARG_PARSERS[method](rawArgs)
    const fn = api[method] as (...a: unknown[]) => Promise<unknown>
    const value = await fn.apply(api, parsed)
    return { ok: true, value: value === undefined ? null : value }
  } catch (err) {
    const error = toErrorData(err)
    if (error.code === 'internal') console.error(`vigil: ${method} failed:`, err)
    return { ok: false, error }
  }
}
