// LeadGen through its generated client: sign in, read the caller and their organization, list
// the users as an admin.
import createClient from "openapi-fetch";

import type { paths } from "../generated/leadgen.js";
import { check, env, ok } from "./common.js";

const email = env("EMAIL");
const client = createClient<paths>({ baseUrl: env("BASE_URL") });

const session = ok(
  "signIn",
  await client.POST("/api/auth/login", { body: { email, password: env("PASSWORD") } }),
);
const headers = { Authorization: `Bearer ${session.accessToken}` };

const me = ok("getMe", await client.GET("/api/auth/me", { headers }));
check(me.user.email === email, `getMe answered ${me.user.email}, not ${email}`);

const users = ok(
  "adminListUsers",
  await client.GET("/admin/api/users", { headers, params: { query: { limit: 10 } } }),
);
check(
  users.users.some((u) => u.email === email),
  "adminListUsers does not list the signed-in admin",
);
console.log(`leadgen: ${me.user.email} of ${me.organization.name} sees ${users.total} users`);
