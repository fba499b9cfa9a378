// What the resident's form checks before sending a photo: the gateway's defaults (photos.max_bytes,
// photos.max_per_ticket), replaced by the gateway's own figures once a photo list has told them. A hint only:
// the gateway checks every photo's bytes again (its magic bytes, not the browser's idea of its type).

export interface PhotoLimits { maxBytes: number; maxCount: number; types: string[] }

export const DEFAULT_LIMITS: PhotoLimits = { maxBytes: 5 * 1024 * 1024, maxCount: 9, types: ['image/jpeg', 'image/png', 'image/webp'] }

export function limitsFrom(list: { max_bytes: number; max_per_ticket: number; types: string[] }): PhotoLimits {
  return { maxBytes: list.max_bytes, maxCount: list.max_per_ticket, types: list.types }
}

/** Why a file cannot be sent ('type' or 'size'), or null when it may. */
export function photoProblem(file: { type: string; size: number }, limits: PhotoLimits): 'type' | 'size' | null {
  if (!limits.types.includes(file.type)) return 'type'
  if (file.size > limits.maxBytes) return 'size'
  return null
}

export function megabytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) ? 1 : 0)
}
