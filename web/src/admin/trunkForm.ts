// A trunk as the form edits it and as the API takes it (pure: tested in vitest). Passwords are
// write-only: the API only says whether one is set; the form sends one only when typed, and
// null only when the admin asks to clear it (left out, the stored one is kept).
import type { Schemas } from "../api/client";
import { words } from "./fields";

type TrunkIn = Schemas["TrunkIn"];
type TrunkOut = Schemas["TrunkOut"];

export interface SecretDraft {
  value: string;
  clear: boolean;
  isSet: boolean;
}

export interface TrunkDraft {
  id: string | null;
  name: string;
  allowed: string;
  inboundUser: string;
  inboundPassword: SecretDraft;
  outbound: boolean;
  host: string;
  port: string;
  transport: "udp" | "tcp";
  outboundUser: string;
  outboundPassword: SecretDraft;
  callerId: string;
}

const NO_SECRET: SecretDraft = { value: "", clear: false, isSet: false };

export function trunkDraft(trunk: TrunkOut | null): TrunkDraft {
  return {
    id: trunk?.id ?? null,
    name: trunk?.name ?? "",
    allowed: (trunk?.allowed_addresses ?? []).join(", "),
    inboundUser: trunk?.inbound.username ?? "",
    inboundPassword: { ...NO_SECRET, isSet: !!trunk?.inbound.password_set },
    outbound: !!trunk?.outbound,
    host: trunk?.outbound?.host ?? "",
    port: String(trunk?.outbound?.port ?? 5060),
    transport: (trunk?.outbound?.transport as "udp" | "tcp" | undefined) ?? "udp",
    outboundUser: trunk?.outbound?.username ?? "",
    outboundPassword: { ...NO_SECRET, isSet: !!trunk?.outbound?.password_set },
    callerId: trunk?.caller_id ?? "",
  };
}

/** A typed password; null to clear one; undefined (key left out) to keep the stored one. */
function secret(draft: SecretDraft): string | null | undefined {
  if (draft.value !== "") return draft.value;
  return draft.clear ? null : undefined;
}

export function trunkJson(d: TrunkDraft): TrunkIn {
  const body: TrunkIn = {
    name: d.name.trim(),
    allowed_addresses: words(d.allowed),
    inbound_username: d.inboundUser.trim() || null,
    caller_id: d.callerId.trim() || null,
    outbound: null,
  };
  const inbound = secret(d.inboundPassword);
  if (inbound !== undefined) body.inbound_password = inbound;
  if (d.outbound) {
    const port = Number(d.port);
    body.outbound = { host: d.host.trim(), port: d.port.trim() === "" || !Number.isFinite(port) ? 5060 : port, transport: d.transport, username: d.outboundUser.trim() || null };
    const outbound = secret(d.outboundPassword);
    if (outbound !== undefined) body.outbound.password = outbound;
  }
  return body;
}
