import { describe, expect, it } from 'vitest'
import { serveBanner, type BannerFacts } from '../../../src/main/cli/banner'
import type { SourceInfo } from '../../../src/shared/model/sources'

const base: BannerFacts = { url: 'http://127.0.0.1:7400', dataDir: '/d', login: false, demo: false, sources: [], stop: 'Ctrl+C' }

function store(path: string, origin: SourceInfo['origin'] = 'flag'): SourceInfo {
  return { id: path, kind: 'store', label: path, path, origin, state: 'ready', liveness: 'idle', problem: null, version: 0, refreshedAt: null, tableCount: null }
}

describe('serve banner', () => {
  it('names the interface, hub, review API, data folder and how to stop, one fact a line', () => {
    const text = serveBanner(base)
    expect(text.split('\n')).toEqual([
      '  Interface      http://127.0.0.1:7400/   (open it in a browser)',
      '  Hub ingress    ws://127.0.0.1:7400/ingress   (AgentEnsemble publishers push here)',
      '  Hub dashboard  ws://127.0.0.1:7400/ws   (AgentEnsemble dashboard clients watch here)',
      '  Review API     http://127.0.0.1:7400/api/reviews   (POST a gate; ?wait=true holds until someone decides)',
      '  Data folder    /d   (recordings and review history)',
      '  Watching       nothing yet   (add a store with --db, a dashboard with --attach, or from the interface)',
      '  Stop           Ctrl+C',
      ''
    ])
  })

  it('says where runs are forwarded with --otlp-endpoint, and nothing about it without', () => {
    expect(serveBanner({ ...base, otlpExport: 'http://collector:4318/v1/traces' })).toContain(
      '  Forwarding to  http://collector:4318/v1/traces   (OpenTelemetry collector: each run when it ends; state in /api/status)'
    )
    expect(serveBanner(base)).not.toContain('Forwarding')
  })

  it('says where to sign in when a password is set', () => {
    expect(serveBanner({ ...base, login: true })).toContain('http://127.0.0.1:7400/   (sign in at http://127.0.0.1:7400/login)')
  })

  it('lists what it watches, at most 8, and the demo’s own sources apart', () => {
    const many = Array.from({ length: 10 }, (_, i) => store(`/s${i}.db`))
    const text = serveBanner({ ...base, demo: true, sources: [store('/tmp/demo/perspt.db', 'demo'), ...many] })
    expect(text.split('\n')[0]).toMatch(/^Demo mode/)
    expect(text).toContain('  Demo store     /tmp/demo/perspt.db')
    expect(text).toContain('  Perspt store   /s7.db')
    expect(text).not.toContain('/s8.db')
    expect(text).toContain('and 2 more')
    expect(text).not.toContain('nothing yet')
  })
})
