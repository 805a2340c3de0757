/** A route as fastify registered it (its `onRoute` hook), with the body schema it validates. */
export interface ServedRoute {
  readonly method: string
  readonly url: string
  readonly summary: string
  /** The JSON Schema fastify compiles to validate the body (ajv), or undefined for bodiless routes. */
  readonly body?: unknown
  /** Media types of a 200 answer, e.g. ["application/json", "text/event-stream"]. */
  readonly produces: readonly string[]
}

const ERROR_SCHEMA = {
  type: "object",
  description: "vLLM's error body (object \"error\", a one-line message, the HTTP status as code).",
  required: ["object", "message", "type", "param", "code"],
  properties: {
    object: { const: "error" },
    message: { type: "string" },
    type: { type: "string" },
    param: { type: "null" },
    code: { type: "integer" },
  },
}

const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorResponse" } } } })

/**
 * The OpenAPI 3.1 document of the server, built from the routes fastify registered: every route
 * is listed, and a route's request body schema is the very object fastify validates bodies with
 * (OpenAPI 3.1 schemas are JSON Schema, so it goes in unchanged), so the document cannot drift
 * from what the server accepts. Bodied routes document the 400/404/503 answers the handlers give.
 * @example openApiDocument({ title: "moska serve", version: "0.1.0", routes: [{ method: "GET", url: "/health", summary: "200 once ready", produces: [] }] }).paths["/health"]
 */
export const openApiDocument = (o: { readonly title: string; readonly version: string; readonly description: string; readonly routes: readonly ServedRoute[] }) => {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const r of o.routes) {
    if (r.method === "HEAD") continue // fastify adds HEAD beside each GET
    const ok = { description: "OK", ...(r.produces.length === 0 ? {} : { content: Object.fromEntries(r.produces.map((t) => [t, {}])) }) }
    const responses: Record<string, unknown> = { 200: ok }
    if (r.body !== undefined) {
      responses[400] = errorResponse("The body does not match the schema, is not JSON, or the request cannot fit the model's context.")
      responses[404] = errorResponse("The model asked for is not the one served.")
      responses[503] = errorResponse("The admission queue is full, the engine is loading or the server is stopping; retry after Retry-After seconds.")
    }
    const operation: Record<string, unknown> = {
      summary: r.summary,
      operationId: `${r.method.toLowerCase()}${r.url.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? "").toUpperCase())}`,
      ...(r.body === undefined ? {} : { requestBody: { required: true, content: { "application/json": { schema: r.body } } } }),
      responses,
    }
    paths[r.url] = { ...(paths[r.url] ?? {}), [r.method.toLowerCase()]: operation }
  }
  return {
    openapi: "3.1.0",
    info: { title: o.title, version: o.version, description: o.description },
    paths,
    components: { schemas: { ErrorResponse: ERROR_SCHEMA } },
  }
}
