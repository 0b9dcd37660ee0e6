import { Fragment, type JSX } from "preact";
import type { Schemas } from "../api/client";
import { t } from "../i18n";
import { type AccountDraft, type AccountKind, KINDS } from "./channels";
import { FieldError, OtherErrors, type Errors } from "./Problem";
import { HoursEditor, QuestionsEditor, TemplatesEditor } from "./WidgetSettings";

type Account = Schemas["AccountOut"];

const SHOWN: Record<AccountKind, string[]> = {
  chat: ["title", "greeting", "colour", "text_colour", "languages", "offline_message", "allowed_origins", "require_identity", "email_account_id", "prechat_fields", "business_hours"],
  email: ["address", "smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_password", "imap_host", "imap_port", "imap_security", "imap_username", "imap_password", "imap_mailbox", "imap_after", "auto_reply"],
  webhook: ["provider", "outbound_url"],
  whatsapp: ["provider", "phone_number_id", "api_base_url", "api_version", "app_secret", "verify_token", "access_token", "templates"],
};
const COMMON = ["kind", "name", "queue_id", "version"];
const LISTS = ["prechat_fields", "business_hours", "templates"];
// Which fields are secrets (write-only: typed to set or change, never shown back).
const SECRET_FIELDS = new Set(["smtp_password", "imap_password", "app_secret", "verify_token", "access_token"]);

interface Props {
  draft: AccountDraft;
  setDraft: (d: AccountDraft) => void;
  errors: Errors;
  busy: boolean;
  queues: string[];
  emailAccounts: Account[];
  secretsSet: string[];
  onSubmit: () => void;
  onCancel: () => void;
}

