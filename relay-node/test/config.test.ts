import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, DEFAULTS, DEPRECATED_FIELDS, FIELDS, loadConfig, resolveConfig, usage } from '../src/index.js'

describe('loadConfig', () => {
  const dirs: string[] = []
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })
  const configFile = async (content: unknown): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'auralink-config-'))
    dirs.push(d)
    const f = join(d, 'relay.json')
    await writeFile(f, typeof content === 'string' ? content : JSON.stringify(content))
    return f
  }

  it('loadConfig([]) with no env gives the defaults: 127.0.0.1, ports 4001/4002, ./.auralink/relay', () => {
    const { config, help, version } = loadConfig([], {})
    expect(config).toEqual(DEFAULTS)
    expect(config).toMatchObject({ host: '127.0.0.1', port: 4001, httpPort: 4002, dataDir: './.auralink/relay' })
    expect(help).toBe(false)
    expect(version).toBe(false)
  })

  it('loadConfig() reads every flag, and --announce repeats', () => {
    const { config } = loadConfig([
      '--host', '0.0.0.0', '--port', '0', '--http-port', '9000', '--data-dir', '/x',
      '--max-reservations', '3', '--reservation-ttl-ms', '60000', '--relay-data-limit', '1024',
      '--relay-duration-limit-ms', '5000', '--log-level', 'debug',
      '--announce', '/dns4/relay.test/tcp/443/wss', '--announce', '/ip4/10.0.0.1/tcp/4001/ws'
    ], {})
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      httpPort: 9000,
      dataDir: '/x',
      maxReservations: 3,
      reservationTtlMs: 60_000,
      relayDataLimit: 1024,
      relayDurationLimitMs: 5000,
      logLevel: 'debug',
      announce: ['/dns4/relay.test/tcp/443/wss', '/ip4/10.0.0.1/tcp/4001/ws']
    })
  })

  it('loadConfig() takes flags over env over the config file over defaults', async () => {
    const file = await configFile({ port: 1, httpPort: 2, maxReservations: 3, reservationTtlMs: 4000 })
    const { config } = loadConfig(['--config', file, '--port', '10'], {
      AURALINK_RELAY_PORT: '20',
      AURALINK_RELAY_HTTP_PORT: '30'
    })
    expect(config.port).toBe(10) // flag
    expect(config.httpPort).toBe(30) // env
    expect(config.maxReservations).toBe(3) // file
    expect(config.relayDurationLimitMs).toBe(DEFAULTS.relayDurationLimitMs) // default
  })

  it('loadConfig() reads the config file named by AURALINK_RELAY_CONFIG and comma-separated AURALINK_RELAY_ANNOUNCE', async () => {
    const file = await configFile({ reservationTtlMs: 99_000 })
    const { config } = loadConfig([], { AURALINK_RELAY_CONFIG: file, AURALINK_RELAY_ANNOUNCE: '/ip4/1.2.3.4/tcp/1/ws, /ip4/5.6.7.8/tcp/2/ws' })
    expect(config.reservationTtlMs).toBe(99_000)
    expect(config.announce).toEqual(['/ip4/1.2.3.4/tcp/1/ws', '/ip4/5.6.7.8/tcp/2/ws'])
  })

  it('every setting has a distinct flag and an AURALINK_RELAY_ env var, and usage() lists them all', () => {
    const flags = Object.values(FIELDS).map((f) => f.flag)
    const envs = Object.values(FIELDS).map((f) => f.env)
    expect(new Set(flags).size).toBe(flags.length)
    expect(new Set(envs).size).toBe(envs.length)
    for (const env of envs) expect(env).toMatch(/^AURALINK_RELAY_[A-Z_]+$/)
    const text = usage()
    for (const f of Object.values(FIELDS)) {
      expect(text).toContain(`--${f.flag}`)
      expect(text).toContain(f.env)
    }
    expect(Object.keys(FIELDS).sort()).toEqual(Object.keys(DEFAULTS).sort())
  })

  it.each([
    [['--port', 'abc'], '--port: "abc" is not a whole number'],
    [['--port', '70000'], '--port: "70000" is not a port'],
    [['--port=-1'], '--port: "-1" is not a whole number'],
    [['--port', '-1'], "Option '--port' argument is ambiguous"],
    [['--port', '1.5'], '--port: "1.5" is not a whole number'],
    [['--http-port', ''], '--http-port: "" is not a whole number'],
    [['--max-reservations', '1e3'], '--max-reservations: "1e3" is not a whole number'],
    [['--reservation-ttl-ms', '99999999999999999999'], '--reservation-ttl-ms: "99999999999999999999" is not a whole number'],
    [['--host', ''], '--host: "" is not a non-empty string'],
    [['--log-level', 'LOUD'], '--log-level: "LOUD" is not a log level'],
    [['--announce', '/nope/1'], '--announce: "/nope/1" is not a multiaddr'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--port'], "Option '--port <value>' argument missing"],
    [['--help=yes'], "Option '--help' does not take an argument"]
  ])('loadConfig(%j) throws ConfigError naming the flag and the value', (argv, message) => {
    expect(() => loadConfig(argv, {})).toThrow(ConfigError)
    expect(() => loadConfig(argv, {})).toThrow(message)
  })

  it.each([
    [{ port: 'abc' }, 'port: "abc" is not a whole number'],
    [{ port: -5 }, 'port: -5 is not a whole number'],
    [{ logLevel: 3 }, 'logLevel: 3 is not a log level'],
    [{ announce: 'not-an-addr' }, '"not-an-addr" is not a multiaddr'],
    [{ colour: 'blue' }, 'unknown setting "colour"'],
    [[1, 2], 'expected a JSON object'],
    ['{ "port": ', 'relay.json']
  ])('loadConfig(["--config", file]) with %j throws ConfigError naming the file and the key', async (content, message) => {
    const file = await configFile(content)
    expect(() => loadConfig(['--config', file], {})).toThrow(ConfigError)
    expect(() => loadConfig(['--config', file], {})).toThrow(message)
  })

  it('loadConfig(["--config", missing]) throws ConfigError naming the path', () => {
    expect(() => loadConfig(['--config', '/nonexistent/relay.json'], {})).toThrow(/--config \/nonexistent\/relay\.json: ENOENT/)
  })

  it('loadConfig() throws ConfigError naming the env var for a bad env value', () => {
    expect(() => loadConfig([], { AURALINK_RELAY_MAX_RESERVATIONS: 'many' })).toThrow('AURALINK_RELAY_MAX_RESERVATIONS: "many" is not a whole number')
  })

  describe.each([
    ['reservationRateLimit', 'reservation-rate-limit', 'AURALINK_RELAY_RESERVATION_RATE_LIMIT', 10],
    ['maxCircuitsPerPeer', 'max-circuits-per-peer', 'AURALINK_RELAY_MAX_CIRCUITS_PER_PEER', 16],
    ['circuitRateLimit', 'circuit-rate-limit', 'AURALINK_RELAY_CIRCUIT_RATE_LIMIT', 30],
    ['relayDataLimitAnonymous', 'relay-data-limit-anonymous', 'AURALINK_RELAY_DATA_LIMIT_ANONYMOUS', 32768],
    ['relayDurationLimitAnonymousMs', 'relay-duration-limit-anonymous-ms', 'AURALINK_RELAY_DURATION_LIMIT_ANONYMOUS_MS', 30_000],
    ['maxAnonymousCircuits', 'max-anonymous-circuits', 'AURALINK_RELAY_MAX_ANONYMOUS_CIRCUITS', 32]
  ] as const)('abuse limit %s (--%s, %s)', (key, flag, env, def) => {
    it(`loadConfig([]) gives ${key} its default ${def}`, () => {
      expect(loadConfig([], {}).config[key]).toBe(def)
      expect(DEFAULTS[key]).toBe(def)
      expect(FIELDS[key]).toMatchObject({ flag, env, kind: 'count' })
    })
    it(`loadConfig(["--${flag}", "7"]) sets ${key}, over ${env} and the config file`, async () => {
      expect(loadConfig([`--${flag}`, '7'], {}).config[key]).toBe(7)
      expect(loadConfig([], { [env]: '8' }).config[key]).toBe(8)
      const file = await configFile({ [key]: 9 })
      expect(loadConfig(['--config', file], {}).config[key]).toBe(9)
      expect(loadConfig(['--config', file, `--${flag}`, '0'], { [env]: '8' }).config[key]).toBe(0)
    })
    it(`loadConfig() throws ConfigError naming --${flag}, ${env} or the config key and a bad value`, async () => {
      for (const bad of ['many', '-1', '1.5', '']) {
        expect(() => loadConfig([`--${flag}=${bad}`], {})).toThrow(ConfigError)
        expect(() => loadConfig([`--${flag}=${bad}`], {})).toThrow(`--${flag}: ${JSON.stringify(bad)} is not a whole number`)
      }
      expect(() => loadConfig([], { [env]: 'lots' })).toThrow(`${env}: "lots" is not a whole number`)
      const file = await configFile({ [key]: -3 })
      expect(() => loadConfig(['--config', file], {})).toThrow(`${key}: -3 is not a whole number`)
      expect(() => loadConfig(['--config', file], {})).toThrow(ConfigError)
    })
  })

  it('--advert-interval-ms takes 1000 to 599000 (an advert lives 600 s) and --region at most 32 characters, each error naming the flag', () => {
    expect(loadConfig([], {}).config).toMatchObject({ advertIntervalMs: 60_000, region: '' })
    expect(loadConfig(['--advert-interval-ms', '599000', '--region', 'eu-west'], {}).config).toMatchObject({ advertIntervalMs: 599_000, region: 'eu-west' })
    expect(loadConfig([], { AURALINK_RELAY_REGION: 'x'.repeat(32) }).config.region).toHaveLength(32)
    for (const bad of ['999', '600000']) expect(() => loadConfig(['--advert-interval-ms', bad], {})).toThrow(`--advert-interval-ms: "${bad}" is not from 1000 to 599000 ms`)
    expect(() => loadConfig(['--advert-interval', '600'], {})).toThrow('--advert-interval: "600" seconds (600000 ms) is not from 1000 to 599000 ms')
    expect(() => loadConfig(['--region', 'x'.repeat(33)], {})).toThrow(/--region: "x{33}" is longer than 32 characters/)
    expect(() => resolveConfig({ advertIntervalMs: 0 })).toThrow(TypeError)
    expect(resolveConfig({ region: '' }).region).toBe('')
  })

  it('--recording is a switch (off by default): a bare flag, or true/false, 1/0, yes/no, on/off from the env and true/false in the file; anything else names the source', async () => {
    expect(loadConfig([], {}).config).toMatchObject({ recording: false, recordingsDir: '', maxRecordings: 4, maxRecordingsPerPeer: 1, maxRecordingDurationMs: 3_600_000, maxRecordingBytes: 1_073_741_824, recordingsMinFreeBytes: 1_073_741_824, recordingGraceMs: 30_000 })
    expect(loadConfig(['--recording'], {}).config.recording).toBe(true)
    for (const [word, on] of [['true', true], ['1', true], ['YES', true], ['on', true], ['false', false], ['0', false], ['no', false], ['off', false]] as const) {
      expect(loadConfig([], { AURALINK_RELAY_RECORDING: word }).config.recording).toBe(on)
    }
    expect(loadConfig(['--config', await configFile({ recording: true, recordingsDir: './recs' })], {}).config).toMatchObject({ recording: true, recordingsDir: './recs' })
    expect(() => loadConfig([], { AURALINK_RELAY_RECORDING: 'maybe' })).toThrow('AURALINK_RELAY_RECORDING: "maybe" is not on or off')
    const bad = await configFile({ recording: 'sometimes' })
    expect(() => loadConfig(['--config', bad], {})).toThrow(/recording: "sometimes" is not on or off/)
    expect(() => loadConfig(['--recording=yes'], {})).toThrow("Option '--recording' does not take an argument")
    expect(() => resolveConfig({ recording: 2 as unknown as boolean })).toThrow('init.recording: 2 is not on or off')
    expect(usage()).toMatch(/--recording +record calls whose participants all consent .*\(default: off; env AURALINK_RELAY_RECORDING\)/)
  })

  it('--stream-host repeats (env: comma-separated; file: a list), lower-cased, and refuses what is not a host, host:port or *.domain, naming it; --max-streams defaults to 2', async () => {
    expect(loadConfig([], {}).config).toMatchObject({ streamHosts: [], maxStreams: 2 })
    expect(loadConfig(['--stream-host', 'A.RTMP.youtube.com', '--stream-host', '127.0.0.1:1935', '--stream-host', '*.contribute.live-video.net', '--stream-host', '[::1]:1935'], {}).config.streamHosts)
      .toEqual(['a.rtmp.youtube.com', '127.0.0.1:1935', '*.contribute.live-video.net', '[::1]:1935'])
    expect(loadConfig([], { AURALINK_RELAY_STREAM_HOSTS: 'a.example, b.example:1936' }).config.streamHosts).toEqual(['a.example', 'b.example:1936'])
    const file = await configFile({ streamHosts: ['c.example'] })
    expect(loadConfig(['--config', file], {}).config.streamHosts).toEqual(['c.example'])
    for (const bad of ['rtmp://a.example', 'a.example/live', '*', 'a b', 'host:port', '*.', '-a.example']) {
      expect(() => loadConfig([`--stream-host=${bad}`], {})).toThrow(`--stream-host: ${JSON.stringify(bad)} is not a host, host:port or *.domain`)
    }
  })

  it('SIP: off by default; --sip-listen takes ipv4:port (not 0.0.0.0); --sip-trunk repeats as name=ipv4[:port] (env: comma-separated; file: objects), credentials only from the env, duplicates and bad entries named', async () => {
    expect(loadConfig([], {}).config).toMatchObject({ sipListen: '', sipTrunks: [], maxSipCalls: 16, maxSipCallsPerPeer: 2, sipCallRateLimit: 30 })
    expect(loadConfig(['--sip-listen', '127.0.0.1:5070'], {}).config.sipListen).toBe('127.0.0.1:5070')
    for (const bad of ['0.0.0.0:5060', 'pbx.example:5060', '127.0.0.1:0', '127.0.0.1:70000', '300.1.1.1:5060']) {
      expect(() => loadConfig(['--sip-listen', bad], {})).toThrow(`--sip-listen: ${JSON.stringify(bad)} is not ipv4:port`)
    }
    expect(loadConfig(['--sip-trunk', 'pbx=10.0.0.5', '--sip-trunk', 'line_2=10.0.0.6:5080'], {}).config.sipTrunks).toEqual([
      { name: 'pbx', host: '10.0.0.5', port: 5060, transport: 'udp' },
      { name: 'line_2', host: '10.0.0.6', port: 5080, transport: 'udp' }
    ])
    expect(loadConfig([], { AURALINK_RELAY_SIP_TRUNKS: 'a=10.0.0.1, b=10.0.0.2:5062', AURALINK_RELAY_SIP_TRUNK_B_USERNAME: 'u', AURALINK_RELAY_SIP_TRUNK_B_PASSWORD: 'p' }).config.sipTrunks).toEqual([
      { name: 'a', host: '10.0.0.1', port: 5060, transport: 'udp' },
      { name: 'b', host: '10.0.0.2', port: 5062, transport: 'udp', username: 'u', password: 'p' }
    ])
    const file = await configFile({ sipTrunks: [{ name: 'pbx', host: '10.0.0.5', port: 5062 }] })
    expect(loadConfig(['--config', file], {}).config.sipTrunks).toEqual([{ name: 'pbx', host: '10.0.0.5', port: 5062, transport: 'udp' }])
    const withPassword = await configFile({ sipTrunks: [{ name: 'pbx', host: '10.0.0.5', password: 'x' }] })
    expect(() => loadConfig(['--config', withPassword], {})).toThrow('unknown field "password" (credentials come from the environment')
    const tcp = await configFile({ sipTrunks: [{ name: 'pbx', host: '10.0.0.5', transport: 'tcp' }] })
    expect(() => loadConfig(['--config', tcp], {})).toThrow('transport "tcp" is not taken (only "udp")')
    expect(() => loadConfig(['--sip-trunk', 'a=10.0.0.1', '--sip-trunk', 'b=10.0.0.1:5060'], {})).toThrow('trunks "a" and "b" share a name or an address (10.0.0.1:5060)')
    for (const bad of ['pbx', '=10.0.0.1', 'p-x=10.0.0.1', 'pbx=pbx.example']) {
      expect(() => loadConfig(['--sip-trunk', bad], {})).toThrow(`--sip-trunk: ${JSON.stringify(bad)} is not name=ipv4[:port]`)
    }
    expect(() => loadConfig(['--sip-trunk', 'a=10.0.0.1'], { AURALINK_RELAY_SIP_TRUNK_A_USERNAME: 'u' })).toThrow('AURALINK_RELAY_SIP_TRUNK_A_USERNAME and AURALINK_RELAY_SIP_TRUNK_A_PASSWORD go together')
  })

  it('every duration setting ends in Ms, and every deprecated name (seconds) maps to one of them with a distinct flag and env var', () => {
    for (const [key, f] of Object.entries(FIELDS)) {
      if (/(Ttl|Grace|Duration|Age|Interval|Timeout)/.test(key)) {
        expect(key).toMatch(/Ms$/)
        expect(f.flag).toMatch(/-ms$/)
        expect(f.env).toMatch(/_MS$/)
      }
    }
    const flags = new Set(Object.values(FIELDS).map((f) => f.flag))
    const envs = new Set(Object.values(FIELDS).map((f) => f.env))
    for (const [old, r] of Object.entries(DEPRECATED_FIELDS)) {
      expect(FIELDS[r.replacedBy].flag).toBe(`${r.flag}-ms`)
      expect(FIELDS[r.replacedBy].env).toBe(`${r.env}_MS`)
      expect(r.replacedBy).toBe(`${old}Ms`)
      expect(flags.has(r.flag)).toBe(false)
      expect(envs.has(r.env)).toBe(false)
      expect(usage()).toContain(`--${r.flag} (use --${r.flag}-ms)`)
    }
  })

  describe.each(Object.entries(DEPRECATED_FIELDS))('deprecated %s (seconds)', (old, r) => {
    const flag = FIELDS[r.replacedBy].flag
    const env = FIELDS[r.replacedBy].env
    it(`loadConfig(["--${r.flag}", "7"]) sets ${r.replacedBy} to 7000 and reports the deprecation, naming --${flag}`, () => {
      const { config, deprecations } = loadConfig([`--${r.flag}`, '7'], {})
      expect(config[r.replacedBy]).toBe(7000)
      expect(deprecations).toEqual([{
        setting: `--${r.flag}`,
        replacement: `--${flag}`,
        message: `--${r.flag} is deprecated (seconds): use --${flag} (milliseconds); 7 s taken as 7000 ms`
      }])
    })
    it(`${r.env}, the config file key "${old}" and init.${old} take seconds too, each reported; the new name wins in the same source`, async () => {
      const fromEnv = loadConfig([], { [r.env]: '8' })
      expect(fromEnv.config[r.replacedBy]).toBe(8000)
      expect(fromEnv.deprecations.map((d) => [d.setting, d.replacement])).toEqual([[r.env, env]])
      const file = await configFile({ [r.replacedBy]: 5000, [old]: 9 })
      const fromFile = loadConfig(['--config', file], {})
      expect(fromFile.config[r.replacedBy]).toBe(5000)
      expect(fromFile.deprecations.map((d) => d.setting)).toEqual([`${file}: ${old}`])
      expect(loadConfig([`--${r.flag}`, '7', `--${flag}`, '1500'], { [r.env]: '8' }).config[r.replacedBy]).toBe(1500)
      // precedence across sources holds whatever the name: an old flag beats a new env var
      expect(loadConfig([`--${r.flag}`, '7'], { [env]: '1500' }).config[r.replacedBy]).toBe(7000)
      const deprecations: Array<{ setting: string }> = []
      expect(resolveConfig({ [old]: 2 }, deprecations as never)[r.replacedBy]).toBe(2000)
      expect(deprecations.map((d) => d.setting)).toEqual([`init.${old}`])
    })
    it(`loadConfig(["--${r.flag}", bad]) throws ConfigError naming the old flag and the value`, () => {
      expect(() => loadConfig([`--${r.flag}`, 'soon'], {})).toThrow(ConfigError)
      expect(() => loadConfig([`--${r.flag}`, 'soon'], {})).toThrow(`--${r.flag}: "soon" is not a whole number`)
      expect(() => loadConfig([`--${r.flag}`, '9007199254740991'], {})).toThrow(`--${r.flag}: "9007199254740991" seconds is too large`)
      expect(() => resolveConfig({ [old]: -1 })).toThrow(TypeError)
    })
  })

  it('loadConfig() with only current names reports no deprecation', () => {
    expect(loadConfig(['--reservation-grace-ms', '1000'], { AURALINK_RELAY_NAMED_MIN_AGE_MS: '0' }).deprecations).toEqual([])
  })

  describe.each([
    ['httpMaxConnections', 'http-max-connections', 'AURALINK_RELAY_HTTP_MAX_CONNECTIONS', 64],
    ['httpMaxConnectionsPerAddress', 'http-max-connections-per-address', 'AURALINK_RELAY_HTTP_MAX_CONNECTIONS_PER_ADDRESS', 8],
    ['httpRequestTimeoutMs', 'http-request-timeout-ms', 'AURALINK_RELAY_HTTP_REQUEST_TIMEOUT_MS', 30_000],
    ['httpKeepAliveTimeoutMs', 'http-keep-alive-timeout-ms', 'AURALINK_RELAY_HTTP_KEEP_ALIVE_TIMEOUT_MS', 5000],
    ['headersTimeoutMs', 'headers-timeout-ms', 'AURALINK_RELAY_HEADERS_TIMEOUT_MS', 10_000],
    ['maxSockets', 'max-sockets', 'AURALINK_RELAY_MAX_SOCKETS', 1024],
    ['maxSocketsPerAddress', 'max-sockets-per-address', 'AURALINK_RELAY_MAX_SOCKETS_PER_ADDRESS', 64],
    ['maxConnections', 'max-connections', 'AURALINK_RELAY_MAX_CONNECTIONS', 300],
    ['maxPendingConnections', 'max-pending-connections', 'AURALINK_RELAY_MAX_PENDING_CONNECTIONS', 64],
    ['inboundConnectionRate', 'inbound-connection-rate', 'AURALINK_RELAY_INBOUND_CONNECTION_RATE', 10],
    ['handshakeTimeoutMs', 'handshake-timeout-ms', 'AURALINK_RELAY_HANDSHAKE_TIMEOUT_MS', 5000],
    ['maxConnectionsPerAddress', 'max-connections-per-address', 'AURALINK_RELAY_MAX_CONNECTIONS_PER_ADDRESS', 32],
    ['maxPendingConnectionsPerAddress', 'max-pending-connections-per-address', 'AURALINK_RELAY_MAX_PENDING_CONNECTIONS_PER_ADDRESS', 4],
    ['maxConnectionsPerPeer', 'max-connections-per-peer', 'AURALINK_RELAY_MAX_CONNECTIONS_PER_PEER', 4]
  ] as const)('connection limit %s (--%s, %s)', (key, flag, env, def) => {
    it(`loadConfig([]) gives ${key} its default ${def}; --${flag} beats ${env}, which beats the config file`, async () => {
      expect(loadConfig([], {}).config[key]).toBe(def)
      expect(FIELDS[key]).toMatchObject({ flag, env, kind: 'count' })
      const file = await configFile({ [key]: 9 })
      expect(loadConfig(['--config', file], {}).config[key]).toBe(9)
      expect(loadConfig(['--config', file], { [env]: '8' }).config[key]).toBe(8)
      expect(loadConfig(['--config', file, `--${flag}`, '7'], { [env]: '8' }).config[key]).toBe(7)
      expect(() => loadConfig([`--${flag}`, 'many'], {})).toThrow(`--${flag}: "many" is not a whole number`)
    })
  })

  it('--max-connections and the timeouts are at least 1 (0 would turn them off), naming the flag', () => {
    for (const flag of ['max-connections', 'handshake-timeout-ms', 'headers-timeout-ms', 'http-request-timeout-ms']) {
      expect(() => loadConfig([`--${flag}`, '0'], {})).toThrow(new RegExp(`^--${flag}: "0" is not at least 1`))
    }
    expect(() => resolveConfig({ maxConnections: 0 })).toThrow(TypeError)
  })

  it('--http-host defaults to 127.0.0.1, apart from --host', () => {
    expect(loadConfig(['--host', '0.0.0.0'], {}).config).toMatchObject({ host: '0.0.0.0', httpHost: '127.0.0.1' })
    expect(loadConfig(['--http-host', '0.0.0.0'], {}).config).toMatchObject({ host: '127.0.0.1', httpHost: '0.0.0.0' })
    expect(loadConfig([], { AURALINK_RELAY_HTTP_HOST: '10.0.0.1' }).config.httpHost).toBe('10.0.0.1')
    expect(() => loadConfig(['--http-host', ''], {})).toThrow('--http-host: "" is not a non-empty string')
  })

  it('--metrics-token comes from a flag, AURALINK_RELAY_METRICS_TOKEN or the config file, and an error about it never shows it', async () => {
    const token = 'a-long-enough-metrics-token'
    expect(loadConfig([], {}).config.metricsToken).toBe('')
    expect(loadConfig(['--metrics-token', token], {}).config.metricsToken).toBe(token)
    expect(loadConfig([], { AURALINK_RELAY_METRICS_TOKEN: token }).config.metricsToken).toBe(token)
    const file = await configFile({ metricsToken: token })
    expect(loadConfig(['--config', file], {}).config.metricsToken).toBe(token)
    expect(usage()).not.toContain(token)
    for (const [argv, env] of [[['--metrics-token', 'short-secret'], {}], [[], { AURALINK_RELAY_METRICS_TOKEN: 'short-secret' }]] as const) {
      let message = ''
      try { loadConfig([...argv], env) } catch (err) { message = (err as Error).message }
      expect(message).toMatch(/is shorter than 16 characters$/)
      expect(message).not.toContain('short-secret')
    }
    const bad = await configFile({ metricsToken: 12345 })
    expect(() => loadConfig(['--config', bad], {})).toThrow(/metricsToken: \(value not shown\) is not a string/)
    expect(() => resolveConfig({ metricsToken: 'short-secret' })).toThrow(TypeError)
  })

  it('loadConfig() ignores empty env vars', () => {
    expect(loadConfig([], { AURALINK_RELAY_PORT: '' }).config.port).toBe(DEFAULTS.port)
  })

  it('ConfigError has its name on the class and the instance', () => {
    expect(ConfigError.name).toBe('ConfigError')
    expect(new ConfigError('x').name).toBe('ConfigError')
  })
})
