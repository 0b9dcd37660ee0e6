// The widget's HTTP calls to the Omnidesk server (cross-origin: the page is the customer's
// site). The visitor is named by headers, never by cookies.
import type { components } from "../src/api/schema";

// How often a request refused as "busy" (429) is sent again before the visitor is told.
const MAX_BUSY_RETRIES = 5;

export type WidgetConfig = components["schemas"]["ChatWidgetOut"];
export type ChatMessage = components["schemas"]["ChatMessageOut"];
export type History = components["schemas"]["ChatHistoryOut"];
export type Sent = components["schemas"]["ChatSentOut"];
export type OfflineSent = components["schemas"]["ChatOfflineOut"];
export type TranscriptSent = components["schemas"]["ChatTranscriptOut"];
export type SurveyForm = components["schemas"]["SurveyFormOut"];

export interface Identity {
  visitorToken?: string;
  userId?: string;
  userHash?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(detail);
  }
}

export class WidgetApi {
  readonly base: string;

  constructor(
    readonly server: string,
    readonly key: string,
    public identity: Identity,
  ) {
    this.base = `${server}/api/v1/chat/widget/${encodeURIComponent(key)}`;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = { ...extra };
    if (this.identity.userId && this.identity.userHash) {
      headers["X-Omnidesk-User"] = this.identity.userId;
      headers["X-Omnidesk-User-Hash"] = this.identity.userHash;
    } else if (this.identity.visitorToken) {
      headers["X-Omnidesk-Visitor"] = this.identity.visitorToken;
    }
    return headers;
  }

  async call<T>(method: string, path: string, body?: unknown, extra?: Record<string, string>): Promise<T> {
    const init: RequestInit = { method, headers: this.headers(extra), mode: "cors", credentials: "omit" };
    if (body instanceof Blob) {
      init.body = body;
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["Content-Type"] = "application/json";
    }
    let response = await fetch(this.base + path, init);
    // 429: the center is overloaded and nothing was taken; the same request (a message keeps
    // its client id, so it is stored once) is sent again after the server's Retry-After.
    for (let retry = 0; response.status === 429 && retry < MAX_BUSY_RETRIES; retry++) {
      const seconds = Number(response.headers.get("Retry-After")) || 1;
      await new Promise((resolve) => setTimeout(resolve, Math.min(seconds, 30) * 1000));
      response = await fetch(this.base + path, init);
    }
    if (!response.ok) {
      let detail = `HTTP ${response.status}`;
      try {
        detail = (await response.json()).detail ?? detail;
      } catch {
        // not JSON: keep the status
      }
      throw new ApiError(response.status, detail);
    }
    return (await response.json()) as T;
  }

  config(): Promise<WidgetConfig> {
    return this.call("GET", "");
  }

  async newVisitor(): Promise<string> {
    const answer = await this.call<{ visitor_token: string }>("POST", "/visitors");
    return answer.visitor_token;
  }

  history(): Promise<History> {
    return this.call("GET", "/conversation");
  }

  start(prechat: Record<string, string>): Promise<History> {
    return this.call("POST", "/conversation", { prechat });
  }

  send(clientId: string, text: string): Promise<Sent> {
    return this.call("POST", "/conversation/messages", { client_id: clientId, text });
  }

  upload(clientId: string, file: File): Promise<Sent> {
    const query = `?client_id=${encodeURIComponent(clientId)}&filename=${encodeURIComponent(file.name)}`;
    return this.call("POST", `/conversation/files${query}`, file, {
      "Content-Type": file.type || "application/octet-stream",
    });
  }

  offline(clientId: string, name: string, email: string, message: string): Promise<OfflineSent> {
    return this.call("POST", "/offline", { client_id: clientId, name, email, message });
  }

  /** Mail the visitor's own conversation to `email` (only when the config says `transcript_by_email`). */
  transcript(email: string, conversationId?: string): Promise<TranscriptSent> {
    return this.call("POST", "/transcript", { email, conversation_id: conversationId ?? null });
  }

  async download(attachmentId: string): Promise<Blob> {
    const response = await fetch(`${this.base}/conversation/files/${attachmentId}`, {
      headers: this.headers(),
      mode: "cors",
      credentials: "omit",
    });
    if (!response.ok) throw new ApiError(response.status, `HTTP ${response.status}`);
    return response.blob();
  }

  /** A survey sent into the conversation, by its link's token: its questions (GET) or the
   * answers (POST). Public: the token is the credential, no visitor headers. */
  async survey<T>(token: string, answers?: Record<string, number | string>): Promise<T> {
    const init: RequestInit = { method: answers ? "POST" : "GET", mode: "cors", credentials: "omit" };
    if (answers) {
      init.body = JSON.stringify({ answers });
      init.headers = { "Content-Type": "application/json" };
    }
    const response = await fetch(`${this.server}/api/v1/surveys/responses/${encodeURIComponent(token)}`, init);
    if (!response.ok) throw new ApiError(response.status, `HTTP ${response.status}`);
    return (await response.json()) as T;
  }

  socketUrl(): string {
    return `${this.base.replace(/^http/, "ws")}/socket`;
  }
}

export function clientId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return "w" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
