import { useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { useDeskContext } from "../context";
import { useLink, useNow } from "../hooks";
import { formatDuration, t } from "../i18n";
import type { AgentEntry } from "../realtime/types";
import { useAction } from "../components/Action";

export const AWAY_REASONS = ["break", "lunch", "meeting", "training", "other"] as const;

export function stateLabel(agent: Pick<AgentEntry, "state" | "reason">): string {
  const state = t(`state.${agent.state}`);
  if (agent.state !== "away" || !agent.reason) return state;
  const reason = t(`reason.${agent.reason}`, { defaultValue: agent.reason });
  return `${state} · ${reason}`;
}

/** Time in the current state, counted from routing's `since`. */
export function StateTimer({ since }: { since: string | null }) {
  const now = useNow();
  if (!since) return null;
  return (
    <time class="timer" dateTime={since}>
      {formatDuration((now - Date.parse(since)) / 1000)}
    </time>
  );
}

export function StatePicker({ agent }: { agent: AgentEntry | undefined }) {
  const { user, link } = useDeskContext();
  useLink(link);
  const [reason, setReason] = useState<string>("break");
  const [run, running, error] = useAction();
  if (!agent) return null;
  // Routing's word on the state is only as current as the link: not live, not shown.
  const live = link.live;
  const busy = running || !live;
  const setState = (state: "available" | "away" | "offline", why?: string) =>
    run(() =>
      ok(
        api.POST("/api/v1/routing/agents/{user_id}/state", {
          params: { path: { user_id: user.id } },
          body: { state, reason: why ?? null },
        }),
      ),
    );
  return (
    <div class="state-picker" role="group" aria-label={t("state.label")}>
      <span class={`state state-${agent.state}`} data-testid="my-state" data-state={live ? agent.state : "unknown"} data-reason={agent.reason ?? ""}>
        {live ? (
          <>
            {stateLabel(agent)} <StateTimer since={agent.since} />
          </>
        ) : (
          t("state.unknown")
        )}
      </span>
      <button type="button" disabled={busy} onClick={() => setState("available")} aria-pressed={agent.state === "available"}>
        {t("state.goAvailable")}
      </button>
      <label>
        <span class="visually-hidden">{t("state.awayReason")}</span>
        <select value={reason} onChange={(e) => setReason((e.target as HTMLSelectElement).value)}>
          {AWAY_REASONS.map((r) => (
            <option value={r} key={r}>
              {t(`reason.${r}`)}
            </option>
          ))}
        </select>
      </label>
      <button type="button" disabled={busy} onClick={() => setState("away", reason)}>
        {t("state.goAway")}
      </button>
      <button type="button" disabled={busy} onClick={() => setState("offline")}>
        {t("state.goOffline")}
      </button>
      {error && <span class="error" role="alert">{error}</span>}
    </div>
  );
}
