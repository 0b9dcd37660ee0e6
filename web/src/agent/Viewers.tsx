// Who is viewing a conversation: the screen says when it opens one (and again after every
// snapshot: a reconnect or a server restart forgot it) and when it closes it; the server ends it
// too when the user's last socket closes. Changes arrive as `conversation.viewing_*` events.
import { useEffect, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { useDeskContext } from "../context";
import { useDesk } from "../hooks";
import { t } from "../i18n";
import { changesViewers, othersViewing, type Viewer } from "./ConversationModel";

export function useViewers(conversationId: string | null): Viewer[] {
  const { store } = useDeskContext();
  useDesk(store);
  const [viewers, setViewers] = useState<Viewer[]>([]);
  const [changed, setChanged] = useState(0);
  const path = { params: { path: { conversation_id: conversationId ?? "" } } };

  useEffect(
    () =>
      store.onEvent((message) => {
        if (conversationId && changesViewers(message, conversationId)) setChanged((n) => n + 1);
      }),
    [store, conversationId],
  );
  useEffect(() => {
    if (!conversationId) return;
    ok(api.PUT("/api/v1/conversations/{conversation_id}/viewing", path)).then(setViewers, () => {});
  }, [conversationId, store.snapshots]);
  useEffect(() => {
    if (!conversationId || !changed) return;
    ok(api.GET("/api/v1/conversations/{conversation_id}/viewers", path)).then(setViewers, () => {});
  }, [conversationId, changed]);
  useEffect(() => {
    if (!conversationId) return;
    const id = conversationId;
    return () => {
      api.DELETE("/api/v1/conversations/{conversation_id}/viewing", { params: { path: { conversation_id: id } } }).catch(() => {});
    };
  }, [conversationId]);
  return viewers;
}

/** "Sam (supervisor) is viewing": the others who have this conversation open. */
export function ViewersLine({ viewers }: { viewers: Viewer[] }) {
  const { user } = useDeskContext();
  const others = othersViewing(viewers, user.id);
  if (!others.length) return null;
  const names = others.map((v) => `${v.name} (${t(`conv.role.${v.role}`)})`).join(", ");
  return (
    <p class="conv-viewers" data-testid="conv-viewers" role="status">
      {t("conv.viewing", { names })}
    </p>
  );
}
