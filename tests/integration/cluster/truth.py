#!/usr/bin/env python3
"""Write the ground truth of a cluster.sh run: the identities to push
(meta-1.json, meta-2.json, ...) and expected.json.

usage: truth.py STATEDIR OUTDIR

STATEDIR (OUTDIR/.cluster) holds pods.tsv, the scenario's declarations
(key, kind, pod, namespace, image, service, labels, ips, servers, names,
mac), and events.tsv, what happened and when (epoch seconds, the machine's
clock, the clock of the capture's timestamps):

  scenario NAME RUN FILE DESCRIPTION        pod_up KEY T        pod_down KEY T
  capture_start T                 traffic_start T     phase NAME T
  flow ACT T KEY CLIENT_IP CLIENT_PORT|- SERVER_IP SERVER_PORT PROTO APP OK
  action ACT AT START END KEY VERB ARGS LABEL OK
  traffic_end T                   capture_end T PACKETS DROPPED

Identity documents: `vigilctl meta push` takes one identity per address,
so the pods go, in the order they came up, into the first document that
does not hold their address yet: meta-1.json has every address's first
identity, meta-2.json the second of a reused address, and so on. Each
identity carries `since`, the time its pod came up (a string of epoch
seconds with six decimals, exact), so pushing the documents in order
leaves each address's history in P:meta:<ip>:history.

expected.json: see README.md beside this file ("expected.json").
"""
import json
import os
import sys
from collections import defaultdict


def labels_of(text):
    out = {}
    for item in filter(None, text.split(",")):
        k, _, v = item.partition("=")
        out[k] = v
    return out


