// The live chat, messaging and email conversations of the supervisor's queues (admins: all),
// each with a Monitor button; the monitor view reads the conversation live (read again on each
// of its events, which reach the queue's supervisors), shows who is viewing it, and has a
// whisper box to the agent and a Take over button. After taking it over the supervisor replies
// from here. The list is read over HTTP and again on every `conversation.*` event that can
// change it and on every snapshot: never polled.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { useAction } from "../components/Action";
import { useDeskContext } from "../context";
import { useDesk } from "../hooks";
import { formatTime, t } from "../i18n";
import type { Conversation } from "../agent/ConversationModel";
import { CloseConversation, type Loaded, load, MessageItem, ReplyBox } from "../agent/ConversationView";
import { useViewers, ViewersLine } from "../agent/Viewers";

// Events that change which conversations are live or how the list orders them.
const LIST_EVENTS = new Set([
  "conversation.contact_opened",
  "conversation.message_added",
  "conversation.closed",
  "conversation.taken_over",
]);

function useLiveConversations(): [Conversation[] | null, boolean] {
  const { store } = useDeskContext();
  useDesk(store);
  const [list, setList] = useState<Conversation[] | null>(null);
  const [failed, setFailed] = useState(false);
  const [wanted, setWanted] = useState(0);
  const latest = useRef(0);
  useEffect(() => store.onEvent((m) => LIST_EVENTS.has(m.event) && setWanted((w) => w + 1)), [store]);
  useEffect(() => {
    const mine = ++latest.current;
    ok(api.GET("/api/v1/conversations", { params: { query: { status: "open", limit: 200 } } })).then(
      (found) => {
        if (mine !== latest.current) return;
        setList(found);
        setFailed(false);
      },
      () => mine === latest.current && setFailed(true),
    );
  }, [store.snapshots, wanted]);
  return [list, failed];
}

/** The agent working a conversation now: routing's contact if the viewer follows its queue,
 * else the last agent the store knows. */
function useAgentOf(conversation: Conversation): string | null {
  const { store } = useDeskContext();
  const routing = store.state?.routing;
  const contact = conversation.contact_id ? routing?.contacts[conversation.contact_id] : undefined;
  const holder =
    contact?.agent_id ??
    Object.values(routing?.agents ?? {}).find((a) => conversation.contact_id && conversation.contact_id in a.contacts)?.id ??
    conversation.last_agent_id;
  return holder ?? null;
}

function nameOf(id: string | null, users: Record<string, { display_name?: string }>, agents: Record<string, { name: string }>): string {
  if (!id) return "—";
  return agents[id]?.name ?? users[id]?.display_name ?? "—";
}

function Row({ conversation, onMonitor, monitoring }: { conversation: Conversation; onMonitor: () => void; monitoring: boolean }) {
  const { store } = useDeskContext();
  const agent = useAgentOf(conversation);
  const who = conversation.peer_name ?? conversation.peer_id;
  return (
    <tr data-conversation={conversation.id} data-testid="live-conversation">
      <th scope="row">{who}</th>
      <td>{t(`channel.${conversation.channel}`, { defaultValue: conversation.channel })}</td>
      <td>{nameOf(agent, store.state?.directory.users ?? {}, store.state?.routing.agents ?? {})}</td>
      <td>{formatTime(conversation.last_message_at)}</td>
      <td>
        <button type="button" aria-pressed={monitoring} onClick={onMonitor} aria-label={t("monitor.open", { name: who })}>
          {t("monitor.button")}
        </button>
      </td>
    </tr>
  );
}

function useMonitored(conversationId: string): [Loaded | null, boolean, () => void] {
  const { store } = useDeskContext();
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [failed, setFailed] = useState(false);
  const [wanted, setWanted] = useState(0);
  const latest = useRef(0);
  const refetch = () => setWanted((w) => w + 1);
  useEffect(
    () =>
      store.onEvent((m) => {
        const data = (m.data ?? {}) as { conversation_id?: string };
        if (m.event.startsWith("conversation.") && data.conversation_id === conversationId && !m.event.startsWith("conversation.viewing_"))
          refetch();
      }),
    [store, conversationId],
  );
  useEffect(() => {
    const mine = ++latest.current;
    load(conversationId).then(
      (read) => {
        if (mine !== latest.current) return;
        setLoaded(read);
        setFailed(false);
      },
      () => mine === latest.current && setFailed(true),
    );
  }, [conversationId, store.snapshots, wanted]);
  return [loaded, failed, refetch];
}

