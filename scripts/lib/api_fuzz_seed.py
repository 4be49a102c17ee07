"""Seeds a fresh access-server for the API fuzzer and writes schemathesis's configuration.

Usage: api_fuzz_seed.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD CONFIG_OUT

Signs in as the administrator (one session for the run, another for the sign-out operation
alone, which ends its own session), then makes what the generated requests should reach
rather than an unknown id: a property with a unit, a paired lock, another with a BLE code
and an offline code, a pending team member, a pending applicant and a registration waiting
for its SMS code. The configuration pins each operation's path ids to those (and
registrations to the applicant's invitation), so every operation runs its rules past the
404 of an unknown id (server/tests/openapi_answers.rs covers the 404s).
Standard library only; run by scripts/lib/api_fuzz.sh.
"""

import base64
import json
import re
import sys
import urllib.error
import urllib.request


def call(base, method, path, token=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as e:
        sys.exit(f"seed: {method} {path} answered {e.code}: {e.read().decode(errors='replace')}")
    return json.loads(raw) if raw else None


def message_to(base, admin, to):
    items = call(base, "GET", "/api/v1/outbox?limit=1000", admin)["items"]
    return next(m["body"] for m in items if m["to"] == to)


def toml_str(s):
    return json.dumps(s)


def main():
    base, email, password, out = sys.argv[1:5]
    login = {"email": email, "password": password}
    admin = call(base, "POST", "/api/v1/sessions", body=login)["token"]
    sign_out = call(base, "POST", "/api/v1/sessions", body=login)["token"]

    prop = call(base, "POST", "/api/v1/properties", admin, {"name": "Fuzz"})["id"]
    unit = call(base, "POST", f"/api/v1/properties/{prop}/units", admin, {"name": "F1"})["id"]
    key = base64.b64encode(bytes(range(32))).decode()
    lock, code_lock = (
        call(base, "POST", "/api/v1/locks", admin,
             {"unit_id": unit, "name": name, "identity_public_key": key})["id"]
        for name in ("Fuzz lock", "Code lock"))
    # The codes sit on a lock of their own: resetting the first lock's codes removes its codes.
    codes = f"/api/v1/locks/{code_lock}/access-codes"
    call(base, "POST", codes, admin, {"kind": "permanent", "label": "Cleaner"})
    offline = call(base, "POST", codes, admin,
                   {"kind": "one_time", "delivery": "offline", "label": "Walk-in"})["id"]

    access = {"type": "units", "unit_ids": [unit]}
    member = call(base, "POST", "/api/v1/invitations", admin,
                  {"user_type": "team_member", "email": "member@fuzz.test",
                   "permissions": ["view_logs"], "access": access})["user_id"]
    # Not the member's: resending or revoking the member voids its invitation.
    call(base, "POST", "/api/v1/invitations", admin,
         {"user_type": "team_member", "email": "applicant@fuzz.test", "permissions": [],
          "access": access})
    applicant = re.search(r"token=([A-Za-z0-9_-]+)", message_to(base, admin, "applicant@fuzz.test"))
    call(base, "POST", "/api/v1/invitations", admin,
         {"user_type": "resident", "email": "resident@fuzz.test", "permissions": [],
          "access": access})
    token = re.search(r"token=([A-Za-z0-9_-]+)", message_to(base, admin, "resident@fuzz.test"))
    registration = call(base, "POST", "/api/v1/registrations", body={
        "token": token.group(1), "email": "resident@fuzz.test", "phone": "+15552220100",
        "password": "resident-password", "name": "Resident"})["registration_id"]

    def pin(regex, **ids):
        params = ", ".join(f'"path.{k}" = {toml_str(v)}' for k, v in ids.items())
        return f"[[operations]]\ninclude-path-regex = {toml_str(regex)}\nparameters = {{ {params} }}\n"

    config = "\n".join([
        "# Written by scripts/lib/api_fuzz_seed.py for one run; not kept.",
        f"headers = {{ Authorization = {toml_str('Bearer ' + admin)} }}",
        "",
        "# Signing out ends the session it is sent with: it gets one of its own.",
        "[[operations]]",
        'include-operation-id = "logout"',
        f"headers = {{ Authorization = {toml_str('Bearer ' + sign_out)} }}",
        "",
        pin(r"^/api/v1/locks/\{id\}/access-codes/\{code_id\}/revoke$", id=code_lock,
            code_id=offline),
        pin(r"^/api/v1/locks/\{id\}(/[a-z-]+)?$", id=lock),
        pin(r"^/api/v1/properties/\{id\}/", id=prop),
        pin(r"^/api/v1/users/\{id\}", id=member),
        pin(r"^/api/v1/registrations/\{id\}/", id=registration),
        "# Registrations carry a pending applicant's invitation, so they reach the checks of",
        "# phone, email, name and password rather than the 404 of an unknown invitation.",
        "[[operations]]",
        'include-operation-id = "register"',
        f'parameters = {{ "body.token" = {toml_str(applicant.group(1))} }}',
        "",
    ])
    with open(out, "w") as f:
        f.write(config)


if __name__ == "__main__":
    main()
