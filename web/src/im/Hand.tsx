import { useState } from "preact/hooks";
import { StateTimer } from "../agent/StatePicker";
import { useAction } from "../components/Action";
import { useDeskContext } from "../context";
import { useDesk, useLink } from "../hooks";
import { t } from "../i18n";
import { lowerHand, raiseHand } from "./api";

/** The agent's help button: raises a hand on their supervisors' consoles. */
export function HandButton() {
  const { user, store, link } = useDeskContext();
  useDesk(store);
  useLink(link);
  const [note, setNote] = useState("");
  const [run, busy, error] = useAction();
  const hand = store.state?.im.hands[user.id];
  const disabled = busy || !link.live;
  return (
    <div class="hand" role="group" aria-label={t("hand.label")} data-testid="hand" data-raised={hand ? "yes" : "no"}>
      {hand ? (
        <>
          <span class="hand-raised">
            {t("hand.raised")} <StateTimer since={hand.raised_at} />
          </span>
          <button type="button" disabled={disabled} onClick={() => run(() => lowerHand(user.id))}>
            {t("hand.lower")}
          </button>
        </>
      ) : (
        <>
          <label>
            <span class="visually-hidden">{t("hand.note")}</span>
            <input
              type="text"
              maxLength={200}
              placeholder={t("hand.note")}
              value={note}
              onInput={(e) => setNote((e.target as HTMLInputElement).value)}
            />
          </label>
          <button
            type="button"
            disabled={disabled}
            onClick={() =>
              run(async () => {
                await raiseHand(note.trim() || null);
                setNote("");
              })
            }
          >
            {t("hand.raise")}
          </button>
        </>
      )}
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