function WhisperBox({ conversationId, onSent }: { conversationId: string; onSent: () => void }) {
  const [text, setText] = useState("");
  const [run, busy, error] = useAction();
  const send = () =>
    run(async () => {
      await ok(api.POST("/api/v1/conversations/{conversation_id}/whispers", { params: { path: { conversation_id: conversationId } }, body: { text } }));
      setText("");
      onSent();
    });
  const id = `whisper-${conversationId}`;
  return (
    <div class="monitor-whisper">
      <label for={id}>{t("monitor.whisperLabel")}</label>
      <textarea id={id} rows={2} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      <div class="actions">
        <button type="button" class="primary" disabled={busy || !text.trim()} onClick={send}>
          {t("monitor.whisper")}
        </button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
    </div>
  );
}

export function MonitorView({ conversationId, onClose }: { conversationId: string; onClose: () => void }) {
  const { store, user } = useDeskContext();
  const [loaded, failed, refetch] = useMonitored(conversationId);
  const viewers = useViewers(conversationId);
  const [run, busy, error] = useAction();
  const list = useRef<HTMLOListElement>(null);
  const count = loaded?.messages.length ?? 0;
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [count]);
  const conversation = loaded?.conversation;
  const contactId = conversation?.contact_id ?? null;
  // Mine once routing says the contact is active with me (my own agent entry).
  const mine = !!contactId && store.state?.routing.agents[user.id]?.contacts[contactId]?.state === "active";
  const open = conversation?.status === "open";
  const takeOver = () =>
    run(async () => {
      await ok(api.POST("/api/v1/conversations/{conversation_id}/takeover", { params: { path: { conversation_id: conversationId } } }));
      refetch();
    });
  return (
    <section class="conversation-view monitor-view" aria-labelledby="monitor-title" data-testid="monitor-view">
      <h3 id="monitor-title">
        {t("monitor.title")}
        {conversation ? ` · ${conversation.peer_name ?? conversation.peer_id}` : ""}
      </h3>
      <p class="source">{mine ? t("monitor.yours") : t("monitor.readOnly")}</p>
      {failed && <p class="error" role="alert">{t("conv.failed")}</p>}
      {!loaded && !failed && <p class="empty">{t("conv.loading")}</p>}
      {loaded && conversation && (
        <>
          <ViewersLine viewers={viewers} />
          <ol class="conv-history" ref={list} aria-label={t("conv.history")} tabIndex={0}>
            {loaded.messages.map((m) => (
              <MessageItem key={m.id} message={m} />
            ))}
          </ol>
          {mine ? (
            <>
              <ReplyBox conversation={conversation} onSent={refetch} />
              <CloseConversation conversation={conversation} onClosed={refetch} />
            </>
          ) : (
            open && (
              <>
                <WhisperBox conversationId={conversationId} onSent={refetch} />
                <div class="actions">
                  <button type="button" disabled={busy} onClick={takeOver}>
                    {t("monitor.takeOver")}
                  </button>
                </div>
                {error && <p class="error" role="alert">{error}</p>}
              </>
            )
          )}
          {!open && <p class="notice">{t("conv.closed")}</p>}
        </>
      )}
      <div class="actions">
        <button type="button" onClick={onClose}>
          {t("monitor.stop")}
        </button>
      </div>
    </section>
  );
}

export function LiveConversations() {
  const [list, failed] = useLiveConversations();
  const [monitored, setMonitored] = useState<string | null>(null);
  return (
    <section class="live-conversations" aria-labelledby="live-conv-title">
      <h2 id="live-conv-title">{t("monitor.listTitle")}</h2>
      {failed && <p class="error" role="alert">{t("monitor.failed")}</p>}
      {list !== null && list.length === 0 && <p class="empty">{t("monitor.none")}</p>}
      {list !== null && list.length > 0 && (
        <table data-testid="live-conversations">
          <thead>
            <tr>
              <th scope="col">{t("monitor.customer")}</th>
              <th scope="col">{t("contact.channel")}</th>
              <th scope="col">{t("calls.agent")}</th>
              <th scope="col">{t("monitor.lastMessage")}</th>
              <th scope="col">{t("calls.monitor")}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <Row key={c.id} conversation={c} monitoring={monitored === c.id} onMonitor={() => setMonitored(c.id)} />
            ))}
          </tbody>
        </table>
      )}
      {monitored && <MonitorView key={monitored} conversationId={monitored} onClose={() => setMonitored(null)} />}
    </section>
  );
}
