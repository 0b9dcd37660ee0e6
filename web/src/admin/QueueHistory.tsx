import { useEffect, useState } from "preact/hooks";
import { api, ApiError, ok, type Schemas } from "../api/client";
import { language, t, timeZone } from "../i18n";
import { diffDefinitions, shown } from "./diff";
import { errorsOf, FormError, type Errors } from "./Problem";

type Version = Schemas["QueueVersion"];
type Detail = Schemas["QueueVersionDetail"];

function when(value: string): string {
  return new Intl.DateTimeFormat(language(), { dateStyle: "short", timeStyle: "medium", timeZone: timeZone() }).format(new Date(value));
}

function who(v: Version): string {
  if (!v.actor.user_id) return t("admin.history.system");
  return v.actor.name || v.actor.username || t("admin.history.removedUser");
}

function what(v: Version): string {
  const action = t(`admin.history.action.${v.action}`);
  return v.restored_from == null ? action : `${action} (${t("admin.history.restoredFrom", { n: v.restored_from })})`;
}

interface Props {
  queueId: string;
  /** The queue's version as the caller last saw it: a restore names it (409 when stale). */
  current: number | null;
  onRestored: (from: number, saved: number) => void;
  onClose: () => void;
}

/** A queue's History: every version with who and when, two versions compared field by field,
 * and a restore (with confirmation) that saves an old version as a new one. */
export function QueueHistory({ queueId, current, onRestored, onClose }: Props) {
  const [versions, setVersions] = useState<Version[]>([]);
  const [details, setDetails] = useState<Record<number, Detail>>({});
  const [older, setOlder] = useState<number | null>(null);
  const [newer, setNewer] = useState<number | null>(null);
  const [onlyChanges, setOnlyChanges] = useState(true);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [conflict, setConflict] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [seen, setSeen] = useState(current);
  const path = { queue_id: queueId };

  async function load() {
    const list = await ok(api.GET("/api/v1/routing/queues/{queue_id}/versions", { params: { path } }));
    setVersions(list);
    const saved = list.filter((v) => v.action !== "deleted").map((v) => v.version);
    const last = saved[saved.length - 1] ?? null;
    setNewer(last);
    setOlder(saved.length > 1 ? saved[saved.length - 2] : last);
    if (last !== null) setSeen((s) => s ?? last);
  }
  // Opened, and again whenever the queue's version changes (saved in the form meanwhile).
  useEffect(() => {
    if (current !== null) setSeen(current);
    void load().catch((e) => setErrors(errorsOf(e)));
  }, [queueId, current]);

  useEffect(() => {
    for (const n of [older, newer]) {
      if (n === null || details[n]) continue;
      ok(api.GET("/api/v1/routing/queues/{queue_id}/versions/{version}", { params: { path: { ...path, version: n } } }))
        .then((d) => setDetails((now) => ({ ...now, [n]: d })))
        .catch((e) => setErrors(errorsOf(e)));
    }
  }, [older, newer]);

  async function reload() {
    setConflict(false);
    setErrors({});
    const view = await ok(api.GET("/api/v1/routing/queues/{queue_id}", { params: { path } }));
    setSeen(view.version);
    await load();
  }

  async function restore(n: number) {
    setBusy(true);
    setErrors({});
    setConflict(false);
    try {
      const saved = await ok(
        api.POST("/api/v1/routing/queues/{queue_id}/versions/{version}/restore", {
          params: { path: { ...path, version: n } },
          body: { version: seen ?? 1 },
        }),
      );
      setConfirming(null);
      setSeen(saved.version);
      await load();
      onRestored(n, saved.version);
    } catch (e) {
      setConfirming(null);
      if (e instanceof ApiError && e.code === "version_conflict") setConflict(true);
      else setErrors(errorsOf(e));
    } finally {
      setBusy(false);
    }
  }

  const saved = versions.filter((v) => v.action !== "deleted");
  const latest = saved.length ? saved[saved.length - 1].version : null;
  const a = older === null ? undefined : details[older];
  const b = newer === null ? undefined : details[newer];
  const diff = a && b ? diffDefinitions(a.definition, b.definition) : [];
  const rows = onlyChanges ? diff.filter((d) => d.change !== "same") : diff;
  const pick = (label: string, value: number | null, set: (n: number) => void, id: string) => (
    <label>
      {label}
      <select id={id} value={value ?? ""} onChange={(e) => set(Number((e.target as HTMLSelectElement).value))}>
        {saved.map((v) => (
          <option key={v.version} value={v.version}>
            {t("admin.history.versionN", { n: v.version })}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <section class="queue-history" aria-labelledby="queue-history-title" data-testid="queue-history">
      <h3 id="queue-history-title">{t("admin.history.title", { id: queueId })}</h3>
      <table data-testid="queue-versions">
        <caption class="visually-hidden">{t("admin.history.title", { id: queueId })}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.queues.version")}</th>
            <th scope="col">{t("admin.history.what")}</th>
            <th scope="col">{t("admin.history.who")}</th>
            <th scope="col">{t("admin.history.when")}</th>
            <th scope="col">{t("admin.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={`${v.version}-${v.action}`} data-version={v.version} data-action={v.action}>
              <td>{v.version}</td>
              <td>{what(v)}</td>
              <td>{who(v)}</td>
              <td>
                <time dateTime={v.at}>{when(v.at)}</time>
              </td>
              <td>
                {v.action !== "deleted" && v.version !== latest && (
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
        <div class="confirm" role="alertdialog" aria-labelledby="queue-restore-question" data-testid="restore-confirm">
          <p id="queue-restore-question">{t("admin.history.confirm", { n: confirming })}</p>
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
          <p>{t("admin.history.conflict")}</p>
          <button type="button" onClick={() => void reload().catch((e) => setErrors(errorsOf(e)))}>
            {t("admin.history.reload")}
          </button>
        </div>
      )}
      <FormError errors={errors} />
      {saved.length > 1 && (
        <fieldset class="inline" data-testid="history-compare">
          <legend>{t("admin.history.compare")}</legend>
          {pick(t("admin.history.older"), older, setOlder, "history-older")}
          {pick(t("admin.history.newer"), newer, setNewer, "history-newer")}
          <label class="inline">
            <input type="checkbox" checked={onlyChanges} onChange={(e) => setOnlyChanges((e.target as HTMLInputElement).checked)} />
            {t("admin.history.onlyChanges")}
          </label>
        </fieldset>
      )}
      {a && b && (
        rows.length === 0 ? (
          <p class="muted" data-testid="history-same">{t("admin.history.same")}</p>
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
        )
      )}
      <button type="button" onClick={onClose}>
        {t("admin.history.close")}
      </button>
    </section>
  );
}
