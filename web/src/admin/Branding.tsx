import { useEffect, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { showBranding, type Branding as View } from "../branding";
import { t } from "../i18n";
import { contrastWithWhite, readableOnWhiteText } from "./contrast";
import { Field, FormError, OtherErrors, type Errors } from "./Problem";
import { sectionErrors } from "./sectionErrors";

const SHOWN = new Set(["display_name", "accent_color", "logo", "version"]);

/** The tenant's name, accent colour and logo as every header shows them. The colour must keep
 * white text readable: the contrast is shown while typing (a hint), the server decides (422 with
 * the measured ratio, shown on the field). Each save is made on the version read (409 when
 * another admin saved since). */
export function BrandingSection() {
  const [current, setCurrent] = useState<View | null>(null);
  const [name, setName] = useState("");
  const [accent, setAccent] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);

  function show(b: View) {
    setCurrent(b);
    setName(b.display_name_set ? b.display_name : "");
    setAccent(b.accent_color ?? "");
    showBranding(b); // this page's own header follows at once
  }
  useEffect(() => void ok(api.GET("/api/v1/branding")).then(show).catch((e) => setErrors(sectionErrors(e, "admin.branding.conflict"))), []);
  useEffect(() => () => void (preview && URL.revokeObjectURL(preview)), [preview]);

  async function run(work: () => Promise<View>, done: string) {
    setBusy(true);
    setErrors({});
    setStatus("");
    try {
      show(await work());
      setStatus(t(done));
      return true;
    } catch (err) {
      setErrors(sectionErrors(err, "admin.branding.conflict"));
      return false;
    } finally {
      setBusy(false);
    }
  }

  const version = current?.version ?? 1;
  const save = (e: Event) => {
    e.preventDefault();
    const body = { display_name: name.trim() || null, accent_color: accent.trim() || null, version };
    void run(() => ok(api.PUT("/api/v1/branding", { body })), "admin.branding.saved");
  };
  const upload = async () => {
    if (!file) return;
    const sent = await run(
      () =>
        ok(
          api.PUT("/api/v1/branding/logo", {
            params: { query: { version } },
            body: file as unknown as string,
            bodySerializer: (b: unknown) => b as Blob,
            headers: { "content-type": file.type || "application/octet-stream" },
          }),
        ),
      "admin.branding.logoSaved",
    );
    if (sent) {
      setFile(null);
      setPreview(null);
    }
  };
  const remove = () => void run(() => ok(api.DELETE("/api/v1/branding/logo", { params: { query: { version } } })), "admin.branding.logoRemoved");

  if (current === null) return <FormError errors={errors} />;
  const ratio = contrastWithWhite(accent.trim());
  // The preview only paints a colour white text stays readable on (an unreadable one is told
  // in words instead, so the page itself never shows unreadable text).
  const previewAccent = readableOnWhiteText(accent.trim()) ? accent.trim() : undefined;
  const shownName = name.trim() || current.display_name;
  const logo = preview ?? current.logo?.url ?? null;
  return (
    <form class="admin-form" aria-labelledby="admin-branding-title" data-testid="branding" onSubmit={save}>
      <h2 id="admin-branding-title">{t("admin.branding.title")}</h2>
      <Field id="branding-name" field="display_name" label={t("admin.branding.name")} errors={errors}>
        {(attrs) => <input {...attrs} value={name} placeholder={current.display_name} maxLength={80} onInput={(e) => setName((e.target as HTMLInputElement).value)} />}
      </Field>
      <Field id="branding-accent" field="accent_color" label={t("admin.branding.accent")} errors={errors}>
        {(attrs) => (
          <span class="inline">
            <input {...attrs} value={accent} placeholder="#0b5cad" size={9} onInput={(e) => setAccent((e.target as HTMLInputElement).value)} />
            <input type="color" aria-label={t("admin.branding.pick")} value={ratio === null ? "#0b5cad" : accent.trim()} onInput={(e) => setAccent((e.target as HTMLInputElement).value)} />
          </span>
        )}
      </Field>
      {ratio !== null && (
        <p class={previewAccent ? "source" : "notice"} data-testid="branding-contrast">
          {t(previewAccent ? "admin.branding.contrastOk" : "admin.branding.contrastLow", { ratio: ratio.toFixed(2) })}
        </p>
      )}
      <Field id="branding-logo" field="logo" label={t("admin.branding.logo")} errors={errors}>
        {(attrs) => (
          <input
            {...attrs}
            type="file"
            accept="image/png,image/jpeg,image/webp"
            onChange={(e) => {
              const picked = (e.target as HTMLInputElement).files?.[0] ?? null;
              setFile(picked);
              setPreview(picked ? URL.createObjectURL(picked) : null);
            }}
          />
        )}
      </Field>
      {logo && <img class="logo-preview" src={logo} alt={t("admin.branding.logoAlt", { name: shownName })} data-testid="branding-logo-preview" />}
      <div class="inline">
        <button type="button" disabled={busy || !file} onClick={() => void upload()}>
          {t("admin.branding.upload")}
        </button>
        {current.logo && (
          <button type="button" class="danger" disabled={busy} onClick={remove}>
            {t("admin.branding.removeLogo")}
          </button>
        )}
      </div>
      <h3 id="branding-preview-title">{t("admin.branding.preview")}</h3>
      <div class="branding-preview" aria-labelledby="branding-preview-title" role="group" data-testid="branding-preview" style={previewAccent ? { "--preview-accent": previewAccent } : undefined}>
        <div class="topbar">
          <span class="brand">
            {logo && <img class="brand-logo" src={logo} alt="" />}
            <span>{shownName}</span>
          </span>
        </div>
        <div class="preview-body">
          <button type="button" class="primary" tabIndex={-1}>
            {t("admin.branding.sample")}
          </button>
        </div>
      </div>
      <FormError errors={errors} />
      <OtherErrors errors={errors} shown={(n) => SHOWN.has(n)} />
      <div class="inline">
        <button type="submit" class="primary" disabled={busy}>
          {t("admin.branding.save")}
        </button>
        <span role="status">{status}</span>
      </div>
    </form>
  );
}