def t6(x):
    return round(float(x), 6)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    st, out = sys.argv[1], sys.argv[2]
    decl = {}
    order = []
    with open(os.path.join(st, "pods.tsv")) as f:
        for line in f:
            (key, kind, pod, ns, image, svc, labels, ips, servers, names,
             mac) = line.rstrip("\n").split("\t")
            decl[key] = {
                "key": key, "kind": kind, "pod": pod, "namespace": ns,
                "image": image, "service": svc, "labels": labels_of(labels),
                "ips": ips.split(","), "servers": list(filter(None, servers.split(","))),
                "names": dict(n.split("=", 1) for n in filter(None, names.split(","))),
                "mac": mac,
            }
            order.append(key)

    up, down, phases, flows, actions = {}, {}, [], [], []
    cap = {}
    scen = {}
    with open(os.path.join(st, "events.tsv")) as f:
        for line in f:
            e = line.rstrip("\n").split("\t")
            kind = e[0]
            if kind == "scenario":
                scen = {"name": e[1], "run": e[2], "file": e[3],
                        "description": e[4] if len(e) > 4 else ""}
            elif kind == "pod_up":
                up[e[1]] = t6(e[2])
            elif kind == "pod_down":
                down[e[1]] = t6(e[2])
            elif kind == "phase":
                phases.append({"name": e[1], "start": t6(e[2])})
            elif kind in ("capture_start", "traffic_start", "traffic_end"):
                cap[kind] = t6(e[1])
            elif kind == "capture_end":
                cap["capture_end"] = t6(e[1])
                cap["packets"] = int(e[2]) if e[2] else None
                cap["dropped"] = int(e[3]) if e[3] else None
            elif kind == "flow":
                flows.append({
                    "action": int(e[1]), "ts": t6(e[2]), "client_key": e[3],
                    "client_ip": e[4],
                    "client_port": None if e[5] == "-" else int(e[5]),
                    "server_ip": e[6], "server_port": int(e[7]), "proto": e[8],
                    "app": e[9], "ok": e[10] == "1"})
            elif kind == "action":
                actions.append({
                    "action": int(e[1]), "at": float(e[2]), "start": t6(e[3]),
                    "end": t6(e[4]), "pod_key": e[5], "verb": e[6],
                    "args": e[7], "label": e[8], "ok": e[9] == "1"})
    end = cap.get("capture_end") or cap.get("traffic_end")
    for i, p in enumerate(phases):
        p["end"] = phases[i + 1]["start"] if i + 1 < len(phases) else end
    if not phases:
        phases = [{"name": "all", "start": cap.get("capture_start"), "end": end}]

    # Who held each address when: the address book.
    book = []
    for key in order:
        d = decl[key]
        if key not in up:
            continue
        for ip in d["ips"]:
            entry = {"ip": ip, "kind": d["kind"], "key": key,
                     "from": up[key], "to": down.get(key)}
            if d["kind"] == "pod":
                entry.update(pod=d["pod"], namespace=d["namespace"], service=d["service"])
            else:
                names = sorted(n for n, a in d["names"].items() if a == ip)
                entry.update(name=names[0] if names else ip, names=names)
            entry["servers"] = d["servers"]
            book.append(entry)
    book.sort(key=lambda b: (tuple(int(x) for x in b["ip"].split(".")), b["from"]))

    def holder(ip, ts):
        for b in book:
            if b["ip"] == ip and b["from"] <= ts and (b["to"] is None or ts <= b["to"]):
                return b
        return None

    def phase_of(ts):
        for p in phases:
            if p["start"] <= ts and (p["end"] is None or ts < p["end"]):
                return p["name"]
        return None

    # Every flow, named.
    label = {a["action"]: a["label"] for a in actions}
    out_flows = []
    for fl in flows:
        c = decl[fl["client_key"]]
        s = holder(fl["server_ip"], fl["ts"])
        if s is None:
            dst, dst_kind, dst_pod = fl["server_ip"], "unknown", None
        elif s["kind"] == "pod":
            dst, dst_kind, dst_pod = s["service"], "service", s["pod"]
        else:
            dst, dst_kind, dst_pod = s["name"], "external", None
        out_flows.append({
            "ts": fl["ts"], "phase": phase_of(fl["ts"]), "action": fl["action"],
            "client": c["pod"], "client_service": c["service"],
            "client_namespace": c["namespace"], "client_ip": fl["client_ip"],
            "client_port": fl["client_port"], "server_ip": fl["server_ip"],
            "server_port": fl["server_port"], "proto": fl["proto"],
            "dst": dst, "dst_kind": dst_kind, "dst_pod": dst_pod,
            "dst_namespace": s.get("namespace") if s else None,
            "app": fl["app"], "label": label.get(fl["action"]), "ok": fl["ok"]})

    def edges_of(fls, who):
        agg = {}
        for fl in fls:
            k = (fl[who], fl["dst"], fl["server_port"], fl["proto"])
            e = agg.setdefault(k, {
                who: fl[who], "dst": fl["dst"], "dst_kind": fl["dst_kind"],
                "port": fl["server_port"], "proto": fl["proto"], "flows": 0,
                "by_pod": defaultdict(int)})
            if who == "client":
                e["client_service"] = fl["client_service"]
            e["flows"] += 1
            if fl["dst_pod"]:
                e["by_pod"][fl["dst_pod"]] += 1
        res = []
        for k in sorted(agg):
            e = agg[k]
            e["by_pod"] = dict(sorted(e["by_pod"].items()))
            if not e["by_pod"]:
                del e["by_pod"]
            res.append(e)
        return res

    # Identity documents.
    docs = []
    for key in sorted((k for k in order if decl[k]["kind"] == "pod" and k in up),
                      key=lambda k: up[k]):
        d = decl[key]
        ident = {"pod": d["pod"], "namespace": d["namespace"], "image": d["image"],
                 "service": d["service"]}
        if d["labels"]:
            ident["labels"] = d["labels"]
        ident["since"] = "%.6f" % up[key]
        for ip in d["ips"]:
            for doc in docs:
                if ip not in doc:
                    doc[ip] = ident
                    break
            else:
                docs.append({ip: ident})
    meta_files = []
    for i, doc in enumerate(docs, 1):
        name = "meta-%d.json" % i
        with open(os.path.join(out, name), "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        meta_files.append(name)

    pods = []
    for key in order:
        d = decl[key]
        if d["kind"] != "pod":
            continue
        p = {"key": key, "pod": d["pod"], "namespace": d["namespace"],
             "image": d["image"], "service": d["service"], "labels": d["labels"],
             "ip": d["ips"][0], "ips": d["ips"], "mac": d["mac"],
             "servers": d["servers"], "up": up.get(key), "down": down.get(key),
             "meta_file": next((m for m, doc in zip(meta_files, docs)
                                if doc.get(d["ips"][0], {}).get("pod") == d["pod"]), None)}
        pods.append(p)
    externals = [{"key": k, "ips": decl[k]["ips"], "names": decl[k]["names"],
                  "mac": decl[k]["mac"], "servers": decl[k]["servers"],
                  "up": up.get(k), "down": down.get(k)}
                 for k in order if decl[k]["kind"] == "external"]
    reused = defaultdict(list)
    for p in pods:
        if p["up"] is not None:
            for ip in p["ips"]:
                reused[ip].append({"pod": p["pod"], "service": p["service"],
                                   "from": p["up"], "to": p["down"]})
    reused = {ip: sorted(v, key=lambda x: x["from"]) for ip, v in reused.items() if len(v) > 1}

    expected = {
        "scenario": scen.get("name"),
        "description": scen.get("description"),
        "run": scen.get("run"),
        "capture": {"file": "capture.pcap", "interface": "br0",
                    "start": cap.get("capture_start"), "end": cap.get("capture_end"),
                    "traffic_start": cap.get("traffic_start"),
                    "traffic_end": cap.get("traffic_end"),
                    "packets": cap.get("packets"), "dropped": cap.get("dropped")},
        "meta_files": meta_files,
        "phases": phases,
        "pods": pods,
        "externals": externals,
        "addresses": book,
        "reused_addresses": reused,
        "actions": sorted(actions, key=lambda a: a["action"]),
        "flows": out_flows,
        "edges": edges_of(out_flows, "client"),
        "service_edges": edges_of(out_flows, "client_service"),
        "edges_by_phase": {p["name"]: edges_of([f for f in out_flows if f["phase"] == p["name"]],
                                               "client") for p in phases},
        "noise": {"arp": "ARP requests and replies, any number (not IP)"},
    }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
