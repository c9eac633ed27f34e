// Validates custom resources against the CRD schemas of the pinned
// @kubernetes-models packages (package.json, package-lock.json). Called by
// validate.py, which does everything else.
//
//   node models.mjs --list        the kinds known: [{apiVersion, kind, source}]
//   node models.mjs < docs.json   [{id, doc}] -> [{id, source, errors, unknown}]
//                                 (source null: no package has the kind)
//
// The packages ship their schemas compiled (ajv standalone code), and the
// code never rejects a field it does not know: the generator keeps no
// additionalProperties: false, and drops x-kubernetes-preserve-unknown-fields.
// An API server does reject them (strict field validation, kubectl's default)
// and prunes them otherwise, so a misspelt field is silently lost. So each
// document is validated through a Proxy that records which keys the compiled
// schema reads at every object: a schema with `properties` reads every
// property it defines, one with additionalProperties or
// preserve-unknown-fields enumerates the keys instead, and one with neither
// reads nothing. A key present in the document that the schema looked for
// nothing about, at an object whose schema did look up keys, is unknown.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const PACKAGES = Object.keys(JSON.parse(readFileSync(new URL("./package.json", import.meta.url))).dependencies);

async function loadModels() {
    const models = new Map();
    for (const pkg of PACKAGES) {
        const manifest = require(`${pkg}/package.json`);
        const source = `${pkg}@${manifest.version}`;
        // Every "./<group>/<version>" entry point (groups have a dot).
        for (const sub of Object.keys(manifest.exports ?? {})) {
            if (!/^\.\/[a-z0-9-]+(\.[a-z0-9-]+)+\/v\d+((alpha|beta)\d+)?$/.test(sub)) continue;
            const mod = await import(`${pkg}/${sub.slice(2)}`);
            for (const Model of Object.values(mod)) {
                if (typeof Model !== "function" || !Model.apiVersion || !Model.kind) continue;
                if (Model.kind.endsWith("List")) continue;
                models.set(`${Model.apiVersion}/${Model.kind}`, { Model, source });
            }
        }
    }
    return models;
}

function tracked(root) {
    const seen = new Map(); // object -> { keys: Set<string>, enumerated: boolean }
    const note = (target) => {
        let entry = seen.get(target);
        if (!entry) seen.set(target, (entry = { keys: new Set(), enumerated: false }));
        return entry;
    };
    const proxies = new WeakMap();
    const wrap = (value) => {
        if (value === null || typeof value !== "object") return value;
        let proxy = proxies.get(value);
        if (!proxy) {
            proxy = new Proxy(value, {
                get(target, key, receiver) {
                    if (typeof key === "string") note(target).keys.add(key);
                    return wrap(Reflect.get(target, key, receiver));
                },
                has(target, key) {
                    if (typeof key === "string") note(target).keys.add(key);
                    return Reflect.has(target, key);
                },
                getOwnPropertyDescriptor(target, key) {
                    if (typeof key === "string") note(target).keys.add(key);
                    return Reflect.getOwnPropertyDescriptor(target, key);
                },
                ownKeys(target) {
                    note(target).enumerated = true;
                    return Reflect.ownKeys(target);
                },
            });
            proxies.set(value, proxy);
        }
        return proxy;
    };
    return { proxy: wrap(root), seen };
}

function unknownFields(root, seen) {
    const found = [];
    const walk = (value, path) => {
        if (value === null || typeof value !== "object") return;
        if (Array.isArray(value)) {
            value.forEach((item, i) => walk(item, `${path}[${i}]`));
            return;
        }
        const entry = seen.get(value);
        if (entry && !entry.enumerated && entry.keys.size > 0) {
            for (const key of Object.keys(value)) {
                if (!entry.keys.has(key)) found.push(`${path}.${key}`);
            }
        }
        for (const [key, child] of Object.entries(value)) walk(child, `${path}.${key}`);
    };
    walk(root, "");
    return found;
}

function check(models, doc) {
    const hit = models.get(`${doc?.apiVersion}/${doc?.kind}`);
    if (!hit) return { source: null, errors: [], unknown: [] };
    const { proxy, seen } = tracked(doc);
    let errors = [];
    try {
        // The generated validate() runs the compiled schema on `this`.
        hit.Model.prototype.validate.call(proxy);
    } catch (err) {
        errors = (err.errors ?? [{ instancePath: "", message: String(err) }]).map(
            (e) => `${e.instancePath || "/"}: ${e.message}${e.params?.allowedValues ? ` (${e.params.allowedValues.join(", ")})` : ""}`,
        );
    }
    return { source: hit.source, errors, unknown: unknownFields(doc, seen) };
}

const models = await loadModels();
if (process.argv.includes("--list")) {
    const list = [...models].map(([gvk, { source }]) => {
        const cut = gvk.lastIndexOf("/");
        return { apiVersion: gvk.slice(0, cut), kind: gvk.slice(cut + 1), source };
    });
    process.stdout.write(JSON.stringify(list));
} else {
    const input = JSON.parse(readFileSync(0, "utf8"));
    process.stdout.write(JSON.stringify(input.map(({ id, doc }) => ({ id, ...check(models, doc) }))));
}
