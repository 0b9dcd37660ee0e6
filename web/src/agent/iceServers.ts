// The browser phone's STUN/TURN servers (voice_ice_servers; ADR 0030, "ICE servers"): the
// server hands them to the desk so its RTCPeerConnection gathers the same candidates as aiortc.

/** The API's ice_servers as RTCPeerConnection takes them (no username/credential for STUN). */
export function iceServers(
  servers: { urls: string[]; username?: string | null; credential?: string | null }[] | undefined,
): RTCIceServer[] {
  return (servers ?? []).map((s) => ({
    urls: s.urls,
    ...(s.username ? { username: s.username } : {}),
    ...(s.credential ? { credential: s.credential } : {}),
  }));
}

/** When the first of the servers' short-lived TURN credentials (voice_ice_servers with a
 * secret: minted per request) stops working, in ms since the epoch; null: none expires. */
export function iceExpiry(servers: { expires_at?: string | null }[] | undefined): number | null {
  const times = (servers ?? []).flatMap((s) => (s.expires_at ? [Date.parse(s.expires_at)] : []));
  return times.length ? Math.min(...times) : null;
}
