// The conversation of a chat, messaging or email contact in its tab: the history (customer,
// agent, internal notes, delivery ticks), read over HTTP and read again whenever a
// `conversation.*` event for it arrives or a snapshot resyncs the socket (a reconnect equals a
// fresh load); a reply box with canned responses and attachments, an internal note, and the
// templates instead of free text when the service window is closed.
import { useEffect, useRef, useState } from "preact/hooks";
import "./Conversation.css";
import { ApiError, api, ok, type Schemas } from "../api/client";
import { useAction } from "../components/Action";
import { useDeskContext } from "../context";
import { formatTime, t } from "../i18n";
import { provide, type SlotProps } from "../slots";
import { useViewers, ViewersLine } from "./Viewers";
import {
  concerns,
  conversationOf,
  isDigital,
  isWhisper,
  TICK_MARK,
  templateKey,
  templates,
  templatesOnly,
  tick,
  type Conversation,
  type Message,
} from "./ConversationModel";

export interface Loaded {
  conversation: Conversation;
  messages: Message[];
}

async function findConversation(contactId: string): Promise<Conversation | undefined> {
  // The server finds the conversation a contact is (or was) a round of.
  const found = await ok(api.GET("/api/v1/conversations", { params: { query: { contact_id: contactId, limit: 1 } } }));
  return conversationOf(found, contactId) ?? found[0];
}

export async function load(id: string): Promise<Loaded> {
  const path = { params: { path: { conversation_id: id } } };
  const [conversation, messages] = await Promise.all([
    ok(api.GET("/api/v1/conversations/{conversation_id}", path)),
    ok(api.GET("/api/v1/conversations/{conversation_id}/messages", path)),
  ]);
  return { conversation, messages };
}

function useConversation(contactId: string): [Loaded | null | "none", boolean, () => void] {
  const { store } = useDeskContext();
  const [loaded, setLoaded] = useState<Loaded | null | "none">(null);
  const [failed, setFailed] = useState(false);
  const [wanted, setWanted] = useState(0);
  const idRef = useRef<string | null>(null);
  const latest = useRef(0);
  const misses = useRef(0);
  const refetch = () => setWanted((w) => w + 1);
  // A read that failed (a busy server, a dropped request) or found nothing yet is tried again
  // by itself, 1 s, 2 s, 4 s … up to 15 s apart: the agent must not have to reload the desk,
  // and no event may come to trigger it.
  const retryLater = (mine: number) => {
    const wait = Math.min(1000 * 2 ** misses.current, 15_000);
    misses.current += 1;
    setTimeout(() => {
      if (mine === latest.current) refetch();
    }, wait);
  };

  // Read again on every event for this conversation (they carry only ids)…
  useEffect(
    () =>
      store.onEvent((message) => {
        if (concerns(message, idRef.current, contactId)) refetch();
      }),
    [store, contactId],
  );
  // …and on the first load, on every snapshot (a resync after a reconnect), on each wish.
  useEffect(() => {
    const mine = ++latest.current;
    (async () => {
      const id = idRef.current ?? (await findConversation(contactId))?.id ?? null;
      if (mine !== latest.current) return;
      if (!id) {
        setLoaded("none");
        retryLater(mine);
        return;
      }
      idRef.current = id;
      const read = await load(id);
      if (mine !== latest.current) return; // a newer read is on its way: this one is stale
      misses.current = 0;
      setLoaded(read);
      setFailed(false);
    })().catch(() => {
      if (mine !== latest.current) return;
      setFailed(true);
      retryLater(mine);
    });
  }, [contactId, store.snapshots, wanted]);
  return [loaded, failed, refetch];
}

