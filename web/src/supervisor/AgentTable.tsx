import { useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { StateTimer, stateLabel } from "../agent/StatePicker";
import { useAction } from "../components/Action";
import { useDeskContext } from "../context";
import { useDesk, useNow } from "../hooks";
import { t } from "../i18n";
import type { AgentEntry } from "../realtime/types";
import { AssignmentEditor } from "./Assignment";
import { agentToday } from "../realtime/analytics";
import { percent } from "./today";

/** Each agent's occupancy today, as the server pushes it (docs/kpis.md "Live figures"): by
 * agent id; null for an agent without figures today. Looked at again each minute, so that
 * yesterday's last push is not shown as today's. */
function useOccupancyToday(): Record<string, number | null> {
  const { store } = useDeskContext();
  const now = useNow(60_000);
  const pushed = store.state?.analytics.agents ?? {};
  return Object.fromEntries(Object.entries(pushed).map(([id, f]) => [id, agentToday(f, now)?.kpis.occupancy ?? null]));
}

type Settable = "available" | "away" | "offline";

function AgentActions({ agent }: { agent: AgentEntry }) {
  const [state, setState] = useState<Settable>("away");
  const [editing, setEditing] = useState(false);
  const [run, busy, error] = useAction();
  const set = (to: Settable, reason: string | null) =>
    run(() =>
      ok(
        api.POST("/api/v1/routing/agents/{user_id}/state", {
          params: { path: { user_id: agent.id } },
          body: { state: to, reason },
        }),
      ),
    );
  return (
    <div class="actions">
      <label>
        <span class="visually-hidden">{t("agents.newState", { name: agent.name })}</span>
        <select value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value as Settable)}>
          <option value="available">{t("state.available")}</option>
          <option value="away">{t("state.away")}</option>
        </select>
      </label>
      <button type="button" disabled={busy} onClick={() => set(state, state === "away" ? "supervisor" : null)}>
        {t("agents.set")}
      </button>
      <button type="button" class="danger" disabled={busy || agent.state === "offline"} onClick={() => set("offline", null)}>
        {t("agents.forceOffline")}
      </button>
      <button type="button" aria-expanded={editing} onClick={() => setEditing(!editing)}>
        {t("assign.open")}
      </button>
      {error && <span class="error" role="alert">{error}</span>}
      {editing && <AssignmentEditor agent={agent} onDone={() => setEditing(false)} />}
    </div>
  );
}

export function AgentTable() {
  const { store } = useDeskContext();
  useDesk(store);
  const agents = Object.values(store.state?.routing.agents ?? {}).sort((a, b) => a.name.localeCompare(b.name));
  const occupancy = useOccupancyToday();
  return (
    <section class="agents" aria-labelledby="agents-title">
      <h2 id="agents-title">{t("agents.title")}</h2>
      {agents.length === 0 ? (
        <p class="empty">{t("agents.none")}</p>
      ) : (
        <table data-testid="agents">
          <thead>
            <tr>
              <th scope="col">{t("agents.name")}</th>
              <th scope="col">{t("agents.state")}</th>
              <th scope="col">{t("agents.inState")}</th>
              <th scope="col">{t("agents.contacts")}</th>
              <th scope="col">{t("agents.occupancy")}</th>
              <th scope="col">{t("agents.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((a) => (
              <tr key={a.id} data-agent={a.id}>
                <th scope="row">
                  {a.name}
                  <span class="agent-queues" data-testid="agent-queues">
                    {Object.keys(a.queues ?? {}).sort().join(", ")}
                  </span>
                </th>
                <td data-figure="state" data-state={a.state}>
                  {stateLabel(a)}
                </td>
                <td>
                  <StateTimer since={a.since} />
                </td>
                <td data-figure="contacts">
                  {Object.entries(a.contacts).map(([id, s]) => (
                    <span class={`chip chip-${s.state}`} key={id}>
                      {t(`channel.${s.channel}`, { defaultValue: s.channel ?? "—" })} · {s.queue_id ?? "—"} · {t(`slot.${s.state}`)}
                    </span>
                  ))}
                </td>
                <td data-kpi="occupancy">{percent(occupancy?.[a.id])}</td>
                <td>
                  <AgentActions agent={a} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
