import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { t } from "../i18n";
import { AccountForm } from "./AccountForm";
import { type AccountDraft, type AccountKind, accountBody, accountField, draftOf, emptyDraft, randomSecret, rotatable, widgetSnippet } from "./channels";
import { FieldError, FormError, OtherErrors, type Errors } from "./Problem";
import { CopyField, SecretOnce } from "./SecretOnce";
import { sectionErrors } from "./sectionErrors";

type Account = Schemas["AccountOut"];
type Settings = Schemas["ChannelSettingsOut"];
interface Shown {
  account: string;
  name: string;
  value: string;
}
const CONFLICT = "admin.channels.conflict";

/** Channels: the tenant's channel settings, and its channel accounts — chat widgets (look and
 * the snippet to copy), email addresses and mailboxes, messaging webhooks. Secrets are
 * write-only: a new webhook or widget secret is made in the browser and shown once; a rotated
 * one is shown once; passwords are typed to set or change and never shown back. */
export function Channels() {
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [queues, setQueues] = useState<string[]>([]);
  const [draft, setDraft] = useState<AccountDraft | null>(null);
  const [shown, setShown] = useState<Shown | null>(null);
  const [snippetOf, setSnippetOf] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const newButton = useRef<HTMLButtonElement>(null);

  async function attempt(fn: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setErrors({});
    try {
      await fn();
      const [accs, qs] = await Promise.all([ok(api.GET("/api/v1/channels/accounts")), ok(api.GET("/api/v1/routing/queues"))]);
      setAccounts(accs);
      setQueues(qs.map((q) => q.definition.id));
      return true;
    } catch (e) {
      setErrors(sectionErrors(e, CONFLICT, accountField));
      return false;
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => void attempt(async () => {}), []);

  async function save(d: AccountDraft) {
    if (d.id === null) {
      // Webhooks and widgets get a secret made here, shown once after the save.
      const secret = d.kind === "webhook" || d.kind === "chat" ? randomSecret() : null;
      const body = accountBody(d, secret) as Schemas["AccountIn"];
      const created = await ok(api.POST("/api/v1/channels/accounts", { body }));
      if (secret) setShown({ account: created.name, name: "secret", value: secret });
      if (created.kind === "chat") setSnippetOf(created.id);
    } else {
      const body = accountBody(d) as Schemas["AccountUpdate"];
      await ok(api.PUT("/api/v1/channels/accounts/{account_id}", { params: { path: { account_id: d.id } }, body }));
    }
  }

  async function rotate(a: Account) {
    const rotated = await ok(api.POST("/api/v1/channels/accounts/{account_id}/rotate-secret", { params: { path: { account_id: a.id } } }));
    setShown({ account: a.name, name: rotated.name, value: rotated.value });
  }

  async function setActive(a: Account, active: boolean) {
    const path = { account_id: a.id };
    if (!active) await ok(api.DELETE("/api/v1/channels/accounts/{account_id}", { params: { path } }));
    else await ok(api.PUT("/api/v1/channels/accounts/{account_id}", { params: { path }, body: { ...accountBody(draftOf(a)), active: true } as Schemas["AccountUpdate"] }));
  }

  const snippetAccount = accounts.find((a) => a.id === snippetOf);
  const editing = draft?.id ? accounts.find((a) => a.id === draft.id) : undefined;
  return (
    <section aria-labelledby="admin-channels-title" data-testid="admin-channels">
      <h2 id="admin-channels-title">{t("admin.channels.title")}</h2>
      <ChannelSettingsForm />
      <h3 id="admin-accounts-title">{t("admin.channels.accounts")}</h3>
      <p class="muted">{t("admin.channels.accountsHelp")}</p>
      {shown && (
        <SecretOnce
          title={t("admin.channels.secretTitle", { name: shown.account })}
          label={t(`admin.channels.field.${shown.name}`)}
          value={shown.value}
          onDone={() => {
            setShown(null);
            newButton.current?.focus();
          }}
        />
      )}
      <table aria-labelledby="admin-accounts-title">
        <thead>
          <tr>
            <th scope="col">{t("admin.channels.field.name")}</th>
            <th scope="col">{t("admin.channels.field.kind")}</th>
            <th scope="col">{t("admin.channels.field.queue_id")}</th>
            <th scope="col">{t("admin.channels.where")}</th>
            <th scope="col">{t("admin.channels.secrets")}</th>
            <th scope="col">{t("admin.users.status")}</th>
            <th scope="col">{t("admin.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {accounts.length === 0 && (
            <tr>
              <td colSpan={7} class="muted">
                {t("admin.channels.none")}
              </td>
            </tr>
          )}
          {accounts.map((a) => (
            <tr key={a.id} data-account={a.name}>
              <td>{a.name}</td>
              <td>{t(`admin.channels.kind.${a.kind}`)}</td>
              <td>{a.queue_id}</td>
              <td>{a.kind === "email" ? String((a.config as Record<string, unknown>).address ?? "") : a.webhook_url && a.kind !== "chat" ? <code>{location.origin + a.webhook_url}</code> : ""}</td>
              <td>{a.secrets_set.length ? a.secrets_set.map((s) => t(`admin.channels.field.${s}`)).join(", ") : t("admin.channels.noSecrets")}</td>
              <td>{a.active ? t("admin.users.active") : t("admin.users.inactive")}</td>
              <td class="inline wrap">
                <button type="button" onClick={() => { setErrors({}); setDraft(draftOf(a)); }}>
                  {t("admin.edit", { name: a.name })}
                </button>
                {a.kind === "chat" && (
                  <button type="button" aria-expanded={snippetOf === a.id} onClick={() => setSnippetOf(snippetOf === a.id ? null : a.id)}>
                    {t("admin.channels.snippetOf", { name: a.name })}
                  </button>
                )}
                {rotatable(a.kind) && confirming !== a.id && (
                  <button type="button" disabled={busy || !a.active} onClick={() => setConfirming(a.id)}>
                    {t("admin.channels.rotate", { name: a.name })}
                  </button>
                )}
                {confirming === a.id && (
                  <Confirm
                    question={t("admin.channels.confirmRotate", { name: a.name })}
                    yes={t("admin.channels.rotateYes", { name: a.name })}
                    busy={busy}
                    onCancel={() => setConfirming(null)}
                    onConfirm={() => void attempt(() => rotate(a)).then(() => setConfirming(null))}
                  />
                )}
                <button type="button" class={a.active ? "danger" : undefined} disabled={busy} onClick={() => void attempt(() => setActive(a, !a.active))}>
                  {a.active ? t("admin.users.deactivate", { name: a.name }) : t("admin.users.reactivate", { name: a.name })}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {snippetAccount && (
        <div class="notice" role="region" aria-labelledby="widget-snippet-title" data-testid="widget-snippet-box">
          <h3 id="widget-snippet-title">{t("admin.channels.snippetTitle", { name: snippetAccount.name })}</h3>
          <p>{t("admin.channels.snippetHelp")}</p>
          <CopyField label={t("admin.channels.snippet")} value={widgetSnippet(location.origin, snippetAccount.id)} testId="widget-snippet" multiline />
        </div>
      )}
      {draft === null ? (
        <button type="button" ref={newButton} onClick={() => { setErrors({}); setDraft(emptyDraft("chat" as AccountKind, queues[0] ?? "")); }}>
          {t("admin.channels.newAccount")}
        </button>
      ) : (
        <AccountForm
          draft={draft}
          setDraft={setDraft}
          errors={errors}
          busy={busy}
          queues={queues}
          emailAccounts={accounts.filter((a) => a.kind === "email" && a.active)}
          secretsSet={editing?.secrets_set ?? []}
          onCancel={() => setDraft(null)}
          onSubmit={() => void attempt(() => save(draft)).then((done) => done && setDraft(null))}
        />
      )}
      <FormError errors={errors} />
    </section>
  );
}

function Confirm({ question, yes, busy, onConfirm, onCancel }: { question: string; yes: string; busy: boolean; onConfirm: () => void; onCancel: () => void }) {
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  return (
    <span role="group" aria-label={question} class="inline">
      <span>{question}</span>
      <button type="button" class="danger" ref={first} disabled={busy} onClick={onConfirm}>
        {yes}
      </button>
      <button type="button" onClick={onCancel}>
        {t("admin.cancel")}
      </button>
    </span>
  );
}

interface SettingsDraft {
  languages: string;
  attachment_max_bytes: string;
  attachment_types: string;
}
const SETTINGS_SHOWN = new Set(["languages", "attachment_max_bytes", "attachment_types"]);
const splitWords = (s: string) => [...new Set(s.split(/[\s,]+/).filter(Boolean))];

/** The languages detection chooses among and the attachment limits of every channel. */
function ChannelSettingsForm() {
  const [draft, setDraft] = useState<SettingsDraft | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const show = (s: Settings) =>
    setDraft({ languages: s.languages.join(", "), attachment_max_bytes: String(s.attachment_max_bytes), attachment_types: s.attachment_types.join(", ") });
  useEffect(() => {
    ok(api.GET("/api/v1/channels/settings")).then(show, (e) => setErrors(sectionErrors(e, CONFLICT)));
  }, []);
  if (draft === null) return <FormError errors={errors} />;
  const set = (name: keyof SettingsDraft) => (e: Event) => {
    setSaved(false);
    setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value });
  };
  // The API names a list's element ("languages.1"): shown on the list's field.
  const onList = (errs: Errors) => Object.fromEntries(Object.entries(errs).map(([k, v]) => [k.replace(/\.\d+$/, ""), v]));
  return (
    <form
      class="admin-form"
      aria-labelledby="admin-channel-settings-title"
      data-testid="channel-settings"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        setErrors({});
        const body = { languages: splitWords(draft.languages) as Schemas["ChannelSettingsIn"]["languages"], attachment_max_bytes: Number(draft.attachment_max_bytes), attachment_types: splitWords(draft.attachment_types) };
        ok(api.PUT("/api/v1/channels/settings", { body }))
          .then((s) => {
            show(s);
            setSaved(true);
          })
          .catch((err: unknown) => setErrors(onList(sectionErrors(err, CONFLICT, (f) => f.replace(/\[(\d+)\]$/, ".$1")))))
          .finally(() => setBusy(false));
      }}
    >
      <h3 id="admin-channel-settings-title">{t("admin.channels.settings")}</h3>
      {(["languages", "attachment_max_bytes", "attachment_types"] as const).map((name) => (
        <label key={name}>
          {t(`admin.channels.settingsField.${name}`)}
          <input
            {...({
              type: name === "attachment_max_bytes" ? "number" : "text",
              value: draft[name],
              onInput: set(name),
              "aria-invalid": !!errors[name],
              "aria-describedby": `channel-${name}-error`,
            } as JSX.IntrinsicElements["input"])}
          />
          <FieldError id={`channel-${name}-error`} errors={errors} name={name} />
        </label>
      ))}
      <OtherErrors errors={errors} shown={(n) => SETTINGS_SHOWN.has(n)} />
      <div class="inline">
        <button type="submit" class="primary" disabled={busy}>
          {t("admin.channels.saveSettings")}
        </button>
        <span role="status">{saved ? t("admin.saved") : ""}</span>
      </div>
      <FormError errors={errors} />
    </form>
  );
}
