#!/usr/bin/env python3
"""Check what vigil's entity stage wrote to Redis against tshark's view of
the same capture and the identities that were pushed.

tshark says which frames make a conversation (tcp.stream, udp.stream;
ICMP by address pair), who sent the first frame (the originator), each
frame's time, IP length, TCP flags and application protocol. From that and
the pushed identities this script computes, on its own, every entity,
service, edge, service-level edge and map cell vigil should have written
(README "Redis schema"; the rules of lib/entity/vigil_entity.h: an address
is named by the identity valid at the flow's first packet, a service is a
TCP port that answered with a SYN-ACK or a UDP port that answered at all,
a flow counts in every map bucket it overlaps with its IP bytes spread by
overlap), then reads Redis and compares exactly. It also checks the
orig_entity and resp_entity of every flow record.

usage: entity_check.py CAPTURE REDIS_PORT [--doc PUSH.json]... [--prefix P]
                       [--bucket SECONDS] [--expect-json OUT.json]
--doc: a push document (vigilctl meta push), in the order pushed; the same
  address in several documents with different `since` makes a history.
--expect-json: also write the expected entities (id -> fields) there, for
  the shell test's own assertions.
Exit 0 when everything agrees, 1 otherwise. Needs tshark and python3 only
(Redis is spoken to over a socket).
"""
import argparse
import ipaddress
import json
import socket
import subprocess
import sys
from collections import defaultdict
from datetime import datetime

FIELDS = ["frame.time_epoch", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
          "tcp.stream", "udp.stream", "tcp.srcport", "tcp.dstport",
          "udp.srcport", "udp.dstport", "tcp.flags.syn", "tcp.flags.ack",
          "ip.len", "ipv6.plen", "icmp.type", "icmpv6.type",
          "dns.qry.name", "dns.flags.response", "dns.a", "dns.aaaa",
          "http.request.method", "tls.handshake.type"]


# ---- Redis, over a socket ---------------------------------------------------

class Redis:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode("utf-8", "surrogateescape")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def hash(self, key):
        v = self.cmd("HGETALL", key)
        return dict(zip(v[0::2], v[1::2]))

    def zall(self, key):
        return self.cmd("ZRANGE", key, 0, -1)


# ---- the capture -------------------------------------------------------------

def us(t):
    """'1767225600.002588000' -> microseconds, exactly."""
    s, _, f = t.partition(".")
    return int(s) * 1000000 + int((f + "000000")[:6])


def ts_text(u):
    return "%d.%06d" % (u // 1000000, u % 1000000)


def norm(a):
    return str(ipaddress.ip_address(a))


def flows_of(capture):
    cmd = ["tshark", "-r", capture, "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True,
                         text=True).stdout
    flows, names = {}, {}
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        v = {k: v.get(k, "") for k in FIELDS}
        if v["ip.src"]:
            src, dst = norm(v["ip.src"].split(",")[0]), norm(v["ip.dst"].split(",")[0])
            iplen = int(v["ip.len"].split(",")[0])
        elif v["ipv6.src"]:
            src, dst = norm(v["ipv6.src"].split(",")[0]), norm(v["ipv6.dst"].split(",")[0])
            iplen = int(v["ipv6.plen"].split(",")[0]) + 40
        else:
            continue
        t = us(v["frame.time_epoch"])
        if v["tcp.stream"]:
            key = ("tcp", v["tcp.stream"])
            sport, dport = int(v["tcp.srcport"]), int(v["tcp.dstport"])
        elif v["udp.stream"]:
            key = ("udp", v["udp.stream"])
            sport, dport = int(v["udp.srcport"]), int(v["udp.dstport"])
        else:
            key = ("other",) + tuple(sorted((src, dst)))
            sport = dport = 0
        f = flows.get(key)
        if f is None:
            f = flows[key] = {
                "proto": key[0], "orig": src, "resp": dst, "port": dport,
                "oport": sport,
                "first": t, "last": t, "pkts": [0, 0], "bytes": [0, 0],
                "synack": False, "resp_any": False, "apps": set()}
        role = 0 if (src, sport) == (f["orig"], f["oport"]) else 1
        f["pkts"][role] += 1
        f["bytes"][role] += iplen
        f["first"] = min(f["first"], t)
        f["last"] = max(f["last"], t)
        if role == 1:
            f["resp_any"] = True
            if v["tcp.flags.syn"] == "1" and v["tcp.flags.ack"] == "1":
                f["synack"] = True
        if v["dns.qry.name"]:
            f["apps"].add("dns")
        if v["http.request.method"]:
            f["apps"].add("http")
        if v["tls.handshake.type"]:
            f["apps"].add("ssl")
        if v["dns.flags.response"] == "1" and v["dns.qry.name"]:
            q = v["dns.qry.name"].split(",")[0]
            for a in (v["dns.a"] + "," + v["dns.aaaa"]).split(","):
                if a:
                    names[norm(a)] = q
    return list(flows.values()), names


# ---- identities ----------------------------------------------------------------

def since_us(s):
    if s is None:
        return 0
    if isinstance(s, (int, float)):
        return int(round(s * 1000000))
    s = str(s)
    if s.replace(".", "", 1).isdigit():
        a, _, b = s.partition(".")
        return int(a) * 1000000 + int((b + "000000")[:6])
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()) * 1000000


