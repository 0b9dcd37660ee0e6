import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

// The embeddable chat widget (widget/), a bundle of its own: one classic script at a stable
// name, dist/widget.js, which the server serves at /widget.js. Built after the desk (whose
// build empties dist/), so it must not empty it.
export default defineConfig({
  plugins: [preact()],
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
  build: {
    outDir: "dist",
    emptyOutDir: false,
    sourcemap: true,
    target: "es2020",
    lib: {
      entry: "widget/main.tsx",
      name: "OmnideskChatWidget",
      formats: ["iife"],
      fileName: () => "widget.js",
    },
  },
});
