// Renders /api/v1/openapi.json without any third-party code (strict CSP: no inline script).
"use strict";
(function () {
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function resolve(spec, schema) {
    if (schema && schema.$ref) {
      var name = schema.$ref.split("/").pop();
      return spec.components.schemas[name] || {};
    }
    return schema || {};
  }
  function schemaBlock(spec, schema) {
    var seen = {};
    function expand(s, depth) {
      if (!s || depth > 6) return s;
      if (s.$ref) {
        var name = s.$ref.split("/").pop();
        if (seen[name] && depth > 1) return { $ref: name };
        seen[name] = true;
        return expand(resolve(spec, s), depth + 1);
      }
      var out = Array.isArray(s) ? [] : {};
      Object.keys(s).forEach(function (k) {
        out[k] = typeof s[k] === "object" && s[k] !== null ? expand(s[k], depth + 1) : s[k];
      });
      return out;
    }
    return el("pre", { text: JSON.stringify(expand(schema, 0), null, 2) });
  }
  function render(spec) {
    var toc = document.getElementById("toc");
    var main = document.getElementById("ops");
    main.textContent = "";
    var byTag = {};
    Object.keys(spec.paths).forEach(function (path) {
      Object.keys(spec.paths[path]).forEach(function (method) {
        var op = spec.paths[path][method];
        var tag = (op.tags || ["other"])[0];
        (byTag[tag] = byTag[tag] || []).push({ path: path, method: method.toUpperCase(), op: op });
      });
    });
    Object.keys(byTag).forEach(function (tag) {
      toc.appendChild(el("h3", { text: tag }));
      main.appendChild(el("h2", { text: tag }));
      byTag[tag].forEach(function (item) {
        var id = item.op.operationId;
        toc.appendChild(el("a", { href: "#" + id, text: item.method + " " + item.path }));
        var section = el("section", { class: "op", id: id }, [
          el("div", {}, [
            el("span", { class: "method " + item.method, text: item.method }),
            el("code", { text: "/api/v1" + item.path }),
            el("span", { class: "role", text: (item.op.description || "").trim() }),
          ]),
          el("p", { text: item.op.summary || "" }),
        ]);
        var params = item.op.parameters || [];
        if (params.length) {
          var rows = params.map(function (p) {
            return el("tr", {}, [
              el("td", {}, [el("code", { text: p.name })]),
              el("td", { text: p.in + (p.required ? ", required" : "") }),
              el("td", { text: JSON.stringify(p.schema) }),
              el("td", { text: p.description || "" }),
            ]);
          });
          section.appendChild(el("table", {}, [el("tr", {}, [
            el("th", { text: "parameter" }), el("th", { text: "in" }),
            el("th", { text: "schema" }), el("th", { text: "description" })])].concat(rows)));
        }
        if (item.op.requestBody) {
          var body = item.op.requestBody.content["application/json"].schema;
          section.appendChild(el("details", {}, [el("summary", { text: "request body" }), schemaBlock(spec, body)]));
        }
        Object.keys(item.op.responses).forEach(function (code) {
          var r = item.op.responses[code];
          var content = r.content && r.content["application/json"];
          section.appendChild(el("details", {}, [
            el("summary", { text: code + " — " + r.description }),
            content ? schemaBlock(spec, content.schema) : null,
          ]));
        });
        main.appendChild(section);
      });
    });
  }
  fetch("/api/v1/openapi.json", { headers: { Accept: "application/json" } })
    .then(function (r) { return r.json(); })
    .then(render)
    .catch(function (e) {
      document.getElementById("status").textContent = "Could not load the specification: " + e;
    });
})();
