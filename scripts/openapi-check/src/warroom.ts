// War Room through its generated client: sign in, read the caller, list campaigns.
import createClient from "openapi-fetch";

import type { paths } from "../generated/warroom.js";
import { check, env, ok } from "./common.js";

const email = env("EMAIL");
const client = createClient<paths>({ baseUrl: env("BASE_URL") });

const session = ok(
  "signIn",
  await client.POST("/api/v1/auth/login", { body: { email, password: env("PASSWORD") } }),
);
const headers = { Authorization: `Bearer ${session.accessToken}` };

const me = ok("getMe", await client.GET("/api/v1/auth/me", { headers }));
check(me.email === email, `getMe answered ${me.email}, not ${email}`);

const campaigns = ok(
  "listCampaigns",
  await client.GET("/api/v1/campaigns", { headers, params: { query: { page: 1, limit: 5 } } }),
);
check(campaigns.campaigns.length <= 5, "listCampaigns ignored its limit");
console.log(`warroom: ${me.role} ${me.email} sees ${campaigns.total} campaigns`);