def load_docs(paths):
    hist = defaultdict(dict)
    for p in paths:
        with open(p) as fh:
            for ip, ident in json.load(fh).items():
                hist[norm(ip)][since_us(ident.get("since"))] = ident
    return {ip: sorted(h.items()) for ip, h in hist.items()}


def lookup(hist, ip, t):
    best = None
    for s, ident in hist.get(ip, []):
        if s <= t:
            best = ident
    return best


def eid_of(hist, ip, t):
    i = lookup(hist, ip, t)
    if i is None:
        return "ip/" + ip, None
    return "pod/%s/%s" % (i["namespace"], i["pod"]), i


def group_of(eid, ident):
    if ident is None:
        return eid
    return "svc/%s/%s" % (ident["namespace"], ident["service"])


# ---- expected -------------------------------------------------------------------

def share_before(total, t0, t1, x):
    if x <= t0:
        return 0
    if x >= t1:
        return total
    return total * (x - t0) // (t1 - t0)


def counts():
    return {"flows": 0, "pkts": 0, "bytes": 0, "first": None, "last": None,
            "app": set()}


def add_counts(c, f):
    c["flows"] += 1
    c["pkts"] += sum(f["pkts"])
    c["bytes"] += sum(f["bytes"])
    c["first"] = f["first"] if c["first"] is None else min(c["first"], f["first"])
    c["last"] = f["last"] if c["last"] is None else max(c["last"], f["last"])
    c["app"] |= f["apps"]


