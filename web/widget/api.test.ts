import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, WidgetApi } from "./api";

function answer(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

describe("WidgetApi", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("sends a message refused as busy (429) again after Retry-After, with the same client id", async () => {
    vi.useFakeTimers();
    const sent = { message: { id: "m1", client_id: "c1" } };
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(answer(429, { detail: "routing is overloaded" }, { "Retry-After": "2" }))
      .mockResolvedValueOnce(answer(201, sent));
    vi.stubGlobal("fetch", fetch);
    const api = new WidgetApi("https://desk.example", "k", { visitorToken: "v" });
    const result = api.send("c1", "hello");
    await vi.advanceTimersByTimeAsync(1999);
    expect(fetch).toHaveBeenCalledTimes(1); // not before the server's Retry-After
    await vi.advanceTimersByTimeAsync(1);
    await expect(result).resolves.toEqual(sent);
    expect(fetch).toHaveBeenCalledTimes(2);
    const bodies = fetch.mock.calls.map(([, init]) => JSON.parse((init as RequestInit).body as string));
    expect(bodies).toEqual([
      { client_id: "c1", text: "hello" },
      { client_id: "c1", text: "hello" },
    ]);
  });

  it("gives up after a few busy answers and says why", async () => {
    vi.useFakeTimers();
    const fetch = vi.fn().mockImplementation(async () => answer(429, { detail: "routing is overloaded" }, { "Retry-After": "1" }));
    vi.stubGlobal("fetch", fetch);
    const api = new WidgetApi("https://desk.example", "k", { visitorToken: "v" });
    const result = api.send("c1", "hello").catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10_000);
    const error = await result;
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(429);
    expect((error as ApiError).message).toBe("routing is overloaded");
    expect(fetch).toHaveBeenCalledTimes(6); // the first try and five more
  });
});
