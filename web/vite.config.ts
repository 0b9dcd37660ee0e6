import preact from "@preact/preset-vite";
import { defineConfig } from "vitest/config";

// The server (omnidesk serve) serves dist/ at "/"; `npm run dev` proxies the API to it.
export default defineConfig({
  plugins: [preact()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, target: "es2022" },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8000", ws: true },
    },
  },
  test: { include: ["src/**/*.test.ts", "widget/**/*.test.ts"], environment: "node" },
});
