import { useDeskContext } from "../context";
import { useDesk, useNow } from "../hooks";
import { formatDuration, t } from "../i18n";
import { lanes } from "./figures";

export function Wallboard() {
  const { store } = useDeskContext();
  useDesk(store);
  const now = useNow();
  const rows = store.state ? lanes(store.state.routing) : [];
  return (
    <section class="wallboard" aria-labelledby="wallboard-title">
      <h2 id="wallboard-title">{t("wallboard.title")}</h2>
      <p class="source">{t("wallboard.source")}</p>
      {rows.length === 0 ? (
        <p class="empty">{t("wallboard.none")}</p>
      ) : (
        <table data-testid="wallboard">
          <thead>
            <tr>
              <th scope="col">{t("wallboard.queue")}</th>
              <th scope="col">{t("wallboard.channel")}</th>
              <th scope="col">{t("wallboard.waiting")}</th>
              <th scope="col">{t("wallboard.oldest")}</th>
              <th scope="col">{t("wallboard.offered")}</th>
              <th scope="col">{t("wallboard.active")}</th>
              <th scope="col">{t("state.available")}</th>
              <th scope="col">{t("state.busy")}</th>
              <th scope="col">{t("state.wrap_up")}</th>
              <th scope="col">{t("state.away")}</th>
              <th scope="col">{t("state.offline")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.queueId}/${r.channel}`} data-queue={r.queueId} data-channel={r.channel}>
                <th scope="row">{r.queueName}</th>
                <td>{t(`channel.${r.channel}`, { defaultValue: r.channel })}</td>
                <td data-figure="waiting">{r.waiting}</td>
                <td data-figure="oldest">{r.oldestQueuedAt ? formatDuration((now - Date.parse(r.oldestQueuedAt)) / 1000) : "—"}</td>
                <td data-figure="offered">{r.offered}</td>
                <td data-figure="active">{r.active}</td>
                <td data-figure="available">{r.agents.available}</td>
                <td data-figure="busy">{r.agents.busy}</td>
                <td data-figure="wrap_up">{r.agents.wrap_up}</td>
                <td data-figure="away">{r.agents.away}</td>
                <td data-figure="offline">{r.agents.offline}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
