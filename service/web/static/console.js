/* The insurer's and the distributor's console (/console). Plain JavaScript, no build step.
 *
 * The API key is kept in sessionStorage only (this tab, until it is closed or "Sign out"); every
 * figure comes from the same /v1 routes a script would call, with the key in X-API-Key, and every
 * action (approve, reject, bulk issuance) sends an Idempotency-Key made once per form, so a
 * repeated click or a retry never moves money twice. Data is written with textContent only. */
(function () {
  "use strict";

  var KEY = "cybercover.console.key";
  var STAFF = ["admin", "underwriter", "claims", "assessor", "accreditor", "auditor"];
  var SVG = "http://www.w3.org/2000/svg";
  var A = window.cybercoverAmounts;  // static/amounts.js: exact amounts (BigInt past 2^53)
  var root = document.getElementById("console");
  var me = null;
  var products = {};

  // --- small DOM helpers -----------------------------------------------------------------------
  function el(tag, attrs) {
    var node = document.createElement(tag);
    var kids = Array.prototype.slice.call(arguments, 2);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) node.setAttribute(k, attrs[k]);
    });
    kids.forEach(function (kid) { add(node, kid); });
    return node;
  }
  function add(node, kid) {
    if (kid === null || kid === undefined || kid === false) return;
    if (Array.isArray(kid)) { kid.forEach(function (k) { add(node, k); }); return; }
    node.appendChild(typeof kid === "object" ? kid : document.createTextNode(String(kid)));
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    return node;
  }

  // --- formatting: token units with thousands separators (exact, from the digits: amounts.js),
  // UTC dates with local time on hover ---------------------------------------------------------------
  function decimals() { return me && me.token && me.token.decimals !== null ? me.token.decimals : 0; }
  function symbol() { return me && me.token && me.token.symbol ? me.token.symbol : "units"; }
  var grouping = new Intl.NumberFormat("en-US");
  function amount(minor) {
    return minor === null || minor === undefined ? "—" : A.format(minor, decimals());
  }
  function money(minor) { return amount(minor) + " " + symbol(); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function utc(d) {
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " UTC";
  }
  function when(value) {  // unix seconds or an ISO string
    if (value === null || value === undefined) return "—";
    var d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    if (isNaN(d.getTime())) return String(value);
    return el("time", {datetime: d.toISOString(), title: "Local time: " + d.toLocaleString(), text: utc(d)});
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    var d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60);
    return d ? d + " d " + h + " h" : h ? h + " h " + m + " min" : m ? m + " min" : seconds + " s";
  }
  function short(hex) { return hex && hex.length > 14 ? hex.slice(0, 8) + "…" + hex.slice(-4) : hex || "—"; }
  function code(text, full) { return el("code", {title: full || text, text: text}); }
  var percent = new Intl.NumberFormat("en-US", {minimumFractionDigits: 1, maximumFractionDigits: 1});
  function ratio(r) { return r === null || r === undefined ? "—" : percent.format(Number(r) * 100) + " %"; }
  var TONE = {active: "ok", ok: "ok", sent: "ok", delivered: "ok", approvable: "ok", approved: "ok",
              credited: "warn", retrying: "warn", paused: "warn", due: "warn", warn: "warn",
              failed: "bad", overdue: "bad", bad: "bad", rejected: "bad"};
  function badge(text, kind) {  // webpub's badge tones: ok, warn, bad, none
    return el("span", {class: "badge " + (TONE[kind || text] || "none"), text: text});
  }

  // --- the API --------------------------------------------------------------------------------
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  }
  function api(method, path, body, idempotencyKey, key) {
    var headers = {"X-API-Key": key || sessionStorage.getItem(KEY) || "", "Accept": "application/json"};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    return fetch(path, {method: method, headers: headers, body: body === undefined ? undefined : A.stringify(body),
                        credentials: "omit", cache: "no-store"})
      .then(function (r) {
        return r.text().then(function (t) {
          var data = null;
          try { data = t ? A.parse(t) : null; } catch (e) { data = {detail: t}; }
          if (!r.ok) {
            var err = new Error((data && data.detail) || ("HTTP " + r.status));
            err.status = r.status;
            err.type = (data && data.type) || "http_" + r.status;
            throw err;
          }
          return data;
        });
      });
  }
  function errorBox(err) {
    var detail = typeof err.message === "string" ? err.message : A.stringify(err.message);  // a 422's list
    return el("p", {class: "error", role: "alert"}, el("strong", {text: err.type || "error"}), ": " + detail);
  }

  // --- layout pieces ----------------------------------------------------------------------------
  function section(id, title, intro) {
    var body = el("div", {class: "section-body"}, el("p", {class: "muted", text: "Loading…"}));
    var node = el("section", {id: id, class: "card", "aria-labelledby": id + "-h"},
      el("h2", {id: id + "-h", text: title}), intro ? el("p", {class: "muted", text: intro}) : null, body);
    return {node: node, body: body};
  }
  function fill(part, promise, render) {
    return promise.then(function (data) { clear(part.body); add(part.body, render(data)); })
      .catch(function (err) { clear(part.body); add(part.body, errorBox(err)); });
  }
  function table(headers, rows, empty) {
    if (!rows.length) return el("p", {class: "muted", text: empty || "Nothing yet."});
    return el("div", {class: "table-wrap"}, el("table", {},
      el("thead", {}, el("tr", {}, headers.map(function (h) {
        return el("th", {scope: "col", class: h.num ? "num" : null, text: h.label || h});
      }))),
      el("tbody", {}, rows.map(function (cells) {
        return el("tr", {}, cells.map(function (c, i) {
          return el("td", {class: headers[i] && headers[i].num ? "num" : null}, c);
        }));
      }))));
  }
  function stat(label, value, note) {
    return el("div", {class: "stat"}, el("div", {class: "stat-label", text: label}),
      el("div", {class: "stat-value"}, value), note ? el("div", {class: "stat-note muted", text: note}) : null);
  }
  function serviceName(serviceId) {
    var found = Object.keys(products).map(function (k) { return products[k]; })
      .filter(function (p) { return p.service_id === serviceId && p.service; })[0];
    return found ? found.service : short(serviceId);
  }

  // --- the chart: capital over time, inline SVG ---------------------------------------------------
  var SERIES = [
    {key: "free", label: "Free", cls: "s-free"},
    {key: "locked", label: "Locked", cls: "s-locked"},
    {key: "premiums", label: "Premiums (cumulative)", cls: "s-premiums"},
    {key: "payouts", label: "Payouts (cumulative)", cls: "s-payouts"}
  ];
  // Small multiples: one panel per series with its own scale (free capital is orders of magnitude
  // above the rest, which a shared axis would flatten), on one shared time axis.
  function capitalChart(points) {
    if (points.length < 2) return el("p", {class: "muted", text: "Not enough history for a chart yet."});
    var t0 = points[0].time, t1 = points[points.length - 1].time;
    return el("div", {class: "multiples"}, SERIES.map(function (s) { return panel(s, points, t0, t1); }));
  }
  function panel(s, points, t0, t1) {
    var W = 320, H = 130, L = 8, R = 8, T = 10, B = 22;
    // Amounts may be BigInt: the scale is BigInt arithmetic, only the pixel position is a float.
    var vals = points.map(function (p) { return BigInt(p[s.key]); });
    var vmax = 0n, vmin = vals[0];
    vals.forEach(function (v) { if (v > vmax) vmax = v; if (v < vmin) vmin = v; });
    var lo = vmin === vmax ? 0n : vmin, hi = vmax > lo ? vmax : lo + 1n;
    function x(p, i) { return L + (t1 > t0 ? (p.time - t0) / (t1 - t0) : i / (points.length - 1)) * (W - L - R); }
    function y(v) { return T + (1 - Number(BigInt(v) - lo) / Number(hi - lo)) * (H - T - B); }
    var id = "chart-" + s.key;
    var last = points[points.length - 1];
    var chart = svg("svg", {viewBox: "0 0 " + W + " " + H, role: "img", class: "chart", "aria-labelledby": id});
    chart.appendChild(svg("title", {id: id, text: s.label + " over time, " + symbol() + ": from " +
      money(points[0][s.key]) + " to " + money(last[s.key])}));
    [hi, lo].forEach(function (v) {
      chart.appendChild(svg("line", {x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid"}));
    });
    chart.appendChild(svg("text", {x: L, y: T - 1, class: "axis", text: "max " + amount(hi)}));
    chart.appendChild(svg("text", {x: W - R, y: H - 6, "text-anchor": "end", class: "axis",
                                   text: utc(new Date(t1 * 1000))}));
    chart.appendChild(svg("text", {x: L, y: H - 6, class: "axis", text: utc(new Date(t0 * 1000))}));
    var area = points.map(function (p, i) { return x(p, i).toFixed(1) + "," + y(p[s.key]).toFixed(1); });
    chart.appendChild(svg("polyline", {points: area.join(" "), class: "series " + s.cls}));
    points.forEach(function (p, i) {  // a hover target per point
      var dot = svg("circle", {cx: x(p, i), cy: y(p[s.key]), r: 5, class: "dot"});
      dot.appendChild(svg("title", {text: utc(new Date(p.time * 1000)) + " (block " + p.block + "): " +
                                         money(p[s.key])}));
      chart.appendChild(dot);
    });
    return el("figure", {class: "panel-chart"},
      el("figcaption", {}, el("span", {class: "swatch " + s.cls, "aria-hidden": "true"}), s.label + " ",
        el("strong", {text: money(last[s.key])})),
      chart);
  }

  // --- the insurer's console --------------------------------------------------------------------
  function insurer(main) {
    var mayDecide = me.role === "claims" || me.role === "admin";
    var cap = section("capital", "Pool capital", "CoverPool read on-chain; premiums and payouts from the ledger.");
    var expo = section("exposure", "Exposure per covered service");
    var prods = section("products", "Products");
    var queue = section("claims", "Claims queue",
      mayDecide ? "Claims above the auto-pay limit, waiting for a decision before their deadline."
                : "Read only: deciding a claim takes a claims key.");
    var pays = section("payouts", "Recent payouts");
    var figs = section("figures", "Figures");
    var dueP = section("due", "Assessments due");
    add(main, [cap.node, expo.node, prods.node, queue.node, pays.node, figs.node, dueP.node]);

    var figures = api("GET", "/v1/figures");
    var productsP = api("GET", "/v1/products").then(function (list) {
      list.forEach(function (p) { products[p.id] = p; });
      return list;
    });
    fill(cap, Promise.all([figures, api("GET", "/v1/pool/history?points=48")]), function (r) {
      var f = r[0], c = f.capital;
      return [el("div", {class: "stats"},
        stat("Free", money(c.free), "available to back new covers"),
        stat("Locked", money(c.locked), "collateral of live covers"),
        stat("Premiums", money(f.loss.written_premium), "written, all time"),
        stat("Payouts", money(f.claims.paid_amount), f.claims.paid_count + " payouts"),
        stat("Utilisation", ratio(c.utilisation), "locked ÷ (free + locked)")),
        capitalChart(r[1].points),
        el("p", {class: "muted small"}, "As of block " + f.as_of_block + ", ", when(f.as_of), ".")];
    });
    fill(expo, Promise.all([figures, productsP]), function (r) {
      return table(["Covered service", {label: "Live covers", num: true}, {label: "Exposure", num: true},
                    {label: "Can still pay", num: true}],
        r[0].exposure.map(function (e) {
          return [serviceName(e.service_id), e.policies, money(e.exposure), money(e.at_risk)];
        }), "No live covers.");
    });
    fill(prods, productsP, function (list) {
      return table(["#", "Name", "Covered service", "Trigger", "Payout", {label: "Policy limit", num: true},
                    {label: "Auto-pay up to", num: true}, {label: "Exposure", num: true}, "Status"],
        list.map(function (p) {
          return [p.id, p.name || "—", p.service || code(short(p.service_id), p.service_id),
                  duration(p.threshold_seconds),
                  p.payout_kind === "per_unit" ? money(p.amount) + " per " + duration(p.unit_seconds) : money(p.amount),
                  money(p.policy_limit), money(p.auto_pay_limit), money(p.exposure),
                  p.active ? badge("active") : badge("inactive")];
        }), "No products.");
    });
    loadClaims(queue, mayDecide);
    fill(pays, api("GET", "/v1/payouts?limit=500"), function (list) {
      var recent = list.slice(-20).reverse();
      return table(["Policy", "Beneficiary", {label: "Amount", num: true}, "Status", "Block", "Transaction"],
        recent.map(function (p) {
          return [p.policy_id, code(short(p.beneficiary), p.beneficiary), money(p.amount),
                  badge(p.status), grouping.format(p.block), code(short(p.tx), p.tx)];
        }), "No payouts yet.");
    });
    fill(figs, figures, function (f) {
      var u = f.underwriting, c = f.claims, l = f.loss, d = f.outage_to_payout;
      return el("div", {class: "stats"},
        stat("Underwriting automation", ratio(u.automation), "target " + ratio(u.target) + " · " + grouping.format(u.quotes) + " quotes"),
        stat("Claims automation (amount)", ratio(c.automation_by_amount), "target " + ratio(c.target)),
        stat("Claims automation (count)", ratio(c.automation_by_count), c.automatic_count + " of " + c.paid_count),
        stat("Loss ratio", ratio(l.loss_ratio), "paid ÷ earned " + money(l.earned_premium)),
        stat("Outage → payout p50", duration(d.p50_seconds), d.payouts + " payouts measured"),
        stat("Outage → payout p95", duration(d.p95_seconds), "max " + duration(d.max_seconds)));
    });
    fill(dueP, api("GET", "/v1/assessments/due"), dueList);
  }

  function loadClaims(part, mayDecide) {
    return fill(part, api("GET", "/v1/claims?status=open&limit=500"), function (list) {
      if (!list.length) return el("p", {class: "muted", text: "No claim waits for a decision."});
      return el("ul", {class: "claims"}, list.map(function (c) { return claimItem(c, part, mayDecide); }));
    });
  }

  function claimItem(c, part, mayDecide) {
    var detail = el("div", {class: "claim-detail"});
    var open = false;
    var toggle = el("button", {type: "button", class: "secondary", "aria-expanded": "false",
                               "data-claim": c.id, text: "Review claim " + c.id});
    toggle.addEventListener("click", function () {
      open = !open;
      toggle.setAttribute("aria-expanded", String(open));
      clear(detail);
      if (!open) return;
      add(detail, el("p", {class: "muted", text: "Asking the oracle nodes for the evidence…"}));
      api("GET", "/v1/claims/" + c.id).then(function (full) {
        clear(detail);
        add(detail, claimDetail(full, part, mayDecide));
      }).catch(function (err) { clear(detail); add(detail, errorBox(err)); });
    });
    return el("li", {class: "claim", id: "claim-" + c.id},
      el("div", {class: "claim-head"},
        el("strong", {text: "Claim " + c.id}), " · policy " + c.policy_id + " · ",
        el("span", {class: "amount", text: money(c.amount)}), " in review · ",
        c.review_reason === "excluded_event" ? badge("excluded event", "warn") : badge("above auto-pay", "info"),
        " · decide by ", when(c.deadline),
        c.deadlines && c.deadlines.seconds_left !== null ? " (" + duration(c.deadlines.seconds_left) + " left)" : ""),
      toggle, detail);
  }

  function claimDetail(c, part, mayDecide) {
    var episodes = table(["Outage", "Down", "Maintenance", {label: "Entitlement", num: true}, "Signers and evidence"],
      c.episodes.map(function (e) {
        return [[when(e.start), " → ", when(e.end)], duration(e.down_seconds), duration(e.maintenance_seconds),
                money(e.entitlement),
                el("ul", {class: "plain"}, e.signers.map(function (s) {
                  var link = s.evidence.url
                    ? el("a", {href: s.evidence.url, rel: "noopener", target: "_blank", text: "evidence"})
                    : el("span", {class: "muted", text: s.evidence.status.replace(/_/g, " ")});
                  return el("li", {}, code(short(s.address), s.address), " ", link);
                }))];
      }), "No verified episode behind this claim.");
    var inc = c.incident;
    var incident = inc ? el("div", {class: "incident"},
      el("h4", {text: "Incident report"}),
      el("p", {}, inc.anchor_id ? code(short(inc.anchor_id), inc.anchor_id) : "none anchored", " · ",
        inc.verification.approvable ? badge("approvable", "ok") : badge("not approvable", "warn"),
        inc.verification.problems.length ? " " + inc.verification.problems.join(", ").replace(/_/g, " ") : "",
        inc.outage ? [" · states outage ", when(inc.outage.start), " → ", when(inc.outage.end)] : "",
        inc.quantified_loss ? " · quantified loss " + inc.quantified_loss.total_minor + " " +
          (inc.quantified_loss.currency || "") + " minor units" : ""))
      : el("p", {class: "muted", text: "No incident report on file for this policy."});
    var summary = el("p", {},
      "Claim " + money(c.amount) + " (entitlement " + money(c.entitlement) + "); auto-pay limit " +
      money(c.auto_pay_limit) + "; already paid on the policy " + money(c.policy_paid) + ".");
    return [summary, el("h4", {text: "Verified outages"}), episodes, incident,
            mayDecide ? decisionForms(c, part) : null];
  }

  function decisionForms(c, part) {
    var approveKey = newKey(), rejectKey = newKey();  // one per form: a repeat replays, never pays twice
    var status = el("div", {class: "decision-status", "aria-live": "polite"});
    var anchor = el("input", {id: "inc-" + c.id, name: "incident_report", required: "required",
                              pattern: "0x[0-9a-fA-F]{64}", value: c.incident && c.incident.anchor_id || "",
                              class: "mono"});
    var amt = el("input", {id: "amt-" + c.id, name: "amount", inputmode: "decimal", value: amount(c.amount)});
    var why = el("textarea", {id: "why-" + c.id, name: "reason", rows: "2", maxlength: "5000"});
    var approve = el("form", {class: "decision", "data-action": "approve"},
      el("h4", {text: "Approve"}),
      el("label", {for: "inc-" + c.id, text: "Incident report (anchor id)"}), anchor,
      el("label", {for: "amt-" + c.id, text: "Amount to pay (" + symbol() + "; at most " + amount(c.amount) +
                                             ", the rest is declined)"}), amt,
      el("label", {for: "why-" + c.id, text: "Reason (for a partial approval)"}), why,
      el("button", {type: "submit", text: "Approve and pay"}));
    var rwhy = el("textarea", {id: "rwhy-" + c.id, name: "reason", rows: "2", required: "required",
                               maxlength: "5000"});
    var reject = el("form", {class: "decision", "data-action": "reject"},
      el("h4", {text: "Reject"}),
      el("label", {for: "rwhy-" + c.id, text: "Written reason (its hash goes on-chain)"}), rwhy,
      el("button", {type: "submit", class: "danger", text: "Reject claim"}));
    function done(result) {
      clear(status);
      var paid = result.approved !== null && result.approved !== undefined ? money(result.approved) : null;
      add(status, el("p", {class: "ok", role: "status"}, "Claim " + result.id + " " + result.status +
        (paid ? ": " + paid + " paid" : "") + (result.declined ? ", " + money(result.declined) + " declined" : "") +
        "."));
      [approve, reject].forEach(function (f) {
        Array.prototype.forEach.call(f.elements, function (x) { x.disabled = true; });
      });
      setTimeout(function () { refreshAfterDecision(part); }, 1500);
    }
    function failed(err, form) {
      clear(status);
      add(status, errorBox(err));
      Array.prototype.forEach.call(form.elements, function (x) { x.disabled = false; });
    }
    approve.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = {incident_report: anchor.value.trim()};
      var minor;
      try { minor = A.toMinor(amt.value, decimals()); } catch (e) {
        failed({type: e.type || "invalid_amount", message: e.message + " (an amount in " + symbol() + ")"}, approve);
        return;
      }
      if (minor < 1n) { failed({type: "invalid_amount", message: "give an amount above 0 " + symbol()}, approve); return; }
      if (minor !== BigInt(c.amount)) body.amount = minor;  // a BigInt: sent as a bare JSON integer
      if (why.value.trim()) body.reason = why.value.trim();
      Array.prototype.forEach.call(approve.elements, function (x) { x.disabled = true; });
      clear(status);
      add(status, el("p", {class: "muted", text: "Sending the approval…"}));
      api("POST", "/v1/claims/" + c.id + "/approve", body, approveKey).then(done)
        .catch(function (err) { failed(err, approve); });
    });
    reject.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = {reason: rwhy.value.trim()};
      if (!body.reason) { failed({type: "reason_required", message: "a rejection needs a written reason"}, reject); return; }
      Array.prototype.forEach.call(reject.elements, function (x) { x.disabled = true; });
      api("POST", "/v1/claims/" + c.id + "/reject", body, rejectKey).then(done)
        .catch(function (err) { failed(err, reject); });
    });
    return el("div", {class: "decisions"}, approve, reject, status);
  }

  function refreshAfterDecision(part) {
    loadClaims(part, true);
    var pays = document.getElementById("payouts");
    if (pays) {
      var body = pays.querySelector(".section-body");
      fill({body: body}, api("GET", "/v1/payouts?limit=500"), function (list) {
        return table(["Policy", "Beneficiary", {label: "Amount", num: true}, "Status", "Block", "Transaction"],
          list.slice(-20).reverse().map(function (p) {
            return [p.policy_id, code(short(p.beneficiary), p.beneficiary), money(p.amount), badge(p.status),
                    p.block, code(short(p.tx), p.tx)];
          }), "No payouts yet.");
      });
    }
  }

  function dueList(d) {
    var rows = [];
    d.policies.forEach(function (p) {
      p.activities.filter(function (a) { return a.status !== "ok"; }).forEach(function (a) {
        rows.push([p.policy_id, a.activity.replace(/_/g, " "), a.frequency, when(a.due_at),
                   badge(a.status), a.last_done ? when(a.last_done) : "never"]);
      });
    });
    return [table(["Policy", "Activity", "Frequency", "Due", "Status", "Last done"], rows,
                  "Nothing due or overdue (" + d.policies.length + " live policies on schedule)."),
            el("p", {class: "muted small"}, "Chain time ", when(d.chain_time), ".")];
  }

  // --- the distributor's console ----------------------------------------------------------------
  function distributor(main) {
    var mayIssue = me.role === "distributor" || me.role === "admin";
    var covers = section("covers", "Covers");
    var bulk = mayIssue ? section("bulk", "Bulk issuance from a CSV",
      "A header row naming holder_ref and beneficiary, then one cover per row, all on one quote. " +
      "Preview checks every row and sends nothing; only confirming issues the valid rows.") : null;
    var hooks = section("webhooks", "Webhooks");
    var dueP = section("due", "Assessments due");
    add(main, [covers.node, bulk && bulk.node, hooks.node, dueP.node]);
    coversSection(covers);
    if (bulk) bulkSection(bulk);
    if (mayIssue) {
      fill(hooks, api("GET", "/v1/webhooks"), webhookList);
    } else {
      clear(hooks.body);
      add(hooks.body, el("p", {class: "muted", text: "Webhooks are managed with a distributor key."}));
    }
    fill(dueP, api("GET", "/v1/assessments/due"), dueList);
  }

  function coversSection(part) {
    var q = el("input", {type: "search", id: "cover-q", name: "q", placeholder: "holder ref, policy id or address",
                         "aria-label": "Search covers"});
    var status = el("select", {id: "cover-status", "aria-label": "Status"},
      ["", "active", "expired", "cancelled"].map(function (s) { return el("option", {value: s, text: s || "any status"}); }));
    var results = el("div", {class: "cover-results", "aria-live": "polite"});
    var form = el("form", {class: "inline", role: "search"}, q, status, el("button", {type: "submit", text: "Search"}));
    function load() {
      var params = new URLSearchParams({limit: "100"});
      if (q.value.trim()) params.set("q", q.value.trim());
      if (status.value) params.set("status", status.value);
      fill({body: results}, api("GET", "/v1/policies?" + params.toString()), function (page) {
        return [el("p", {class: "muted small", text: page.total + " cover" + (page.total === 1 ? "" : "s") +
                         (page.total > page.items.length ? " (first " + page.items.length + " shown)" : "")}),
          table(["Policy", "Holder ref", "Beneficiary", {label: "Limit", num: true}, {label: "Premium", num: true},
                 {label: "Paid", num: true}, "Cover ends", "Status"],
            page.items.map(function (p) {
              return [p.id, p.holder_ref || "—", code(short(p.beneficiary), p.beneficiary), money(p.limit),
                      money(p.premium), money(p.paid), when(p.cover_end),
                      badge(p.open_claim ? "claim in review" : p.status, p.open_claim ? "warn" : p.status)];
            }), "No cover matches.")];
      });
    }
    form.addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
    clear(part.body);
    add(part.body, [form, results]);
    load();
    part.reload = load;
    coversReload = load;
  }
  var coversReload = null;

  function bulkSection(part) {
    var quote = el("input", {id: "bulk-quote", name: "quote_id", required: "required", class: "mono",
                             placeholder: "quote id"});
    var file = el("input", {id: "bulk-file", type: "file", accept: ".csv,text/csv"});
    var text = el("textarea", {id: "bulk-csv", name: "csv", rows: "6", class: "mono",
                               placeholder: "holder_ref,beneficiary\ncustomer-1,0x…"});
    var out = el("div", {id: "bulk-preview", "aria-live": "polite"});
    file.addEventListener("change", function () {
      var f = file.files && file.files[0];
      if (!f) return;
      f.text().then(function (t) { text.value = t; });
    });
    var form = el("form", {class: "bulk"},
      el("label", {for: "bulk-quote", text: "Quote (every cover gets its limit, premium and cover length)"}), quote,
      el("label", {for: "bulk-file", text: "CSV file"}), file,
      el("label", {for: "bulk-csv", text: "…or paste the CSV"}), text,
      el("button", {type: "submit", text: "Preview"}));
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clear(out);
      add(out, el("p", {class: "muted", text: "Checking every row…"}));
      api("POST", "/v1/policies/batch/preview", {quote_id: quote.value.trim(), csv: text.value})
        .then(function (pv) { clear(out); add(out, preview(pv)); })
        .catch(function (err) { clear(out); add(out, errorBox(err)); });
    });
    clear(part.body);
    add(part.body, [form, out]);
  }

  function preview(pv) {
    var idem = newKey();  // made once per preview: confirming twice replays the first issuance
    var q = pv.quote;
    var result = el("div", {id: "bulk-result", "aria-live": "polite"});
    var rows = table(["Line", "Holder ref", "Beneficiary", "Check"], pv.rows.map(function (r) {
      return [r.line, r.holder_ref || "—", code(short(r.beneficiary) || "—", r.beneficiary),
              r.ok ? badge("ok") : el("span", {class: "row-error", "data-line": r.line},
                                      el("strong", {text: r.error.type}), ": " + r.error.detail)];
    }));
    var confirm = el("button", {type: "button", id: "bulk-confirm", disabled: pv.valid ? null : "disabled",
                                text: "Issue " + pv.valid + " cover" + (pv.valid === 1 ? "" : "s")});
    confirm.addEventListener("click", function () {
      confirm.disabled = true;
      clear(result);
      add(result, el("p", {class: "muted", text: "Issuing on-chain…"}));
      api("POST", "/v1/policies/batch?wait=true", {quote_id: q.id, covers: pv.covers}, idem).then(function (res) {
        clear(result);
        add(result, el("p", {class: "ok", role: "status", text: res.policies.length + " cover" +
          (res.policies.length === 1 ? "" : "s") + " issued: policies " +
          res.policies.map(function (p) { return p.id; }).join(", ") + "."}));
        if (res.error) {
          add(result, el("p", {class: "error", role: "alert"}, el("strong", {text: res.error.type}),
            ": " + res.error.detail + " — rows from " + pv.covers[res.error.not_issued_from].holder_ref +
            " on were not issued."));
        }
        if (coversReload) coversReload();
      }).catch(function (err) { clear(result); add(result, errorBox(err)); confirm.disabled = false; });
    });
    return [
      el("p", {class: pv.invalid ? "warn-text" : null},
        pv.valid + " of " + pv.rows.length + " rows can be issued" + (pv.invalid ? "; " + pv.invalid +
        " with errors will be left out" : "") + ". On quote " + q.id + ": " + money(q.limit) + " limit and " +
        money(q.premium) + " premium each, " + duration(q.cover_seconds) + " of cover; total premium " +
        money(pv.premium_total) + ", collateral " + money(pv.limit_total) + "."),
      q.problem ? el("p", {class: "error", role: "alert"}, el("strong", {text: q.problem.type}), ": " + q.problem.detail) : null,
      rows, confirm, result];
  }

  function webhookList(list) {
    if (!list.length) return el("p", {class: "muted", text: "No webhooks. Subscribe with POST /v1/webhooks."});
    return el("ul", {class: "hooks"}, list.map(function (h) {
      var deliveries = el("div", {class: "deliveries"}, el("p", {class: "muted", text: "Loading deliveries…"}));
      fill({body: deliveries}, api("GET", "/v1/webhooks/" + h.id + "/deliveries?limit=10"), function (ds) {
        return table(["Notice", "Status", "Attempts", "Queued", "Delivered / next try", "Last error"],
          ds.map(function (d) {
            return [d.event_type, badge(d.status), d.attempts,
                    when(d.created_at), d.delivered_at ? when(d.delivered_at) : d.next_attempt_at ? when(d.next_attempt_at) : "—",
                    d.last_error || "—"];
          }), "No deliveries yet.");
      });
      return el("li", {class: "hook"},
        el("p", {}, el("strong", {}, code(h.url)), " ", h.active ? badge("active") : badge("paused", "warn"),
          " · " + h.events.join(", ") + " · scope " + h.scope),
        deliveries);
    }));
  }

  // --- login and start ------------------------------------------------------------------------
  function login(message) {
    clear(root);
    var input = el("input", {id: "api-key", type: "password", name: "api_key", autocomplete: "off", required: "required",
                             class: "mono"});
    var status = el("div", {"aria-live": "polite"}, message ? errorBox(message) : null);
    var form = el("form", {class: "login card", id: "login"},
      el("h2", {text: "Sign in with an API key"}),
      el("p", {class: "muted", text: "The key stays in this browser tab (sessionStorage) and is sent only to this " +
                                     "service's /v1 routes. Closing the tab or signing out forgets it."}),
      el("label", {for: "api-key", text: "API key"}), input,
      el("button", {type: "submit", text: "Sign in"}), status);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var key = input.value.trim();
      api("GET", "/v1/me", undefined, null, key).then(function (who) {
        sessionStorage.setItem(KEY, key);
        start(who);
      }).catch(function (err) { clear(status); add(status, errorBox(err)); });
    });
    add(root, form);
    input.focus();
  }

  function start(who) {
    me = who;
    clear(root);
    var staff = who.insurer && STAFF.indexOf(who.role) >= 0;
    var out = el("button", {type: "button", class: "secondary", id: "sign-out", text: "Sign out"});
    out.addEventListener("click", function () { sessionStorage.removeItem(KEY); me = null; login(); });
    add(root, el("div", {class: "whoami"},
      el("p", {}, "Signed in as ", el("strong", {id: "who-role", text: who.role}), " of ",
        el("strong", {text: who.tenant_name}), who.insurer ? " (the insurer)" : "", " · key ", code(who.prefix + "…"),
        " · amounts in " + symbol()),
      out));
    var main = el("div", {class: "console-" + (staff ? "insurer" : "distributor"), id: "console-view"});
    add(root, main);
    if (staff) insurer(main); else distributor(main);
  }

  var saved = sessionStorage.getItem(KEY);
  if (saved) {
    api("GET", "/v1/me", undefined, null, saved).then(start).catch(function (err) {
      sessionStorage.removeItem(KEY);
      login(err);
    });
  } else {
    login();
  }
})();
