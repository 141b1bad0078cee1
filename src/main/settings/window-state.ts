import { join } from 'node:path'
import { SettingsFile } from './settings-file'

/** The main window's size and place, remembered between runs. */
export interface WindowState {
  x?: number
  y?: number
  width: number
  height: number
  maximized: boolean
}

export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

export const DEFAULT_WINDOW_STATE: WindowState = { width: 1280, height: 800, maximized: false }
const MIN_WIDTH = 640
const MIN_HEIGHT = 400

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v)
}

function sanitize(raw: unknown): WindowState {
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
  const state: WindowState = {
    width: isFiniteNumber(o.width) ? Math.max(MIN_WIDTH, Math.round(o.width)) : DEFAULT_WINDOW_STATE.width,
    height: isFiniteNumber(o.height) ? Math.max(MIN_HEIGHT, Math.round(o.height)) : DEFAULT_WINDOW_STATE.height,
    maximized: o.maximized === true
  }
  if (isFiniteNumber(o.x) && isFiniteNumber(o.y)) {
    state.x = Math.round(o.x)
    state.y = Math.round(o.y)
  }
  return state
}

export function windowStateFile(dataDir: string): SettingsFile<WindowState> {
  return new SettingsFile(join(dataDir, 'window-state.json'), DEFAULT_WINDOW_STATE, sanitize)
}

/**
 * Keeps a remembered window reachable: if its title bar is on no current display (a monitor was
 * unplugged), drop the position so the OS centres it; never larger than the largest display.
 */
export function fitToDisplays(state: WindowState, workAreas: readonly Rect[]): WindowState {
  if (workAreas.length === 0) return state
  const maxW = Math.max(...workAreas.map((a) => a.width))
  const maxH = Math.max(...workAreas.map((a) => a.height))
  const fitted: WindowState = {
    width: Math.min(state.width, maxW),
    height: Math.min(state.height, maxH),
    maximized: state.maximized
  }
  if (state.x === undefined || state.y === undefined) return fitted
  const { x, y } = state
  const titleVisible = workAreas.some(
    (a) => x + 100 > a.x && x < a.x + a.width - 100 && y >= a.y && y < a.y + a.height - 40
  )
  return titleVisible ? { ...fitted, x, y } : fitted
}
