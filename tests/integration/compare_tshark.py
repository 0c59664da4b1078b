#!/usr/bin/env python3
"""Compare vigil's flow records with tshark's view of the same capture.

tshark decides what a conversation is (its tcp.stream / udp.stream index;
ICMP and other protocols by address pair) and which frames belong to it;
this script only adds up tshark's per-frame lengths per conversation and
direction, and compares them with vigil's records: the set of flows, and
for each flow the packets and frame bytes from the originator and from the
responder, and the outer VLAN id. It also checks tshark's own conversation table (-z conv) for the
frame counts.

usage: compare_tshark.py CAPTURE RECORDS.jsonl [--report] [--inner]
                         [--tshark-arg ARG]...
RECORDS.jsonl is `vigilctl flows --json --limit 0` output.
--inner: the capture is tunnelled (VXLAN, Geneve, GRE, ERSPAN, IP-in-IP):
  take each frame's innermost IP packet (the last IP header before any ICMP
  one, so an ICMP error's quoted header does not count), its transport
  header and the VLAN id of the Ethernet header nearest to it, as vigil's
  decoder does, and leave the outer conversations out of the -z conv check.
--tshark-arg ARG: passed to every tshark run, e.g. --tshark-arg -d
  --tshark-arg udp.port==8472,vxlan to decode VXLAN on another port.
Exit 0 when every flow agrees (or with --report, always), 1 otherwise.
"""
import ipaddress
import json
import re
import subprocess
import sys
from collections import defaultdict

FIELDS = ["frame.len", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
          "ip.proto", "ipv6.nxt", "tcp.stream", "udp.stream",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
          "icmp.type", "icmpv6.type", "vlan.id"]


def norm(addr):
    return str(ipaddress.ip_address(addr))


def first(v):
    return v.split(",")[0] if v else ""


TSHARK_ARGS = []


def pick_inner(values, protocols):
    """Field values of the innermost tunnelled packet of one frame.

    values: field -> all its occurrences, comma separated (tshark -E
    occurrence=a); protocols: frame.protocols. Returns field -> one value
    (as occurrence=f gives for a plain frame), and the (address, port)
    endpoints of the outer UDP headers."""
    layers = protocols.split(":")
    # Stop at the first ICMP layer: what follows is a quoted packet.
    for i, p in enumerate(layers):
        if p in ("icmp", "icmpv6"):
            layers = layers[:i + 1]
            break
    out = {f: "" for f in FIELDS}
    out["frame.len"] = values["frame.len"]

    def occ(field, idx):
        vals = values.get(field, "").split(",") if values.get(field) else []
        return vals[idx] if 0 <= idx < len(vals) else ""

    def index(proto, upto):
        """Occurrence number of the `proto` layer at position upto."""
        return layers[:upto].count(proto)

    # The endpoints of the UDP headers that carry a tunnel (VXLAN,
    # Geneve), whose conversations tshark lists too.
    outer, last = set(), None
    for pos, p in enumerate(layers):
        if p in ("ip", "ipv6"):
            last = (occ(p + ".src", index(p, pos)),
                    occ(p + ".dst", index(p, pos)))
        elif (p == "udp" and last and all(last) and pos + 1 < len(layers)
              and layers[pos + 1] in ("vxlan", "geneve")):
            k = index("udp", pos)
            outer.add((norm(last[0]), occ("udp.srcport", k)))
            outer.add((norm(last[1]), occ("udp.dstport", k)))
    ips = [i for i, p in enumerate(layers) if p in ("ip", "ipv6")]
    if not ips:
        return out, outer
    at = ips[-1]
    if any(p in ("eth", "ppp", "arp", "vxlan", "geneve", "erspan", "gre")
           for p in layers[at + 1:]):
        return out, outer  # a tunnel around something else than IP

    fam = layers[at]
    idx = index(fam, at)
    out[fam + ".src"] = occ(fam + ".src", idx)
    out[fam + ".dst"] = occ(fam + ".dst", idx)
    nxt = "ip.proto" if fam == "ip" else "ipv6.nxt"
    out[nxt] = occ(nxt, idx)
    # The transport layer after the innermost IP header.
    for pos in range(at + 1, len(layers)):
        p = layers[pos]
        if p in ("tcp", "udp"):
            k = index(p, pos)
            for f in ("stream", "srcport", "dstport"):
                out[p + "." + f] = occ(p + "." + f, k)
            break
        if p in ("icmp", "icmpv6"):
            out[p + ".type"] = occ(p + ".type", index(p, pos))
            break
    # The first tag of the last Ethernet header before it (an IP-in-IP or
    # GRE tunnel keeps the outer frame's tag, as vigil does).
    vlan, pending, n = None, False, 0
    for p in layers[:at]:
        if p == "eth":
            vlan, pending = None, True
        elif p == "vlan":
            if pending:
                vlan, pending = n, False
            n += 1
    if vlan is not None:
        out["vlan.id"] = occ("vlan.id", vlan)
    return out, outer


