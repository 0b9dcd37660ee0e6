// The tenant's branding (name, logo, accent colour) that every screen's header shows: read once
// per page, then kept current by the realtime `branding.updated` event, so an open desk changes
// without a reload. The accent colour becomes CSS variables (styles.css: --accent, --topbar-bg).
import { api, ok, type Schemas } from "./api/client";

export type Branding = Schemas["BrandingOut"];

let current: Branding | null = null;
let loading: Promise<void> | null = null;
const listeners = new Set<(b: Branding) => void>();

/** Paint the accent: null puts the built-in colours back. */
function paint(b: Branding): void {
  const root = document.documentElement.style;
  if (b.accent_color) {
    root.setProperty("--accent", b.accent_color);
    root.setProperty("--topbar-bg", b.accent_color);
  } else {
    root.removeProperty("--accent");
    root.removeProperty("--topbar-bg");
  }
}

export function showBranding(b: Branding): void {
  // An older view (a late GET after a save or event) never replaces a newer one.
  if (current && b.version < current.version) return;
  current = b;
  paint(b);
  for (const listener of listeners) listener(b);
}

export function branding(): Branding | null {
  return current;
}

export function loadBranding(): Promise<void> {
  loading ??= ok(api.GET("/api/v1/branding"))
    .then(showBranding)
    .catch(() => {
      loading = null; // the header keeps the product name; the next screen asks again
    });
  return loading;
}

export function onBranding(listener: (b: Branding) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Read the branding again, whatever was read before. */
export function reloadBranding(): Promise<void> {
  loading = null;
  return loadBranding();
}
