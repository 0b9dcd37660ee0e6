import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { useAction } from "../components/Action";
import { useDeskContext } from "../context";
import { useDesk, useLink } from "../hooks";
import { formatTime, t } from "../i18n";
import type { ImSection, ImThread } from "../realtime/types";
import { canSupervise } from "../session";
import { contacts as readContacts, markRead, post, readPage, type Contacts, type Target } from "./api";
import { directWith, partner, sortedThreads, unreadTotal } from "./apply";
import { ThreadHistory } from "./history";
import { notificationsSupported, notifyFrom } from "./notify";
import { conversation } from "./ui";

export function threadTitle(thread: Pick<ImThread, "kind" | "team" | "users">, viewer: string): string {
  if (thread.kind === "all") return t("im.everyone");
  if (thread.kind === "team") return thread.team?.name ?? "";
  return partner(thread, viewer)?.display_name ?? "";
}

/** The existing thread of a target, if there is one. */
function threadOf(view: ImSection, viewer: string, target: Target): ImThread | null {
  if ("thread" in target) return view.threads[target.thread] ?? null;
  if ("user" in target) return directWith(view, viewer, target.user);
  const threads = Object.values(view.threads);
  if ("team" in target) return threads.find((t) => t.kind === "team" && t.team?.id === target.team) ?? null;
  return threads.find((t) => t.kind === "all") ?? null;
}

function useOpenTarget(): Target | null {
  const [target, setTarget] = useState(conversation.target);
  useEffect(() => conversation.subscribe(setTarget), []);
  return target;
}

function NotificationsButton() {
  const [permission, setPermission] = useState(notificationsSupported() ? Notification.permission : "denied");
  if (permission !== "default") return null;
  return (
    <button type="button" class="link-button" onClick={async () => setPermission(await Notification.requestPermission())}>
      {t("im.enableNotifications")}
    </button>
  );
}

/** Encoded targets for the "new message" picker. */
function encode(target: Target): string {
  if ("thread" in target) return `thread:${target.thread}`;
  if ("user" in target) return `user:${target.user}`;
  if ("team" in target) return `team:${target.team}`;
  return "everyone";
}

function decode(value: string): Target | null {
  const [kind, id] = value.split(":");
  if (kind === "user") return { user: id };
  if (kind === "team") return { team: id };
  if (kind === "everyone") return { everyone: true };
  return null;
}

function NewMessage({ contacts, supervisor }: { contacts: Contacts | null; supervisor: boolean }) {
  const [choice, setChoice] = useState("");
  return (
    <form
      class="im-new"
      onSubmit={(e) => {
        e.preventDefault();
        const target = decode(choice);
        if (target) conversation.open(target);
      }}
    >
      <label>
        {t("im.writeTo")}
        <select value={choice} onChange={(e) => setChoice((e.target as HTMLSelectElement).value)}>
          <option value="">—</option>
          {contacts?.teams.map((team) => (
            <option value={`team:${team.id}`} key={team.id}>
              {t("im.teamThread", { name: team.name })}
            </option>
          ))}
          {contacts?.users.map((user) => (
            <option value={`user:${user.id}`} key={user.id}>
              {user.display_name}
            </option>
          ))}
          {supervisor && <option value="everyone">{t("im.everyone")}</option>}
        </select>
      </label>
      <button type="submit" disabled={!choice}>
        {t("im.open")}
      </button>
    </form>
  );
}

/** The name of a target without a thread yet (a user or a team to write to). */
function targetName(target: Target, contacts: Contacts | null): string {
  if ("user" in target) return contacts?.users.find((u) => u.id === target.user)?.display_name ?? t("im.newThread");
  if ("team" in target) return contacts?.teams.find((m) => m.id === target.team)?.name ?? t("im.newThread");
  if ("everyone" in target) return t("im.everyone");
  return t("im.newThread");
}

