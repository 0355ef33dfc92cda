// A client generated from Signpost's OpenAPI description (openapi-typescript
// types, openapi-fetch requests), run by scripts/test-openapi.sh against a
// live `signpost serve`: the description must be enough to generate a client
// that type-checks and works, with no hand-written types.
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

const api = createClient<paths>({ baseUrl: process.argv[2] + "/api/v1" });
let checks = 0;
function expect(ok: boolean, what: string, got?: unknown): void {
  if (!ok) {
    console.error(`FAIL: ${what}: ${JSON.stringify(got)}`);
    process.exit(1);
  }
  checks++;
}

const created = await api.POST("/links", { body: { name: "docs", url: "https://docs.example", tags: ["team"] } });
expect(created.response.status === 201 && created.data?.version === 1, "create", created.error);
const v1 = created.response.headers.get("ETag") ?? "";
expect(/^"\d+\.1"$/.test(v1), "ETag of version 1", v1);

const patched = await api.PATCH("/links/{name}", {
  params: { path: { name: "docs" }, header: { "If-Match": v1 } },
  body: { description: "Team docs", owner: null },
});
expect(patched.data?.description === "Team docs" && patched.data.version === 2, "merge patch", patched.error);

const stale = await api.PUT("/links/{name}", {
  params: { path: { name: "docs" }, header: { "If-Match": v1 } },
  body: { url: "https://elsewhere.example" },
});
expect(stale.response.status === 412 && stale.error?.error.code === "precondition_failed", "stale PUT", stale.error);
// Errors are a union of the operation's error responses; only a 412 has current.
const current = stale.error && "current" in stale.error ? stale.error.current : undefined;
expect(current?.version === 2, "412 carries the current link", stale.error);

const page = await api.GET("/links", { params: { query: { tag: ["team"], sort: "name", limit: 1 } } });
expect(page.data?.total === 1 && page.data.links[0]?.name === "docs" && page.data.next === undefined, "list", page.data);

const missing = await api.GET("/links/{name}", { params: { path: { name: "nope" } } });
expect(missing.response.status === 404 && missing.error?.error.code === "not_found", "404 shape", missing.error);

const deleted = await api.DELETE("/links/{name}", { params: { path: { name: "docs" } } });
expect(deleted.response.status === 204, "delete", deleted.error);

const history = await api.GET("/links/{name}/history", { params: { path: { name: "docs" } } });
const actions = history.data?.history.map((c) => c.action);
expect(JSON.stringify(actions) === '["delete","update","create"]', "history", actions);

const restored = await api.POST("/links/{name}/restore", { params: { path: { name: "docs" } }, body: { version: 2 } });
expect(restored.data?.description === "Team docs", "restore", restored.error);

const gone = await api.GET("/deleted", { params: { query: { limit: 10 } } });
expect(gone.data?.deleted.length === 0, "nothing deleted after the restore", gone.data);

const doc = await api.GET("/openapi.json");
expect(doc.response.status === 200 && (doc.data as { openapi?: string })?.openapi === "3.1.0", "description served", doc.data);

console.log(`openapi client: ${checks} checks passed`);
