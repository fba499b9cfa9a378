// The gateway's REST API, the only server the app talks to. A session cookie (HttpOnly, set by
// POST /api/v1/session) authenticates; state-changing cookie requests carry X-Requested-With so a
// cross-site form cannot forge them. An API key, where one was given at login, is sent instead.

export interface FieldError { field: string; message: string; type?: string }

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string, public details: Record<string, any> = {}) {
    super(message)
  }
  get fields(): FieldError[] { return Array.isArray(this.details?.fields) ? this.details.fields : [] }
}

let apiKey: string | null = null
export function useApiKey(key: string | null) { apiKey = key }

function newKey(): string {
  const bytes = new Uint8Array(12)
  crypto.getRandomValues(bytes)
  return 'wb-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

export async function parseError(response: Response): Promise<ApiError> {
  let body: any = null
  try { body = await response.json() } catch { /* not JSON: a proxy's page */ }
  const e = body?.error
  if (e && typeof e.code === 'string') return new ApiError(response.status, e.code, e.message ?? e.code, e.details ?? {})
  return new ApiError(response.status, 'http_' + response.status, response.statusText || 'request failed')
}

export type Query = Record<string, string | number | boolean | undefined | null | string[]>

export function queryString(query: Query = {}): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    if (Array.isArray(value)) { if (value.length) params.set(name, value.join(',')) } else params.set(name, String(value))
  }
  const text = params.toString()
  return text ? '?' + text : ''
}

export async function request<T = any>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', 'X-Requested-With': 'redprop' }
  if (apiKey) headers['X-API-Key'] = apiKey
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  // A retried click sends the same key: the gateway answers the first result, changing nothing twice.
  if (method === 'POST' && path !== '/session') headers['Idempotency-Key'] = newKey()
  const response = await fetch('/api/v1' + path + queryString(query), {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!response.ok) throw await parseError(response)
  if (response.status === 204) return undefined as T
  return (await response.json()) as T
}

export const api = {
  get: <T = any>(path: string, query?: Query) => request<T>('GET', path, undefined, query),
  post: <T = any>(path: string, body: unknown = {}) => request<T>('POST', path, body),
  del: <T = any>(path: string) => request<T>('DELETE', path),
}

// -- photos on tickets (POST/GET /api/v1/tickets/{id}/photos) --------------------------------------------

export interface Photo { id: string; ticket_id: string; content_type: string; size: number; sha256: string; uploader_role: string; uploaded_at: string; url: string; may_delete?: boolean }
export interface PhotoList { photos: Photo[]; max_bytes: number; max_per_ticket: number; types: string[] }

function authHeaders(): Record<string, string> {
  const headers: Record<string, string> = { 'X-Requested-With': 'redprop' }
  if (apiKey) headers['X-API-Key'] = apiKey
  return headers
}

/** One photo as the multipart part `photo`; the gateway checks its bytes (type, size) and strips its EXIF. */
export async function uploadPhoto(ticketId: string, file: Blob, filename = 'photo'): Promise<Photo> {
  const form = new FormData()
  form.append('photo', file, filename)
  const response = await fetch(`/api/v1/tickets/${encodeURIComponent(ticketId)}/photos`, {
    method: 'POST', credentials: 'same-origin', body: form, headers: { ...authHeaders(), 'Idempotency-Key': newKey() },
  })
  if (!response.ok) throw await parseError(response)
  return (await response.json()) as Photo
}

/** A photo's bytes as an object URL for <img> (the shell's CSP allows blob: images); works with a key too. */
export async function photoObjectUrl(photo: Photo): Promise<string> {
  const response = await fetch(photo.url, { credentials: 'same-origin', headers: authHeaders() })
  if (!response.ok) throw await parseError(response)
  return URL.createObjectURL(await response.blob())
}

/** Delete a photo (its uploader while the ticket is open, or the community's worker: the gateway decides). */
export async function deletePhoto(photo: Photo): Promise<void> {
  const response = await fetch(photo.url, { method: 'DELETE', credentials: 'same-origin', headers: authHeaders() })
  if (!response.ok) throw await parseError(response)
}
