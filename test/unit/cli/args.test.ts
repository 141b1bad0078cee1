import { describe, expect, it } from 'vitest'
import { DEFAULT_PORT, parseArgs, UsageError } from '../../../src/main/cli/args'

describe('vigil command line', () => {
  it('has safe defaults', () => {
    expect(parseArgs(['serve'])).toEqual({
      command: 'serve',
      dbPaths: [],
      attachUrls: [],
      host: '127.0.0.1',
      port: DEFAULT_PORT,
      demo: false,
      defaultStore: true,
      dataDir: null,
      passwordFile: null,
      ingressTokenFile: null,
      reviewerTokenFile: null,
      insecure: false,
      allowOrigins: [],
      otlpEndpoint: null,
      otlpProtocol: 'http/protobuf',
      otlpHeaders: {}
    })
    expect(DEFAULT_PORT).toBe(7400)
  })

  it('takes --reviewer-token-file, and says in --help what is public and that without a password anyone on this machine decides gates', async () => {
    expect(parseArgs(['serve', '--reviewer-token-file', '/run/rev'])).toMatchObject({ reviewerTokenFile: '/run/rev' })
    expect(() => parseArgs(['serve', '--reviewer-token-file'])).toThrow(/--reviewer-token-file needs a value/)
    const { USAGE } = await import('../../../src/main/cli/args')
    const flat = USAGE.replace(/\s+/g, ' ')
    expect(flat).toMatch(/WITHOUT a password, anyone who can reach the port can read and decide every gate/)
    expect(flat).toMatch(/reading and deciding them .* needs a login or the reviewer token, also from this machine/)
  })

  it('takes repeatable --allow-origin as normalised origins, and refuses what is not an origin', () => {
    const opts = parseArgs(['serve', '--allow-origin', 'http://LocalHost:7329/', '--allow-origin=https://vigil.example'])
    expect(opts).toMatchObject({ allowOrigins: ['http://localhost:7329', 'https://vigil.example'] })
    for (const bad of ['localhost:7329', 'ws://localhost:7329', 'http://localhost:7329/viz', 'http://u:p@localhost', 'file:///x']) {
      expect(() => parseArgs(['serve', '--allow-origin', bad]), bad).toThrow(UsageError)
    }
  })

  it('takes repeatable --db and --attach, both spellings of values', () => {
    const opts = parseArgs([
      'serve', '--db', 'a.db', '--db=b.db', '--attach', 'ws://localhost:7329/ws', '--attach=wss://h/ws',
      '--host', '0.0.0.0', '--port=0', '--demo', '--no-default-store', '--data-dir', '/tmp/v'
    ])
    expect(opts).toMatchObject({
      dbPaths: ['a.db', 'b.db'],
      attachUrls: ['ws://localhost:7329/ws', 'wss://h/ws'],
      host: '0.0.0.0',
      port: 0,
      demo: true,
      defaultStore: false,
      dataDir: '/tmp/v'
    })
  })

  it('takes the auth options: password and token files, --insecure', () => {
    expect(parseArgs(['serve', '--password-file', '/run/pw', '--ingress-token-file=/run/tok', '--insecure'])).toMatchObject({
      passwordFile: '/run/pw',
      ingressTokenFile: '/run/tok',
      insecure: true
    })
  })

  it('answers --help and --version anywhere', () => {
    expect(parseArgs(['--help'])).toEqual({ command: 'help' })
    expect(parseArgs(['serve', '--demo', '-h'])).toEqual({ command: 'help' })
    expect(parseArgs(['-v'])).toEqual({ command: 'version' })
    expect(parseArgs(['serve', '--version'])).toEqual({ command: 'version' })
  })

  it.each([
    [[], /missing command/],
    [['launch'], /unknown command "launch"/],
    [['serve', '--bogus'], /unknown option "--bogus"/],
    [['serve', '--port'], /--port needs a value/],
    [['serve', '--port', 'abc'], /--port must be a number/],
    [['serve', '--port', '70000'], /--port must be a number/],
    [['serve', '--port', '-1'], /--port needs a value|must be a number/],
    [['serve', '--db'], /--db needs a value/],
    [['serve', '--db', '--demo'], /--db needs a value/],
    [['serve', '--attach', 'http://x/ws'], /ws:\/\/ or wss:\/\//],
    [['serve', '--attach', 'nope'], /needs a ws:\/\/ URL/],
    [['serve', '--demo=yes'], /takes no value/],
    [['serve', '--password-file'], /--password-file needs a value/],
    [['serve', '--ingress-token-file', '--demo'], /--ingress-token-file needs a value/],
    [['serve', '--insecure=1'], /--insecure takes no value/]
  ])('refuses %j with a one-line reason', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError)
    expect(() => parseArgs(argv)).toThrow(message)
  })
})
