import { describe, expect, it } from "vitest";
import { accountBody, accountField, draftOf, emptyDraft, randomSecret, widgetSnippet } from "./channels";

describe("widgetSnippet", () => {
  it("is the script tag of docs/channels.md with the server and the key", () => {
    expect(widgetSnippet("https://desk.example.com/", "6f1c")).toBe(
      '<script src="https://desk.example.com/widget.js" data-omnidesk-widget="6f1c" async></script>',
    );
  });
  it("escapes what would break out of an attribute", () => {
    expect(widgetSnippet("http://h", 'a"><b')).toContain('data-omnidesk-widget="a&quot;&gt;&lt;b"');
  });
});

describe("randomSecret", () => {
  it("is base64url of the random bytes, long enough for the API", () => {
    const secret = randomSecret(32, (a) => a.fill(0xff));
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(secret.startsWith("____")).toBe(true);
    expect(randomSecret()).not.toBe(randomSecret());
  });
});

describe("accountBody", () => {
  it("sends a widget's look, questions and hours, and keeps what the form does not show", () => {
    const d = { ...emptyDraft("chat", "web"), name: " Website ", languages: "en, de de", allowed_origins: "https://a.example" };
    d.keep = { newer_setting: 1 };
    d.prechat_fields = [{ key: "name", label: "Name", type: "text", required: true }];
    const body = accountBody(d, "s".repeat(43)) as { widget: Record<string, unknown> } & Record<string, unknown>;
    expect(body.name).toBe("Website");
    expect(body.secret).toBe("s".repeat(43));
    expect(body.widget.languages).toEqual(["en", "de"]);
    expect(body.widget.allowed_origins).toEqual(["https://a.example"]);
    expect(body.widget.prechat_fields).toEqual([{ key: "name", label: "Name", type: "text", required: true }]);
    expect(body.widget.business_hours).toBeNull();
    expect(body.widget.newer_setting).toBe(1);
    expect(body.widget.email_account_id).toBeNull();
    expect("version" in body).toBe(false);
  });
  it("leaves out passwords not typed, so an edit keeps the stored ones", () => {
    const account = {
      id: "a1", kind: "email", name: "Help", provider: "email", queue_id: "q", active: true, version: 3,
      config: { address: "help@example.com", smtp_host: "mx", smtp_port: 465, smtp_security: "tls", imap_mailbox: "INBOX" },
      secrets_set: ["smtp_password"], webhook_url: null,
    };
    const d = draftOf(account);
    expect(d.smtp_port).toBe("465");
    expect(d.smtp_password).toBe("");
    const body = accountBody(d);
    expect(body.version).toBe(3);
    expect(body.smtp_port).toBe(465);
    expect("smtp_password" in body).toBe(false);
    expect(accountBody({ ...d, smtp_password: "new" }).smtp_password).toBe("new");
  });
  it("sends a webhook's secret only on create", () => {
    const d = { ...emptyDraft("webhook", "q"), name: "GW", outbound_url: "https://gw.example/out" };
    expect(accountBody(d, "x".repeat(43)).secret).toBe("x".repeat(43));
    expect("secret" in accountBody({ ...d, id: "a", version: 1 })).toBe(false);
  });
});

describe("draftOf", () => {
  const widget = {
    id: "w1", kind: "chat", name: "Site", provider: "chat", queue_id: "q", active: true, version: 4, secrets_set: ["secret"], webhook_url: null,
    config: {
      title: "Hi", languages: ["de", "en"], prechat_fields: [{ key: "order", label: "Order number", type: "text", required: true }],
      business_hours: { timezone: "Europe/Riga", days: { mon: [["09:00", "12:00"], ["13:00", "17:00"]] } },
    },
  };
  it("reads a widget's questions and hours, and sends them back unchanged", () => {
    const d = draftOf(widget);
    expect(d.prechat_fields).toEqual([{ key: "order", label: "Order number", type: "text", required: true }]);
    expect(d.hours.alwaysOpen).toBe(false);
    expect(d.hours.days.mon).toEqual([{ from: "09:00", to: "12:00" }, { from: "13:00", to: "17:00" }]);
    const body = accountBody(d) as { widget: Record<string, unknown>; version: number };
    expect(body.version).toBe(4);
    expect(body.widget.prechat_fields).toEqual(widget.config.prechat_fields);
    expect(body.widget.business_hours).toEqual(widget.config.business_hours);
    expect(body.widget.languages).toEqual(["de", "en"]);
  });
  it("reads a WhatsApp number's templates and sends them with the version", () => {
    const wa = { ...widget, kind: "whatsapp", provider: "whatsapp", secrets_set: [], config: { phone_number_id: "123", templates: [{ name: "follow_up", language: "de", parameters: 2, description: "1: name" }] } };
    const d = draftOf(wa);
    expect(d.templates).toEqual([{ name: "follow_up", language: "de", parameters: "2", description: "1: name" }]);
    const body = accountBody({ ...d, templates: [...d.templates, { name: " hello ", language: "en", parameters: "", description: "" }] });
    expect(body.templates).toEqual([
      { name: "follow_up", language: "de", parameters: 2, description: "1: name" },
      { name: "hello", language: "en", parameters: 0, description: "" },
    ]);
    expect(body.version).toBe(4);
  });
});

describe("accountField", () => {
  it("names the form's field for the API's paths", () => {
    expect(accountField("chat.widget.colour")).toBe("colour");
    expect(accountField("widget.email_account_id")).toBe("email_account_id");
    expect(accountField("email.smtp_port")).toBe("smtp_port");
    expect(accountField("queue_id")).toBe("queue_id");
    expect(accountField("chat.widget.business_hours.days.mon.1")).toBe("business_hours.days.mon.1");
    expect(accountField("whatsapp.templates.0.name")).toBe("templates.0.name");
  });
});
