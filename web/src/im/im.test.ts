import { describe, expect, it } from "vitest";
import type { ImMessage, ImSection } from "../realtime/types";
import { applyIm, directWith, noticeOf, sortedThreads, unreadTotal } from "./apply";
import { ThreadHistory } from "./history";

const ME = "u-me";
const SUP = { id: "u-sup", display_name: "Sam" };
const ADA = { id: "u-ada", display_name: "Ada" };

function message(thread: string, number: number, author = SUP, body = `m${number}`): ImMessage {
  return {
    id: `${thread}-${number}`,
    thread_id: thread,
    number,
    author,
    body,
    broadcast: false,
    posted_at: `2026-12-06T09:00:${String(number).padStart(2, "0")}Z`,
  };
}

const direct = { id: "t-dm", kind: "direct", team: null, users: [{ id: ME, display_name: "Me" }, SUP] };
const team = { id: "t-team", kind: "team", team: { id: "team1", name: "Support" }, users: [] };

function empty(): ImSection {
  return { threads: {}, hands: {} };
}

describe("team messages in the store", () => {
  it("counts unread messages of others; one's own post and a read marker clear them", () => {
    const view = empty();
    applyIm(view, "im.message_posted", { thread: team, message: message("t-team", 1) }, ME);
    applyIm(view, "im.message_posted", { thread: team, message: message("t-team", 2) }, ME);
    expect(view.threads["t-team"].unread).toBe(2);
    applyIm(view, "im.message_posted", { thread: direct, message: message("t-dm", 1) }, ME);
    expect(unreadTotal(view)).toBe(3);
    applyIm(view, "im.thread_read", { thread_id: "t-team", user_id: ME, last_read: 1 }, ME);
    expect(view.threads["t-team"].unread).toBe(1);
    // Someone else's marker (an admin receives all of them) changes nothing here.
    applyIm(view, "im.thread_read", { thread_id: "t-team", user_id: "other", last_read: 2 }, ME);
    expect(view.threads["t-team"].unread).toBe(1);
    applyIm(view, "im.message_posted", { thread: team, message: message("t-team", 3, { id: ME, display_name: "Me" }) }, ME);
    expect(view.threads["t-team"]).toMatchObject({ unread: 0, last_read: 3, last_number: 3 });
    // A marker never moves back.
    applyIm(view, "im.thread_read", { thread_id: "t-team", user_id: ME, last_read: 2 }, ME);
    expect(view.threads["t-team"].last_read).toBe(3);
    expect(sortedThreads(view).map((t) => t.id)).toEqual(["t-team", "t-dm"]);
    expect(directWith(view, ME, SUP.id)?.id).toBe("t-dm");
    expect(directWith(view, ME, ADA.id)).toBeNull();
  });

  it("ignores the direct threads of others (an admin receives their events too)", () => {
    const view = empty();
    const theirs = { ...direct, id: "t-x", users: [SUP, ADA] };
    applyIm(view, "im.message_posted", { thread: theirs, message: message("t-x", 1) }, ME);
    expect(view.threads).toEqual({});
  });

  it("keeps raised hands by user", () => {
    const view = empty();
    const hand = { user: ADA, note: "refund", raised_at: "2026-12-06T09:00:00Z" };
    applyIm(view, "im.hand_raised", { hand }, ME);
    expect(view.hands[ADA.id].note).toBe("refund");
    applyIm(view, "im.hand_lowered", { user_id: ADA.id, by: SUP }, ME);
    expect(view.hands).toEqual({});
  });

  it("refuses an event it does not know (the store then asks for a snapshot)", () => {
    expect(() => applyIm(empty(), "im.unknown", {}, ME)).toThrow();
  });

  it("notifies of others' messages not in front of the viewer, and of raised hands", () => {
    const posted = { thread: direct, message: message("t-dm", 1) };
    expect(noticeOf("im.message_posted", posted, ME, null, false)).toMatchObject({ kind: "message", who: "Sam" });
    expect(noticeOf("im.message_posted", posted, ME, "t-dm", false)).toBeNull();
    expect(noticeOf("im.message_posted", posted, ME, "t-dm", true)).not.toBeNull();
    const mine = { thread: direct, message: message("t-dm", 2, { id: ME, display_name: "Me" }) };
    expect(noticeOf("im.message_posted", mine, ME, null, true)).toBeNull();
    const broadcast = { thread: team, message: { ...message("t-team", 1), broadcast: true } };
    expect(noticeOf("im.message_posted", broadcast, ME, null, false)?.kind).toBe("broadcast");
    const hand = { hand: { user: ADA, note: null, raised_at: "x" } };
    expect(noticeOf("im.hand_raised", hand, ME, null, false)).toMatchObject({ kind: "hand", who: "Ada" });
    expect(noticeOf("im.hand_raised", { hand: { ...hand.hand, user: { id: ME, display_name: "Me" } } }, ME, null, false)).toBeNull();
  });
});

describe("the open thread's history", () => {
  function server(count: number) {
    const all = Array.from({ length: count }, (_, i) => message("t-dm", i + 1));
    const reads: (number | null)[] = [];
    const read = async (_thread: string, before: number | null) => {
      reads.push(before);
      const upTo = before === null ? all.length : before - 1;
      return all.slice(Math.max(0, upTo - 2), upTo);
    };
    return { all, reads, read };
  }

  it("reads the latest page, then older pages, and appends what arrives in order", async () => {
    const s = server(5);
    const history = new ThreadHistory("t-dm", s.read, 2);
    await history.reload();
    expect(history.messages.map((m) => m.number)).toEqual([4, 5]);
    expect(history.more).toBe(true);
    await history.older();
    expect(history.messages.map((m) => m.number)).toEqual([2, 3, 4, 5]);
    s.all.push(message("t-dm", 6));
    history.posted(s.all[5]);
    history.posted(s.all[5]); // twice: once
    history.posted(message("other", 7));
    expect(history.messages.map((m) => m.number)).toEqual([2, 3, 4, 5, 6]);
  });

  it("reads again rather than show a hole", async () => {
    const s = server(3);
    const history = new ThreadHistory("t-dm", s.read, 2);
    await history.reload();
    s.all.push(message("t-dm", 4), message("t-dm", 5));
    history.posted(s.all[4]); // 5 without 4
    await new Promise((r) => setTimeout(r, 0));
    expect(history.messages.map((m) => m.number)).toEqual([4, 5]);
    expect(s.reads).toEqual([null, null]);
  });

  it("keeps a message that arrives while the page is being read", async () => {
    const all = [message("t-dm", 1)];
    let release: () => void = () => {};
    const read = (_t: string, _b: number | null) =>
      new Promise<ImMessage[]>((resolve) => {
        const page = all.slice(); // the page as the server read it: before message 2
        release = () => resolve(page);
      });
    const history = new ThreadHistory("t-dm", read, 50);
    const loading = history.reload();
    history.posted(message("t-dm", 2));
    release();
    await loading;
    expect(history.messages.map((m) => m.number)).toEqual([1, 2]);
  });
});
