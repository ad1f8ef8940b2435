#!/usr/bin/env python3
"""Replays the attack of issue 12 against one Basalt product and prints a table of checks.

    scripts/attack/attack.py --product P --basalt BIN --data-dir DIR [--database-url URL]

Starts `basalt serve P` on a free loopback port (MOCK mode, the given database, a JWT secret
of its own, short HTTP timeouts), creates its users with `basalt user create`/`user token`,
reads the product's /openapi.json, and runs every check group below. Each check is PASS or
FAIL; a failing check listed in KNOWN_OPEN is printed as KNOWN with its reason and does not
fail the run. Exit status: 0 when nothing failed, 1 otherwise, 2 on a usage or setup error.

Groups (`--only GROUP,...` runs some of them):
  tokens       forged access tokens (alg none, wrong key, HS/RS confusion, expired, nbf ahead,
               wrong issuer/audience, tampered, truncated, ...): every one 401
  refresh      rotation races: a spent token inside the grace window answers the same successor
               (no second family, also under a parallel burst); outside it, reuse revokes the family
  access       anonymous callers on every protected operation of /openapi.json: 401; a
               non-admin on every console operation: 403; nobody ends another's session
  input        malformed JSON, wrong content type, NUL in body/query/path (validation error
               naming the field), oversized header/URI/body, bad framing: the product's JSON
               error shape wherever the server can answer, never a 5xx, the server still up
  headers      security headers on a response with personal data; no CORS grant to a
               foreign origin
  throttle     password guessing from many loopback addresses (127.0.x.y): no more guesses
               checked than the documented per-account limit, the owner not locked out
  connections  idle, slow-header and idle keep-alive connections closed within the timeouts,
               connections over the per-address cap refused, health checks answered throughout
  crash        kill -9 under concurrent writes, restart on the same database: no acknowledged
               write lost

Nothing here is specific to a product except the PRODUCTS table (sign-in and refresh
endpoints, error shape, roles); everything else comes from the binary and the product's
OpenAPI document. Python 3.9+ standard library only.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

# ---------------------------------------------------------------------------------------------
# What the script knows about each product. Everything else is read from the binary and the
# product's /openapi.json.
#
#   errors       where an error's code sits: "flat" { code, message, details } or
#                "nested" { error: { code, message, ... } }
#   validation   the status of a validation error (naming fields in details.fields)
#   signin       password sign-in: POST path with { email, password }, tokens in the body
#                (accessToken, refreshToken); None: no password sign-in
#   mock_google  for products without password sign-in: the mock Google code flow
#                (authorize path, login path); the code is read from the outbox (console)
#   refresh      (path, "body" | "cookie"): body { refreshToken } answering { refreshToken },
#                or the refresh_token cookie + X-CSRF-Token answering renewed cookies
#   me           a GET any signed-in user may call
#   low_role     the least privileged role (`basalt user create --role`)
#   own_sessions a user's own session list, when the product has one: DELETE {path}/{id} must
#                not end another user's session
#   throttle     the documented per-account limit of checked wrong passwords (docs: "Sign-in
#                throttling": 10 failures, then a 15-minute cool-down)
#   nul_body     a public JSON endpoint and a body whose "email" gets a NUL for the input check
# ---------------------------------------------------------------------------------------------
PRODUCTS = {
    "warroom": {
        "errors": "flat",
        "validation": 400,
        "signin": "/api/v1/auth/login",
        "refresh": ("/api/v1/auth/refresh", "body"),
        "me": "/api/v1/auth/me",
        "low_role": "viewer",
        "own_sessions": "/api/v1/auth/sessions",
        "throttle": 10,
    },
    "pawfect": {
        "errors": "flat",
        "validation": 400,
        "signin": "/api/auth/login",
        "refresh": ("/api/auth/refresh", "body"),
        "me": "/api/auth/me",
        "low_role": "user",
        "throttle": 10,
    },
    "crenoir": {
        "errors": "nested",
        "validation": 422,
        "signin": None,
        "mock_google": ("/auth/google/mock/authorize", "/auth/google/login"),
        "refresh": ("/auth/refresh", "cookie"),
        "me": "/auth/user/profile",
        "low_role": "member",
        "throttle": None,
    },
    "leadgen": {
        "errors": "nested",
        "validation": 400,
        "signin": "/api/auth/login",
        "refresh": ("/api/auth/refresh", "body"),
        "me": "/api/auth/me",
        "low_role": "user",
        "throttle": 10,
    },
}

# Holes a check finds that are outside the platform's reach: (product or "*", check name) →
# why. Printed as KNOWN; they do not fail the run. Keep it empty unless there is a reason.
KNOWN_OPEN = {}

# The grace window of a rotated refresh token (docs: 10 seconds) and the margin waited past it.
REFRESH_GRACE_SECS = 10
PASSWORD = "attack-" + uuid.uuid4().hex


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt(header, claims, key, alg="HS256"):
    """A JWT with `header` and `claims`, signed with HMAC `alg` under `key` (None: no signature)."""
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{head}.{body}".encode()
    if key is None:
        return f"{head}.{body}."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    return f"{head}.{body}.{b64url(hmac.new(key, signing_input, digest).digest())}"


def claims_of(token):
    return json.loads(b64url_decode(token.split(".")[1]))


# ------------------------------------------------------------------------------------ HTTP


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # [(name lower, value)]
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def cookies(self):
        """Cookies this response sets (not clears), by name."""
        out = {}
        for k, v in self.headers:
            if k != "set-cookie":
                continue
            first, _, attrs = v.partition(";")
            name, _, value = first.partition("=")
            if "max-age=0" in attrs.lower().replace(" ", ""):
                continue
            out[name.strip()] = value.strip()
        return out

    def short(self):
        text = self.body[:160].decode("utf-8", "replace")
        return f"{self.status} {text}"


class Client:
    def __init__(self, host, port):
        self.host = host
        self.port = port

    def request(self, method, path, body=None, headers=None, token=None, cookies=None,
                source=None, timeout=15):
        """One request on a new connection, optionally from the loopback address `source`."""
        h = {"Connection": "close"}
        if token:
            h["Authorization"] = f"Bearer {token}"
        if cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        conn = http.client.HTTPConnection(
            self.host, self.port, timeout=timeout,
            source_address=(source, 0) if source else None)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return Resp(r.status, [(k.lower(), v) for k, v in r.getheaders()], data)
        finally:
            conn.close()

    def raw(self, data, source=None, timeout=10, send_all=True):
        """Sends raw bytes and reads one response (status, headers, body) until the body is
        complete or the connection closes. Returns None when the server answered nothing."""
        s = socket.create_connection((self.host, self.port), timeout=timeout,
                                     source_address=(source, 0) if source else None)
        try:
            try:
                if send_all:
                    s.sendall(data)
                else:
                    # Stop sending as soon as the server has answered (e.g. 413 mid-body).
                    view = memoryview(data)
                    while view:
                        n = s.send(view[:65536])
                        view = view[n:]
                        if select.select([s], [], [], 0)[0]:
                            break
            except OSError:
                pass
            return read_response(s, timeout)
        finally:
            s.close()


def read_response(s, timeout):
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf:
        chunk = recv_until(s, deadline)
        if not chunk:
            return None if not buf else parse_head(buf, b"")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    resp = parse_head(head, b"")
    length = int(resp.header("content-length") or 0)
    while len(rest) < length:
        chunk = recv_until(s, deadline)
        if not chunk:
            break
        rest += chunk
    resp.body = rest[:length] if length else rest
    return resp


def recv_until(s, deadline):
    try:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        return s.recv(65536)
    except (socket.timeout, OSError):
        return b""


def parse_head(head, body):
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers.append((k.strip().lower().decode("latin-1"), v.strip().decode("latin-1")))
    return Resp(status, headers, body)


# ---------------------------------------------------------------------------------- report


class Report:
    def __init__(self, product):
        self.product = product
        self.rows = []

    def check(self, group, name, ok, detail=""):
        known = KNOWN_OPEN.get((self.product, name)) or KNOWN_OPEN.get(("*", name))
        if ok is None:
            verdict = "SKIP"
        elif ok:
            verdict = "PASS"
        elif known:
            verdict = "KNOWN"
            detail = f"{detail} [known open: {known}]"
        else:
            verdict = "FAIL"
        self.rows.append((group, name, verdict, detail))
        return ok

    def failed(self):
        return [r for r in self.rows if r[2] == "FAIL"]

    def print(self, title):
        w_group = max([5] + [len(r[0]) for r in self.rows])
        w_name = max([5] + [len(r[1]) for r in self.rows])
        print(f"\n{title}")
        print(f"{'group':<{w_group}}  {'check':<{w_name}}  result  detail")
        print(f"{'-' * w_group}  {'-' * w_name}  ------  ------")
        for group, name, verdict, detail in self.rows:
            print(f"{group:<{w_group}}  {name:<{w_name}}  {verdict:<6}  {detail}")
        counts = {}
        for r in self.rows:
            counts[r[2]] = counts.get(r[2], 0) + 1
        print("  ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
        if KNOWN_OPEN:
            print("KNOWN_OPEN (reported, not failing):")
            for (product, name), why in KNOWN_OPEN.items():
                print(f"  {product}/{name}: {why}")


# ---------------------------------------------------------------------------------- server


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """`basalt serve PRODUCT` as a child process (managed mode), and the binary's CLI."""

    def __init__(self, args, product):
        self.args = args
        self.product = product
        self.port = free_port()
        self.proc = None
        self.work = args.work_dir
        self.log_path = os.path.join(self.work, "server.log")
        upper = product.upper()
        env = {k: v for k, v in os.environ.items()
               if not (k.startswith(upper + "_") or k in (
                   "DATABASE_URL", "REDIS_URL", "SMTP_URL", "BASALT_DATA_DIR"))}
        env.update({
            "DATA_MODE": "MOCK",
            f"{upper}_JWT_SECRET": args.jwt_secret,
            f"{upper}_COOKIE_SECURE": "false",
            "HTTP_HEADER_READ_TIMEOUT_SECS": str(args.header_timeout),
            "HTTP_KEEP_ALIVE_TIMEOUT_SECS": str(args.keep_alive_timeout),
            "HTTP_MAX_CONNECTIONS_PER_IP": str(args.max_per_ip),
            "HTTP_SHUTDOWN_GRACE_SECS": "2",
            "RUST_LOG": env.get("RUST_LOG", "warn"),
        })
        if args.database_url:
            env[f"{upper}_DATABASE_URL"] = args.database_url
        self.env = env

    def cli(self, *argv):
        r = subprocess.run([self.args.basalt, *argv, "--data-dir", self.args.data_dir],
                           env=self.env, cwd=self.work, capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"basalt {' '.join(argv)}: {r.stderr.strip()}")
        return r.stdout.strip()

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.args.basalt, "serve", self.product, "--listen", f"127.0.0.1:{self.port}",
             "--data-dir", self.args.data_dir],
            env=self.env, cwd=self.work, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        client = Client("127.0.0.1", self.port)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}); see {self.log_path}")
            try:
                if client.request("GET", "/readyz", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not become ready; see {self.log_path}")

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------------- probe


class Probe:
    def __init__(self, args, product, server):
        self.args = args
        self.product = product
        self.spec = PRODUCTS[product]
        self.server = server
        self.http = Client("127.0.0.1", server.port)
        self.report = Report(product)
        self.secret = args.jwt_secret.encode()
        self.doc = None
        self.users = {}

    # -- helpers ---------------------------------------------------------------------------

    def error_code(self, r):
        body = r.json()
        if not isinstance(body, dict):
            return None
        err = body if self.spec["errors"] == "flat" else body.get("error")
        if not isinstance(err, dict):
            return None
        if not isinstance(err.get("message"), str) or not err.get("message"):
            return None
        return err.get("code")

    def error_fields(self, r):
        body = r.json() or {}
        err = body if self.spec["errors"] == "flat" else body.get("error") or {}
        details = err.get("details") or {}
        return [f.get("field") for f in details.get("fields") or [] if isinstance(f, dict)]

    def shaped(self, r, status, code=None):
        """`r` is `status` in the product's JSON error shape (with `code`, when given)."""
        ctype = r.header("content-type") or ""
        got = self.error_code(r)
        return (r.status == status and ctype.startswith("application/json") and got is not None
                and (code is None or got == code))

    def me(self, token, source=None):
        return self.http.request("GET", self.spec["me"], token=token, source=source)

    def create_user(self, label, role):
        email = f"{label}-{uuid.uuid4().hex[:8]}@example.com"
        self.server.cli("user", "create", self.product, "--email", email, "--password", PASSWORD,
                        "--role", role)
        self.users[label] = email
        return email

    def cli_token(self, email):
        return self.server.cli("user", "token", self.product, "--email", email)

    def sign_in(self, email, source="127.0.0.1", password=PASSWORD, cookies=None):
        """Password sign-in (the product's table); the response."""
        return self.http.request("POST", self.spec["signin"],
                                 body={"email": email, "password": password},
                                 cookies=cookies, source=source)

    def session(self, email, source="127.0.0.1"):
        """A signed-in session with a refresh token: (access, refresh, cookies) or raises."""
        if self.spec["signin"]:
            r = self.sign_in(email, source)
            if r.status != 200:
                raise RuntimeError(f"sign-in of {email}: {r.short()}")
            body = r.json()
            return body["accessToken"], body["refreshToken"], r.cookies()
        authorize, login = self.spec["mock_google"]
        redirect = f"http://127.0.0.1:{self.server.port}/auth/callback"
        state = uuid.uuid4().hex
        r = self.http.request("POST", authorize, source=source, body={
            "email": email, "redirectUri": redirect, "state": state})
        if r.status not in (200, 202):
            raise RuntimeError(f"mock authorize: {r.short()}")
        code = None
        for _ in range(50):
            out = self.http.request("GET", "/admin/api/outbox?limit=100", token=self.admin_token)
            for m in (out.json() or {}).get("messages", []):
                if state in m.get("body", ""):
                    query = m["body"].split("?", 1)[1].split()[0]
                    code = urllib.parse.parse_qs(query)["code"][0]
            if code:
                break
            time.sleep(0.1)
        if not code:
            raise RuntimeError("no sign-in mail in the outbox")
        r = self.http.request("POST", login, source=source,
                              body={"code": code, "redirectUri": redirect})
        if r.status != 200:
            raise RuntimeError(f"mock google login: {r.short()}")
        c = r.cookies()
        return c["access_token"], c["refresh_token"], c

    def refresh(self, refresh, cookies=None, source="127.0.0.1"):
        """One refresh; (response, new refresh token or None)."""
        path, mode = self.spec["refresh"]
        if mode == "body":
            r = self.http.request("POST", path, body={"refreshToken": refresh}, source=source)
            new = (r.json() or {}).get("refreshToken") if r.status == 200 else None
            return r, new
        jar = dict(cookies or {})
        jar["refresh_token"] = refresh
        r = self.http.request("POST", path, cookies=jar, source=source,
                              headers={"X-CSRF-Token": jar.get("csrf_token", "")})
        new = r.cookies().get("refresh_token") if r.status == 200 else None
        return r, new

    def health_ms(self):
        """`GET /healthz` on a new connection: whether it answered 200, and the milliseconds from
        the connection being made to the answer (what the server spent)."""
        ok, answer_ms, _ = self.health_timed()
        return ok, answer_ms

    def health_timed(self):
        """As `health_ms`, plus the milliseconds the TCP connect took. They are apart because a
        connect completes in the kernel before the server accepts: a slow one is a dropped SYN
        retransmitted after the kernel's 1 s timeout (seen once on a loaded CI machine), not a
        server that stopped answering."""
        conn = http.client.HTTPConnection(self.http.host, self.http.port, timeout=5)
        started = time.monotonic()
        try:
            conn.connect()
            connected = time.monotonic()
            conn.request("GET", "/healthz", headers={"Connection": "close"})
            r = conn.getresponse()
            r.read()
            ok = r.status == 200
        except OSError:
            ok, connected = False, time.monotonic()
        finally:
            conn.close()
        done = time.monotonic()
        return ok, (done - connected) * 1000, (connected - started) * 1000

    def operations(self):
        for path, item in self.doc["paths"].items():
            for method, op in item.items():
                if method in ("get", "post", "put", "patch", "delete") and isinstance(op, dict):
                    yield method.upper(), path, op

    @staticmethod
    def protected(op):
        sec = op.get("security")
        return bool(sec) and all(s for s in sec)

    @staticmethod
    def concrete(path):
        return "/".join(str(uuid.uuid4()) if p.startswith("{") else p for p in path.split("/"))

    # -- setup -----------------------------------------------------------------------------

    def setup(self):
        self.admin_email = self.create_user("admin", "admin")
        self.low_email = self.create_user("low", self.spec["low_role"])
        self.admin_token = self.cli_token(self.admin_email)
        self.low_token = self.cli_token(self.low_email)
        self.doc = self.http.request("GET", "/openapi.json").json()
        r = self.me(self.admin_token)
        self.report.check("setup", "a real token is accepted", r.status == 200, r.short()[:60])

    # -- tokens ----------------------------------------------------------------------------

    def tokens(self):
        g = "tokens"
        real = self.admin_token
        claims = claims_of(real)
        head = {"typ": "JWT", "alg": "HS256"}
        now = int(time.time())
        key = self.secret
        other = self.cli_token(self.low_email)
        other_claims = claims_of(other)

        def with_claims(**changes):
            c = dict(claims)
            for k, v in changes.items():
                if v is None:
                    c.pop(k, None)
                else:
                    c[k] = v
            return c

        h, p, s = real.split(".")
        tampered_sub = ".".join([h, b64url(json.dumps(with_claims(sub=other_claims["sub"])).encode()), s])
        tampered_exp = ".".join([h, b64url(json.dumps(with_claims(exp=now + 10 ** 8)).encode()), s])
        forged = {
            "alg none": jwt({"typ": "JWT", "alg": "none"}, claims, None),
            "alg None": jwt({"typ": "JWT", "alg": "None"}, claims, None),
            "alg NONE, signature kept": jwt({"typ": "JWT", "alg": "NONE"}, claims, None) + s,
            "wrong key": jwt(head, claims, b"not-the-secret-" + os.urandom(16)),
            "HS384 under the right key": jwt({"typ": "JWT", "alg": "HS384"}, claims, key, "HS384"),
            "HS512 under the right key": jwt({"typ": "JWT", "alg": "HS512"}, claims, key, "HS512"),
            "RS256 header, HMAC signature (HS/RS confusion)": jwt({"typ": "JWT", "alg": "RS256"}, claims, key),
            "ES256 header, HMAC signature": jwt({"typ": "JWT", "alg": "ES256"}, claims, key),
            "expired an hour ago": jwt(head, with_claims(iat=now - 7200, nbf=now - 7200, exp=now - 3600), key),
            "expired a second ago": jwt(head, with_claims(exp=now - 1), key),
            "nbf an hour ahead": jwt(head, with_claims(nbf=now + 3600, iat=now), key),
            "nbf a minute ahead": jwt(head, with_claims(nbf=now + 60), key),
            "wrong issuer": jwt(head, with_claims(iss="someone-else"), key),
            "wrong audience": jwt(head, with_claims(aud="someone-else"), key),
            "audience of another product": jwt(head, with_claims(aud="basalt-other", iss="basalt-other"), key),
            "no exp": jwt(head, with_claims(exp=None), key),
            "no nbf": jwt(head, with_claims(nbf=None), key),
            "no iss": jwt(head, with_claims(iss=None), key),
            "no aud": jwt(head, with_claims(aud=None), key),
            "exp as a string": jwt(head, with_claims(exp=str(now + 900)), key),
            "tampered sub, old signature": tampered_sub,
            "tampered exp, old signature": tampered_exp,
            "truncated signature": real[:-2],
            "signature stripped": f"{h}.{p}.",
            "two segments": f"{h}.{p}",
            "extra segment": real + ".e30",
            "padded base64": f"{h}==.{p}.{s}",
            "unknown user and session, right key": jwt(head, with_claims(sub=str(uuid.uuid4()), sid=str(uuid.uuid4())), key),
            "unknown session of a real user, right key": jwt(head, with_claims(sid=str(uuid.uuid4())), key),
            "kid/jku pointing elsewhere, wrong key": jwt({"typ": "JWT", "alg": "HS256", "kid": "../../dev/null", "jku": "http://127.0.0.1:9/keys"}, claims, b""),
            "garbage": "not-a-token",
            "empty": "",
        }
        for name, token in forged.items():
            r = self.http.request("GET", self.spec["me"], headers={"Authorization": f"Bearer {token}"})
            self.report.check(g, f"forged: {name}", self.shaped(r, 401), r.short()[:70])
        # A token of a session that has ended (the low user's second session, revoked by the
        # admin through the console) is refused at once.
        sid = other_claims["sid"]
        r = self.http.request("DELETE", f"/admin/api/sessions/{sid}", token=self.admin_token)
        r2 = self.me(other)
        self.report.check(g, "token of a revoked session", r.status == 200 and self.shaped(r2, 401),
                          f"revoke {r.status}, then {r2.short()[:60]}")

    # -- refresh ---------------------------------------------------------------------------

    def refresh_races(self):
        g = "refresh"
        email = self.create_user("refresh", self.spec["low_role"])
        try:
            access, r0, cookies = self.session(email)
        except RuntimeError as e:
            self.report.check(g, "sign in for a refresh family", False, str(e))
            return None
        resp, r1 = self.refresh(r0, cookies)
        rotated_at = time.monotonic()
        self.report.check(g, "refresh rotates the token", resp.status == 200 and r1 and r1 != r0,
                          resp.short()[:60])
        if not r1:
            return None
        again, r1b = self.refresh(r0, cookies)
        self.report.check(g, "spent token inside the grace window: the same successor",
                          again.status == 200 and r1b == r1,
                          f"{again.status}, {'same' if r1b == r1 else 'different'} successor")
        with ThreadPoolExecutor(8) as pool:
            outs = list(pool.map(lambda _: self.refresh(r1, cookies), range(8)))
        successors = {new for _, new in outs}
        statuses = sorted({r.status for r, _ in outs})
        r2 = next(iter(successors)) if len(successors) == 1 else None
        self.report.check(g, "8 parallel refreshes of one token: one successor",
                          statuses == [200] and r2 is not None,
                          f"statuses {statuses}, {len(successors)} distinct successor(s)")
        # The rest runs later (`refresh_after_grace`), once the grace window of r0 has passed.
        return {"rotated_at": rotated_at, "r0": r0, "r2": r2, "cookies": cookies, "email": email}

    def refresh_after_grace(self, state):
        g = "refresh"
        if not state or not state["r2"]:
            return
        wait = state["rotated_at"] + REFRESH_GRACE_SECS + 1.5 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        # The newest token still works before the replay...
        cookies = state["cookies"]
        resp, r3 = self.refresh(state["r2"], cookies)
        ok = resp.status == 200 and r3
        if self.spec["refresh"][1] == "cookie" and ok:
            cookies = dict(cookies, **resp.cookies())
        access = (resp.json() or {}).get("accessToken") or resp.cookies().get("access_token")
        self.report.check(g, "the family's newest token refreshes", bool(ok), resp.short()[:60])
        # ...then the first token, spent more than the grace window ago, is a replay.
        replay, _ = self.refresh(state["r0"], cookies)
        self.report.check(g, "spent token after the grace window: 401", self.shaped(replay, 401),
                          replay.short()[:60])
        after, _ = self.refresh(r3, cookies) if r3 else (None, None)
        self.report.check(g, "the replay revoked the family (newest token 401)",
                          after is not None and self.shaped(after, 401),
                          after.short()[:60] if after else "no token")
        if access:
            m = self.me(access)
            self.report.check(g, "the replay revoked the family (access token 401)",
                              self.shaped(m, 401), m.short()[:60])

    # -- access ----------------------------------------------------------------------------

    def access(self):
        g = "access"
        ops = [(m, p, op) for m, p, op in self.operations() if self.protected(op)
               and op.get("x-basalt-effect") != "endless-stream"]
        bad = []
        for method, path, op in ops:
            body = b"{}" if method in ("POST", "PUT", "PATCH") else None
            headers = {"Content-Type": "application/json"} if body else {}
            r = self.http.request(method, self.concrete(path), body=body, headers=headers)
            if not self.shaped(r, 401):
                bad.append(f"{method} {path}: {r.status}")
        self.report.check(g, f"anonymous on {len(ops)} protected operations: 401", not bad,
                          "; ".join(bad[:4]) or "all 401")
        console = [(m, p) for m, p, op in ops if p.startswith("/admin/api/")]
        bad = []
        admin_ids = {"id": claims_of(self.admin_token)["sub"]}
        for method, path in console:
            target = path.replace("{id}", admin_ids["id"]) if "/users/" in path else self.concrete(path)
            body = b'{"dataMode":"LIVE"}' if method in ("POST", "PUT", "PATCH") else None
            headers = {"Content-Type": "application/json"} if body else {}
            r = self.http.request(method, target, body=body, headers=headers, token=self.low_token)
            if not self.shaped(r, 403):
                bad.append(f"{method} {path}: {r.status}")
        self.report.check(g, f"{self.spec['low_role']} on {len(console)} console operations: 403",
                          not bad, "; ".join(bad[:4]) or "all 403")
        r = self.http.request("GET", "/admin/api/users", token=self.admin_token)
        self.report.check(g, "admin on the console: 200 (the 403s are about the role)",
                          r.status == 200, r.short()[:50])
        mode = self.http.request("GET", "/admin/api/data-mode", token=self.admin_token)
        self.report.check(g, "still MOCK mode after the non-admin's attempts",
                          mode.status == 200 and b"MOCK" in mode.body, mode.short()[:60])
        # Nobody ends another user's session.
        victim = self.cli_token(self.admin_email)
        sid = claims_of(victim)["sid"]
        r = self.http.request("DELETE", f"/admin/api/sessions/{sid}", token=self.low_token)
        alive = self.me(victim)
        self.report.check(g, "a non-admin cannot end another's session (console)",
                          self.shaped(r, 403) and alive.status == 200,
                          f"{r.status}, victim's token then {alive.status}")
        if self.spec.get("own_sessions"):
            r = self.http.request("DELETE", f"{self.spec['own_sessions']}/{sid}", token=self.low_token)
            alive = self.me(victim)
            self.report.check(g, "a user cannot end another's session (own session list)",
                              r.status in (403, 404) and self.error_code(r) and alive.status == 200,
                              f"{r.status}, victim's token then {alive.status}")
        mine = self.me(self.low_token).json() or {}
        text = json.dumps(mine)
        self.report.check(g, "a user's token reads that user, not another",
                          claims_of(self.low_token)["sub"] in text
                          and claims_of(self.admin_token)["sub"] not in text, "")

    # -- input -----------------------------------------------------------------------------

    def json_endpoint(self):
        """A public JSON POST endpoint with an `email` field: the password sign-in, else the
        mock Google authorize."""
        if self.spec["signin"]:
            return self.spec["signin"], {"email": "a@example.com", "password": "x" * 12}
        return self.spec["mock_google"][0], {
            "email": "a@example.com", "redirectUri": f"http://127.0.0.1:{self.server.port}/cb"}

    def input(self):
        g = "input"
        v = self.spec["validation"]
        path, good = self.json_endpoint()
        src = "127.0.5.1"
        json_ct = {"Content-Type": "application/json"}

        def post(body, headers=json_ct, source=src):
            return self.http.request("POST", path, body=body, headers=headers, source=source)

        r = post(b'{"email": "a@example.com",')
        self.report.check(g, "truncated JSON: 400", self.shaped(r, 400, "invalid_argument"), r.short()[:60])
        r = post(b"\xff\xfe{}")
        self.report.check(g, "invalid UTF-8: 400", self.shaped(r, 400), r.short()[:60])
        r = post(json.dumps(good).encode(), headers={"Content-Type": "text/plain"})
        self.report.check(g, "wrong content type: 400/415", self.shaped(r, 400) or self.shaped(r, 415), r.short()[:60])
        for field in (b"email", b"x"):
            r = post(b'{"' + field + b'":' + b"[" * 5000 + b"]" * 5000 + b"}")
            self.report.check(g, f"5,000-deep nesting in {'a known' if field == b'email' else 'an unknown'} field: 400",
                              self.shaped(r, 400) or self.shaped(r, v), r.short()[:60])
        r = post(b'{"email": "a\x00b@example.com", "password": "xxxxxxxxxxxx"}')
        self.report.check(g, "raw NUL byte in JSON: 400", self.shaped(r, 400), r.short()[:60])
        nul = dict(good, email="a\u0000b@example.com")
        r = post(json.dumps(nul).encode(), source="127.0.5.2")
        self.report.check(g, "NUL in a body string: validation error naming it",
                          self.shaped(r, v, "invalid_argument") and self.error_fields(r) == ["email"],
                          r.short()[:80])
        key = dict(good)
        key["x\u0000"] = 1
        r = post(json.dumps(key).encode(), source="127.0.5.3")
        self.report.check(g, "NUL in a body key: validation error naming it",
                          self.shaped(r, v, "invalid_argument") and self.error_fields(r) == ["x\\u0000"],
                          r.short()[:80])
        r = self.http.request("GET", "/admin/api/users?email=a%00b", token=self.admin_token)
        self.report.check(g, "NUL in a query parameter: validation error naming it",
                          self.shaped(r, v, "invalid_argument") and self.error_fields(r) == ["email"],
                          r.short()[:80])
        r = self.http.request("GET", "/admin/api/users/%00", token=self.admin_token)
        self.report.check(g, "NUL in a path segment: validation error naming it",
                          self.shaped(r, v, "invalid_argument") and self.error_fields(r) == ["id"],
                          r.short()[:80])
        big = b'{"email": "' + b"a" * (1024 * 1024 + 10) + b'"}'
        head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(big)}\r\nConnection: close\r\n\r\n").encode()
        r = self.http.raw(head + big, source="127.0.5.4", send_all=False)
        self.report.check(g, "1 MiB body: 413", r is not None and self.shaped(r, 413),
                          r.short()[:60] if r else "no answer")
        head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
        chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
        r = self.http.raw(head + chunk * 20 + b"0\r\n\r\n", source="127.0.5.5", send_all=False)
        self.report.check(g, "chunked body over 1 MiB: 413", r is not None and self.shaped(r, 413),
                          r.short()[:60] if r else "no answer")
        r = self.http.request("GET", "/healthz", headers={"X-Big": "a" * 40_000}, source=src)
        self.report.check(g, "40 KB header: 431", self.shaped(r, 431), r.short()[:60])
        many = {f"X-H{i}": "v" for i in range(150)}
        r = self.http.request("GET", "/healthz", headers=many, source=src)
        self.report.check(g, "150 headers: 431", self.shaped(r, 431), r.short()[:60])
        r = self.http.request("GET", "/healthz?q=" + "a" * 10_000, source=src)
        self.report.check(g, "10 KB URI: 414", self.shaped(r, 414), r.short()[:60])
        # Refused by the HTTP parser before a request exists: a status only (documented).
        r = self.http.raw(f"GET /healthz?q={'a' * 100_000} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), source=src)
        self.report.check(g, "100 KB URI: 414 (HTTP parser, no body: documented)",
                          r is not None and r.status == 414, r.short()[:60] if r else "no answer")
        r = self.http.raw(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{{}}".encode(), source=src)
        self.report.check(g, "bad Content-Length: 400 (HTTP parser: documented)",
                          r is not None and r.status == 400, r.short()[:60] if r else "no answer")
        r = self.http.raw(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{{}}".encode(), source=src)
        self.report.check(g, "two different Content-Lengths: 400",
                          r is not None and r.status == 400, r.short()[:60] if r else "no answer")
        r = self.http.raw(b"GET /heal\x00thz HTTP/1.1\r\nHost: x\r\n\r\n", source=src)
        self.report.check(g, "raw NUL byte in the path: 400 (HTTP parser: documented)",
                          r is not None and r.status == 400, r.short()[:60] if r else "no answer")
        r = self.http.raw(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{".encode(), source=src, timeout=5)
        self.report.check(g, "body shorter than its Content-Length: no 5xx",
                          r is None or r.status < 500, r.short()[:60] if r else "closed without an answer")
        r = self.http.request("BREW", path, source=src)
        self.report.check(g, "unknown method: 405", self.shaped(r, 405), r.short()[:60])
        r = self.http.request("GET", "/no/such/route", source=src)
        self.report.check(g, "unknown route: 404", self.shaped(r, 404), r.short()[:60])
        ok, ms = self.health_ms()
        self.report.check(g, "server healthy after the malformed input", ok, f"/healthz in {ms:.0f} ms")

    # -- headers ---------------------------------------------------------------------------

    def headers(self):
        g = "headers"
        r = self.me(self.admin_token)
        for name, want in (("x-content-type-options", "nosniff"),
                           ("referrer-policy", "no-referrer"),
                           ("x-frame-options", "DENY"),
                           ("cache-control", "no-store")):
            got = r.header(name) or ""
            self.report.check(g, f"{name}: {want} on a response with personal data",
                              want.lower() in got.lower(), got or "absent")
        csp = r.header("content-security-policy") or ""
        self.report.check(g, "frame-ancestors 'none'", "frame-ancestors 'none'" in csp, csp or "absent")
        r = self.http.request("GET", self.spec["me"], token=self.admin_token,
                              headers={"Origin": "https://evil.example"})
        acao = r.header("access-control-allow-origin")
        self.report.check(g, "a foreign Origin gets no CORS grant", acao is None, acao or "none")
        r = self.http.request("OPTIONS", self.spec["me"], headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        acao = r.header("access-control-allow-origin")
        self.report.check(g, "a foreign Origin's preflight gets no CORS grant", acao is None,
                          f"{r.status}, {acao or 'no grant'}")

    # -- throttle --------------------------------------------------------------------------

    def throttle(self):
        g = "throttle"
        limit = self.spec["throttle"]
        if not self.spec["signin"]:
            self.report.check(g, "password guessing", None, "no password sign-in (docs)")
            return
        victim = self.create_user("victim", self.spec["low_role"])
        first = self.sign_in(victim, "127.0.0.9")
        device = {k: v for k, v in first.cookies().items() if k.endswith("_device")}
        self.report.check(g, "the owner signs in (trusted address, device cookie if any)",
                          first.status == 200, f"{first.status}, device cookie: {sorted(device) or 'none'}")
        # A parallel burst of 50 wrong passwords from 50 addresses, then 4 s more of guessing
        # from new addresses: no more than `limit` guesses are checked (401), the rest 429.
        addrs = [f"127.0.1.{i}" for i in range(1, 255)]
        with ThreadPoolExecutor(50) as pool:
            burst = list(pool.map(lambda a: self.sign_in(victim, a, password="wrong-" + a), addrs[:50]))
        later = []
        i = 50
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline and i < len(addrs):
            later.append(self.sign_in(victim, addrs[i], password="wrong-guess"))
            i += 1
            time.sleep(0.05)
        every = burst + later
        checked = sum(1 for r in every if r.status == 401)
        refused = sum(1 for r in every if r.status == 429)
        other = sorted({r.status for r in every} - {401, 429})
        retry = all(r.header("retry-after") for r in every if r.status == 429)
        self.report.check(g, f"{len(every)} wrong passwords from {len(every)} addresses: at most {limit} checked",
                          checked <= limit and refused == len(every) - checked and not other and retry,
                          f"{checked} checked (401), {refused} refused (429, Retry-After: {retry}), other {other}")
        r = self.sign_in(victim, "127.0.0.9")
        self.report.check(g, "the owner from a trusted address still signs in", r.status == 200, r.short()[:60])
        if device:
            r = self.sign_in(victim, "127.0.0.8", cookies=device)
            self.report.check(g, "the owner's device cookie from a new address still signs in",
                              r.status == 200, r.short()[:60])
        # Successes never count: 13 right passwords in a row, all in.
        repeat = self.create_user("repeat", self.spec["low_role"])
        statuses = [self.sign_in(repeat, "127.0.0.10").status for _ in range(13)]
        self.report.check(g, "13 right passwords in a row: all 200", statuses == [200] * 13,
                          f"statuses {sorted(set(statuses))}")
        # Unknown accounts are throttled like known ones (no enumeration through the limit).
        ghost = f"ghost-{uuid.uuid4().hex[:8]}@example.com"
        with ThreadPoolExecutor(30) as pool:
            ghosts = list(pool.map(lambda a: self.sign_in(ghost, a, password="wrong"), [f"127.0.6.{i}" for i in range(1, 31)]))
        g_checked = sum(1 for r in ghosts if r.status == 401)
        self.report.check(g, "an unknown account is throttled the same way",
                          g_checked <= limit and all(r.status in (401, 429) for r in ghosts),
                          f"{g_checked} checked of 30")

    # -- connections -----------------------------------------------------------------------

    def connections(self):
        g = "connections"
        header_to = self.args.header_timeout
        keep_to = self.args.keep_alive_timeout
        cap = self.args.max_per_ip
        slack = 2.0
        health = []
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                health.append(self.health_timed())
                time.sleep(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        idle_count = min(200, cap * 4)
        per_addr = max(1, idle_count // 4)
        socks = {"idle": [], "slow": [], "keepalive": []}
        # Each connection's own start: opening 260 of them takes a while on a loaded machine,
        # and a timer that started with the first would call the last ones early or late.
        started = {"idle": [], "slow": [], "keepalive": []}
        try:
            for i in range(idle_count):
                socks["idle"].append(self.connect(f"127.0.2.{1 + i // per_addr}"))
                started["idle"].append(time.monotonic())
            for i in range(40):
                s = self.connect(f"127.0.2.{10 + i // 20}")
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                socks["slow"].append(s)
                started["slow"].append(time.monotonic())
            for i in range(20):
                s = self.connect("127.0.2.20")
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                r = read_response(s, 5)
                if r is None or r.status != 200:
                    raise RuntimeError("keep-alive request failed")
                socks["keepalive"].append(s)
                started["keepalive"].append(time.monotonic())
            opened = time.monotonic()
            # Slow headers: one byte every 0.3 s never completes the head.
            closed_at = {k: [None] * len(v) for k, v in socks.items()}
            drip = 0
            while time.monotonic() - opened < keep_to + slack + 0.5:
                for kind, lst in socks.items():
                    for i, s in enumerate(lst):
                        if closed_at[kind][i] is None and self.closed(s):
                            closed_at[kind][i] = time.monotonic() - started[kind][i]
                drip += 1
                if drip % 3 == 0:
                    for i, s in enumerate(socks["slow"]):
                        if closed_at["slow"][i] is None:
                            try:
                                s.send(b"X")
                            except OSError:
                                closed_at["slow"][i] = time.monotonic() - started["slow"][i]
                if all(all(t is not None for t in v) for v in closed_at.values()):
                    break
                time.sleep(0.1)
            for kind, limit_s in (("idle", header_to), ("slow", header_to), ("keepalive", keep_to)):
                times = closed_at[kind]
                open_left = sum(1 for t in times if t is None)
                early = sum(1 for t in times if t is not None and t < min(limit_s - 0.5, 1))
                latest = max((t for t in times if t is not None), default=0)
                label = {"idle": f"{len(times)} connections that send nothing",
                         "slow": f"{len(times)} connections stalling in their headers",
                         "keepalive": f"{len(times)} idle keep-alive connections"}[kind]
                self.report.check(g, f"{label}: closed within {limit_s:g} s",
                                  open_left == 0 and early == 0 and latest <= limit_s + slack,
                                  f"{open_left} still open, {early} closed too early, last at {latest:.1f} s")
        finally:
            for lst in socks.values():
                for s in lst:
                    s.close()
        # Over the per-address cap: the connections past it are closed at once, the others
        # kept; health checks from another address keep answering.
        extra = 20
        held = [self.connect("127.0.2.30") for _ in range(cap + extra)]
        try:
            time.sleep(0.7)
            closed = sum(1 for s in held if self.closed(s))
            ok, ms = self.health_ms()
            self.report.check(g, f"{cap + extra} connections from one address (cap {cap}): {extra} refused",
                              closed == extra, f"{closed} closed at once, {len(held) - closed} kept")
            self.report.check(g, "health check from another address while one is at its cap",
                              ok and ms < 1000, f"{ms:.0f} ms")
        finally:
            for s in held:
                s.close()
        stop.set()
        watcher.join()
        # Answered within 1 s of connecting; a connect may take one SYN retransmission (1 s).
        slow = [ms for ok, ms, conn_ms in health if not ok or ms > 1000 or conn_ms > 2500]
        worst = max((ms for _, ms, _ in health), default=0)
        worst_connect = max((c for _, _, c in health), default=0)
        self.report.check(g, "health checks answered throughout (< 1 s)", not slow,
                          f"{len(health)} checks, worst {worst:.0f} ms (connect {worst_connect:.0f} ms), "
                          f"{len(slow)} slow or failed")

    def connect(self, source):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5,
                                     source_address=(source, 0))
        s.setblocking(False)
        return s

    @staticmethod
    def closed(s):
        try:
            if not select.select([s], [], [], 0)[0]:
                return False
            return s.recv(4096) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    # -- crash -----------------------------------------------------------------------------

    def crash(self):
        g = "crash"
        if self.args.url:
            self.report.check(g, "kill -9 under writes", None, "the server is not ours to kill")
            return
        writer = self.create_user("writer", self.spec["low_role"])
        # Sessions to end during the run (console revocations), made with `basalt user token`.
        with ThreadPoolExecutor(8) as pool:
            targets = list(pool.map(lambda _: self.cli_token(writer), range(80)))
        acked_logins, acked_revokes, unanswered = [], [], []
        lock = threading.Lock()
        stop = threading.Event()
        addr = iter(f"127.0.{3 + n // 250}.{1 + n % 250}" for n in range(10_000))
        queue = list(targets)

        def login_worker():
            while not stop.is_set():
                with lock:
                    source = next(addr)
                try:
                    r = self.sign_in(writer, source)
                except OSError:
                    unanswered.append("sign-in")
                    return
                if r.status == 200:
                    with lock:
                        acked_logins.append(r.json()["accessToken"])

        def revoke_worker():
            while not stop.is_set():
                with lock:
                    if not queue:
                        return
                    token = queue.pop()
                sid = claims_of(token)["sid"]
                try:
                    r = self.http.request("DELETE", f"/admin/api/sessions/{sid}", token=self.admin_token)
                except OSError:
                    unanswered.append("revocation")
                    return
                if r.status == 200:
                    with lock:
                        acked_revokes.append(token)
                # Paced beside sign-ins, so that the kill finds both kinds in flight.
                time.sleep(pace)

        signins = bool(self.spec["signin"])
        pace = 0.05 if signins else 0.005
        workers = [threading.Thread(target=revoke_worker) for _ in range(3 if signins else 6)]
        if signins:
            workers += [threading.Thread(target=login_worker) for _ in range(6)]
        for w in workers:
            w.start()
        # The kill lands mid-run: once half the revocations (and 10 sign-ins) are acknowledged,
        # or after 3 s.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and (
                len(acked_revokes) < len(targets) // 2 or (signins and len(acked_logins) < 10)):
            time.sleep(0.005)
        self.server.kill9()
        stop.set()
        for w in workers:
            w.join()
        self.server.start()
        lost_logins = [t for t in acked_logins if self.me(t).status != 200]
        lost_revokes = [t for t in acked_revokes if self.me(t).status != 401]
        writes = len(acked_logins) + len(acked_revokes)
        self.report.check(g, "kill -9 under concurrent writes: no acknowledged write lost",
                          writes > 0 and not lost_logins and not lost_revokes,
                          f"{len(acked_logins)} sign-ins and {len(acked_revokes)} revocations acknowledged, "
                          f"{len(unanswered)} in flight at the kill; lost {len(lost_logins)} + {len(lost_revokes)}")
        r = self.me(self.admin_token)
        self.report.check(g, "after the restart: sessions from before still valid", r.status == 200, r.short()[:50])

    # -- run -------------------------------------------------------------------------------

    def run(self, groups):
        self.setup()
        state = None
        if "refresh" in groups:
            state = self.refresh_races()
        if "tokens" in groups:
            self.tokens()
        if "access" in groups:
            self.access()
        if "input" in groups:
            self.input()
        if "headers" in groups:
            self.headers()
        if "refresh" in groups:
            self.refresh_after_grace(state)
        if "throttle" in groups:
            self.throttle()
        if "connections" in groups:
            self.connections()
        if "crash" in groups:
            self.crash()


GROUPS = ["tokens", "refresh", "access", "input", "headers", "throttle", "connections", "crash"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--product", required=True)
    ap.add_argument("--basalt", required=True, help="the basalt binary")
    ap.add_argument("--data-dir", required=True, help="the data directory (fresh, or the running server's)")
    ap.add_argument("--database-url", help="the product's database (default: SQLite in the data directory)")
    ap.add_argument("--work-dir", help="where the server runs and logs (default: the data dir's parent)")
    ap.add_argument("--url", help="probe an already running server (its data dir and JWT secret given); no kill -9")
    ap.add_argument("--jwt-secret", default=os.environ.get("ATTACK_JWT_SECRET") or base64.b64encode(os.urandom(36)).decode())
    ap.add_argument("--header-timeout", type=float, default=2.0)
    ap.add_argument("--keep-alive-timeout", type=float, default=3.0)
    ap.add_argument("--max-per-ip", type=int, default=64)
    ap.add_argument("--only", help="comma-separated groups: " + ",".join(GROUPS))
    args = ap.parse_args()
    if args.product not in PRODUCTS:
        print(f"attack.py: no PRODUCTS entry for '{args.product}': add one (sign-in, refresh, "
              f"error shape, roles) at the top of {__file__}", file=sys.stderr)
        return 2
    groups = args.only.split(",") if args.only else GROUPS
    unknown = set(groups) - set(GROUPS)
    if unknown:
        print(f"attack.py: unknown groups {sorted(unknown)}", file=sys.stderr)
        return 2
    args.data_dir = os.path.abspath(args.data_dir)
    args.work_dir = os.path.abspath(args.work_dir or os.path.dirname(args.data_dir))
    os.makedirs(args.data_dir, exist_ok=True)
    server = Server(args, args.product)
    if args.url:
        parsed = urllib.parse.urlparse(args.url)
        server.port = parsed.port
    started = time.monotonic()
    probe = Probe(args, args.product, server)
    try:
        if not args.url:
            server.start()
        probe.run(groups)
    except Exception as e:  # a broken setup is a failure of the run, with its cause
        probe.report.check("run", "the probe ran to the end", False, f"{type(e).__name__}: {e}")
    finally:
        if not args.url:
            server.stop()
    db = "PostgreSQL" if (args.database_url or "").startswith("postgres") else "SQLite"
    probe.report.print(f"attack: {args.product} on {db} ({time.monotonic() - started:.0f} s)")
    if probe.report.failed():
        print(f"attack: {len(probe.report.failed())} check(s) FAILED; server log: {server.log_path}")
        return 1
    print("attack: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
