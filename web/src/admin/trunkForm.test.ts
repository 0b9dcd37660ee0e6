import { describe, expect, it } from "vitest";
import { trunkDraft, trunkJson } from "./trunkForm";

const STORED = {
  id: "t1",
  name: "Carrier",
  allowed_addresses: ["192.0.2.0/24"],
  inbound: { username: "in", password_set: true },
  outbound: { host: "sip.example.com", port: 5080, transport: "tcp", username: "out", password_set: true },
  caller_id: "+4930123456",
  created_at: "",
  updated_at: "",
};

describe("trunk form", () => {
  it("keeps stored passwords unless one is typed or cleared", () => {
    const draft = trunkDraft(STORED);
    expect(draft.inboundPassword).toEqual({ value: "", clear: false, isSet: true });
    const body = trunkJson(draft);
    expect("inbound_password" in body).toBe(false);
    expect(body.outbound && "password" in body.outbound).toBe(false);
    expect(body).toMatchObject({ name: "Carrier", allowed_addresses: ["192.0.2.0/24"], inbound_username: "in", caller_id: "+4930123456", outbound: { host: "sip.example.com", port: 5080, transport: "tcp", username: "out" } });
    const typed = trunkJson({ ...draft, inboundPassword: { ...draft.inboundPassword, value: "new-secret-1" }, outboundPassword: { ...draft.outboundPassword, clear: true } });
    expect(typed.inbound_password).toBe("new-secret-1");
    expect(typed.outbound?.password).toBeNull();
  });

  it("sends no outbound part when outbound is off, and empty texts as null", () => {
    const body = trunkJson({ ...trunkDraft(null), name: " New ", allowed: "10.0.0.1, 10.0.0.0/8 10.0.0.1" });
    expect(body).toEqual({ name: "New", allowed_addresses: ["10.0.0.1", "10.0.0.0/8"], inbound_username: null, caller_id: null, outbound: null });
  });
});
