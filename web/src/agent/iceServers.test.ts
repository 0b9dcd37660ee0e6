import { describe, expect, it } from "vitest";
import { iceExpiry, iceServers } from "./iceServers";

describe("the browser phone's ICE servers", () => {
  it("takes the API's servers as RTCPeerConnection does: credentials only where given", () => {
    expect(
      iceServers([
        { urls: ["stun:stun.example.com:3478"], username: null, credential: null },
        { urls: ["turn:turn.example.com:3478?transport=tcp"], username: "u", credential: "p" },
      ]),
    ).toEqual([
      { urls: ["stun:stun.example.com:3478"] },
      { urls: ["turn:turn.example.com:3478?transport=tcp"], username: "u", credential: "p" },
    ]);
  });

  it("is empty (host candidates only) when the server names none", () => {
    expect(iceServers([])).toEqual([]);
    expect(iceServers(undefined)).toEqual([]);
  });

  it("knows when the first short-lived TURN credential expires (none: null)", () => {
    expect(iceExpiry([{ expires_at: null }, { expires_at: "2026-12-07T18:00:00+00:00" }, { expires_at: "2026-12-07T19:00:00+00:00" }])).toBe(
      Date.parse("2026-12-07T18:00:00Z"),
    );
    expect(iceExpiry([{ expires_at: null }])).toBeNull();
    expect(iceExpiry(undefined)).toBeNull();
  });
});
