/* Exact token amounts in the browser (window.cybercoverAmounts). The API sends amounts as JSON
 * integers in minor units (uint96/uint256); a JavaScript number holds integers exactly only up to
 * 2^53 (~9,007 tokens at 18 decimals), so:
 * - parse: JSON.parse whose reviver reads each number's source text (Chromium >= 114) and turns an
 *   integer outside the safe range into a BigInt; a browser without source text refuses such an
 *   integer rather than showing a wrong amount;
 * - stringify: JSON text in which a BigInt is a bare integer (JSON.stringify throws on BigInt, and a
 *   large number would become "1e+21", which the API refuses);
 * - format: minor units -> token units with thousands separators, from the digits, no floating point;
 * - toMinor: a typed amount in token units ("1,234.56") -> minor units (BigInt) by string arithmetic.
 * Plain script, no build step: loaded before console.js. */
(function () {
  "use strict";

  var INTEGER = /^-?\d+$/;

  function revive(key, value, context) {
    if (typeof value !== "number" || Number.isSafeInteger(value)) return value;
    var source = context && context.source;
    if (typeof source === "string") return INTEGER.test(source) ? BigInt(source) : value;
    if (Number.isInteger(value)) {
      throw new Error("this browser cannot read large amounts exactly (it needs JSON.parse source text, " +
                      "Chromium 114 or later)");
    }
    return value;
  }
  function parse(text) { return JSON.parse(text, revive); }

  function serialize(value, inArray) {
    if (value !== null && typeof value === "object" && typeof value.toJSON === "function") value = value.toJSON();
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value)) {
      // Its digits are already lost: sending it would move a different amount than the one meant.
      throw new Error("refusing to send an inexact integer (" + value + "): amounts go as BigInt");
    }
    if (value === undefined || typeof value === "function" || typeof value === "symbol") {
      return inArray ? "null" : undefined;  // as JSON.stringify: null in an array, left out of an object
    }
    if (value === null || typeof value !== "object") return JSON.stringify(value);
    if (Array.isArray(value)) {
      return "[" + value.map(function (v) { return serialize(v, true); }).join(",") + "]";
    }
    var parts = [];
    Object.keys(value).forEach(function (k) {
      var s = serialize(value[k], false);
      if (s !== undefined) parts.push(JSON.stringify(k) + ":" + s);
    });
    return "{" + parts.join(",") + "}";
  }
  function stringify(value) { return serialize(value, false); }

  function toBig(minor) {  // a BigInt, a safe integer or a string of digits
    if (typeof minor === "bigint") return minor;
    if (typeof minor === "number" && Number.isSafeInteger(minor)) return BigInt(minor);
    if (typeof minor === "string" && INTEGER.test(minor)) return BigInt(minor);
    throw new TypeError("not an amount in minor units: " + String(minor));
  }
  function places(decimals) { return decimals === null || decimals === undefined ? 0 : Number(decimals); }
  function group(digits) { return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

  // Minor units -> "123,456.78": trailing zeros dropped, but never a single decimal ("0.50", not "0.5")
  // unless the token has only one (the text must read back: the approval form is prefilled with it).
  function format(minor, decimals) {
    var n = toBig(minor), d = places(decimals);
    var neg = n < 0n;
    var s = (neg ? -n : n).toString();
    while (s.length <= d) s = "0" + s;
    var whole = s.slice(0, s.length - d);
    var frac = d ? s.slice(s.length - d).replace(/0+$/, "") : "";
    if (frac.length === 1 && d >= 2) frac += "0";
    return (neg ? "−" : "") + group(whole) + (frac ? "." + frac : "");
  }

  function invalid(message) {
    var err = new Error(message);
    err.type = "invalid_amount";
    return err;
  }
  // "1,234.56" in token units -> 1234560000n at 6 decimals; throws an Error (type invalid_amount)
  // with a message for the user when the text is no amount or has more decimals than the token.
  function toMinor(text, decimals) {
    var d = places(decimals);
    var t = String(text).trim().replace(/,/g, "");
    if (!/^\d+(\.\d+)?$/.test(t)) {
      throw invalid("“" + String(text).trim() + "” is not an amount: digits, then optionally a point and decimals");
    }
    var parts = t.split(".");
    var frac = parts[1] || "";
    if (frac.length > d) {
      throw invalid(d === 0 ? "this token has no decimals: give a whole number"
        : "this token has " + d + " decimal" + (d === 1 ? "" : "s") + ", “" + String(text).trim() + "” has " +
          frac.length);
    }
    while (frac.length < d) frac += "0";
    return BigInt(parts[0] + frac);
  }

  window.cybercoverAmounts = {parse: parse, stringify: stringify, format: format, toMinor: toMinor};
})();
