// The description (management_api/openapi/openapi.json) and what the tests do with it: its
// schemas compiled by Ajv (JSON Schema draft 2020-12, as OpenAPI 3.1 uses), operations found
// by method and path, and responses checked against what the description says of them.
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const descriptionPath = join(dirname(fileURLToPath(import.meta.url)), "../../management_api/openapi/openapi.json");
export const loadDescription = () => JSON.parse(readFileSync(descriptionPath, "utf8"));

export const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

// Ajv with the whole document added under the id "openapi.json": a schema anywhere in it is
// "openapi.json#" + its JSON pointer. Strict mode: an unknown keyword (a typo) is an error.
export function schemaCompiler(doc) {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  // The document's own top-level fields are not schema keywords.
  ajv.addVocabulary(["openapi", "info", "servers", "tags", "security", "paths", "components", "webhooks",
                     "externalDocs", "jsonSchemaDialect"]);
  ajv.addSchema(doc, "openapi.json");
  return (pointer) => {
    const validate = ajv.getSchema("openapi.json#" + pointer);
    if (!validate) throw new Error(`no schema at ${pointer}`);
    return validate;
  };
}

const escape = (part) => part.replaceAll("~", "~0").replaceAll("/", "~1");
export const pointer = (...parts) => "/" + parts.map((p) => escape(String(p))).join("/");

// Follows a "#/..." $ref to the object and its pointer.
export function deref(doc, object, at) {
  while (object && object.$ref) {
    at = object.$ref.slice(1);
    object = at.split("/").slice(1).reduce((o, p) => o[p.replaceAll("~1", "/").replaceAll("~0", "~")], doc);
  }
  return { object, at };
}

// Every operation: { method (upper case), path (template), operation, at (its pointer) }.
export function operations(doc) {
  const out = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      if (item[method]) out.push({ method: method.toUpperCase(), path, operation: item[method], at: pointer("paths", path, method) });
    }
  }
  return out;
}

// The operation a request reaches: concrete paths before templated ones, as OpenAPI says.
export function findOperation(doc, method, target) {
  const segments = target.split("?")[0].split("/").slice(1).map(decodeURIComponent);
  const matches = (path) => {
    const parts = path.split("/").slice(1);
    return parts.length === segments.length && parts.every((p, i) => p.startsWith("{") || p === segments[i]);
  };
  const paths = Object.keys(doc.paths).filter(matches);
  paths.sort((a, b) => (a.match(/\{/g) || []).length - (b.match(/\{/g) || []).length);
  const path = paths[0];
  if (!path) return null;
  const operation = doc.paths[path][method.toLowerCase()];
  return operation ? { method, path, operation, at: pointer("paths", path, method.toLowerCase()) } : { method, path, operation: null };
}

// Checks one response against the description; returns a list of problems (empty: it fits).
export function checkResponse(doc, compile, found, { status, headers, body }) {
  const problems = [];
  const where = `${found.method} ${found.path} -> ${status}`;
  const key = found.operation.responses[String(status)] ? String(status) : `${Math.floor(status / 100)}XX`;
  if (!found.operation.responses[key]) return [`${where}: status ${status} is not described`];
  const { object: response, at } = deref(doc, found.operation.responses[key], found.at + pointer("responses", key));
  for (const [name, header] of Object.entries(response.headers || {})) {
    if (header.required && headers.get(name) === null) problems.push(`${where}: header ${name} is missing`);
  }
  const mediaType = (headers.get("content-type") || "").split(";")[0].trim().toLowerCase();
  if (!response.content) {
    if (body.length > 0) problems.push(`${where}: a body where none is described`);
    return problems;
  }
  if (!response.content[mediaType]) return [...problems, `${where}: content type '${mediaType}' is not described`];
  if (found.method === "HEAD") return problems;  // no body to check
  const validate = compile(at + pointer("content", mediaType, "schema"));
  const value = mediaType === "application/json" ? JSON.parse(body) : body;
  if (!validate(value)) {
    problems.push(`${where}: the body does not fit its schema: ${JSON.stringify(validate.errors)}\nbody: ${body.slice(0, 2000)}`);
  }
  return problems;
}
