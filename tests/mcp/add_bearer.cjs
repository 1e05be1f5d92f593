// Preloaded (NODE_OPTIONS=--require) into the MCP Inspector CLI 0.15.0, which has no --header option:
// sends the Spreaders API key from SPREADERS_MCP_BEARER with every fetch the CLI makes.
"use strict";
const key = process.env.SPREADERS_MCP_BEARER;
const originalFetch = globalThis.fetch;
if (key && originalFetch) {
  globalThis.fetch = (input, init = {}) => {
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set("Authorization", `Bearer ${key}`);
    return originalFetch(input, { ...init, headers });
  };
}
