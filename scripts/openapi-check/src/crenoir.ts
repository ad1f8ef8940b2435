// Crenoir X MAP through its generated client. Its people sign in with Google (or SAML), so the
// program goes through the mock Google provider of MOCK mode: it asks for a sign-in link, reads
// the mailed code from the outbox as an admin, redeems it for an ID token, signs in with it and
// reads the profile with the session cookie that sign-in set.
import createClient from "openapi-fetch";

import type { paths } from "../generated/crenoir.js";
import { check, env, ok } from "./common.js";

const email = env("EMAIL");
// The mock provider mails links only to addresses of this app (its app URL, here its own).
const redirectUri = `${env("BASE_URL")}/auth/callback`;
const client = createClient<paths>({ baseUrl: env("BASE_URL") });
const admin = { Authorization: `Bearer ${env("ADMIN_TOKEN")}` };

ok(
  "authorizeMockGoogle",
  await client.POST("/auth/google/mock/authorize", { body: { email, redirectUri } }),
);

const outbox = ok(
  "adminListOutbox",
  await client.GET("/admin/api/outbox", { headers: admin, params: { query: { limit: 20 } } }),
);
const mail = outbox.messages.find((m) => m.recipient === email && m.body.includes(`${redirectUri}?code=`));
check(mail !== undefined, `no sign-in link for ${email} in the outbox`);
const code = new URL(/https?:\/\/\S+\?code=[^\s"<>]+/.exec(mail?.body ?? "")?.[0] ?? redirectUri)
  .searchParams.get("code");
check(code !== null, "the mailed link carries no code");

const token = ok(
  "exchangeMockGoogleCode",
  await client.POST("/auth/google/mock/token", { body: { code: code ?? "", redirectUri } }),
);

const signIn = await client.POST("/auth/google/login", {
  body: { credential: token.data.idToken },
});
const session = ok("signInWithGoogle", signIn);
const cookies = signIn.response.headers
  .getSetCookie()
  .map((c) => c.split(";")[0])
  .join("; ");
check(cookies.includes("access_token="), "sign-in set no access cookie");

const profile = ok(
  "getProfile",
  await client.GET("/auth/user/profile", { headers: { Cookie: cookies } }),
);
check(profile.data.email === email, `getProfile answered ${profile.data.email}, not ${email}`);
console.log(`crenoir: ${session.data.user.role} ${profile.data.email} signed in with Google`);
