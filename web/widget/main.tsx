// The embeddable chat widget: one <script> tag on any page,
//   <script src="https://desk.example.com/widget.js" data-omnidesk-widget="<widget key>" async></script>
// optionally with data-user-id and data-user-hash (the site's HMAC-SHA256 of its user's id
// with the widget secret) for a logged-in customer. It renders inside a shadow root, so the
// page's styles and ours never mix, and waits for document.body when loaded in <head>.
import { render } from "preact";
import { WidgetApi } from "./api";
import { STYLES } from "./styles";
import { Widget } from "./Widget";

interface Settings {
  key?: string;
  userId?: string;
  userHash?: string;
  server?: string;
  open?: boolean;
}

declare global {
  interface Window {
    OmnideskChat?: Settings & { open?: boolean | (() => void) };
  }
}

function settings(script: HTMLScriptElement | null): Settings {
  const given = (window.OmnideskChat ?? {}) as Settings;
  const data = script?.dataset ?? {};
  return {
    key: data.omnideskWidget ?? given.key,
    userId: data.userId ?? given.userId,
    userHash: data.userHash ?? given.userHash,
    server: given.server ?? (script?.src ? new URL(script.src).origin : location.origin),
    open: data.open === "true" || given.open === true,
  };
}

function mount(found: Settings): void {
  if (!found.key) {
    console.error("Omnidesk chat: the script tag needs data-omnidesk-widget=\"<widget key>\"");
    return;
  }
  const host = document.createElement("div");
  host.id = "omnidesk-chat";
  document.body.appendChild(host);
  const root = host.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = STYLES;
  root.appendChild(style);
  const container = document.createElement("div");
  root.appendChild(container);
  const api = new WidgetApi(found.server!, found.key, { userId: found.userId, userHash: found.userHash });
  render(<Widget api={api} startOpen={found.open} />, container);
}

const found = settings(document.currentScript as HTMLScriptElement | null);
if (document.body) mount(found);
else document.addEventListener("DOMContentLoaded", () => mount(found), { once: true });
