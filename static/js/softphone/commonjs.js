/* Lets a CommonJS bundle loaded by a plain <script> (the vendored aircall-everywhere, whose dist/index.js assigns
 * `module.exports`) leave its export where aircall.js picks it up. Only the Aircall softphone page loads it. */
var module = { exports: {} };   // eslint-disable-line no-unused-vars
var exports = module.exports;   // eslint-disable-line no-unused-vars
