// A JSON Schema check, independent of the server: the keywords strictcall enforces.
// validate(schema, value) -> {errors: [...], unchecked: [...]}: a keyword this file does not
// know is listed in `unchecked` (never passed over silently).
"use strict";
(function () {
  const ANNOTATIONS = new Set(["title", "description", "default", "examples", "$schema", "$id",
    "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions", "strict"]);
  const FORMATS = {
    "date-time": /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/,
    date: /^\d{4}-\d{2}-\d{2}$/,
    time: /^\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$/,
    email: /^[^@\s]+@[^@\s]+$/,
    uuid: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    ipv4: /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/,
  };

  function typeOf(v) {
    if (v === null) return "null";
    if (Array.isArray(v)) return "array";
    if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
    return typeof v; // string, boolean, object
  }

  function hasType(v, t) {
    const actual = typeOf(v);
    return actual === t || (t === "number" && actual === "integer");
  }

  function equal(a, b) {
    return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
  }

  function canon(v) {
    if (Array.isArray(v)) return v.map(canon);
    if (v && typeof v === "object") {
      const out = {};
      for (const k of Object.keys(v).sort()) out[k] = canon(v[k]);
      return out;
    }
    return v;
  }

  function resolve(root, ref) {
    if (!ref.startsWith("#")) return undefined;
    let node = root;
    for (const part of ref.slice(1).split("/").filter(Boolean)) {
      const key = decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~");
      node = node === undefined ? undefined : node[key];
    }
    return node;
  }

  function check(schema, v, path, root, out) {
    if (schema === true || schema === undefined) return;
    if (schema === false) { out.errors.push(`${path}: no value is allowed here`); return; }
    const err = (msg) => out.errors.push(`${path}: ${msg}`);
    for (const [key, s] of Object.entries(schema)) {
      switch (key) {
        case "$ref": {
          const target = resolve(root, s);
          if (target === undefined) out.unchecked.push(`${path}: $ref ${s}`);
          else check(target, v, path, root, out);
          break;
        }
        case "type": {
          const types = Array.isArray(s) ? s : [s];
          if (!types.some((t) => hasType(v, t))) err(`expected ${types.join(" or ")}, got ${typeOf(v)}`);
          break;
        }
        case "enum": if (!s.some((e) => equal(e, v))) err(`not one of ${JSON.stringify(s)}`); break;
        case "const": if (!equal(s, v)) err(`must be ${JSON.stringify(s)}`); break;
        case "properties":
          if (typeOf(v) === "object") {
            for (const [k, sub] of Object.entries(s)) {
              if (k in v) check(sub, v[k], `${path}.${k}`, root, out);
            }
          }
          break;
        case "required":
          if (typeOf(v) === "object") for (const k of s) if (!(k in v)) err(`missing required "${k}"`);
          break;
        case "additionalProperties":
          if (typeOf(v) === "object") {
            const known = new Set(Object.keys(schema.properties || {}));
            for (const k of Object.keys(v)) {
              if (known.has(k)) continue;
              if (s === false) err(`unexpected property "${k}"`);
              else check(s, v[k], `${path}.${k}`, root, out);
            }
          }
          break;
        case "minProperties":
          if (typeOf(v) === "object" && Object.keys(v).length < s) err(`fewer than ${s} properties`);
          break;
        case "maxProperties":
          if (typeOf(v) === "object" && Object.keys(v).length > s) err(`more than ${s} properties`);
          break;
        case "items":
          if (Array.isArray(v)) {
            const start = (schema.prefixItems || []).length;
            v.slice(start).forEach((x, i) => check(s, x, `${path}[${i + start}]`, root, out));
          }
          break;
        case "prefixItems":
          if (Array.isArray(v)) s.forEach((sub, i) => { if (i < v.length) check(sub, v[i], `${path}[${i}]`, root, out); });
          break;
        case "minItems": if (Array.isArray(v) && v.length < s) err(`fewer than ${s} items`); break;
        case "maxItems": if (Array.isArray(v) && v.length > s) err(`more than ${s} items`); break;
        case "minimum": if (typeof v === "number" && v < s) err(`below the minimum ${s}`); break;
        case "maximum": if (typeof v === "number" && v > s) err(`above the maximum ${s}`); break;
        case "exclusiveMinimum": if (typeof v === "number" && v <= s) err(`not above ${s}`); break;
        case "exclusiveMaximum": if (typeof v === "number" && v >= s) err(`not below ${s}`); break;
        case "multipleOf":
          if (typeof v === "number" && Math.abs(v / s - Math.round(v / s)) > 1e-9) err(`not a multiple of ${s}`);
          break;
        case "minLength": if (typeof v === "string" && [...v].length < s) err(`shorter than ${s}`); break;
        case "maxLength": if (typeof v === "string" && [...v].length > s) err(`longer than ${s}`); break;
        case "pattern":
          if (typeof v === "string" && !new RegExp(s, "u").test(v)) err(`does not match /${s}/`);
          break;
        case "format":
          if (typeof v === "string") {
            if (FORMATS[s]) { if (!FORMATS[s].test(v)) err(`not a valid ${s}`); }
            else out.unchecked.push(`${path}: format ${s}`);
          }
          break;
        case "allOf": s.forEach((sub) => check(sub, v, path, root, out)); break;
        case "anyOf":
        case "oneOf": {
          const passing = s.filter((sub) => validate(sub, v, root).errors.length === 0).length;
          if (key === "anyOf" && passing === 0) err("matches none of anyOf");
          if (key === "oneOf" && passing !== 1) err(`matches ${passing} of oneOf (exactly 1 needed)`);
          break;
        }
        default:
          if (!ANNOTATIONS.has(key)) out.unchecked.push(`${path}: ${key}`);
      }
    }
  }

  function validate(schema, value, root) {
    const out = { errors: [], unchecked: [] };
    check(schema, value, "$", root || schema, out);
    return out;
  }

  window.strictcallSchema = { validate };
})();
