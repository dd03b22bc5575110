# -*- coding: utf-8 -*-
"""A small fake of AWX's REST API (/api/v2), enough for awx.awx's modules to configure it as they would a real
AWX: list views filtered by query parameters, create (201), read, PATCH (200), delete (204), the association
sub-lists (POST {id} / {id, disassociate}), survey specs, project updates, unified job templates. It keeps
AWX's behaviour where the configuration depends on it:

* a bearer token is required (401 otherwise);
* credential inputs marked ``secret`` by their credential type are stored but shown as ``$encrypted$``;
* a job template's playbook must exist in its project (the project is this repository: 400 otherwise);
* a survey spec that breaks AWX's rules (awx_rules.py) is refused with 400;
* a workflow node's extra_data may only answer its job template's survey questions (or any variable when the template
  asks for variables on launch): 400 otherwise;
* a job template or workflow node must name objects that exist.

Every request is recorded (method, path, body), so a test can tell what was written. Not AWX: no RBAC, no
jobs, no real SCM; standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

import awx_rules

ENCRYPTED = "$encrypted$"
API = "/api/v2/"
SINGULAR = {"organizations": "organization", "credential_types": "credential_type", "credentials": "credential",
            "projects": "project", "inventories": "inventory", "hosts": "host", "groups": "group",
            "job_templates": "job_template", "workflow_job_templates": "workflow_job_template",
            "workflow_job_template_nodes": "workflow_job_template_node", "execution_environments":
            "execution_environment", "project_updates": "project_update", "labels": "label",
            "instance_groups": "instance_group", "notification_templates": "notification_template"}
# Sub-lists of associated objects: (collection of the item, sub-list) -> collection of the members.
ASSOCIATIONS = {("job_templates", "credentials"): "credentials", ("job_templates", "labels"): "labels",
                ("job_templates", "instance_groups"): "instance_groups",
                ("groups", "hosts"): "hosts", ("groups", "children"): "groups",
                ("workflow_job_template_nodes", "success_nodes"): "workflow_job_template_nodes",
                ("workflow_job_template_nodes", "failure_nodes"): "workflow_job_template_nodes",
                ("workflow_job_template_nodes", "always_nodes"): "workflow_job_template_nodes",
                ("workflow_job_template_nodes", "credentials"): "credentials",
                ("workflow_job_templates", "labels"): "labels"}
for _kind in ("started", "success", "error", "approvals"):
    for _owner in ("job_templates", "workflow_job_templates"):
        ASSOCIATIONS[(_owner, "notification_templates_" + _kind)] = "notification_templates"
PAGING = {"page", "page_size", "order_by"}


class Store:
    def __init__(self, project_root):
        self.project_root = project_root
        self.items = dict((c, {}) for c in SINGULAR)
        self.links = {}
        self.surveys = {}
        self.next_id = 1
        self.requests = []
        self.lock = threading.Lock()
        self.add("organizations", {"name": "Default"})

    def url(self, collection, item_id):
        return "{0}{1}/{2}/".format(API, collection, item_id)

    def add(self, collection, fields):
        item_id, self.next_id = self.next_id, self.next_id + 1
        item = dict(fields, id=item_id, type=SINGULAR[collection], url=self.url(collection, item_id),
                    summary_fields={})
        item["related"] = dict((sub, item["url"] + sub + "/") for (owner, sub) in ASSOCIATIONS if owner == collection)
        item["related"].update(survey_spec=item["url"] + "survey_spec/", update=item["url"] + "update/")
        self.items[collection][item_id] = item
        return item

    def shown(self, collection, item):
        """An item as the API shows it: secret credential inputs masked."""
        item = json.loads(json.dumps(item))
        if collection == "credentials":
            ctype = self.items["credential_types"].get(item.get("credential_type")) or {}
            secret = set(f["id"] for f in (ctype.get("inputs") or {}).get("fields", []) if f.get("secret"))
            for key in list((item.get("inputs") or {})):
                if key in secret:
                    item["inputs"][key] = ENCRYPTED
        return item

    def unified(self):
        for collection in ("job_templates", "workflow_job_templates", "projects"):
            for item in self.items[collection].values():
                yield collection, item


def _matches(item, query):
    name_or_id = [(k[4:], v) for k, v in query.items() if k.startswith("or__")]
    if name_or_id and not any(str(item.get(k)) == v for k, v in name_or_id):
        return False
    return all(str(item.get(k)) == v for k, v in query.items() if not k.startswith("or__") and k not in PAGING)


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeAWX/24.6.1"
    store = None
    token = None

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("X-API-Product-Name", "AWX")
        self.send_header("X-API-Product-Version", "24.6.1")
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else {}

    def _handle(self, method):
        url = urlparse(self.path)
        body = self._body() if method in ("POST", "PATCH", "PUT") else None
        store = self.store
        with store.lock:
            store.requests.append((method, url.path, body))
            if self.headers.get("Authorization") != "Bearer " + self.token:
                return self._send(401, {"detail": "Authentication credentials were not provided."})
            if not url.path.startswith(API):
                return self._send(404, {"detail": "Not found."})
            parts = [p for p in url.path[len(API):].split("/") if p]
            query = dict(parse_qsl(url.query))
            try:
                return self._route(method, parts, query, body)
            except KeyError as exc:
                return self._send(404, {"detail": "Not found: {0}".format(exc)})

    def _route(self, method, parts, query, body):
        store = self.store
        if parts == ["ping"] or parts == ["me"]:
            return self._send(200, {"version": "24.6.1"})
        collection = parts[0]
        if collection == "unified_job_templates" and method == "GET":
            found = [store.shown(c, i) for c, i in store.unified() if _matches(i, query)]
            return self._send(200, {"count": len(found), "next": None, "previous": None, "results": found})
        items = store.items[collection]
        if len(parts) == 1:
            if method == "GET":
                found = [store.shown(collection, i) for i in items.values() if _matches(i, query)]
                return self._send(200, {"count": len(found), "next": None, "previous": None, "results": found})
            if method == "POST":
                refused = self._refused(collection, body)
                if refused:
                    return self._send(400, refused)
                item = store.add(collection, body)
                self._created(collection, item)
                return self._send(201, store.shown(collection, item))
        item = items[int(parts[1])]
        if len(parts) == 2:
            if method == "GET":
                return self._send(200, store.shown(collection, item))
            if method == "PATCH":
                refused = self._refused(collection, dict(item, **body))
                if refused:
                    return self._send(400, refused)
                item.update(body)
                return self._send(200, store.shown(collection, item))
            if method == "DELETE":
                del items[item["id"]]
                return self._send(204)
        sub = parts[2]
        if sub == "survey_spec":
            if method == "GET":
                return self._send(200, store.surveys.get((collection, item["id"]), {}))
            if method == "POST":
                problems = awx_rules.problems(body)
                if problems:
                    return self._send(400, {"error": "; ".join(problems)})
                store.surveys[(collection, item["id"])] = body
                return self._send(200)
            if method == "DELETE":
                store.surveys.pop((collection, item["id"]), None)
                return self._send(200)
        members_of = ASSOCIATIONS[(collection, sub)]
        linked = store.links.setdefault((collection, item["id"], sub), [])
        if method == "GET":
            found = [store.shown(members_of, store.items[members_of][i]) for i in linked]
            return self._send(200, {"count": len(found), "next": None, "previous": None, "results": found})
        if method == "POST":
            member = int(body["id"])
            if member not in store.items[members_of]:
                return self._send(400, {"msg": "no {0} {1}".format(members_of, member)})
            if body.get("disassociate"):
                linked.remove(member)
            elif member not in linked:
                linked.append(member)
            return self._send(204)
        return self._send(405, {"detail": "Method not allowed."})

    def _refused(self, collection, fields):
        """What AWX refuses on create or update (400): missing references, a playbook not in the project."""
        store = self.store
        refs = {"organization": "organizations", "inventory": "inventories", "project": "projects",
                "credential_type": "credential_types", "execution_environment": "execution_environments",
                "unified_job_template": None, "workflow_job_template": "workflow_job_templates"}
        for field, target in refs.items():
            value = fields.get(field)
            if value is None:
                continue
            if target is None:
                known = [i["id"] for dummy, i in store.unified()]
            else:
                known = list(store.items[target])
            if value not in known:
                return {field: ["Invalid pk \"{0}\" - object does not exist.".format(value)]}
        if collection == "job_templates":
            playbook = fields.get("playbook") or ""
            if not os.path.isfile(os.path.join(store.project_root, playbook)):
                return {"playbook": ["Playbook not found for project."]}
        if collection == "workflow_job_template_nodes" and fields.get("extra_data"):
            template = store.items["job_templates"].get(fields.get("unified_job_template")) or {}
            spec = store.surveys.get(("job_templates", template.get("id"))) or {}
            asked = set(q["variable"] for q in spec.get("spec") or []) if template.get("survey_enabled") else set()
            extra = fields["extra_data"]
            extra = json.loads(extra) if isinstance(extra, str) else extra
            refused = sorted(set(extra) - asked)
            if refused and not template.get("ask_variables_on_launch"):
                return {"extra_data": ["Variables {0} provided, but this template cannot accept them (no survey "
                                       "question asks for them).".format(", ".join(refused))]}
        if collection == "credentials":
            ctype = store.items["credential_types"][fields["credential_type"]]
            fields_of = set(f["id"] for f in ctype["inputs"].get("fields", []))
            unknown = set(fields.get("inputs") or {}) - fields_of
            missing = set(ctype["inputs"].get("required") or []) - set(fields.get("inputs") or {})
            if unknown or missing:
                return {"inputs": ["unknown {0}, missing {1}".format(sorted(unknown), sorted(missing))]}
        return None

    def _created(self, collection, item):
        store = self.store
        if collection == "projects" and item.get("scm_type"):
            update = store.add("project_updates", {"status": "successful", "project": item["id"], "name": item["name"]})
            item["summary_fields"] = {"current_update": {"id": update["id"], "status": "successful"}}
            item.setdefault("scm_revision", "")

    def do_GET(self):  # noqa: N802
        self._handle("GET")

    def do_POST(self):  # noqa: N802
        self._handle("POST")

    def do_PATCH(self):  # noqa: N802
        self._handle("PATCH")

    def do_PUT(self):  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self):  # noqa: N802
        self._handle("DELETE")


class FakeAwx:
    """``with FakeAwx(root, token) as awx:`` serves on ``awx.url`` until the block ends; ``awx.store`` holds the
    objects and the recorded requests."""

    def __init__(self, project_root, token):
        self.store = Store(project_root)
        handler = type("BoundHandler", (Handler,), {"store": self.store, "token": token})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = "http://127.0.0.1:{0}".format(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def one(self, collection, name):
        found = [i for i in self.store.items[collection].values() if i.get("name") == name]
        assert len(found) == 1, "{0} {1}: {2} found".format(collection, name, len(found))
        return found[0]

    def linked(self, collection, item, sub):
        return self.store.links.get((collection, item["id"], sub), [])

    def writes(self):
        return [(m, p) for m, p, b in self.store.requests if m in ("POST", "PATCH", "PUT", "DELETE")]
