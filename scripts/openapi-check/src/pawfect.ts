// PawfectMatch through its generated client: sign in on the mobile mount, read the caller on
// both mounts, list the users as an admin.
import createClient from "openapi-fetch";

import type { paths } from "../generated/pawfect.js";
import { check, env, ok } from "./common.js";

const email = env("EMAIL");
const client = createClient<paths>({ baseUrl: env("BASE_URL") });

const session = ok(
  "signInMobile",
  await client.POST("/api/auth/login", { body: { email, password: env("PASSWORD") } }),
);
check(typeof session.refreshToken === "string", "the mobile mount answers a refresh token");
const headers = { Authorization: `Bearer ${session.accessToken}` };

const me = ok("getMe", await client.GET("/api/v1/auth/me", { headers }));
check(me.email === email, `getMe answered ${me.email}, not ${email}`);

const users = ok(
  "adminListUsers",
  await client.GET("/admin/api/users", { headers, params: { query: { limit: 10 } } }),
);
check(
  users.users.some((u) => u.email === email),
  "adminListUsers does not list the signed-in admin",
);
console.log(`pawfect: ${me.role} ${me.email} sees ${users.total} users`);