export function MessageItem({ message }: { message: Message }) {
  const { user } = useDeskContext();
  const mark = tick(message);
  const whisper = isWhisper(message);
  // The agent reads it as meant for them; supervisors as a whisper to the agent.
  const who = whisper
    ? message.whisper_to === user.id
      ? t("conv.whisper")
      : t("conv.whisperToAgent")
    : message.kind === "note"
      ? t("conv.note")
      : message.kind === "system"
        ? t("conv.system")
        : message.direction === "inbound"
          ? t("conv.customer")
          : t("conv.agent");
  return (
    <li
      class={`conv-msg conv-${message.kind} conv-${message.direction}${whisper ? " conv-whisper" : ""}`}
      data-testid="conv-message"
      data-kind={message.kind}
      data-direction={message.direction}
      data-whisper={whisper ? "true" : undefined}
    >
      <div class="conv-meta">
        <span class="conv-who">{who}</span> <time dateTime={message.created_at}>{formatTime(message.created_at)}</time>
        {mark && (
          <span class={`conv-tick conv-tick-${mark}`} data-testid="conv-tick" data-status={mark} title={t(`conv.status.${mark}`)}>
            <span aria-hidden="true">{TICK_MARK[mark]}</span>
            <span class="visually-hidden">{t(`conv.status.${mark}`)}</span>
          </span>
        )}
      </div>
      {message.template && <p class="conv-template">{t("conv.templateSent", { name: String(message.template.name ?? "") })}</p>}
      {message.text && <p class="conv-text">{message.text}</p>}
      {message.attachments.length > 0 && (
        <ul class="conv-files">
          {message.attachments.map((a) => (
            <li key={a.id}>
              {a.state === "stored" ? (
                <a href={`/api/v1/conversations/${message.conversation_id}/attachments/${a.id}`} target="_blank" rel="noreferrer">
                  {a.filename}
                </a>
              ) : (
                <span>
                  {a.filename} ({t(`conv.file.${a.state === "pending" ? "pending" : "refused"}`)}
                  {a.reason ? `: ${a.reason}` : ""})
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

interface Upload {
  id: string;
  filename: string;
}

export function ReplyBox({ conversation, onSent }: { conversation: Conversation; onSent: () => void }) {
  const [text, setText] = useState("");
  const [files, setFiles] = useState<Upload[]>([]);
  const [canned, setCanned] = useState<Schemas["CannedOut"][]>([]);
  const [chosen, setChosen] = useState("");
  const [params, setParams] = useState<string[]>([]);
  const [run, busy, error] = useAction();
  const path = { params: { path: { conversation_id: conversation.id } } };
  const closed = conversation.status === "closed";
  const onlyTemplates = templatesOnly(conversation);
  const choices = templates(conversation);
  const template = choices.find((c) => templateKey(c) === chosen) ?? null;

  useEffect(() => {
    ok(api.GET("/api/v1/channels/canned-responses")).then(setCanned, () => setCanned([]));
  }, []);

  async function send(body: Record<string, unknown>) {
    try {
      await ok(api.POST("/api/v1/conversations/{conversation_id}/messages", { ...path, body }));
    } catch (e) {
      // The window closed while the agent typed: the conversation now says templates only.
      if (e instanceof ApiError && e.status === 409) onSent();
      throw e;
    }
  }

  const reply = () =>
    run(async () => {
      await send({ text, attachment_ids: files.map((f) => f.id) });
      setText("");
      setFiles([]);
      onSent();
    });
  const note = () =>
    run(async () => {
      await ok(api.POST("/api/v1/conversations/{conversation_id}/notes", { ...path, body: { text } }));
      setText("");
      onSent();
    });
  const sendTemplate = () =>
    run(async () => {
      if (!template) return;
      await send({ template: { name: template.name, language: template.language, parameters: params.slice(0, template.parameters) } });
      setChosen("");
      setParams([]);
      onSent();
    });
  const attach = (list: FileList | null) =>
    run(async () => {
      for (const file of Array.from(list ?? [])) {
        const stored = await ok(
          api.POST("/api/v1/conversations/{conversation_id}/attachments", {
            params: { path: { conversation_id: conversation.id }, query: { filename: file.name } },
            body: file as never,
            bodySerializer: (b: unknown) => b as BodyInit,
            headers: { "Content-Type": file.type || "application/octet-stream" },
          }),
        );
        setFiles((f) => [...f, { id: (stored as { id: string }).id, filename: file.name }]);
      }
    });

  if (closed) return <p class="notice" data-testid="conv-closed">{t("conv.closed")}</p>;
  const id = conversation.id;
  return (
    <div class="conv-reply">
      {onlyTemplates && (
        <div class="conv-window" role="group" aria-labelledby={`tpl-${id}`} data-testid="conv-templates">
          <p class="notice" id={`tpl-${id}`}>{t("conv.windowClosed")}</p>
          <label>
            {t("conv.template")}
            <select value={chosen} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
              <option value="">{t("conv.pickTemplate")}</option>
              {choices.map((c) => (
                <option key={templateKey(c)} value={templateKey(c)}>
                  {c.name} ({c.language})
                </option>
              ))}
            </select>
          </label>
          {template?.description && <p class="muted" data-testid="template-description">{template.description}</p>}
          {template &&
            Array.from({ length: template.parameters }, (_, i) => (
              <label key={i}>
                {t("conv.parameter", { n: i + 1 })}
                <input
                  value={params[i] ?? ""}
                  onInput={(e) => {
                    const next = [...params];
                    next[i] = (e.target as HTMLInputElement).value;
                    setParams(next);
                  }}
                />
              </label>
            ))}
          <button type="button" class="primary" disabled={busy || !template} onClick={sendTemplate}>
            {t("conv.sendTemplate")}
          </button>
        </div>
      )}
      <label for={`reply-${id}`}>{onlyTemplates ? t("conv.noteOnly") : t("conv.replyLabel")}</label>
      <textarea id={`reply-${id}`} rows={3} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      <div class="conv-tools">
        {!onlyTemplates && canned.length > 0 && (
          <label>
            {t("conv.canned")}
            <select
              value=""
              onChange={(e) => {
                const pick = canned.find((c) => c.id === (e.target as HTMLSelectElement).value);
                if (pick) setText((current) => (current ? `${current}\n${pick.text}` : pick.text));
              }}
            >
              <option value="">{t("conv.pickCanned")}</option>
              {canned.map((c) => (
                <option key={c.id} value={c.id}>
                  /{c.shortcut} · {c.title}
                </option>
              ))}
            </select>
          </label>
        )}
        {!onlyTemplates && (
          <label>
            {t("conv.attach")}
            <input type="file" multiple disabled={busy} onChange={(e) => attach((e.target as HTMLInputElement).files)} />
          </label>
        )}
      </div>
      {files.length > 0 && (
        <ul class="conv-files" aria-label={t("conv.attached")}>
          {files.map((f) => (
            <li key={f.id}>
              {f.filename}{" "}
              <button type="button" onClick={() => setFiles((all) => all.filter((x) => x.id !== f.id))} aria-label={t("conv.removeFile", { name: f.filename })}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <div class="actions">
        {!onlyTemplates && (
          <button type="button" class="primary" disabled={busy || (!text.trim() && !files.length)} onClick={reply}>
            {t("conv.send")}
          </button>
        )}
        <button type="button" disabled={busy || !text.trim()} onClick={note}>
          {t("conv.addNote")}
        </button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
    </div>
  );
}

/** Close the conversation: its contact ends (wrap-up follows); the customer's next message
 * opens it again. */
export function CloseConversation({ conversation, onClosed }: { conversation: Conversation; onClosed: () => void }) {
  const [run, busy, error] = useAction();
  if (conversation.status === "closed") return null;
  const close = () =>
    run(async () => {
      await ok(api.POST("/api/v1/conversations/{conversation_id}/close", { params: { path: { conversation_id: conversation.id } } }));
      onClosed();
    });
  return (
    <div class="actions">
      <button type="button" disabled={busy} onClick={close}>
        {t("conv.close")}
      </button>
      {error && <p class="error" role="alert">{error}</p>}
    </div>
  );
}

export function ConversationView({ contactId, channel }: SlotProps) {
  if (!isDigital(channel)) return null;
  // Keyed: another tab's contact is another conversation, read from scratch.
  return <ConversationPanel key={contactId} contactId={contactId} />;
}

function ConversationPanel({ contactId }: { contactId: string }) {
  const [found, failed, refetch] = useConversation(contactId);
  const loaded = found === "none" ? null : found;
  const list = useRef<HTMLOListElement>(null);
  const count = loaded?.messages.length ?? 0;
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [count]);
  // The service window closing while the tab is open: one timer to its end, then read again.
  const expires = loaded?.conversation.reply_window.expires_at ?? null;
  useEffect(() => {
    if (!expires) return;
    const wait = Date.parse(expires) - Date.now();
    if (!(wait > 0) || wait > 2 ** 31 - 1) return;
    const timer = setTimeout(refetch, wait + 500);
    return () => clearTimeout(timer);
  }, [expires]);
  const titleId = `conv-title-${contactId}`;
  const viewers = useViewers(loaded?.conversation.id ?? null);
  return (
    <section class="conversation-view" aria-labelledby={titleId} data-testid="conversation-view">
      <h3 id={titleId}>
        {t("conv.title")}
        {loaded?.conversation.peer_name ? ` · ${loaded.conversation.peer_name}` : ""}
      </h3>
      {failed && <p class="error" role="alert">{t("conv.failed")}</p>}
      {found === null && !failed && <p class="empty">{t("conv.loading")}</p>}
      {found === "none" && !failed && <p class="empty">{t("conv.none")}</p>}
      {loaded && (
        <>
          <ViewersLine viewers={viewers} />
          <ol class="conv-history" ref={list} aria-label={t("conv.history")} tabIndex={0}>
            {loaded.messages.map((m) => (
              <MessageItem key={m.id} message={m} />
            ))}
          </ol>
          <ReplyBox conversation={loaded.conversation} onSent={refetch} />
          <CloseConversation conversation={loaded.conversation} onClosed={refetch} />
        </>
      )}
    </section>
  );
}

provide("contact.conversation", ConversationView);
