import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { useDeskContext } from "../context";
import { useNow } from "../hooks";
import { formatDuration, formatTime, startOfToday, t } from "../i18n";
import type { EventMessage } from "../realtime/types";
import { stateLabel } from "./StatePicker";
import { TodayTally } from "./today";

const MAX_PAGES = 50;

/** Today's handled contacts, handle time and state time line, from routing's events. */
export function Dashboard() {
  const { user, store } = useDeskContext();
  const now = useNow(5000);
  const dayStart = useMemo(() => startOfToday().getTime(), []);
  const tally = useMemo(() => new TodayTally(user.id, dayStart), [user.id, dayStart]);
  const [, setRevision] = useState(0);
  const [partial, setPartial] = useState(false);

  useEffect(() => {
    const bump = () => setRevision((r) => r + 1);
    const off = store.onEvent((message: EventMessage) => {
      tally.add(message);
      bump();
    });
    (async () => {
      // Page through the log from midnight until a page reads nothing more.
      let after: number | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const query = after === undefined ? { since: new Date(dayStart).toISOString(), limit: 1000 } : { after, limit: 1000 };
        const found = await ok(api.GET("/api/v1/events", { params: { query } }));
        for (const event of found.events) tally.add(event as unknown as EventMessage);
        bump();
        if (found.last_event_id === after) return;
        after = found.last_event_id;
      }
      setPartial(true);
    })().catch(() => setPartial(true));
    return off;
  }, [tally]);

  const today = tally.today;
  const span = Math.max(1, now - dayStart);
  return (
    <section class="dashboard" aria-labelledby="dashboard-title" data-testid="dashboard">
      <h2 id="dashboard-title">{t("dashboard.title")}</h2>
      <p class="source">{t("dashboard.source")}</p>
      {partial && <p class="notice">{t("dashboard.partial")}</p>}
      <dl class="figures">
        <div>
          <dt>{t("dashboard.handled")}</dt>
          <dd data-testid="handled">{today.handled}</dd>
        </div>
        <div>
          <dt>{t("dashboard.handleTime")}</dt>
          <dd>{formatDuration(today.handleSeconds)}</dd>
        </div>
        <div>
          <dt>{t("dashboard.average")}</dt>
          <dd>{today.handled ? formatDuration(today.handleSeconds / today.handled) : "—"}</dd>
        </div>
      </dl>
      <div class="timeline" aria-hidden="true">
        {today.segments.map((s, i) => (
          <span
            key={i}
            class={`segment state-${s.state}`}
            style={{ left: `${((s.from - dayStart) / span) * 100}%`, width: `${(((s.to ?? now) - s.from) / span) * 100}%` }}
          />
        ))}
      </div>
      <table class="timeline-table">
        <caption>{t("dashboard.timeline")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("dashboard.from")}</th>
            <th scope="col">{t("dashboard.state")}</th>
            <th scope="col">{t("dashboard.duration")}</th>
          </tr>
        </thead>
        <tbody>
          {today.segments.slice(-8).reverse().map((s, i) => (
            <tr key={i}>
              <td>{formatTime(s.from)}</td>
              <td>{stateLabel(s)}</td>
              <td>{formatDuration(((s.to ?? now) - s.from) / 1000)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
