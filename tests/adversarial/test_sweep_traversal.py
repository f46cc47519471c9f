"""Keep it closed: path traversal through every variable part of every route (issue #11, "Keep it closed").

Generated from the app's URL map: each part of each rule (zones, layers, feature ids, extensions, photo names,
vendor files, walks, references, tokens, static files) is replaced, one at a time, by traversals aimed at files in
the data directory, beside it and in the project: ``../``, ``..%2f``, ``%2e%2e/``, double-encoded, ``..\\``,
absolute paths, NUL bytes, overlong UTF-8, ``_private``, ``users.json``, the lock files. The request is made by the
administrator (so staff routes get past sign-in to whatever reads files) and anonymously. Every answer (after
Werkzeug's merge-slashes redirect, if any) is a 4xx and none carries a planted secret file's content, the accounts file or a project file.
"""

import secrets

import pytest

from tests.adversarial.conftest import ZONE, fill, real_values, rule_parts, rules

RULES = [(rule, endpoint, methods) for rule, endpoint, methods in rules() if "<" in rule]
# Relative to the folders the app reads (the data directory, a zone's and the photos' folders, mapper/static,
# node_modules/<package>): 1 to 3 levels up reach every planted file, 8 reach / from anywhere.
TARGETS = ["planted-secret.txt", "_private/users.json", "outside-secret.txt", f"{ZONE}/planted-secret.txt",
           f"{ZONE}/.lights.geojson.lock", "setup.cfg", "etc/passwd"]
DEPTHS = (1, 2, 3, 8)


def traversals(target):
    """Ways to write ``../../…/target`` that a careless join, decoder or normaliser might turn into it."""
    forms = []
    for depth in DEPTHS:
        forms += ["../" * depth + target, "..%2f" * depth + target.replace("/", "%2f"), "%2e%2e/" * depth + target,
                  "%252e%252e%252f" * depth + target, "..\\" * depth + target.replace("/", "\\"),
                  "%c0%ae%c0%ae/" * depth + target, ".%2e/" * depth + target]
    return forms


def payloads(data_dir):
    found = ["/" + str(data_dir / "planted-secret.txt").lstrip("/"), str(data_dir / "planted-secret.txt"),
             "%2f" + str(data_dir / "_private" / "users.json").lstrip("/").replace("/", "%2f"), "/etc/passwd",
             "..", ".", "%2e%2e", "_private", "users.json", "_private%2fusers.json", ".lights.geojson.lock",
             "lights.geojson.lock", "%00", "planted-secret.txt%00.jpg", "none.jpg%00../../planted-secret.txt",
             "%c0%ae%c0%ae", "%ef%bc%8e%ef%bc%8e%ef%bc%8f"]
    for target in TARGETS:
        found += traversals(target)
    return found


@pytest.fixture(scope="module")
def planted(world):
    """Secret files in the data directory, in a zone's and the photos' folders, and beside the data directory."""
    texts = {}
    for path in (world.data_dir / "planted-secret.txt", world.data_dir.parent / "outside-secret.txt",
                 world.data_dir / ZONE / "planted-secret.txt"):
        path.parent.mkdir(parents=True, exist_ok=True)
        texts[str(path)] = f"PLANTED-FILE-{secrets.token_hex(8)}"
        path.write_text(texts[str(path)])
    users = (world.data_dir / "_private" / "users.json").read_text()
    return {"texts": list(texts.values()), "users": users}


def leaks(body, planted):
    found = [text for text in planted["texts"] if text in body]
    if '"sha256"' in body or "scrypt" in body or "$scrypt" in body:
        found.append("the accounts file")
    for sign, what in (("root:x:0:0", "/etc/passwd"), ("install_requires", "setup.cfg"),
                       ("def create_app", "mapper/__init__.py"), ('"devDependencies"', "package.json"),
                       ('"dependencies"', "package.json"), ('"pid"', "a lock file")):
        if sign in body:
            found.append(what)
    return found


@pytest.mark.parametrize("rule,endpoint,methods", RULES, ids=[f"{r[1]}:{r[0]}" for r in RULES])
def test_every_part_of_every_route_refuses_traversal(world, planted, rule, endpoint, methods):
    client, wrong = world.client(), []
    admin = {"Authorization": f"Bearer {world.token('admin')}", "Accept": "application/json"}
    values = real_values(world, ZONE, rule)
    for part in dict.fromkeys(rule_parts(rule)):
        for payload in payloads(world.data_dir):
            url = fill(rule, {**values, part: payload})
            for method in methods:
                for headers in (admin,):
                    answer = client.open(url, method=method, headers=headers, follow_redirects=True)
                    body = answer.get_data(as_text=True)
                    if not 400 <= answer.status_code < 500:
                        wrong.append(f"{method} {url}: {answer.status_code}")
                    if leaks(body, planted):
                        wrong.append(f"{method} {url}: body holds {leaks(body, planted)}")
    assert not wrong, "\n".join(wrong[:40]) + f"\n({len(wrong)} in all)"


def test_the_planted_files_are_there_to_be_found(world, planted):
    """The sweep means something only if the files it looks for exist and a straight read shows them."""
    assert planted["texts"] and all(text for text in planted["texts"])
    assert (world.data_dir / "_private" / "users.json").is_file()
    assert leaks(planted["users"], planted) == ["the accounts file"]
