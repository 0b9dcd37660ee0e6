import { useEffect, useState } from "preact/hooks";
import { api, ApiError, ok, type Schemas } from "../api/client";
import { language, t, timeZone } from "../i18n";
import { diffDefinitions, shown } from "./diff";
import { errorsOf, FormError, type Errors } from "./Problem";

type FlowOut = Schemas["FlowOut"];
type Version = FlowOut["versions"][number];
type Detail = Schemas["FlowVersionOut"];

function when(value: string): string {
  return new Intl.DateTimeFormat(language(), { dateStyle: "short", timeStyle: "medium", timeZone: timeZone() }).format(new Date(value));
}

function who(v: Version): string {
  if (!v.created_by) return t("admin.history.system");
  return v.created_by_name || t("admin.history.removedUser");
}

interface Props {
  flowId: string;
  /** The flow's version as the caller last saw it: a restore names it (409 when stale). */
  current: number | null;
  onRestored: (from: number, saved: FlowOut) => void;
  onClose: () => void;
}

/** A flow's History, as a queue's (QueueHistory): every version with who and when, two
 * versions compared field by field (nodes.menu.options.1 …), and a restore with confirmation
 * that saves an old version as a new one on the version shown. */
export function IvrFlowHistory({ flowId, current, onRestored, onClose }: Props) {
  const [flow, setFlow] = useState<FlowOut | null>(null);
  const [details, setDetails] = useState<Record<number, Detail>>({});
  const [older, setOlder] = useState<number | null>(null);
  const [newer, setNewer] = useState<number | null>(null);
  const [onlyChanges, setOnlyChanges] = useState(true);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [conflict, setConflict] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [seen, setSeen] = useState(current);
  const path = { flow_id: flowId };

  async function load() {
    const view = await ok(api.GET("/api/v1/voice/flows/{flow_id}", { params: { path } }));
    setFlow(view);
    const numbers = view.versions.map((v) => v.version);
    setNewer(numbers[numbers.length - 1] ?? null);
    setOlder(numbers.length > 1 ? numbers[numbers.length - 2] : (numbers[0] ?? null));
    return view;
  }
  useEffect(() => {
    if (current !== null) setSeen(current);
    void load().catch((e) => setErrors(errorsOf(e)));
  }, [flowId, current]);

  useEffect(() => {
    for (const n of [older, newer]) {
      if (n === null || details[n]) continue;
      ok(api.GET("/api/v1/voice/flows/{flow_id}/versions/{version}", { params: { path: { ...path, version: n } } }))
        .then((d) => setDetails((now) => ({ ...now, [n]: d })))
        .catch((e) => setErrors(errorsOf(e)));
    }
  }, [older, newer]);

  async function reload() {
    setConflict(false);
    setErrors({});
    setSeen((await load()).version);
  }

  async function restore(n: number) {
    setBusy(true);
    setErrors({});
    setConflict(false);
    try {
      const saved = await ok(api.POST("/api/v1/voice/flows/{flow_id}/versions/{version}/restore", { params: { path: { ...path, version: n } }, body: { version: seen ?? 1 } }));
      setConfirming(null);
      setSeen(saved.version);
      await load();
      onRestored(n, saved);
    } catch (e) {
      setConfirming(null);
      if (e instanceof ApiError && e.code === "version_conflict") setConflict(true);
      else setErrors(errorsOf(e));
    } finally {
      setBusy(false);
    }
  }

  const versions = flow?.versions ?? [];
  const latest = flow?.version ?? null;
  const a = older === null ? undefined : details[older];
  const b = newer === null ? undefined : details[newer];
  const diff = a && b ? diffDefinitions(a.definition, b.definition) : [];
  const rows = onlyChanges ? diff.filter((d) => d.change !== "same") : diff;
  const title = t("admin.ivr.historyTitle", { name: flow?.name ?? "" });
  const pick = (label: string, value: number | null, set: (n: number) => void, id: string) => (
    <label>
      {label}
      <select id={id} value={value ?? ""} onChange={(e) => set(Number((e.target as HTMLSelectElement).value))}>
        {versions.map((v) => (
          <option key={v.version} value={v.version}>
            {t("admin.history.versionN", { n: v.version })}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <section class="queue-history" aria-labelledby="ivr-history-title" data-testid="ivr-history">
      <h3 id="ivr-history-title">{title}</h3>
      <table data-testid="ivr-versions">
        <caption class="visually-hidden">{title}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.queues.version")}</th>
            <th scope="col">{t("admin.history.who")}</th>
            <th scope="col">{t("admin.history.when")}</th>
            <th scope="col">{t("admin.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version} data-version={v.version} aria-current={v.version === latest ? "true" : undefined}>
              <td>{v.version === latest ? t("admin.ivr.inUse", { n: v.version }) : v.version}</td>
              <td>{who(v)}</td>
              <td>
                <time dateTime={v.created_at}>{when(v.created_at)}</time>
              </td>
              <td>
                {v.version !== latest && (
                  <button type="button" disabled={busy} onClick={() => setConfirming(v.version)}>
                    {t("admin.history.restore", { n: v.version })}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {confirming !== null && (
        <div class="confirm" role="alertdialog" aria-labelledby="ivr-restore-question" data-testid="restore-confirm">
          <p id="ivr-restore-question">{t("admin.ivr.confirmRestore", { n: confirming })}</p>
          <div class="inline">
            <button type="button" class="primary" disabled={busy} onClick={() => void restore(confirming)}>
              {t("admin.history.confirmYes", { n: confirming })}
            </button>
            <button type="button" onClick={() => setConfirming(null)}>
              {t("admin.cancel")}
            </button>
          </div>
        </div>
      )}
      {conflict && (
        <div class="error" role="alert" data-testid="restore-conflict">
          <p>{t("admin.ivr.restoreConflict")}</p>
          <button type="button" onClick={() => void reload().catch((e) => setErrors(errorsOf(e)))}>
            {t("admin.history.reload")}
          </button>
        </div>
      )}
      <FormError errors={errors} />
      {versions.length > 1 && (
        <fieldset class="inline" data-testid="history-compare">
          <legend>{t("admin.history.compare")}</legend>
          {pick(t("admin.history.older"), older, setOlder, "ivr-history-older")}
          {pick(t("admin.history.newer"), newer, setNewer, "ivr-history-newer")}
          <label class="inline">
            <input type="checkbox" checked={onlyChanges} onChange={(e) => setOnlyChanges((e.target as HTMLInputElement).checked)} />
            {t("admin.history.onlyChanges")}
          </label>
        </fieldset>
      )}
      {a && b &&
        (rows.length === 0 ? (
          <p class="muted" data-testid="history-same">
            {t("admin.ivr.same")}
          </p>
        ) : (
          <table class="diff" data-testid="history-diff">
            <caption class="visually-hidden">{t("admin.history.diffCaption", { a: older, b: newer })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("admin.history.field")}</th>
                <th scope="col">{t("admin.history.versionN", { n: older })}</th>
                <th scope="col">{t("admin.history.versionN", { n: newer })}</th>
                <th scope="col">{t("admin.history.change")}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.path} class={`diff-${d.change}`} data-field={d.path} data-change={d.change}>
                  <th scope="row">
                    <code>{d.path}</code>
                  </th>
                  <td>{d.change === "same" ? shown(d.before) : <del>{shown(d.before)}</del>}</td>
                  <td>{d.change === "same" ? shown(d.after) : <ins>{shown(d.after)}</ins>}</td>
                  <td>{t(`admin.history.changeKind.${d.change}`)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
      <button type="button" onClick={onClose}>
        {t("admin.history.close")}
      </button>
    </section>
  );
}
