// Knowledge and scripts over HTTP (docs/agent-guide.md, "Knowledge and scripts").
import { api, ok, type Schemas } from "../api/client";

export type Article = Schemas["ArticleOut"];
export type ArticleIn = Schemas["ArticleIn"];

export function search(params: { q?: string; queue?: string | null; kind?: "article" | "script" }): Promise<Article[]> {
  const query: { q?: string; queue?: string; kind?: "article" | "script" } = {};
  if (params.q?.trim()) query.q = params.q.trim();
  if (params.queue) query.queue = params.queue;
  if (params.kind) query.kind = params.kind;
  return ok(api.GET("/api/v1/knowledge/articles", { params: { query } }));
}

export function save(id: string | null, body: ArticleIn): Promise<Article> {
  return id
    ? ok(api.PUT("/api/v1/knowledge/articles/{article_id}", { params: { path: { article_id: id } }, body }))
    : ok(api.POST("/api/v1/knowledge/articles", { body }));
}

export function remove(id: string): Promise<unknown> {
  return ok(api.DELETE("/api/v1/knowledge/articles/{article_id}", { params: { path: { article_id: id } } }));
}