def expect(flows, hist, bucket_s):
    ents, svcs, edges, gedges = {}, {}, {}, {}
    cells = defaultdict(lambda: [0, 0])  # (bucket, level, id)
    for f in flows:
        oe, oi = eid_of(hist, f["orig"], f["first"])
        re_, ri = eid_of(hist, f["resp"], f["first"])
        for role, (e, ident, ip) in enumerate(((oe, oi, f["orig"]),
                                               (re_, ri, f["resp"]))):
            x = ents.setdefault(e, {
                "flows": 0, "flows_client": 0, "flows_server": 0,
                "pkts_out": 0, "pkts_in": 0, "bytes_out": 0, "bytes_in": 0,
                "first": f["first"], "last": f["last"], "ports": set(),
                "ips": set(), "ident": ident})
            x["flows"] += 1
            x["flows_client" if role == 0 else "flows_server"] += 1
            x["pkts_out"] += f["pkts"][role]
            x["pkts_in"] += f["pkts"][1 - role]
            x["bytes_out"] += f["bytes"][role]
            x["bytes_in"] += f["bytes"][1 - role]
            x["first"] = min(x["first"], f["first"])
            x["last"] = max(x["last"], f["last"])
            x["ips"].add(ip)
        served = (f["proto"] == "tcp" and f["synack"]) or \
                 (f["proto"] == "udp" and f["resp_any"])
        if not served:
            continue
        tp = "%d/%s" % (f["port"], f["proto"])
        ents[re_]["ports"].add(tp)
        sid = "%s:%s" % (re_, tp)
        og, rg = group_of(oe, oi), group_of(re_, ri)
        s = svcs.setdefault(sid, dict(counts(), entity=re_,
                                      group="%s:%s" % (rg, tp)))
        add_counts(s, f)
        eid = "%s>%s" % (oe, sid)
        gid = "%s>%s:%s" % (og, rg, tp)
        e = edges.setdefault(eid, dict(counts(), client=oe, server=re_,
                                       service=sid, client_group=og,
                                       server_group=rg, svcedge=gid))
        add_counts(e, f)
        g = gedges.setdefault(gid, dict(counts(), client=og, server=rg))
        add_counts(g, f)
        bus = bucket_s * 1000000
        total = sum(f["bytes"])
        b = f["first"] - f["first"] % bus
        while b <= f["last"] - f["last"] % bus:
            part = share_before(total, f["first"], f["last"], b + bus) - \
                share_before(total, f["first"], f["last"], b)
            for level, k in ((0, eid), (1, gid)):
                c = cells[(b // 1000000, level, k)]
                c[0] += 1
                c[1] += part
            b += bus
    return ents, svcs, edges, gedges, cells


# ---- compare ----------------------------------------------------------------------

class Report:
    def __init__(self):
        self.bad = 0

    def section(self, name, n, errors):
        if errors:
            self.bad += len(errors)
            print("FAIL %s: %d compared, %d disagree" % (name, n, len(errors)))
            for e in errors[:8]:
                print("     " + e)
        else:
            print("ok   %s: %d compared, all agree" % (name, n))


def cmp_fields(kind, key, got, want, errors):
    for f, w in want.items():
        g = got.get(f)
        if g != w:
            errors.append("%s %s: %s is %r, expected %r" % (kind, key, f, g, w))


def as_set(v):
    return set(v.split(",")) if v else set()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("port", type=int)
    ap.add_argument("--doc", action="append", default=[])
    ap.add_argument("--prefix", default="vigil")
    ap.add_argument("--bucket", type=int, default=60)
    ap.add_argument("--expect-json")
    a = ap.parse_args()
    P = a.prefix
    flows, names = flows_of(a.capture)
    hist = load_docs(a.doc)
    ents, svcs, edges, gedges, cells = expect(flows, hist, a.bucket)
    r = Redis(a.port)
    rep = Report()

    # entities
    errors = []
    got_ids = set(r.zall(P + ":entities"))
    if got_ids != set(ents):
        errors.append("P:entities: missing %s; unexpected %s" % (
            sorted(set(ents) - got_ids)[:5], sorted(got_ids - set(ents))[:5]))
    named = 0
    for eid, x in sorted(ents.items()):
        h = r.hash("%s:entity:%s" % (P, eid))
        want = {k: str(x[k]) for k in ("flows", "flows_client", "flows_server",
                                       "pkts_out", "pkts_in", "bytes_out",
                                       "bytes_in")}
        want.update(id=eid, first_seen=ts_text(x["first"]),
                    last_seen=ts_text(x["last"]))
        i = x["ident"]
        if i is not None:
            want.update(source="cicd", pod=i["pod"], namespace=i["namespace"],
                        image=i["image"], service=i["service"], name=i["pod"],
                        group=group_of(eid, i))
        else:
            want.update(source="discovered", group=eid)
        cmp_fields("entity", eid, h, want, errors)
        if as_set(h.get("ports")) != x["ports"]:
            errors.append("entity %s: ports %r, expected %r" % (
                eid, h.get("ports"), sorted(x["ports"])))
        if as_set(h.get("ips")) != x["ips"]:
            errors.append("entity %s: ips %r, expected %r" % (
                eid, h.get("ips"), sorted(x["ips"])))
        # A DNS name, when vigil has one, is what an answer said.
        if h.get("dns_name") is not None:
            named += 1
            if names.get(h.get("ip")) != h["dns_name"]:
                errors.append("entity %s: dns_name %r, the answers said %r" % (
                    eid, h["dns_name"], names.get(h.get("ip"))))
            if i is None and h.get("name") != h["dns_name"]:
                errors.append("entity %s: name %r is not its dns_name" % (
                    eid, h.get("name")))
    rep.section("entities (P:entity:*, P:entities)", len(ents), errors)
    print("note %d entities named from DNS answers" % named)

    def generic(kind, index, exp, fields):
        errors = []
        got = set(r.zall("%s:%s" % (P, index)))
        if got != set(exp):
            errors.append("P:%s: missing %s; unexpected %s" % (
                index, sorted(set(exp) - got)[:3], sorted(got - set(exp))[:3]))
        for k, x in sorted(exp.items()):
            h = r.hash("%s:%s:%s" % (P, kind, k))
            want = {"id": k, "flows": str(x["flows"]), "pkts": str(x["pkts"]),
                    "bytes": str(x["bytes"]), "first_seen": ts_text(x["first"]),
                    "last_seen": ts_text(x["last"])}
            for f in fields:
                want[f] = x[f]
            cmp_fields(kind, k, h, want, errors)
            if as_set(h.get("app")) != x["app"]:
                errors.append("%s %s: app %r, expected %r" % (
                    kind, k, h.get("app"), sorted(x["app"])))
        rep.section("%ss (P:%s:*, P:%s)" % (kind, kind, index), len(exp), errors)

    generic("service", "services", svcs, ["entity", "group"])
    generic("edge", "edges", edges, ["client", "server", "service",
                                     "client_group", "server_group", "svcedge"])
    generic("svcedge", "svcedges", gedges, ["client", "server"])

    # the map
    errors = []
    buckets = sorted({b for b, _, _ in cells})
    got_b = sorted(int(x) for x in r.zall(P + ":map:buckets"))
    if got_b != buckets:
        errors.append("P:map:buckets %r, expected %r" % (got_b, buckets))
    for b in buckets:
        for level, suffix in ((0, ""), (1, ":svc")):
            h = r.hash("%s:map:%d%s" % (P, b, suffix))
            got = {k: v for k, v in h.items() if ">" in k}
            want = {k: "%d %d" % tuple(v) for (bb, lv, k), v in cells.items()
                    if bb == b and lv == level}
            if got != want:
                diff = [k for k in set(got) | set(want) if got.get(k) != want.get(k)]
                errors.append("P:map:%d%s: %d fields differ, e.g. %s: %r vs %r" % (
                    b, suffix, len(diff), diff[0], got.get(diff[0]),
                    want.get(diff[0])))
            if h.get("bucket_s") != str(a.bucket):
                errors.append("P:map:%d%s: bucket_s %r" % (b, suffix, h.get("bucket_s")))
    rep.section("map cells (P:map:<bucket>, :svc)", len(cells), errors)
    print("note buckets %s" % " ".join(
        "%d:%d/%d" % (b, sum(1 for k in cells if k[0] == b and k[1] == 0),
                      sum(1 for k in cells if k[0] == b and k[1] == 1))
        for b in buckets))

    # the flow records' entity ids
    errors, n, start = [], 0, "-"
    while True:
        chunk = r.cmd("XRANGE", P + ":flows", start, "+", "COUNT", 1000)
        for sid, kv in chunk:
            rec = dict(zip(kv[0::2], kv[1::2]))
            t = us(rec["ts"])
            want = {"orig_entity": eid_of(hist, norm(rec["orig_h"]), t)[0],
                    "resp_entity": eid_of(hist, norm(rec["resp_h"]), t)[0]}
            cmp_fields("flow", rec.get("uid"), rec, want, errors)
            n += 1
        if len(chunk) < 1000:
            break
        ms, seq = chunk[-1][0].split("-")
        start = "%s-%d" % (ms, int(seq) + 1)
    if n != len(flows):
        errors.append("%d flow records, tshark has %d flows" % (n, len(flows)))
    rep.section("flow records' orig_entity/resp_entity", n, errors)

    if a.expect_json:
        with open(a.expect_json, "w") as fh:
            json.dump({k: {kk: (sorted(vv) if isinstance(vv, set) else vv)
                           for kk, vv in v.items() if kk != "ident"}
                       for k, v in ents.items()}, fh)
    return 1 if rep.bad else 0


if __name__ == "__main__":
    sys.exit(main())