def tshark_flows(capture, inner=False, outer_addrs=None):
    cmd = ["tshark", "-n", "-r", capture] + TSHARK_ARGS + [
        "-T", "fields", "-E", "separator=\t",
        "-E", "occurrence=" + ("a" if inner else "f")]
    fields = FIELDS + (["frame.protocols"] if inner else [])
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True,
                         text=True).stdout
    flows = {}
    for line in out.splitlines():
        if inner:
            raw = dict(zip(fields, line.split("\t")))
            v, outer = pick_inner(raw, raw.get("frame.protocols", ""))
            if outer_addrs is not None:
                outer_addrs.update(outer)
        else:
            v = dict(zip(FIELDS, [first(x) for x in line.split("\t")]))
        src = v["ip.src"] or v["ipv6.src"]
        dst = v["ip.dst"] or v["ipv6.dst"]
        if not src:
            continue  # not IP: vigil counts it in drop_non_ip
        src, dst = norm(src), norm(dst)
        if v["icmp.type"] or v["icmpv6.type"]:
            proto, sp, dp = "icmp", None, None
        elif v["tcp.stream"]:
            proto, sp, dp = "tcp", int(v["tcp.srcport"]), int(v["tcp.dstport"])
        elif v["udp.stream"]:
            proto, sp, dp = "udp", int(v["udp.srcport"]), int(v["udp.dstport"])
        else:
            proto, sp, dp = v["ip.proto"] or v["ipv6.nxt"], None, None
        key = (proto, frozenset([(src, sp), (dst, dp)]))
        fl = flows.setdefault(key, {"first": (src, sp),
                                    "vlan": int(v["vlan.id"] or 0),
                                    "pkts": defaultdict(int),
                                    "bytes": defaultdict(int)})
        fl["pkts"][(src, sp)] += 1
        fl["bytes"][(src, sp)] += int(v["frame.len"])
    return flows


def vigil_flows(path):
    flows = {}
    dups = 0
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            proto = r["proto"]
            o, p = norm(r["orig_h"]), norm(r["resp_h"])
            if proto in ("tcp", "udp"):
                oe, re_ = (o, int(r["orig_p"])), (p, int(r["resp_p"]))
            else:
                oe, re_ = (o, None), (p, None)
            key = (proto, frozenset([oe, re_]))
            if key in flows:
                dups += 1
                prev = flows[key]
                prev["recs"] += 1
                for side, pk, by in ((oe, "orig_pkts", "orig_l2_bytes"),
                                     (re_, "resp_pkts", "resp_l2_bytes")):
                    prev["pkts"][side] += int(r[pk])
                    prev["bytes"][side] += int(r[by])
                continue
            flows[key] = {"orig": oe, "recs": 1,
                          "vlan": int(r.get("vlan", 0)),
                          "pkts": defaultdict(int, {oe: int(r["orig_pkts"]),
                                                    re_: int(r["resp_pkts"])}),
                          "bytes": defaultdict(int,
                                               {oe: int(r["orig_l2_bytes"]),
                                                re_: int(r["resp_l2_bytes"])})}
    return flows, dups


