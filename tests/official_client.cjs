// Drives a sandbox with the official @botpress/client, every operation bpshell and the sandbox
// know, successes and errors; prints one JSON array of {step, result} or {step, error}.
//
//   node tests/official_client.cjs CLIENT_DIR '{"apiUrl": ..., "alice": TOKEN, ...}'
//
// CLIENT_DIR is the installed package (.ci/node/node_modules/@botpress/client), an absolute
// path. An error is shown as the client made it. Run by tests/test_official_client.py.
"use strict";

const clientDir = process.argv[2];
const given = JSON.parse(process.argv[3]);
const { Client } = require(clientDir);
const version = require(`${clientDir}/package.json`).version;

const client = (token, workspaceId) =>
  new Client({ apiUrl: given.apiUrl, token, workspaceId, timeout: 10000 });
const alice = client(given.alice, "ws_acme");
const bob = client(given.bob, "ws_initech");
const dana = client(given.dana, given.hooli);

const steps = [];
const step = (name, run) => steps.push([name, run]);

step("getAccount", async () => (await alice.getAccount()).account.email);
step("getAccount bad token", () => client("bp_pat_nobody").getAccount());
step("listWorkspaces all pages", async () => {
  const all = await alice.list.workspaces().collect();
  return [all.length, all[0].id, all[all.length - 1].id];
});
step("listWorkspaces handle", async () =>
  (await alice.listWorkspaces({ handle: "globex" })).workspaces.map((ws) => ws.name),
);
step("getWorkspace", async () => {
  const ws = await alice.getWorkspace({ id: "ws_acme" });
  return [ws.name, ws.botCount, ws.activeTrialId];
});
step("getWorkspace uuid", async () => (await dana.getWorkspace({ id: given.hooli })).name);
step("getWorkspace unknown", () => alice.getWorkspace({ id: "ws_nope" }));
step("getWorkspace forbidden", () => bob.getWorkspace({ id: "ws_acme" }));
step("listBots", async () => (await alice.list.bots({}).collect()).map((b) => [b.name, b.type]));
step("listBots tags", async () =>
  (await alice.listBots({ tags: { team: "acme" } })).bots.length,
);
step("listBots other tag", async () =>
  (await alice.listBots({ tags: { team: "other" } })).bots.length,
);
step("listBots dev", async () =>
  (await dana.listBots({ dev: true })).bots.map((b) => [b.name, b.type]),
);
step("listBots forbidden", () => client(given.bob, "ws_acme").listBots({}));
step("getWorkspaceMember me", async () => (await alice.getWorkspaceMember({})).role);
step("getWorkspaceMember viewer", async () => (await dana.getWorkspaceMember({})).role);
step("getWorkspaceMember billing", async () =>
  (await client(given.dana, given.umbrella).getWorkspaceMember({})).role,
);
step("listWorkspaceMembers", async () =>
  (await client(given.alice, "ws_globex").list.workspaceMembers({}).collect()).map((m) => [
    m.email,
    m.role,
  ]),
);
step("listPersonalAccessTokens", async () =>
  (await bob.listPersonalAccessTokens({})).pats.map((p) => [p.note, "value" in p]),
);
let created;
step("createPersonalAccessToken", async () => {
  created = (await bob.createPersonalAccessToken({ note: "from the official client" })).pat;
  return [created.note, created.value.startsWith("bp_pat_")];
});
step("the new PAT works", async () => (await client(created.value).getAccount()).account.email);
step("deletePersonalAccessToken", async () => bob.deletePersonalAccessToken({ id: created.id }));
step("the deleted PAT is refused", () => client(created.value).getAccount());
step("deletePersonalAccessToken again", () =>
  bob.deletePersonalAccessToken({ id: created.id }),
);
step("rate limited", async () => {
  await fetch(`${given.apiUrl}/__sandbox/rate-limit`, {
    method: "POST",
    body: JSON.stringify({ limit: 1, window_s: 60 }),
  });
  try {
    await client(given.dana).getAccount();
    return await client(given.dana).getAccount();
  } finally {
    await fetch(`${given.apiUrl}/__sandbox/rate-limit`, {
      method: "POST",
      body: JSON.stringify({ limit: null }),
    });
  }
});

// The client's error classes have minified names: its code and type say which it made.
const shown = (error) => ({ code: error.code, type: error.type, isApiError: error.isApiError });

(async () => {
  const results = [];
  for (const [name, run] of steps) {
    try {
      results.push({ step: name, result: (await run()) ?? null });
    } catch (error) {
      results.push({ step: name, error: shown(error) });
    }
  }
  process.stdout.write(JSON.stringify({ version, results }) + "\n");
})();