/** One form for every kind of channel account: the kind's own fields, secrets write-only. */
export function AccountForm({ draft, setDraft, errors: all, busy, queues, emailAccounts, secretsSet, onSubmit, onCancel }: Props) {
  // A plain field's part ("languages.1") is told on the field; the lists' rows on their rows.
  const errors = Object.fromEntries(Object.entries(all).map(([k, v]) => [LISTS.includes(k.split(".")[0]) ? k : k.split(".")[0], v]));
  const value = (name: keyof AccountDraft) => (e: Event) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value });
  const field = (name: keyof AccountDraft, input: { type?: "email" | "url" | "number"; required?: boolean; min?: number; max?: number; inputMode?: "numeric" } = {}) => {
    const secret = SECRET_FIELDS.has(name);
    const set = secretsSet.includes(name);
    // One input for every field: its type chosen at run time (preact types each type apart).
    const attributes = {
      type: secret ? "password" : "text",
      autoComplete: secret ? "new-password" : "off",
      value: String(draft[name]),
      onInput: value(name),
      "aria-invalid": !!errors[name],
      "aria-describedby": secret ? `account-${name}-error account-${name}-state` : `account-${name}-error`,
      ...input,
    } as JSX.IntrinsicElements["input"];
    return (
      <Fragment key={name}>
        <label>
          {t(`admin.channels.field.${name}`)}
          <input {...attributes} />
          <FieldError id={`account-${name}-error`} errors={errors} name={name} />
        </label>
        {secret && (
          <span id={`account-${name}-state`} class="muted">
            {set ? t("admin.channels.secretSet") : t("admin.channels.secretNotSet")}
          </span>
        )}
      </Fragment>
    );
  };
  const choice = (name: keyof AccountDraft, options: string[]) => (
    <label key={name}>
      {t(`admin.channels.field.${name}`)}
      <select value={String(draft[name])} onChange={value(name)} aria-invalid={!!errors[name]} aria-describedby={`account-${name}-error`}>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
      <FieldError id={`account-${name}-error`} errors={errors} name={name} />
    </label>
  );
  const isNew = draft.id === null;
  const colour = (name: "colour" | "text_colour") => (
    <label key={name}>
      {t(`admin.channels.field.${name}`)}
      <span class="inline">
        <input type="color" value={/^#[0-9a-fA-F]{6}$/.test(draft[name]) ? draft[name] : "#000000"} onInput={value(name)} aria-label={t(`admin.channels.field.${name}`)} />
        <input type="text" value={draft[name]} onInput={value(name)} aria-invalid={!!errors[name]} aria-describedby={`account-${name}-error`} aria-label={t("admin.channels.hexOf", { what: t(`admin.channels.field.${name}`) })} />
      </span>
      <FieldError id={`account-${name}-error`} errors={errors} name={name} />
    </label>
  );

  return (
    <form
      class="admin-form"
      aria-labelledby="admin-account-form-title"
      data-testid="account-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      <h3 id="admin-account-form-title">{isNew ? t("admin.channels.newAccount") : t("admin.channels.editTitle", { name: draft.name, version: draft.version ?? "" })}</h3>
      <label>
        {t("admin.channels.field.kind")}
        <select value={draft.kind} disabled={!isNew} aria-describedby="account-kind-error" onChange={(e) => setDraft({ ...draft, kind: (e.target as HTMLSelectElement).value as AccountKind })}>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {t(`admin.channels.kind.${k}`)}
            </option>
          ))}
        </select>
        <FieldError id="account-kind-error" errors={errors} name="kind" />
      </label>
      <p class="muted">{t(`admin.channels.kindHelp.${draft.kind}`)}</p>
      {field("name", { required: true })}
      <label>
        {t("admin.channels.field.queue_id")}
        <select value={draft.queue_id} onChange={value("queue_id")} aria-invalid={!!errors.queue_id} aria-describedby="account-queue_id-error" required>
          <option value="">{t("admin.channels.chooseQueue")}</option>
          {queues.map((q) => (
            <option key={q} value={q}>
              {q}
            </option>
          ))}
        </select>
        <FieldError id="account-queue_id-error" errors={errors} name="queue_id" />
      </label>
      {draft.kind === "chat" && (
        <fieldset>
          <legend>{t("admin.channels.widgetLook")}</legend>
          {field("title")}
          <label>
            {t("admin.channels.field.greeting")}
            <textarea rows={2} value={draft.greeting} onInput={value("greeting")} aria-invalid={!!errors.greeting} aria-describedby="account-greeting-error" />
            <FieldError id="account-greeting-error" errors={errors} name="greeting" />
          </label>
          {colour("colour")}
          {colour("text_colour")}
          {field("languages")}
          <label>
            {t("admin.channels.field.offline_message")}
            <textarea rows={2} value={draft.offline_message} onInput={value("offline_message")} aria-invalid={!!errors.offline_message} aria-describedby="account-offline_message-error" />
            <FieldError id="account-offline_message-error" errors={errors} name="offline_message" />
          </label>
          <QuestionsEditor value={draft.prechat_fields} onChange={(prechat_fields) => setDraft({ ...draft, prechat_fields })} errors={errors} />
          <HoursEditor value={draft.hours} onChange={(hours) => setDraft({ ...draft, hours })} errors={errors} />
          {field("allowed_origins")}
          <label class="inline">
            <input type="checkbox" checked={draft.require_identity} onChange={(e) => setDraft({ ...draft, require_identity: (e.target as HTMLInputElement).checked })} />
            {t("admin.channels.field.require_identity")}
          </label>
          <label>
            {t("admin.channels.field.email_account_id")}
            <select value={draft.email_account_id} onChange={value("email_account_id")} aria-invalid={!!errors.email_account_id} aria-describedby="account-email_account_id-error">
              <option value="">{t("admin.channels.noEmailAccount")}</option>
              {emailAccounts.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name} ({String((a.config as Record<string, unknown>).address ?? "")})
                </option>
              ))}
            </select>
            <FieldError id="account-email_account_id-error" errors={errors} name="email_account_id" />
          </label>
        </fieldset>
      )}
      {draft.kind === "email" && (
        <>
          {field("address", { type: "email", required: true })}
          <fieldset>
            <legend>{t("admin.channels.smtp")}</legend>
            {field("smtp_host", { required: true })}
            {field("smtp_port", { type: "number", min: 1, max: 65535 })}
            {choice("smtp_security", ["starttls", "tls", "none"])}
            {field("smtp_username")}
            {field("smtp_password")}
          </fieldset>
          <fieldset>
            <legend>{t("admin.channels.imap")}</legend>
            <p class="muted">{t("admin.channels.imapHelp")}</p>
            {field("imap_host")}
            {field("imap_port", { type: "number", min: 1, max: 65535 })}
            {choice("imap_security", ["tls", "none"])}
            {field("imap_username")}
            {field("imap_password")}
            {field("imap_mailbox")}
            {choice("imap_after", ["seen", "delete"])}
          </fieldset>
          <label>
            {t("admin.channels.field.auto_reply")}
            <textarea rows={2} value={draft.auto_reply} onInput={value("auto_reply")} aria-invalid={!!errors.auto_reply} aria-describedby="account-auto_reply-error" />
            <FieldError id="account-auto_reply-error" errors={errors} name="auto_reply" />
          </label>
        </>
      )}
      {draft.kind === "webhook" && (
        <>
          {field("provider")}
          {field("outbound_url", { type: "url", required: true })}
          {isNew && <p class="muted">{t("admin.channels.secretGenerated")}</p>}
        </>
      )}
      {draft.kind === "whatsapp" && (
        <>
          {field("provider")}
          {field("phone_number_id", { required: true, inputMode: "numeric" })}
          {field("api_base_url")}
          {field("api_version")}
          {field("app_secret", { required: isNew })}
          {field("verify_token", { required: isNew })}
          {field("access_token", { required: isNew })}
          <TemplatesEditor value={draft.templates} onChange={(templates) => setDraft({ ...draft, templates })} errors={errors} />
        </>
      )}
      {/* A row's refusal ("templates.0.name") is shown on its row. */}
      <OtherErrors errors={errors} shown={(n) => COMMON.includes(n) || SHOWN[draft.kind].some((f) => n === f || n.startsWith(`${f}.`))} />
      <div class="inline">
        <button type="submit" class="primary" disabled={busy}>
          {isNew ? t("admin.channels.create") : t("admin.save")}
        </button>
        <button type="button" onClick={onCancel}>
          {t("admin.cancel")}
        </button>
      </div>
    </form>
  );
}
