// The channel screens' pure parts (tested in vitest): the widget's embed snippet, secrets the
// browser generates, and channel account forms as the API takes them and names their fields.
import type { Schemas } from "../api/client";
import { type Hours, type Question, type TemplateRow, alwaysOpen, DEFAULT_QUESTIONS, hoursBody, hoursOf, questionsBody, questionsOf, templatesBody, templatesOf } from "./widgetSettings";

export type AccountKind = "chat" | "email" | "webhook" | "whatsapp";
export const KINDS: AccountKind[] = ["chat", "email", "webhook", "whatsapp"];
type Account = Schemas["AccountOut"];

/** The `<script>` tag a site puts on its pages (docs/channels.md, "Web chat"): the widget
 * bundle from this server, the account's id as the widget key. */
export function widgetSnippet(server: string, key: string): string {
  const base = server.replace(/\/+$/, "");
  return `<script src="${attr(`${base}/widget.js`)}" data-omnidesk-widget="${attr(key)}" async></script>`;
}

function attr(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A random secret (base64url, `bytes` random bytes: 32 by default, 43 characters), for a new
 * webhook or widget account: the browser makes it so the admin never has to invent one. */
export function randomSecret(bytes = 32, fill: (a: Uint8Array) => Uint8Array = (a) => crypto.getRandomValues(a)): string {
  const raw = fill(new Uint8Array(bytes));
  let text = "";
  for (const b of raw) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The form of an account: every kind's fields as text, so one form state serves all kinds. */
export interface AccountDraft {
  id: string | null;
  version: number | null;
  kind: AccountKind;
  name: string;
  queue_id: string;
  provider: string;
  // chat: the widget's look and what it asks
  title: string;
  greeting: string;
  colour: string;
  text_colour: string;
  languages: string;
  offline_message: string;
  allowed_origins: string;
  require_identity: boolean;
  email_account_id: string;
  prechat_fields: Question[];
  hours: Hours;
  // email
  address: string;
  smtp_host: string;
  smtp_port: string;
  smtp_security: "tls" | "starttls" | "none";
  smtp_username: string;
  smtp_password: string;
  imap_host: string;
  imap_port: string;
  imap_security: "tls" | "none";
  imap_username: string;
  imap_password: string;
  imap_mailbox: string;
  imap_after: "seen" | "delete";
  auto_reply: string;
  // webhook
  outbound_url: string;
  // whatsapp
  phone_number_id: string;
  api_base_url: string;
  api_version: string;
  app_secret: string;
  verify_token: string;
  access_token: string;
  templates: TemplateRow[];
  /** The widget settings this form does not show (none today; a newer server's): kept. */
  keep: Record<string, unknown>;
}

export const WIDGET_FIELDS = ["title", "greeting", "colour", "text_colour", "languages", "offline_message", "allowed_origins", "require_identity", "email_account_id", "prechat_fields", "business_hours"] as const;

export function emptyDraft(kind: AccountKind, queue_id = ""): AccountDraft {
  return {
    id: null,
    version: null,
    kind,
    name: "",
    queue_id,
    provider: "",
    title: "Chat with us",
    greeting: "Hi! How can we help?",
    colour: "#1f6feb",
    text_colour: "#ffffff",
    languages: "en",
    offline_message: "We are offline now. Leave a message and we will answer by email.",
    allowed_origins: "",
    require_identity: false,
    email_account_id: "",
    prechat_fields: DEFAULT_QUESTIONS.map((q) => ({ ...q })),
    hours: alwaysOpen(),
    address: "",
    smtp_host: "",
    smtp_port: "587",
    smtp_security: "starttls",
    smtp_username: "",
    smtp_password: "",
    imap_host: "",
    imap_port: "",
    imap_security: "tls",
    imap_username: "",
    imap_password: "",
    imap_mailbox: "INBOX",
    imap_after: "seen",
    auto_reply: "",
    outbound_url: "",
    phone_number_id: "",
    api_base_url: "",
    api_version: "",
    app_secret: "",
    verify_token: "",
    access_token: "",
    templates: [],
    keep: {},
  };
}

const text = (v: unknown): string => (v === null || v === undefined ? "" : String(v));
const list = (v: unknown): string => (Array.isArray(v) ? v.join(", ") : "");

/** An account as the form shows it; secrets are never known, so their fields start empty. */
export function draftOf(account: Account): AccountDraft {
  const c = account.config as Record<string, unknown>;
  const kind = account.kind as AccountKind;
  const draft = { ...emptyDraft(kind, account.queue_id), id: account.id, version: account.version, name: account.name };
  if (kind !== "email" && kind !== "chat") draft.provider = account.provider;
  if (kind === "chat") {
    const { title, greeting, colour, text_colour, languages, offline_message, allowed_origins, require_identity, email_account_id, prechat_fields, business_hours, ...keep } = c;
    return {
      ...draft,
      title: text(title),
      greeting: text(greeting),
      colour: text(colour) || draft.colour,
      text_colour: text(text_colour) || draft.text_colour,
      languages: list(languages),
      offline_message: text(offline_message),
      allowed_origins: list(allowed_origins),
      require_identity: require_identity === true,
      email_account_id: text(email_account_id),
      prechat_fields: questionsOf(prechat_fields),
      hours: hoursOf(business_hours),
      keep,
    };
  }
  const own: Partial<AccountDraft> = {};
  for (const key of Object.keys(c)) {
    if (key in draft && key !== "keep" && (typeof c[key] === "string" || typeof c[key] === "number")) (own as Record<string, string>)[key] = text(c[key]);
  }
  return { ...draft, ...own, templates: templatesOf(c.templates) };
}

const words = (s: string): string[] => [...new Set(s.split(/[\s,]+/).filter(Boolean))];
const orNull = (s: string): string | null => (s.trim() === "" ? null : s.trim());
const portOrNull = (s: string): number | null => (s.trim() === "" ? null : Number(s));

/** The body of POST /accounts (create, `secret`: the generated one for webhooks and widgets)
 * or PUT /accounts/{id} (edit): secrets left empty are not sent, so the stored ones stay. */
export function accountBody(d: AccountDraft, secret: string | null = null): Record<string, unknown> {
  const common: Record<string, unknown> = { kind: d.kind, name: d.name.trim(), queue_id: d.queue_id };
  if (d.id !== null) common.version = d.version;
  const secrets = (names: (keyof AccountDraft)[]) =>
    Object.fromEntries(names.filter((n) => String(d[n]) !== "").map((n) => [n, d[n]]));
  if (d.kind === "chat") {
    return {
      ...common,
      ...(secret ? { secret } : {}),
      widget: {
        ...d.keep,
        title: d.title,
        greeting: d.greeting,
        colour: d.colour,
        text_colour: d.text_colour,
        languages: words(d.languages),
        offline_message: d.offline_message,
        allowed_origins: words(d.allowed_origins),
        require_identity: d.require_identity,
        email_account_id: d.email_account_id || null,
        prechat_fields: questionsBody(d.prechat_fields),
        business_hours: hoursBody(d.hours),
      },
    };
  }
  if (d.kind === "email") {
    return {
      ...common,
      address: d.address.trim(),
      smtp_host: d.smtp_host.trim(),
      smtp_port: portOrNull(d.smtp_port) ?? 587,
      smtp_security: d.smtp_security,
      smtp_username: orNull(d.smtp_username),
      imap_host: orNull(d.imap_host),
      imap_port: portOrNull(d.imap_port),
      imap_security: d.imap_security,
      imap_username: orNull(d.imap_username),
      imap_mailbox: d.imap_mailbox.trim() || "INBOX",
      imap_after: d.imap_after,
      auto_reply: orNull(d.auto_reply),
      ...secrets(["smtp_password", "imap_password"]),
    };
  }
  const provider = orNull(d.provider);
  if (d.kind === "webhook") {
    return { ...common, provider, outbound_url: d.outbound_url.trim(), ...(secret ? { secret } : {}) };
  }
  return {
    ...common,
    provider,
    phone_number_id: d.phone_number_id.trim(),
    api_base_url: orNull(d.api_base_url),
    api_version: orNull(d.api_version),
    templates: templatesBody(d.templates),
    ...secrets(["app_secret", "verify_token", "access_token"]),
  };
}

/** The form field an API refusal names: the body's kind tag and the widget's prefix dropped
 * ("chat.widget.colour" and "widget.colour" are the form's "colour"). */
export function accountField(path: string): string {
  return path.replace(/^(chat|email|webhook|whatsapp)\./, "").replace(/^widget\./, "");
}

/** The kind's secret that rotating replaces (none for email: its passwords are the mail
 * server's, changed by editing). */
export function rotatable(kind: string): boolean {
  return kind === "webhook" || kind === "chat" || kind === "whatsapp";
}
