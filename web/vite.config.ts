import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// Served by the gateway under /app/ (services/gateway/.../webapp.py); `npm run dev` proxies the API to a
// local gateway on :8080.
export default defineConfig({
  base: '/app/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
    // The router tests load the screens' chunks (Element Plus) on first navigation: seconds on a busy
    // 2-core CI machine, past vitest's 5 s default.
    testTimeout: 30_000,
  },
})
