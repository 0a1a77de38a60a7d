// management_api/openapi/openapi.json against the OpenAPI 3.1 schema (a validator from npm), and
// every schema in it compiled by Ajv in strict mode. No daemon needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { deref, loadDescription, operations, pointer, schemaCompiler } from "./openapi.mjs";

const doc = loadDescription();

test("the description is valid OpenAPI 3.1", async () => {
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc));
  assert.equal(validator.version, "3.1");
  assert.ok(result.valid, `not valid OpenAPI 3.1:\n${JSON.stringify(result.errors, null, 2)}`);
});

test("the validator refuses a broken description", async () => {
  // Proof that the check above can fail: a response without its required description.
  const broken = structuredClone(doc);
  delete broken.paths["/health"].get.responses["200"].description;
  const result = await new Validator().validate(broken);
  assert.equal(result.valid, false);
});

test("every schema compiles in strict mode (draft 2020-12)", () => {
  const compile = schemaCompiler(doc);
  for (const name of Object.keys(doc.components.schemas)) compile(pointer("components", "schemas", name));
  for (const { operation, at } of operations(doc)) {
    for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
      if (media.schema) compile(at + pointer("requestBody", "content", type, "schema"));
    }
    for (const [status, ref] of Object.entries(operation.responses)) {
      const { object: response, at: responseAt } = deref(doc, ref, at + pointer("responses", status));
      for (const type of Object.keys(response.content ?? {})) compile(responseAt + pointer("content", type, "schema"));
    }
  }
  // And strict mode is on: a typo in a keyword is an error.
  const typo = structuredClone(doc);
  typo.components.schemas.Status.requried = ["code"];
  assert.throws(() => schemaCompiler(typo)(pointer("components", "schemas", "Status")), /unknown keyword/);
});

test("every error response is a google.rpc.Status", () => {
  for (const { method, path, operation, at } of operations(doc)) {
    assert.ok(operation.operationId, `${method} ${path} has no operationId`);
    for (const [status, ref] of Object.entries(operation.responses)) {
      if (/^[45]/.test(status)) {
        const { object: response } = deref(doc, ref, at + pointer("responses", status));
        assert.deepEqual(Object.keys(response.content ?? {}), ["application/json"], `${method} ${path} ${status}`);
        assert.equal(response.content["application/json"].schema.$ref, "#/components/schemas/Status", `${method} ${path} ${status}`);
      }
    }
  }
  const ids = operations(doc).map((o) => o.operation.operationId);
  assert.equal(new Set(ids).size, ids.length, "operationIds are unique");
});

test("every path parameter is declared", () => {
  for (const [path, item] of Object.entries(doc.paths)) {
    const named = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
    for (const { method, operation, at } of operations(doc).filter((o) => o.path === path)) {
      const declared = [...(item.parameters ?? []), ...(operation.parameters ?? [])]
        .map((p, i) => deref(doc, p, at + pointer("parameters", i)).object)
        .filter((p) => p.in === "path")
        .map((p) => p.name)
        .sort();
      assert.deepEqual(declared, named, `${method} ${path}`);
    }
  }
});
