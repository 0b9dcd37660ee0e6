import type { ComponentChildren } from "preact";
import { useDeskContext } from "../context";
import { useLink, useNow } from "../hooks";
import { formatTime, t } from "../i18n";

/** Always visible: whether what the screen shows is live. */
export function ConnectionBadge() {
  const { link } = useDeskContext();
  useLink(link);
  const now = useNow(500);
  const state = link.state;
  let text: string;
  if (state.kind === "live") text = t("connection.live");
  else if (state.kind === "lost")
    text = t("connection.lost", { seconds: Math.max(0, Math.ceil((state.retryAt - now) / 1000)) });
  else if (state.kind === "ended") text = t("connection.ended");
  else if (state.kind === "refused") text = t("connection.refused");
  else text = t("connection.connecting");
  return (
    <span class={`connection connection-${state.kind}`} role="status" data-testid="connection" data-state={state.kind}>
      <span class="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

/** What only the live stream may show: while the link is not live it is dimmed, cannot be
 * used, and a banner says since when it is no longer current. */
export function LiveArea({ children, label }: { children: ComponentChildren; label: string }) {
  const { link } = useDeskContext();
  useLink(link);
  const live = link.live;
  return (
    <section aria-label={label} class={live ? "live-area" : "live-area stale"} data-live={live ? "yes" : "no"}>
      {!live && (
        <p class="stale-banner" role="alert">
          {link.liveAt === null
            ? t("connection.notYet")
            : t("connection.stale", { time: formatTime(link.liveAt) })}
        </p>
      )}
      <div inert={!live} aria-busy={!live}>
        {children}
      </div>
    </section>
  );
}
