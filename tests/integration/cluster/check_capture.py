#!/usr/bin/env python3
"""Check a cluster.sh capture against its expected.json, through tshark's
conversation list: the harness's own test (are the flows on the wire
exactly those it says it made?).

usage: check_capture.py EXPECTED.json [CAPTURE]   (default: the capture
       named in EXPECTED.json, beside it)

From `tshark -z conv,tcp -z conv,udp` each conversation is oriented by its
server end (an address and port some pod or external host serves in
expected.json's address book), its client is the pod that held the client
address when the conversation began, its destination the service (or
external name) that held the server address then. The service graph so
rebuilt must equal expected.json's, edge by edge with flow counts and the
split by server pod: over the whole capture ("edges") and per phase
("edges_by_phase"). Also: every flow whose client port the harness chose
is there with that exact port; nothing was dropped by the kernel; every
frame is TCP or UDP over IPv4, or ARP (expected.json "noise").

Prints "ok - ..." for each check that holds and "FAIL - ..." with the
differences for each that does not. Exit 0 when all hold.
"""
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict


def tshark(*args):
    return subprocess.run(["tshark", "-n", *args], check=True, capture_output=True,
                          text=True).stdout


def conversations(pcap):
    """[(proto, (ip, port), (ip, port), relative start)] from tshark."""
    out = tshark("-r", pcap, "-q", "-z", "conv,tcp", "-z", "conv,udp")
    convs, proto = [], None
    for line in out.splitlines():
        if line.startswith("TCP Conversations"):
            proto = "tcp"
        elif line.startswith("UDP Conversations"):
            proto = "udp"
        t = line.split()
        if len(t) > 4 and t[1] == "<->":
            a, b = t[0].rsplit(":", 1), t[2].rsplit(":", 1)
            # ... frames bytes-with-unit x3, then "Rel Start" and "Duration"
            convs.append((proto, (a[0], int(a[1])), (b[0], int(b[1])), float(t[-2])))
    return convs


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    exp = json.load(open(sys.argv[1]))
    pcap = sys.argv[2] if len(sys.argv) == 3 else os.path.join(
        os.path.dirname(os.path.abspath(sys.argv[1])), exp["capture"]["file"])
    failures = 0

    def report(ok, what, details=()):
        nonlocal failures
        if ok:
            print("ok   - " + what)
        else:
            failures += 1
            print("FAIL - " + what)
            for d in list(details)[:40]:
                print("       " + d)

    book = exp["addresses"]
    servers = set()
    for b in book:
        for s in b["servers"]:
            port, proto = s.split(":")[1].split("/")
            servers.add((b["ip"], int(port), proto))

    def holder(ip, ts):
        for b in book:
            if b["ip"] == ip and b["from"] <= ts and (b["to"] is None or ts <= b["to"]):
                return b
        return None

    def phase_of(ts):
        for p in exp["phases"]:
            if p["start"] <= ts and (p["end"] is None or ts < p["end"]):
                return p["name"]
        return None

    first = tshark("-r", pcap, "-c", "1", "-T", "fields", "-e", "frame.time_epoch").strip()
    report(bool(first), "the capture is not empty (%s)" % pcap)
    if not first:
        return 1
    t0 = float(first)

    convs = conversations(pcap)
    flows, unexplained = [], []
    for proto, a, b, rel in convs:
        ts = t0 + rel
        if (b[0], b[1], proto) in servers:
            cli, srv = a, b
        elif (a[0], a[1], proto) in servers:
            cli, srv = b, a
        else:
            unexplained.append("%s %s:%d <-> %s:%d: no server end" % (proto, *a, *b))
            continue
        c, s = holder(cli[0], ts), holder(srv[0], ts)
        if c is None or c["kind"] != "pod" or s is None:
            unexplained.append("%s %s:%d -> %s:%d at %.6f: %s" % (
                proto, *cli, *srv, ts, "no pod held the client address" if not c or
                c["kind"] != "pod" else "nobody held the server address"))
            continue
        flows.append({
            "client": c["pod"], "client_service": c["service"], "client_ip": cli[0],
            "client_port": cli[1], "server_ip": srv[0], "server_port": srv[1],
            "proto": proto, "dst": s["service"] if s["kind"] == "pod" else s["name"],
            "dst_pod": s.get("pod"), "phase": phase_of(ts), "ts": ts})
    report(not unexplained, "every conversation is a flow between a pod and a server "
           "of the address book (%d conversations)" % len(convs), unexplained)

    def edges(fls):
        agg = {}
        for f in fls:
            k = (f["client"], f["dst"], f["server_port"], f["proto"])
            e = agg.setdefault(k, {"flows": 0, "by_pod": Counter()})
            e["flows"] += 1
            if f["dst_pod"]:
                e["by_pod"][f["dst_pod"]] += 1
        return {k: (v["flows"], dict(sorted(v["by_pod"].items()))) for k, v in agg.items()}

    def expected_edges(lst):
        return {(e["client"], e["dst"], e["port"], e["proto"]):
                (e["flows"], dict(sorted(e.get("by_pod", {}).items()))) for e in lst}

    def diff(got, want):
        out = []
        for k in sorted(set(got) | set(want), key=str):
            if got.get(k) != want.get(k):
                out.append("%s -> %s:%d/%s: capture %s, expected %s" % (
                    k[0], k[1], k[2], k[3], got.get(k), want.get(k)))
        return out

    got, want = edges(flows), expected_edges(exp["edges"])
    report(got == want, "service graph: %d edges, %d flows, as expected.json says" % (
        len(want), sum(v[0] for v in want.values())), diff(got, want))
    for name, lst in exp["edges_by_phase"].items():
        g = edges([f for f in flows if f["phase"] == name])
        w = expected_edges(lst)
        report(g == w, "service graph of phase %s: %d edges, %d flows" % (
            name, len(w), sum(v[0] for v in w.values())), diff(g, w))

    seen = Counter((f["proto"], f["client_ip"], f["client_port"], f["server_ip"],
                    f["server_port"]) for f in flows)
    missing = []
    for f in exp["flows"]:
        if f["client_port"] is not None:
            k = (f["proto"], f["client_ip"], f["client_port"], f["server_ip"], f["server_port"])
            if seen[k] != 1:
                missing.append("%s %s:%d -> %s:%d seen %d times" % (k[0], k[1], k[2], k[3],
                                                                   k[4], seen[k]))
    report(not missing, "every flow whose client port the harness chose is there, once "
           "(%d)" % sum(1 for f in exp["flows"] if f["client_port"] is not None), missing)
    report(all(f["ok"] for f in exp["flows"]) and all(a["ok"] for a in exp["actions"]),
           "every client step did what it should",
           ["action %d: %s %s %s" % (a["action"], a["pod_key"], a["verb"], a["args"])
            for a in exp["actions"] if not a["ok"]])

    report(exp["capture"].get("dropped") == 0, "no packet dropped by the kernel (%s)" %
           exp["capture"].get("dropped"))
    kinds = Counter()
    for p in tshark("-r", pcap, "-T", "fields", "-e", "frame.protocols").split():
        if p == "eth:ethertype:arp":
            kinds["arp"] += 1
        elif p.startswith(("eth:ethertype:ip:tcp", "eth:ethertype:ip:udp")):
            kinds["ip"] += 1
        else:
            kinds[p] += 1
    other = {k: v for k, v in kinds.items() if k not in ("arp", "ip")}
    allowed = set(exp.get("noise", {}))
    report(not (set(other) - allowed), "every frame is TCP/UDP over IPv4 or allowed noise "
           "(%s)" % ", ".join("%s %d" % kv for kv in sorted(kinds.items())),
           ["%s: %d frames" % kv for kv in other.items()])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
