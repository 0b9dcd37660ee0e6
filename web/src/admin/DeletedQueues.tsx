import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { formatDateTime, t } from "../i18n";
import { errorsOf, FormError, type Errors } from "./Problem";

type Deleted = Schemas["DeletedQueue"];

/** Queues that were deleted, each restored from its last version (the API adds it again as a
 * new version; its history goes on). Shown only when there are some. */
export function DeletedQueues({ onRestored }: { onRestored: (id: string, version: number) => void }) {
  const [deleted, setDeleted] = useState<Deleted[]>([]);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const reload = async () => setDeleted(await ok(api.GET("/api/v1/routing/deleted-queues")));
  useEffect(() => void reload().catch((e) => setErrors(errorsOf(e))), []);

  async function restore(q: Deleted) {
    setBusy(true);
    setErrors({});
    try {
      const saved = await ok(
        api.POST("/api/v1/routing/queues/{queue_id}/versions/{version}/restore", {
          params: { path: { queue_id: q.id, version: q.version } },
          body: { version: q.version },
        }),
      );
      onRestored(q.id, saved.version);
    } catch (e) {
      setErrors(errorsOf(e));
      await reload().catch(() => undefined);
    } finally {
      setBusy(false);
    }
  }

  if (deleted.length === 0 && !errors[""]) return null;
  return (
    <section aria-labelledby="admin-deleted-queues-title" data-testid="deleted-queues">
      <h3 id="admin-deleted-queues-title">{t("admin.queues.deleted.title")}</h3>
      <table>
        <caption class="visually-hidden">{t("admin.queues.deleted.title")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.queues.id")}</th>
            <th scope="col">{t("admin.queues.name")}</th>
            <th scope="col">{t("admin.queues.deleted.when")}</th>
            <th scope="col">{t("admin.queues.deleted.who")}</th>
            <th scope="col">{t("admin.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {deleted.map((q) => (
            <tr key={q.id} data-deleted-queue={q.id}>
              <td>{q.id}</td>
              <td>{q.name}</td>
              <td>{formatDateTime(q.deleted_at)}</td>
              <td>{q.actor.name ?? q.actor.username ?? t("admin.history.system")}</td>
              <td>
                <button type="button" disabled={busy} onClick={() => void restore(q)}>
                  {t("admin.queues.deleted.restore", { name: q.name || q.id, version: q.version })}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <FormError errors={errors} />
    </section>
  );
}
