#!/usr/bin/env python3
"""What vigil wrote after replaying the cluster harness's discovery capture,
read back with vigilctl and compared with the harness's expected.json.

usage: discovery_check.py EXPECTED VIGILCTL REDIS P1_AT P2_AT D1 D2

P1_AT and P2_AT are times (epoch seconds) inside phase 1 and phase 2 of the
re-timed capture, each phase wholly inside the map bucket holding its time;
D1 and D2 are the shifts the phases were given (discovery_test.sh). Prints
"ok   - ..." or "FAIL - ..." lines; exits 0.
"""
import json
import subprocess
import sys

import yaml

exp_path, vctl, redis, p1_at, p2_at = sys.argv[1:6]
exp = json.load(open(exp_path))


def out(good, what, detail=""):
    print(("ok   - " if good else "FAIL - ") + what + (": " + detail if detail and not good else ""))


def ctl(*args, ok_rc=(0,)):
    r = subprocess.run([vctl, "--redis", redis, *args], capture_output=True, text=True, timeout=30)
    if r.returncode not in ok_rc:
        raise RuntimeError("vigilctl %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr.strip()))
    return r.stdout


def jlines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


ns_of = {p["service"]: p["namespace"] for p in exp["pods"]}
ext_ip = {}
for x in exp["externals"]:
    ext_ip.update(x["names"])


def node(dst, kind):
    return "svc/%s/%s" % (ns_of[dst], dst) if kind == "service" else "ip/" + ext_ip[dst]


def expected_graph(edges):
    g = {}
    for e in edges:
        k = ("svc/%s/%s" % (ns_of[e["client_service"]], e["client_service"]),
             node(e["dst"], e["dst_kind"]), e["port"], e["proto"])
        g[k] = g.get(k, 0) + e["flows"]
    return g


def show(g):
    return "; ".join("%s>%s:%s/%s=%s" % (k + (v,)) for k, v in sorted(g.items()))


# ---- the exact service graph, from the edges (not bucketed) ------------------
want = expected_graph(exp["service_edges"])
got = {}
for p in exp["pods"]:
    eid = "pod/%s/%s" % (p["namespace"], p["pod"])
    try:
        ent = json.loads(ctl("--json", "entity", eid))
    except RuntimeError:
        continue
    for e in ent.get("edges_out", []):
        k = (e["client_group"], e["server_group"], e["port"], e["transport"])
        got[k] = got.get(k, 0) + e["flows"]
out(got == want, "service graph from the edges: %d service-level edges, %d flows, as expected.json"
    % (len(want), sum(want.values())), "expected %s; got %s" % (show(want), show(got)))

# ---- the whole map, and each phase at its own time -----------------------------
def map_graph(*args):
    g, names = {}, {}
    for e in jlines(ctl("--json", "map", *args)):
        g[(e["client"], e["server"], e["port"], e["transport"])] = e["flows"]
        if e.get("server_name"):
            names[e["server"]] = e["server_name"]
    return g, names


g, names = map_graph("--at", p2_at, "--window", "1h")
out(g == want, "map over the whole capture: the same graph", "expected %s; got %s" % (show(want), show(g)))
want_names = {"ip/" + ip: name for name, ip in ext_ip.items()
              if any(k[1] == "ip/" + ip for k in want)}
out(names == want_names, "map names the external servers by their DNS names (%s)"
    % ", ".join(sorted(want_names.values())), "got %s" % names)
for label, at, phase in (("phase 1", p1_at, exp["phases"][0]["name"]),
                         ("phase 2", p2_at, exp["phases"][1]["name"])):
    w = expected_graph(exp["edges_by_phase"][phase])
    g, _ = map_graph("--at", at)
    out(g == w, "map --at %s (%s, %s): its %d edges, %d flows" % (at, label, phase, len(w), sum(w.values())),
        "expected %s; got %s" % (show(w), show(g)))
# entity level: the replicas of web apart
w = {}
for e in exp["edges"]:
    for pod, n in (e.get("by_pod") or {}).items():
        srv = next(p for p in exp["pods"] if p["pod"] == pod)
        k = ("pod/%s/%s" % (ns_of[e["client_service"]], e["client"]),
             "pod/%s/%s" % (srv["namespace"], pod), e["port"], e["proto"])
        w[k] = w.get(k, 0) + n
g, _ = map_graph("--at", p2_at, "--window", "1h", "--by", "entity")
g = {k: v for k, v in g.items() if not k[1].startswith("ip/")}
out(g == w, "map --by entity: every pod-to-pod edge with its flows (replicas apart)",
    "expected %s; got %s" % (show(w), show(g)))

# ---- identities ----------------------------------------------------------------
bad = []
for p in exp["pods"]:
    eid = "pod/%s/%s" % (p["namespace"], p["pod"])
    try:
        e = json.loads(ctl("--json", "entity", eid))
    except RuntimeError as err:
        bad.append(str(err))
        continue
    labels = ",".join("%s=%s" % kv for kv in sorted(p["labels"].items())) or None
    have = (e.get("source"), e.get("namespace"), e.get("image"), e.get("service"), e.get("labels"),
            e.get("ip"), e.get("group"))
    want_id = ("cicd", p["namespace"], p["image"], p["service"], labels, p["ip"],
               "svc/%s/%s" % (p["namespace"], p["service"]))
    if have != want_id:
        bad.append("%s: %s != %s" % (eid, have, want_id))
out(not bad, "identities of the %d pods (namespace, image, service, labels, address, group)"
    % len(exp["pods"]), "; ".join(bad))

# ---- the reused address ----------------------------------------------------------
pod_ns = {p["pod"]: p["namespace"] for p in exp["pods"]}
for ip, holders in exp["reused_addresses"].items():
    holders = [dict(h, namespace=pod_ns[h["pod"]]) for h in holders]
    ents = jlines(ctl("--json", "entity", ip))
    ids = sorted(e["id"] for e in ents)
    want_ids = sorted("pod/%s/%s" % (h["namespace"], h["pod"]) for h in holders)
    out(ids == want_ids, "%s resolved to %d pods: %s" % (ip, len(want_ids), " ".join(want_ids)),
        "got %s" % ids)
    by = {e["id"]: e for e in ents}
    first = "pod/%s/%s" % (holders[0]["namespace"], holders[0]["pod"])
    second = "pod/%s/%s" % (holders[1]["namespace"], holders[1]["pod"])
    if first in by and second in by:
        out(by[first]["last_seen"] < by[second]["first_seen"],
            "%s: the first pod's flows all end before the second's begin" % ip,
            "%s last %s, %s first %s" % (first, by[first]["last_seen"], second, by[second]["first_seen"]))


# ---- policies ---------------------------------------------------------------------
def policy_check(doc):
    """The required fields of networking.k8s.io/v1 NetworkPolicy; a list of errors."""
    err = []

    def labels_ok(sel, where):
        if not isinstance(sel, dict) or set(sel) - {"matchLabels", "matchExpressions"}:
            err.append(where + ": not a LabelSelector")
            return
        ml = sel.get("matchLabels", {})
        if not isinstance(ml, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in ml.items()):
            err.append(where + ".matchLabels: not a map of strings")

    if doc.get("apiVersion") != "networking.k8s.io/v1" or doc.get("kind") != "NetworkPolicy":
        err.append("apiVersion/kind")
    md = doc.get("metadata") or {}
    if not isinstance(md.get("name"), str) or not isinstance(md.get("namespace"), str):
        err.append("metadata.name/namespace")
    spec = doc.get("spec") or {}
    if "podSelector" not in spec:
        err.append("spec.podSelector missing")
    else:
        labels_ok(spec["podSelector"], "spec.podSelector")
    pt = spec.get("policyTypes")
    if not isinstance(pt, list) or not pt or set(pt) - {"Ingress", "Egress"}:
        err.append("spec.policyTypes")
    for d, peer_key in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(d, [])
        if not isinstance(rules, list):
            err.append("spec.%s: not a list" % d)
            continue
        for i, r in enumerate(rules):
            w = "spec.%s[%d]" % (d, i)
            if not isinstance(r, dict) or set(r) - {peer_key, "ports"}:
                err.append(w + ": unknown member")
                continue
            for j, p in enumerate(r.get(peer_key, [])):
                keys = set(p)
                if keys - {"podSelector", "namespaceSelector", "ipBlock"} or not keys or \
                        ("ipBlock" in keys and len(keys) > 1):
                    err.append("%s.%s[%d]: bad peer %s" % (w, peer_key, j, sorted(keys)))
                for s in ("podSelector", "namespaceSelector"):
                    if s in p:
                        labels_ok(p[s], "%s.%s[%d].%s" % (w, peer_key, j, s))
                if "ipBlock" in p and not isinstance(p["ipBlock"].get("cidr"), str):
                    err.append("%s.%s[%d].ipBlock.cidr" % (w, peer_key, j))
            for j, port in enumerate(r.get("ports", [])):
                if port.get("protocol") not in ("TCP", "UDP", "SCTP") or \
                        not isinstance(port.get("port"), int) or not 1 <= port["port"] <= 65535:
                    err.append("%s.ports[%d]: %s" % (w, j, port))
    return err


def peers(rules, key):
    """{(peer, port/proto), ...} of a rule list."""
    s = set()
    for r in rules:
        for p in r[key]:
            if "ipBlock" in p:
                who = p["ipBlock"]["cidr"]
            else:
                who = "%s/%s" % (p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
                                 ",".join("%s=%s" % kv for kv in sorted(p["podSelector"]["matchLabels"].items())))
            for port in r["ports"]:
                s.add((who, "%d/%s" % (port["port"], port["protocol"])))
    return s


def sel_of(svc):
    """The selector the policy should use for a service: the labels its pods
    share, without the per-revision ones."""
    pods = [p for p in exp["pods"] if p["service"] == svc]
    common = None
    for p in pods:
        lab = {k: v for k, v in p["labels"].items()
               if k not in ("pod-template-hash", "statefulset.kubernetes.io/pod-name")}
        common = lab if common is None else {k: v for k, v in common.items() if lab.get(k) == v}
    return "%s/%s" % (ns_of[svc], ",".join("%s=%s" % kv for kv in sorted((common or {}).items())))


for svc in ("web", "frontend"):
    try:
        text = ctl("policy", "--service", svc, "--at", p2_at, "--window", "1h")
        doc = yaml.safe_load(text)
    except Exception as err:  # noqa: BLE001 - reported as a failure
        out(False, "policy --service %s" % svc, str(err))
        continue
    errs = policy_check(doc)
    out(not errs, "policy --service %s: valid networking.k8s.io/v1 NetworkPolicy YAML" % svc, "; ".join(errs))
    if errs:
        continue
    out(doc["metadata"]["namespace"] == ns_of[svc] and
        "%s/%s" % (ns_of[svc], ",".join("%s=%s" % kv for kv in sorted(doc["spec"]["podSelector"]["matchLabels"].items()))) == sel_of(svc),
        "policy --service %s: selects its pods by their shared labels (%s)" % (svc, sel_of(svc)),
        "got %s" % doc["spec"]["podSelector"])
    node_svc = "svc/%s/%s" % (ns_of[svc], svc)
    w_in, w_out = set(), set()
    for (c, s, port, proto) in want:
        pp = "%d/%s" % (port, proto.upper())
        if s == node_svc:
            w_in.add((sel_of(c.split("/")[2]), pp))
        if c == node_svc:
            w_out.add((s[3:] + "/32" if s.startswith("ip/") else sel_of(s.split("/")[2]), pp))
    g_in = peers(doc["spec"].get("ingress") or [], "from")
    g_out = peers(doc["spec"].get("egress") or [], "to")
    out(g_in == w_in, "policy --service %s: ingress lists exactly the observed clients (%s)"
        % (svc, "; ".join("%s %s" % x for x in sorted(w_in)) or "none"), "got %s" % sorted(g_in))
    out(g_out == w_out, "policy --service %s: egress lists exactly the services it called (%s)"
        % (svc, "; ".join("%s %s" % x for x in sorted(w_out)) or "none"), "got %s" % sorted(g_out))
    host, port = redis.rsplit(":", 1)
    stored = subprocess.run(["redis-cli", "-h", host, "-p", port, "HGET",
                             "vigil:policy:%s/%s" % (ns_of[svc], svc), "allowed"],
                            capture_output=True, text=True, timeout=10).stdout
    try:
        allowed = sorted(e["svcedge"] for e in json.loads(stored))
    except ValueError:
        allowed = stored
    w_allowed = sorted("%s>%s:%d/%s" % k for k in want if node_svc in (k[0], k[1]))
    out(allowed == w_allowed, "vigil:policy:%s/%s holds the %d allowed service-level edges"
        % (ns_of[svc], svc, len(w_allowed)), "got %s" % allowed)
