// The calls that ended lately, from the call history (GET /voice/call-history: each sees the
// calls they followed live), with each call's audio quality: the figures a supervisor reads to
// tell "the agent's home network is bad" (docs/voice.md, "Audio quality"). Read over HTTP, and
// again when a call this viewer follows ends (`voice.call_ended`) and on every snapshot: never
// polled.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { useDeskContext } from "../context";
import { useDesk } from "../hooks";
import { formatDuration, formatTime, t } from "../i18n";
import { type AudioFigures, audioFigures, type LegAudio } from "./audio";

type EndedCall = Schemas["EndedCallOut"];
const SHOWN = 10;

function useRecentCalls(): [EndedCall[] | null, boolean] {
  const { store } = useDeskContext();
  const [list, setList] = useState<EndedCall[] | null>(null);
  const [failed, setFailed] = useState(false);
  const [wanted, setWanted] = useState(0);
  const latest = useRef(0);
  useEffect(() => store.onEvent((m) => m.event === "voice.call_ended" && setWanted((w) => w + 1)), [store]);
  useEffect(() => {
    const mine = ++latest.current;
    ok(api.GET("/api/v1/voice/call-history", { params: { query: { limit: SHOWN } } })).then(
      (page) => {
        if (mine !== latest.current) return;
        setList(page.items);
        setFailed(false);
      },
      () => mine === latest.current && setFailed(true),
    );
  }, [store.snapshots, wanted]);
  return [list, failed];
}

/** "Agent (browser): loss 5.0 %, jitter 40 ms, RTT 320 ms", per leg, flagged beyond a threshold. */
export function AudioLine({ audio }: { audio: LegAudio[] }) {
  return <FiguresLine figures={audioFigures(audio)} testid="call-audio" />;
}

/** The same line for any figures (a live call's too: LiveCalls.tsx). */
export function FiguresLine({ figures, testid }: { figures: AudioFigures[]; testid: string }) {
  if (!figures.length) return <span class="empty">{t("recentCalls.noAudio")}</span>;
  const poor = figures.some((f) => f.issues.length > 0);
  return (
    <ul class="audio" data-testid={testid} data-warning={poor ? "true" : "false"}>
      {figures.map((f) => (
        <li key={f.leg} data-leg={f.leg} data-warning={f.issues.length ? "true" : "false"}>
          {t(`recentCalls.leg.${f.leg}`)} ({t(`recentCalls.transport.${f.transport}`)}):{" "}
          {t("recentCalls.figures", { loss: f.loss, jitter: f.jitter })}
          {f.rtt !== null && <>, {t("recentCalls.rtt", { rtt: f.rtt })}</>}
          {f.issues.length > 0 && (
            <strong class="audio-warning">
              {" "}
              ⚠ {t("recentCalls.poor", { what: f.issues.map((i) => t(`recentCalls.issue.${i}`)).join(", ") })}
            </strong>
          )}
        </li>
      ))}
    </ul>
  );
}

export function RecentCalls() {
  const { store } = useDeskContext();
  useDesk(store);
  const [calls, failed] = useRecentCalls();
  const agents = store.state?.routing.agents ?? {};
  const users = store.state?.directory.users ?? {};
  // Routing knows the agents the viewer supervises; the directory names anyone else.
  const agentName = (id: string | null) => (id ? (agents[id]?.name ?? users[id]?.display_name ?? "—") : "—");
  return (
    <section class="recent-calls" aria-labelledby="recent-calls-title">
      <h2 id="recent-calls-title">{t("recentCalls.title")}</h2>
      <p class="source">{t("recentCalls.hint")}</p>
      {failed && (
        <p class="error" role="alert">
          {t("recentCalls.failed")}
        </p>
      )}
      {calls === null ? (
        <p>{t("loading")}</p>
      ) : calls.length === 0 ? (
        <p class="empty">{t("recentCalls.none")}</p>
      ) : (
        <table data-testid="recent-calls">
          <thead>
            <tr>
              <th scope="col">{t("recentCalls.ended")}</th>
              <th scope="col">{t("calls.caller")}</th>
              <th scope="col">{t("calls.agent")}</th>
              <th scope="col">{t("recentCalls.outcome")}</th>
              <th scope="col">{t("recentCalls.talk")}</th>
              <th scope="col">{t("recentCalls.audio")}</th>
            </tr>
          </thead>
          <tbody>
            {calls.map((c) => (
              <tr key={c.call_id} data-call={c.call_id}>
                <td>{formatTime(c.ended_at)}</td>
                <th scope="row">{(c.direction === "inbound" ? c.caller : c.callee) ?? "—"}</th>
                <td>{agentName(c.agent_id)}</td>
                <td>{t(`recentCalls.outcomes.${c.outcome}`)}</td>
                <td>{c.talk_seconds === null ? "—" : formatDuration(c.talk_seconds)}</td>
                <td>
                  <AudioLine audio={c.audio} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