CONV = re.compile(r"^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+\S+\s+\S+\s+(\d+)\s+")


def conv_endpoint(endpoint):
    """(address, port) of a "ADDR:PORT" conversation endpoint."""
    addr, _, port = endpoint.rpartition(":")
    addr = addr.strip("[]")
    try:
        return norm(addr), port
    except ValueError:
        return addr, port


def conv_frames(capture, skip=frozenset()):
    """Total frames per conversation from tshark's -z conv tables, leaving
    out the conversations of the (address, port) endpoints in `skip` (the
    outer UDP headers of tunnels)."""
    out = subprocess.run(["tshark", "-n", "-q", "-r", capture] +
                         TSHARK_ARGS + ["-z", "conv,tcp", "-z", "conv,udp"],
                         check=True, capture_output=True, text=True).stdout
    totals = []
    for line in out.splitlines():
        m = CONV.match(line)
        if m:
            if skip and (conv_endpoint(m.group(1)) in skip or
                         conv_endpoint(m.group(2)) in skip):
                continue
            totals.append(int(m.group(3)) + int(m.group(4)))
    return sorted(totals)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    capture, records = sys.argv[1], sys.argv[2]
    report = inner = False
    rest = sys.argv[3:]
    while rest:
        a = rest.pop(0)
        if a == "--report":
            report = True
        elif a == "--inner":
            inner = True
        elif a == "--tshark-arg" and rest:
            TSHARK_ARGS.append(rest.pop(0))
        else:
            print(__doc__)
            return 2
    outer = set()
    ts = tshark_flows(capture, inner, outer)
    vg, dups = vigil_flows(records)
    bad = []
    missing = [k for k in ts if k not in vg]
    extra = [k for k in vg if k not in ts]
    same = 0
    for k in ts.keys() & vg.keys():
        t, v = ts[k], vg[k]
        ends = list(k[1]) if len(k[1]) == 2 else list(k[1]) * 2
        diff = [e for e in ends
                if t["pkts"][e] != v["pkts"][e] or
                t["bytes"][e] != v["bytes"][e]]
        if diff or t["vlan"] != v["vlan"]:
            bad.append((k, {str(e): (t["pkts"][e], t["bytes"][e],
                                     v["pkts"][e], v["bytes"][e])
                            for e in ends} | {"vlan": (t["vlan"], v["vlan"])}))
        else:
            same += 1
    # tshark's own conversation table agrees on frames per TCP/UDP flow.
    conv = conv_frames(capture, frozenset(outer))
    mine = sorted(sum(v["pkts"].values()) for k, v in vg.items()
                  if k[0] in ("tcp", "udp"))
    conv_ok = conv == mine
    print(f"tshark flows {len(ts)}, vigil flows {len(vg)} "
          f"(records {len(vg) + dups}), identical {same}, "
          f"differing {len(bad)}, only in tshark {len(missing)}, "
          f"only in vigil {len(extra)}, "
          f"conv table frames {'agree' if conv_ok else 'DISAGREE'}")
    for k, d in bad[:10]:
        print("  differs:", k[0], sorted(map(str, k[1])),
              "(tshark pkts, bytes, vigil pkts, bytes):", d)
    for k in missing[:10]:
        print("  only in tshark:", k[0], sorted(map(str, k[1])))
    for k in extra[:10]:
        print("  only in vigil:", k[0], sorted(map(str, k[1])))
    if report:
        return 0
    return 0 if not bad and not missing and not extra and conv_ok else 1


if __name__ == "__main__":
    sys.exit(main())
