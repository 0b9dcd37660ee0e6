import { StateTimer } from "../agent/StatePicker";
import { useAction } from "../components/Action";
import { useDeskContext } from "../context";
import { useDesk } from "../hooks";
import { t } from "../i18n";
import { lowerHand } from "../im/api";
import { conversation } from "../im/ui";
import type { ImHand } from "../realtime/types";

function HandRow({ hand }: { hand: ImHand }) {
  const [run, busy, error] = useAction();
  const answer = () =>
    run(async () => {
      await lowerHand(hand.user.id);
      conversation.open({ user: hand.user.id });
      document.getElementById("messages")?.scrollIntoView?.({ block: "start" });
    });
  return (
    <li data-user={hand.user.id}>
      <strong>{hand.user.display_name}</strong> <StateTimer since={hand.raised_at} />
      {hand.note && <span class="hand-note"> · {hand.note}</span>}{" "}
      <button type="button" disabled={busy} onClick={answer}>
        {t("hand.answer")}
      </button>{" "}
      <button type="button" disabled={busy} onClick={() => run(() => lowerHand(hand.user.id))}>
        {t("hand.lower")}
      </button>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </li>
  );
}

/** Raised hands of the supervisor's agents, the oldest first. */
export function RaisedHands() {
  const { store } = useDeskContext();
  useDesk(store);
  const hands = Object.values(store.state?.im.hands ?? {}).sort((a, b) => a.raised_at.localeCompare(b.raised_at));
  return (
    <section class="hands" aria-labelledby="hands-title" data-testid="hands">
      <h2 id="hands-title">
        {t("hand.title")} {hands.length > 0 && <span class="badge">{hands.length}</span>}
      </h2>
      {hands.length === 0 ? (
        <p class="empty">{t("hand.none")}</p>
      ) : (
        <ul>
          {hands.map((hand) => (
            <HandRow hand={hand} key={hand.user.id} />
          ))}
        </ul>
      )}
    </section>
  );
}
