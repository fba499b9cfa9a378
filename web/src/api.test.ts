import { afterEach, describe, expect, test, vi } from 'vitest'
import { ApiError, api, queryString, useApiKey } from './api'

afterEach(() => { vi.unstubAllGlobals(); useApiKey(null) })

function stubFetch(status: number, body: unknown) {
  const calls: { url: string; init: RequestInit }[] = []
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    calls.push({ url, init })
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
  })
  return calls
}

describe('the REST client', () => {
  test('query strings drop empty values and join lists', () => {
    expect(queryString({ status: ['submitted', 'dispatched'], grid_id: '', limit: 50, x: undefined })).toBe('?status=submitted%2Cdispatched&limit=50')
    expect(queryString({})).toBe('')
  })
  test('a command carries the CSRF header and an idempotency key; a key login its key', async () => {
    const calls = stubFetch(200, { ticket: { id: 'T1' } })
    useApiKey('secret')
    await api.post('/tickets/T1/dispatch', {})
    const headers = calls[0].init.headers as Record<string, string>
    expect(calls[0].url).toBe('/api/v1/tickets/T1/dispatch')
    expect(headers['X-Requested-With']).toBe('redprop')
    expect(headers['Idempotency-Key']).toMatch(/^wb-[0-9a-f]{24}$/)
    expect(headers['X-API-Key']).toBe('secret')
    expect(calls[0].init.credentials).toBe('same-origin')
  })
  test('the gateway\'s error names the fields', async () => {
    stubFetch(422, { error: { status: 422, code: 'validation_failed', message: 'bad', details: { fields: [{ field: 'reason', message: 'too short' }] } } })
    const error = await api.post('/tickets/T1/escalate', { reason: 'x' }).catch((e) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error.status).toBe(422)
    expect(error.fields).toEqual([{ field: 'reason', message: 'too short' }])
  })
  test('an answer that is not JSON is still an ApiError', async () => {
    vi.stubGlobal('fetch', async () => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }))
    const error = await api.get('/tickets').catch((e) => e)
    expect(error.code).toBe('http_502')
  })
})
