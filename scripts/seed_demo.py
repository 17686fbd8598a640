#!/usr/bin/env python3
"""Seeds the demo tenant through the admin API (idempotent) and prints a working request.

usage: seed_demo.py BASE_URL ADMIN_TOKEN STATE_FILE UPSTREAM_URL
The demo: org "demo" > instance "production" > project "playground", an owner user, a tenant API key (kept in
STATE_FILE so a restart with the same persisted state reuses it), provider keys for openai and anthropic served
at UPSTREAM_URL (the provider simulator), two chat model configs, an embedding model and two image models (gpt-image-1, ideogram-v3). With OPENAI_API_KEY / ANTHROPIC_API_KEY / IDEOGRAM_API_KEY set in
the environment, those real keys and the real providers are used instead.
"""
import os
import json
import sys
import urllib.error
import urllib.request


def call(base, token, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def find_or_create(base, token, list_path, match, create_body):
    status, page = call(base, token, "GET", list_path + "?limit=200")
    if status != 200:
        sys.exit(f"GET {list_path}: {status} {page}")
    for item in page["data"]:
        if all(item.get(k) == v for k, v in match.items()):
            return item
    status, item = call(base, token, "POST", list_path, create_body)
    if status != 201:
        sys.exit(f"POST {list_path}: {status} {item}")
    return item


def seed(base, admin):
    org = find_or_create(base, admin, "/admin/orgs", {"slug": "demo"}, {"name": "Demo Org", "slug": "demo"})
    ins = find_or_create(base, admin, f"/admin/orgs/{org['id']}/instances", {"slug": "production"},
                         {"name": "Production", "slug": "production"})
    prj = find_or_create(base, admin, f"/admin/instances/{ins['id']}/projects", {"slug": "playground"},
                         {"name": "Playground", "slug": "playground"})
    user = find_or_create(base, admin, f"/admin/orgs/{org['id']}/users", {"email": "admin@demo.local"},
                          {"email": "admin@demo.local", "name": "Demo Admin", "role": "owner"})
    status, key = call(base, admin, "POST", f"/admin/instances/{ins['id']}/keys", {
        "name": "demo", "user_id": user["id"], "environment": "test",
        "scopes": ["generate", "admin:read", "admin:write"]})
    if status != 201:
        sys.exit(f"creating the demo key: {status} {key}")
    return {"org_id": org["id"], "instance_id": ins["id"], "project_id": prj["id"], "user_id": user["id"],
            "key_id": key["id"], "api_key": key["secret"]}


def configure_models(base, admin, instance_id, upstream):
    """Provider keys and model configs of the demo instance (PUT/replace: safe to repeat)."""
    providers = {
        "openai": (os.environ.get("OPENAI_API_KEY"), "https://api.openai.com/v1"),
        "anthropic": (os.environ.get("ANTHROPIC_API_KEY"), "https://api.anthropic.com/v1"),
    }
    for name, (real_key, real_url) in providers.items():
        body = {"api_key": real_key, "base_url": real_url} if real_key else \
            {"api_key": f"sk-demo-{name}-simulated", "base_url": upstream + "/v1"}
        status, reply = call(base, admin, "PUT", f"/admin/instances/{instance_id}/provider-keys/{name}", body)
        if status != 200:
            sys.exit(f"setting the {name} provider key: {status} {reply}")
    # Ideogram 3.0 for images (its API lives at the host root, not under /v1).
    ideogram_key = os.environ.get("IDEOGRAM_API_KEY")
    body = {"api_key": ideogram_key, "base_url": "https://api.ideogram.ai"} if ideogram_key else \
        {"api_key": "ideogram-demo-simulated", "base_url": upstream}
    status, reply = call(base, admin, "PUT", f"/admin/instances/{instance_id}/provider-keys/ideogram", body)
    if status != 200:
        sys.exit(f"setting the ideogram provider key: {status} {reply}")
    models = [
        {"id": "gpt-4o-mini", "provider": "openai", "upstream_model": "gpt-4o-mini",
         "input_price_per_mtok": 0.15, "output_price_per_mtok": 0.6},
        {"id": "claude-haiku", "provider": "anthropic", "upstream_model": "claude-3-5-haiku-latest",
         "input_price_per_mtok": 0.8, "output_price_per_mtok": 4.0, "fallbacks": ["gpt-4o-mini"]},
        {"id": "text-embedding-3-small", "provider": "openai", "upstream_model": "text-embedding-3-small",
         "capabilities": ["embeddings"], "input_price_per_mtok": 0.02},
        {"id": "gpt-image-1", "provider": "openai", "upstream_model": "gpt-image-1", "capabilities": ["image"],
         "input_price_per_mtok": 10.0, "output_price_per_mtok": 40.0},
        {"id": "ideogram-v3", "provider": "ideogram", "upstream_model": "ideogram-v3", "capabilities": ["image"],
         "price_per_image": 0.06, "fallbacks": ["gpt-image-1"]},
    ]
    for model in models:
        status, reply = call(base, admin, "POST", f"/admin/instances/{instance_id}/models", model)
        if status not in (201, 409):
            sys.exit(f"creating model {model['id']}: {status} {reply}")


def main():
    base, admin, state_file, upstream = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    demo = None
    try:
        with open(state_file) as f:
            demo = json.load(f)
        if call(base, demo["api_key"], "GET", "/v1/me")[0] != 200:
            demo = None
    except (OSError, ValueError, KeyError):
        demo = None
    if demo is None:
        demo = seed(base, admin)
        with open(state_file, "w") as f:
            json.dump(demo, f, indent=2)
    configure_models(base, admin, demo["instance_id"], upstream)
    print(json.dumps(demo, indent=2))
    print()
    key = demo["api_key"]
    print("Try it:")
    print(f"  curl -s {base}/v1/chat/completions -H 'Authorization: Bearer {key}' \\")
    print("    -d '{\"model\": \"gpt-4o-mini\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello!\"}]}'")
    print(f"  curl -s {base}/v1/embeddings -H 'Authorization: Bearer {key}' \\")
    print("    -d '{\"model\": \"text-embedding-3-small\", \"input\": \"Hello!\"}'")
    print(f"  curl -s {base}/v1/images/generations -H 'Authorization: Bearer {key}' \\")
    print("    -d '{\"model\": \"ideogram-v3\", \"prompt\": \"A lighthouse at dusk\", \"size\": \"1024x1024\"}'")
    print("    # the answer's data[].url is served by this platform: GET it with no key")
    print(f"  curl -s {base}/v1/me -H 'Authorization: Bearer {key}'")
    print(f"  curl -s {base}/admin/instances/{demo['instance_id']}/projects -H 'Authorization: Bearer {demo['api_key']}'")


if __name__ == "__main__":
    main()