function Conversation({ target, view, contacts }: { target: Target; view: ImSection; contacts: Contacts | null }) {
  const { user, store, link } = useDeskContext();
  useLink(link);
  const thread = threadOf(view, user.id, target);
  const history = useMemo(() => (thread ? new ThreadHistory(thread.id, readPage) : null), [thread?.id]);
  const [, setRevision] = useState(0);
  const [body, setBody] = useState("");
  const [broadcast, setBroadcast] = useState(false);
  const [run, busy, error] = useAction();
  const list = useRef<HTMLOListElement>(null);
  const supervisor = canSupervise(user);

  // The page, again after every snapshot (a resync), and the thread's messages as they come.
  useEffect(() => {
    if (!history) return;
    const off = [
      history.subscribe(() => setRevision((r) => r + 1)),
      store.onEvent((m) => {
        if (m.event === "im.message_posted") history.posted(m.data.message);
      }),
    ];
    return () => off.forEach((f) => f());
  }, [history]);
  useEffect(() => {
    if (history) void history.reload();
  }, [history, store.snapshots]);
  // In front of the viewer: read (when the tab shows it).
  useEffect(() => {
    if (!thread || thread.unread === 0 || document.hidden || !link.live) return;
    void markRead(thread.id, thread.last_number).catch(() => {});
  }, [thread?.id, thread?.last_number, thread?.unread, link.live]);
  useEffect(() => {
    list.current?.lastElementChild?.scrollIntoView?.({ block: "nearest" });
  }, [history?.messages.length]);

  const title = thread ? threadTitle(thread, user.id) : targetName(target, contacts);
  const readOnly = (thread?.kind === "all" || "everyone" in target) && !supervisor;
  const canBroadcast =
    supervisor && (thread?.kind === "team" || "team" in target);
  const send = () =>
    run(async () => {
      const posted = await post(thread ? { thread: thread.id } : target, body.trim(), canBroadcast && broadcast);
      setBody("");
      if (!thread) conversation.open({ thread: posted.thread.id });
    });

  return (
    <div class="im-conversation" data-testid="conversation" data-thread={thread?.id ?? ""}>
      <h3>{title}</h3>
      {history && !history.loaded ? (
        <p role="status">{t("loading")}</p>
      ) : !history || history.messages.length === 0 ? (
        <p class="empty">{t("im.noMessages")}</p>
      ) : (
        <>
          {history.more && (
            <button type="button" class="link-button" onClick={() => void history.older()}>
              {t("im.older")}
            </button>
          )}
          <ol class="im-messages" ref={list} aria-label={t("im.history", { title })}>
            {history.messages.map((m) => (
              <li key={m.id} class={m.author.id === user.id ? "mine" : m.broadcast ? "broadcast" : undefined} data-number={m.number}>
                <span class="im-meta">
                  <strong>{m.author.id === user.id ? t("im.you") : m.author.display_name}</strong>{" "}
                  {m.broadcast && <span class="chip">{t("im.broadcast")}</span>}
                  <time dateTime={m.posted_at}>{formatTime(m.posted_at)}</time>
                </span>
                <span class="im-body">{m.body}</span>
              </li>
            ))}
          </ol>
        </>
      )}
      {!readOnly && (
        <form
          class="im-compose"
          onSubmit={(e) => {
            e.preventDefault();
            if (body.trim()) void send();
          }}
        >
          <label>
            <span class="visually-hidden">{t("im.message")}</span>
            <textarea
              rows={2}
              maxLength={4000}
              value={body}
              placeholder={t("im.message")}
              onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)}
              onKeyDown={(e) => {
                if (e.key === "Enter" && !e.shiftKey) {
                  e.preventDefault();
                  if (body.trim()) void send();
                }
              }}
            />
          </label>
          {canBroadcast && (
            <label class="inline">
              <input type="checkbox" checked={broadcast} onChange={(e) => setBroadcast((e.target as HTMLInputElement).checked)} />
              {t("im.asBroadcast")}
            </label>
          )}
          <button type="submit" disabled={busy || !body.trim()}>
            {t("im.send")}
          </button>
          {error && (
            <span class="error" role="alert">
              {error}
            </span>
          )}
        </form>
      )}
    </div>
  );
}

/** Messages with the supervisor and the team: the threads with unread badges, one open. */
export function Messages() {
  const { user, store } = useDeskContext();
  useDesk(store);
  const target = useOpenTarget();
  const [contacts, setContacts] = useState<Contacts | null>(null);
  useEffect(() => notifyFrom(store, user.id), [store]);
  useEffect(() => {
    readContacts().then(setContacts, () => setContacts(null));
  }, [store.snapshots]);
  const view = store.state?.im;
  if (!view) return null;
  const unread = unreadTotal(view);
  const threads = sortedThreads(view);
  const openId = target && "thread" in target ? target.thread : target ? threadOf(view, user.id, target)?.id : null;
  return (
    <section class="messages" id="messages" aria-labelledby="im-title" data-testid="messages">
      <h2 id="im-title">
        {t("im.title")}{" "}
        {unread > 0 && (
          <span class="badge" data-testid="im-unread" aria-label={t("im.unread", { count: unread })}>
            {unread}
          </span>
        )}
      </h2>
      <NotificationsButton />
      <NewMessage contacts={contacts} supervisor={canSupervise(user)} />
      {threads.length === 0 ? (
        <p class="empty">{t("im.none")}</p>
      ) : (
        <ul class="im-threads" aria-label={t("im.threads")}>
          {threads.map((thread) => (
            <li key={thread.id}>
              <button
                type="button"
                data-thread={thread.id}
                data-kind={thread.kind}
                aria-current={thread.id === openId ? "true" : undefined}
                onClick={() => conversation.open({ thread: thread.id })}
              >
                <span class="im-title">{threadTitle(thread, user.id)}</span>
                {thread.unread > 0 && (
                  <span class="badge" data-testid="thread-unread" aria-label={t("im.unread", { count: thread.unread })}>
                    {thread.unread}
                  </span>
                )}
                {thread.last_message && <span class="im-last">{thread.last_message.body}</span>}
              </button>
            </li>
          ))}
        </ul>
      )}
      {target && <Conversation key={encode(target)} target={target} view={view} contacts={contacts} />}
    </section>
  );
}
