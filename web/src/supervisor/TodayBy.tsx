import { useDeskContext } from "../context";
import { useDesk, useNow } from "../hooks";
import { formatDuration, t } from "../i18n";
import { agentToday, secondsIn, shownAt } from "../realtime/analytics";
import { percent } from "./today";

/** Today's figures by channel and by team, as the server pushes them (the snapshot's
 * `analytics.channels` and `analytics.teams`, then `analytics.channel_figures` and
 * `analytics.team_figures` events: docs/kpis.md, "Live figures"). Channel figures are sent to
 * admins only (a channel's count is over every queue); a supervisor sees their teams. Rows are
 * the channels and teams with figures; looked at again each minute (a new day starts empty). */
export function TodayBy() {
  const { store, user } = useDeskContext();
  useDesk(store);
  const now = useNow(60_000);
  const channels = Object.values(store.state?.analytics.channels ?? {}).sort((a, b) => a.channel.localeCompare(b.channel));
  const names = store.state?.directory.teams ?? {};
  const name = (id: string) => names[id]?.name ?? id;
  const teams = Object.values(store.state?.analytics.teams ?? {}).sort((a, b) => name(a.team_id).localeCompare(name(b.team_id)));
  return (
    <>
      {user.role === "admin" && (
        <section class="today-by" aria-labelledby="today-channels-title">
          <h3 id="today-channels-title">{t("today.byChannel")}</h3>
          {channels.length === 0 ? (
            <p class="empty">{t("today.noneYet")}</p>
          ) : (
            <table data-testid="today-channels">
              <thead>
                <tr>
                  <th scope="col">{t("today.channel")}</th>
                  <th scope="col">{t("today.offered")}</th>
                  <th scope="col">{t("today.answered")}</th>
                  <th scope="col">{t("today.abandoned")}</th>
                  <th scope="col">{t("today.serviceLevel")}</th>
                  <th scope="col">{t("today.serviceLevel30")}</th>
                  <th scope="col">{t("today.asa")}</th>
                  <th scope="col">{t("today.aht")}</th>
                </tr>
              </thead>
              <tbody>
                {channels.map((c) => {
                  const { today, last30 } = shownAt(c, now);
                  return (
                    <tr key={c.channel} data-channel={c.channel}>
                      <th scope="row">{t(`channel.${c.channel}`, { defaultValue: c.channel })}</th>
                      <td data-kpi="offered">{today?.sums.offered ?? 0}</td>
                      <td data-kpi="answered">{today?.sums.answered ?? 0}</td>
                      <td data-kpi="abandoned">{today?.sums.abandoned ?? 0}</td>
                      <td data-kpi="service_level">{percent(today?.kpis.service_level)}</td>
                      <td data-kpi="service_level_30m">{percent(last30?.service_level)}</td>
                      <td data-kpi="asa">{seconds(today?.kpis.asa_seconds)}</td>
                      <td data-kpi="aht">{seconds(today?.kpis.aht_seconds)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </section>
      )}
      <section class="today-by" aria-labelledby="today-teams-title">
        <h3 id="today-teams-title">{t("today.byTeam")}</h3>
        {teams.length === 0 ? (
          <p class="empty">{t("today.noneYet")}</p>
        ) : (
          <table data-testid="today-teams">
            <thead>
              <tr>
                <th scope="col">{t("today.team")}</th>
                <th scope="col">{t("today.handled")}</th>
                <th scope="col">{t("today.aht")}</th>
                <th scope="col">{t("today.occupancy")}</th>
                <th scope="col">{t("today.available")}</th>
                <th scope="col">{t("today.onContacts")}</th>
                <th scope="col">{t("today.away")}</th>
              </tr>
            </thead>
            <tbody>
              {teams.map((team) => {
                const today = agentToday(team, now);
                const sum = (states: string[]) => secondsIn(today, states);
                return (
                  <tr key={team.team_id} data-team={team.team_id}>
                    <th scope="row">{name(team.team_id)}</th>
                    <td data-kpi="handled">{today?.sums.handled ?? 0}</td>
                    <td data-kpi="aht">{seconds(today?.kpis.aht_seconds)}</td>
                    <td data-kpi="occupancy">{percent(today?.kpis.occupancy)}</td>
                    <td data-kpi="available">{formatDuration(sum(["available"]))}</td>
                    <td data-kpi="on_contacts">{formatDuration(sum(["busy", "wrap_up"]))}</td>
                    <td data-kpi="away">{formatDuration(sum(["away"]))}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function seconds(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : formatDuration(value);
}
