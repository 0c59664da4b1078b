#!/usr/bin/env python3
"""Agreement of vigil's flow records with peers, on the real captures in
../shared/data (nDPI 4.2, tshark, Arkime, suricata-verify).

usage: agreement.py [--data DIR] [--vigil PATH] [--vigilctl PATH]
                    [--source ndpi|tshark|arkime|suricata ...] [--limit N]
                    [--jobs 2] [--details FILE] [--cache DIR] [--examples N]

  --data DIR      the shared data folder (default: ../shared/data next to the
                  repository); exit 0 with a message when it is absent.
  --vigil, --vigilctl  the binaries (default: build/app/...). They are copied
                  to the work folder first, so a rebuild during the run does
                  not mix two versions.
  --source S      compare with these peers only (repeatable; default all).
                  nDPI, Arkime and suricata use the captures of their own
                  folder; tshark uses every capture of every folder.
  --limit N       at most N captures per folder (a quick look).
  --jobs N        vigil replays run side by side (default 2).
  --details FILE  every disagreement as one JSON object per line.
  --cache DIR     keep the per-capture results in DIR and reuse them:
                  vigil's records while the vigil binary is the same, tshark's
                  flows and capinfos while this script's CACHE_VERSION is;
                  default: a temporary folder removed at exit.
  --examples N    examples printed per mismatch class (default 2).

What it does: starts one private redis-server on a free loopback port,
replays each capture once (`vigil -r CAPTURE -c SLOT.conf --redis ...
-- --no-huge --no-shconf`, 120 s timeout; each parallel slot has its own
key prefix and lcore, and its stream is DELeted before each replay), reads
the records with `vigilctl flows --json --limit 0`, runs tshark and capinfos
on the capture, then compares per source. Captures over 50 MB are skipped.

A flow, for every source, is (protocol, the two endpoints unordered):
endpoints are (address, port) for TCP and UDP (and SCTP except for nDPI,
which prints no SCTP ports), the address alone for ICMP and other protocols.
Records of one side with the same flow key are added up (vigil keeps ICMP
types, VLANs and idle-split pieces as separate records; the peers split
differently); the record counts are kept to explain differences.

tshark's flows are built here from per-frame fields (the logic of
tests/integration/compare_tshark.py): the flow is the innermost IP layer
before any ICMP header (so tunnels count in their inner flow, ICMP errors in
the ICMP flow), its identity tcp.stream/udp.stream (ICMP and other
protocols: address pair), frame.len summed per direction. An IP fragment
without a transport header counts in the flow of its datagram (same
addresses and IP ID / IPv6 fragment identification).

Per-source table columns:
  captures     captures of the source that were replayed (or tried)
  refused      captures vigil refused (link type, unreadable), with reasons
               below the table
  failed       captures where vigil crashed, timed out (120 s) or exited
               non-zero otherwise: a bug, listed with stderr at the end
  peer         flows the peer reports (over all its captures)
  vigil        flows vigil reports (same captures)
  both         flows both report
  agree        of `both`: same packets and bytes in each direction, and the
               same number of records (except ICMP, which vigil keys by type:
               there the sums are compared). Bytes are frame bytes
               (orig_l2_bytes/resp_l2_bytes) for every source: nDPI counts
               the captured frame, tshark frame.len, Arkime source/
               destination.bytes (frame bytes; Arkime's client/server.bytes
               are payload and are compared with orig_bytes/resp_bytes on a
               line of their own), Suricata the packet length.
  aside        of `both`: flows a peer keys or counts by a rule of its own
               that cannot be replayed here (peer rules, below); left out of
               agree% and sum%
  agree%       agree / (both - aside); a flow whose counts equal the peer's
               once the peer's rule is replayed on tshark's view of the
               frames (nDPI: fragments with an offset not counted) agrees
  sum%         of `both - aside`: same packets and bytes each way once all
               the records of the flow on each side are added up (a flow cut
               into a different number of records still counts), directly
               or under a replayed peer rule
  raw-agree%, raw-sum%  the same over all of `both`, no peer rule applied
  cid%         Arkime only: sessions whose community_id is one of vigil's
               community_ids for that flow, over flows both report that have
               one. The others are checked against a Community ID computed
               here with the reference implementation's rules (pycommunityid)
               to say which side is off.
  only-peer    flows only the peer reports
  only-vigil   flows only vigil reports
  agree/peer%  agree / peer: the share of the peer's flows vigil reproduces

Peer rules (see peer_rule() and the README): nDPI does not count
fragments with an offset (replayed exactly); Arkime reassembles fragments
(checked on packets), keys DHCP/DHCPv6/IGMP/OSPF/PIM by its own rules, and
turns a mid-stream session around with its counts: each such flow is in a
`peer rule (...)` class.

Then every disagreeing flow (counts differ, or only one side reports it) is
put in the first class that applies:
  vigil failed / non-Ethernet link type (vigil refused) / vigil refused
  (capture level)
  when both report it with the same sums and only the number of records
  differs: VLAN in key (vigil's records have different VLANs);
    vigil split: new connection on a reused 5-tuple (a record ended
    `reused`), or packets repeated with earlier timestamps;
    vigil split: TCP attempt/closed expiry (more vigil records, TCP, no gap
    in tshark's view longer than the TCP idle timeout: the short timeouts
    after an unanswered SYN or a close); vigil split: idle timeout;
    <peer> split the flow; port reuse
  otherwise: truncated packets (capinfos: cut short; or between these
    addresses tshark sees frames captured shorter than on the wire or an IP
    length beyond the frame); 3+ VLAN tags; fragments (ip.flags.mf,
    ip.frag_offset > 0 or an IPv6 fragment header between these addresses);
    tunnel/encapsulation (more than one IP layer, a tunnel protocol or a
    second Ethernet header between these addresses, or the key itself is a
    tunnel: IP proto 4/41/47/115, UDP 4789/6081/2152/3544/...), or, for a
    flow only the peer has, a tunnel carrying non-IP frames (ARP in VXLAN:
    the peer keeps the outer flow, vigil decapsulates and drops); the split
    classes above; direction: counts on the other endpoint (same numbers,
    swapped); Arkime keys DHCP/IGMP/OSPF/PIM differently; frames over 1518
    bytes (TSO); non-Ethernet link type (X, decoded): a link type vigil
    decodes, nothing else explains it; ICMP; other.
The counts per class are printed with examples (capture and flow).

suricata-verify is reported apart: the EVE checks that map to flows
(event_type flow with a positive count: the number of vigil records that
match the given src/dest ip/port/proto, and pkts_toserver/toclient and
bytes_* when given and exactly one record matches) and, for the
encapsulation tests (vxlan, geneve, gre, erspan, teredo, pppoe, mpls, vlan,
vntag, nsh, ipip, sll, decode, tunnel), whether vigil reports each
endpoint pair that any check names (alerts, dns, http, flow...), as a flow
or, for a tunnel Suricata logs as a flow of its own, as the outer addresses
(outer_orig_h/outer_resp_h) of vigil's inner records. Checks written for
older Suricata versions (requires: lt-version) and count: 0 checks are
skipped. Suricata's flow bytes are the decoded packet's length: the frame
for plain Ethernet captures, the inner packet in tunnels.
"""
import argparse
import base64
import concurrent.futures
import hashlib
import ipaddress
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAX_SIZE = 50 * 1024 * 1024
VIGIL_TIMEOUT = 120
SOURCES = ("ndpi", "tshark", "arkime", "suricata")
CACHE_VERSION = "10"

# --------------------------------------------------------------------------
# small helpers


def norm(addr):
    try:
        return str(ipaddress.ip_address(addr))
    except ValueError:
        return addr


def ep_sort(e):
    return (e[0], -1 if e[1] is None else e[1])


def make_key(proto, a, pa, b, pb, ported):
    if proto not in ported:
        pa = pb = None
    e1, e2 = (a, pa), (b, pb)
    return (proto, tuple(sorted([e1, e2], key=ep_sort)))


def key_str(k):
    def e(x):
        a = f"[{x[0]}]" if ":" in x[0] else x[0]
        return a if x[1] is None else f"{a}:{x[1]}"
    return f"{k[0]} {e(k[1][0])} <-> {e(k[1][1])}"


def pair_of(k):
    return tuple(sorted((k[1][0][0], k[1][1][0])))


PROTO_NUM = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmpv6": "icmp",
             "sctp": "132", "igmp": "2", "gre": "47", "esp": "50", "ah": "51",
             "ospf": "89", "pim": "103", "vrrp": "112", "carp": "112",
             "ip": "4", "ipv6": "41", "l2tp": "115", "rsvp": "46",
             "eigrp": "88", "etherip": "97", "ipcomp": "108", "pgm": "113",
             "igrp": "9", "egp": "8", "mobileip": "55", "dccp": "33",
             "udplite": "136"}


def proto_from_num(n):
    n = str(n)
    return {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmp"}.get(n, n)


TUNNEL_TOKENS = {"gre", "vxlan", "geneve", "gtp", "gtpv2", "teredo", "mpls",
                 "pppoes", "pppoed", "erspan", "l2tp", "capwap",
                 "capwap.data", "nsh", "vntag", "etag", "tzsp", "lisp",
                 "ayiya", "ipip", "etherip", "pw_eth", "pwethheuristic",
                 "mplspwcw", "gretap", "nvgre", "udpencap", "ppp"}
TUNNEL_UDP_PORTS = {4789, 8472, 6081, 2152, 3544, 4790, 1701, 5246, 5247,
                    37008, 4341, 5072}
TUNNEL_PROTOS = {"4", "41", "47", "115", "97", "137"}
V6_EXT = {"0", "43", "44", "51", "60", "135", "139", "140"}


class Redis:
    """A private redis-server on a free loopback port."""

    def __init__(self, workdir):
        self.proc = None
        for _ in range(50):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            log = open(os.path.join(workdir, "redis.log"), "w")
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--daemonize", "no",
                 "--loglevel", "warning"], stdout=log, stderr=log)
            for _ in range(100):
                if self.cmd("PING", port=port) == "PONG":
                    self.port = port
                    return
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
            self.stop()
        raise RuntimeError("redis-server did not start")

    def cmd(self, *args, port=None):
        port = port or self.port
        try:
            with socket.create_connection(("127.0.0.1", port), 2) as s:
                msg = f"*{len(args)}\r\n" + "".join(
                    f"${len(str(a).encode())}\r\n{a}\r\n" for a in args)
                s.sendall(msg.encode())
                return s.recv(4096).decode(errors="replace").strip()[1:]
        except OSError:
            return None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


# --------------------------------------------------------------------------
# finding the captures


def discover(data, sources, limit):
    """Returns {folder: [capture entries]}; each entry is a dict with path,
    name and what the peer expects."""
    out = {"ndpi": [], "arkime": [], "suricata": [], "other": [],
           "notes": []}
    lim = (lambda xs: xs[:limit]) if limit else (lambda xs: xs)
    nd = data / "ndpi-4.2" / "tests"
    if (nd / "pcap").is_dir():
        for f in lim(sorted(p for p in (nd / "pcap").iterdir()
                            if p.is_file())):
            res = nd / "result" / (f.name + ".out")
            out["ndpi"].append({"path": f, "name": f"ndpi-4.2/{f.name}",
                                "out": res if res.exists() else None})
    ak = data / "arkime" / "tests" / "pcap"
    if ak.is_dir():
        for f in lim(sorted(p for p in ak.iterdir()
                            if p.suffix in (".pcap", ".pcapng"))):
            t = f.with_suffix(".test")
            out["arkime"].append({"path": f, "name": f"arkime/{f.name}",
                                  "test": t if t.exists() else None})
    sv = data / "suricata-verify"
    man = sv / "MANIFEST.tsv"
    if man.exists():
        rows = []
        for line in man.read_text(errors="replace").splitlines()[1:]:
            cols = line.split("\t")
            if len(cols) < 2 or not cols[1]:
                continue
            pcaps = [p for p in re.split(r"[,; ]+", cols[1]) if p]
            rows.append((cols[0], pcaps))
        byfile = defaultdict(list)
        for tdir, pcaps in rows:
            if len(pcaps) != 1:
                out["notes"].append(f"suricata-verify {tdir}: "
                                    f"{len(pcaps)} captures, not used")
                continue
            byfile[pcaps[0]].append(tdir)
        for p in lim(sorted(byfile)):
            out["suricata"].append({"path": sv / p, "root": sv,
                                    "name": f"suricata-verify/{p}",
                                    "tests": byfile[p]})
    for d in sorted(data.iterdir()) if data.is_dir() else []:
        if d.name in ("ndpi-4.2", "arkime", "suricata-verify") or \
                not d.is_dir():
            continue
        files = sorted(p for p in d.rglob("*") if p.is_file() and
                       p.suffix.lower() not in (".md", ".txt", ".tsv", ".csv",
                                                ".json", ".yaml", ".out",
                                                ".test", ".rules") and
                       p.name not in ("LICENSE", "COPYING"))
        for f in lim(files):
            out["other"].append({"path": f,
                                 "name": str(f.relative_to(data))})
    return out


# --------------------------------------------------------------------------
# per capture: capinfos, vigil, tshark (cached)

TS_FIELDS = ["frame.time_epoch", "frame.len", "frame.cap_len",
             "frame.protocols", "ip.src", "ip.dst", "ip.proto", "ip.len",
             "ipv6.plen", "ip.flags.mf",
             "ip.frag_offset", "ipv6.src", "ipv6.dst", "ipv6.nxt",
             "ipv6.fraghdr.nxt", "ip.id", "ipv6.fraghdr.ident", "tcp.srcport", "tcp.dstport", "tcp.stream",
             "udp.srcport", "udp.dstport", "udp.stream", "sctp.srcport",
             "sctp.dstport", "vlan.id", "ipv6.fraghdr.offset"]


def run_capinfos(path):
    p = subprocess.run(["capinfos", "-t", "-E", "-c", path],
                       capture_output=True, text=True, errors="replace")
    info = {"encap": "", "packets": None, "cut_short": False, "error": ""}
    for line in p.stdout.splitlines():
        if line.startswith("File encapsulation:"):
            info["encap"] = line.split(":", 1)[1].strip()
        elif line.startswith("Number of packets:"):
            try:
                info["packets"] = int(line.split(":", 1)[1].split()[0])
            except ValueError:
                pass
    if "cut short" in p.stderr:
        info["cut_short"] = True
    if p.returncode != 0:
        info["error"] = p.stderr.strip().splitlines()[-1:] or ["?"]
        info["error"] = info["error"][0][:200]
    return info


def tshark_frames(path):
    """tshark's view: per flow (innermost IP layer before any ICMP, like
    tshark's own conversations of the inner protocol), packets and frame
    bytes per endpoint and the tcp/udp stream ids; per address pair, flags
    (frag, tunnel, trunc); per capture, link types and counts."""
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in TS_FIELDS:
        cmd += ["-e", f]
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    flows = {}
    pairflags = defaultdict(set)
    links = Counter()
    nonip = 0
    frames = 0
    fragmap = {}     # fragment id -> flow of the datagram
    deferred = []    # fragments without a transport header

    def add(ks, e, flen, stream, vlan, t, flags, ordered=True, frag=None):
        fl = flows.get(ks)
        if fl is None:
            fl = flows[ks] = {"pk": Counter(), "by": Counter(),
                              "streams": set(), "vlans": set(),
                              "first": t, "last": t, "gap": 0.0,
                              "flags": set(), "fpk": Counter(),
                              "fby": Counter(), "frg": Counter(),
                              "dgr": {}}
        fl["pk"][e] += 1
        fl["by"][e] += flen
        if frag:
            # frag = (datagram id, offset > 0): every fragment frame and
            # the datagrams they make (Arkime counts a datagram once), the
            # fragments with an offset apart (ndpiReader skips them)
            fid, later = frag
            fl["frg"][e] += 1
            fl["dgr"].setdefault(e, set()).add(fid)
            if later:
                fl["fpk"][e] += 1
                fl["fby"][e] += flen
        if stream:
            fl["streams"].add(stream)
        fl["vlans"].add(vlan)
        if not ordered:
            pass    # a fragment added after its datagram
        elif t >= fl["last"]:
            fl["gap"] = max(fl["gap"], t - fl["last"])
            fl["last"] = t
        else:
            fl["flags"].add("backwards")    # capture time goes back
        fl["flags"] |= flags

    for line in p.stdout.splitlines():
        cols = line.split("\t")
        if len(cols) < len(TS_FIELDS):
            cols += [""] * (len(TS_FIELDS) - len(cols))
        v = {f: (c.split(",") if c else []) for f, c in zip(TS_FIELDS, cols)}
        frames += 1
        toks = cols[3].split(":") if cols[3] else []
        links[toks[0] if toks else "?"] += 1
        try:
            flen = int(v["frame.len"][0])
            clen = int(v["frame.cap_len"][0])
            t = float(v["frame.time_epoch"][0])
        except (IndexError, ValueError):
            continue
        flags = set()
        if clen < flen:
            flags.add("trunc")
        if flen > 1518:
            flags.add("jumbo")
        nvlan = sum(1 for tk in toks if tk == "vlan")
        if nvlan > 2:
            flags.add("vlan3")
        # IP length beyond the captured frame (first IP layer, Ethernet)
        if toks[:1] == ["eth"]:
            fst = next((tk for tk in toks if tk in ("ip", "ipv6")), None)
            try:
                if fst == "ip":
                    need = int(v["ip.len"][0])
                elif fst == "ipv6":
                    need = int(v["ipv6.plen"][0]) + 40
                else:
                    need = 0
                if need and need + 14 + 4 * nvlan > clen:
                    flags.add("short")
            except (IndexError, ValueError):
                pass
        if "1" in v["ip.flags.mf"] or any(x not in ("0", "") for x in
                                           v["ip.frag_offset"]) or \
                "ipv6.fraghdr" in toks:
            flags.add("frag")
        cut = len(toks)
        for i, tk in enumerate(toks):
            if tk in ("icmp", "icmpv6"):
                cut = i
                break
        nip = sum(1 for tk in toks[:cut] if tk in ("ip", "ipv6"))
        if nip > 1 or toks.count("eth") > 1 or \
                any(tk in TUNNEL_TOKENS for tk in toks[:cut]):
            flags.add("tunnel")
        # index each ip/ipv6 layer within its family
        cnt = Counter()
        layers = []
        for i, tk in enumerate(toks):
            if tk in ("ip", "ipv6", "tcp", "udp", "sctp"):
                layers.append((i, tk, cnt[tk]))
                cnt[tk] += 1
        iplayers = [(i, tk, n) for i, tk, n in layers if tk in ("ip", "ipv6")]
        for i, tk, n in iplayers:
            fam = "ip" if tk == "ip" else "ipv6"
            try:
                a = norm(v[fam + ".src"][n])
                b = norm(v[fam + ".dst"][n])
            except IndexError:
                continue
            pairflags[tuple(sorted((a, b)))] |= flags
        # An ICMP error quoting a packet: mark the quoted address pair.
        quoted = [x for x in iplayers if x[0] > cut]
        if quoted:
            fq = "ip" if quoted[0][1] == "ip" else "ipv6"
            try:
                qa = norm(v[fq + ".src"][quoted[0][2]])
                qb = norm(v[fq + ".dst"][quoted[0][2]])
                pairflags[tuple(sorted((qa, qb)))].add("icmp_err")
            except IndexError:
                pass
        flow_ip = [x for x in iplayers if x[0] < cut]
        if not flow_ip:
            nonip += 1
            continue
        pos, fam, n = flow_ip[-1]
        try:
            src = norm(v[fam + ".src"][n])
            dst = norm(v[fam + ".dst"][n])
        except IndexError:
            nonip += 1
            continue
        if "eth" in toks[pos + 1:cut]:
            # a tunnel carrying a non-IP frame (ARP in VXLAN...): the flow
            # here is the outer one
            flags = flags | {"tunnel_nonip"}
            pairflags[tuple(sorted((src, dst)))].add("tunnel_nonip")
        j = pos + 1
        while j < len(toks) and toks[j].startswith("ipv6."):
            j += 1
        tr = toks[j] if j < len(toks) else ""
        sp = dp = None
        stream = None
        if tr in ("tcp", "udp", "sctp"):
            idx = sum(1 for i, tk, _ in layers if tk == tr and i < j)
            try:
                sp = int(v[tr + ".srcport"][idx])
                dp = int(v[tr + ".dstport"][idx])
            except (IndexError, ValueError):
                tr = "?"
            if tr in ("tcp", "udp"):
                try:
                    stream = tr + v[tr + ".stream"][idx]
                except IndexError:
                    pass
        if tr in PROTO_NUM and tr != "?":
            proto = PROTO_NUM[tr]
        elif fam == "ip":
            try:
                proto = proto_from_num(v["ip.proto"][n])
            except IndexError:
                proto = "?"
        else:
            try:
                proto = v["ipv6.nxt"][n]
            except IndexError:
                proto = "?"
            if proto in V6_EXT:
                proto = (v["ipv6.fraghdr.nxt"] or ["?"])[0]
            proto = proto_from_num(proto)
        if proto in ("tcp", "udp", "132") and sp is None:
            proto = {"tcp": "6", "udp": "17"}.get(proto, proto)
        k = make_key(proto, src, sp, dst, dp, ("tcp", "udp", "132"))
        ks = json.dumps(k)
        e = json.dumps([src, sp])
        try:
            vlan = int(v["vlan.id"][0]) if v["vlan.id"] else 0
        except ValueError:
            vlan = 0
        # A fragment counts in the flow of the datagram it belongs to
        # (same source, destination and IP ID / IPv6 fragment ident).
        fragid = None
        later = False
        try:
            if fam == "ip" and (v["ip.flags.mf"][n] == "1" or
                                v["ip.frag_offset"][n] not in ("0", "")):
                fragid = json.dumps(["4", src, dst, v["ip.id"][n]])
                later = v["ip.frag_offset"][n] not in ("0", "")
            elif fam == "ipv6" and "ipv6.fraghdr" in toks[pos:j + 1]:
                fragid = json.dumps(["6", src, dst,
                                     (v["ipv6.fraghdr.ident"] or [""])[0]])
                later = (v["ipv6.fraghdr.offset"] or ["0"])[0] not in \
                    ("0", "")
        except IndexError:
            pass
        if fragid:
            if tr in ("tcp", "udp", "sctp", "icmp", "icmpv6"):
                fragmap[fragid] = (ks, e)
            else:
                deferred.append((fragid, later, ks, e, flen, vlan, t,
                                 flags))
                continue
        add(ks, e, flen, stream, vlan, t, flags,
            frag=(fragid, later) if fragid else None)
    for fragid, later, ks, e, flen, vlan, t, flags in deferred:
        if fragid in fragmap:
            ks, e = fragmap[fragid]
        add(ks, e, flen, None, vlan, t, flags, ordered=False,
            frag=(fragid, later))
    for fl in flows.values():
        fl["dgr"] = {e: len(d) for e, d in fl["dgr"].items()}
        fl["streams"] = sorted(fl["streams"])
        fl["vlans"] = sorted(fl["vlans"])
        fl["flags"] = sorted(fl["flags"])
    return {"flows": flows, "frames": frames, "nonip": nonip,
            "links": dict(links),
            "pairflags": {json.dumps(list(k)): sorted(f)
                          for k, f in pairflags.items() if f},
            "rc": p.returncode,
            "stderr": "\n".join(l for l in p.stderr.splitlines()
                                if "Running as user" not in l)[:400]}


def run_vigil(path, slot, ctx):
    prefix = f"peers{slot}"
    ctx.redis.cmd("DEL", f"{prefix}:flows")
    cmd = [ctx.vigil, "-r", str(path), "-c", ctx.confs[slot],
           "--redis", f"127.0.0.1:{ctx.redis.port}", "--",
           "--no-huge", "--no-shconf"]
    t0 = time.time()
    res = {"status": "ok", "rc": None, "stderr": "", "secs": 0.0,
           "records": [], "published": None}
    try:
        p = subprocess.run(cmd, capture_output=True, text=True,
                           errors="replace", timeout=VIGIL_TIMEOUT)
        res["rc"] = p.returncode
        res["stderr"] = (p.stderr or "").strip()[-2000:]
        m = re.search(r"(\d+) records published", p.stdout + p.stderr)
        if m:
            res["published"] = int(m.group(1))
        if p.returncode != 0:
            lines = res["stderr"].splitlines()
            if p.returncode == 1 and len(lines) == 1 and \
                    lines[0].startswith("vigil: capture"):
                m = re.search(r"link type (\S+ \(\d+\))", lines[0])
                res["status"] = "refused"
                res["reason"] = ("link type " + m.group(1)) if m else \
                    lines[0].split(":", 2)[-1].strip()[:80]
            else:
                res["status"] = "failed"
                res["reason"] = (f"signal {-p.returncode}"
                                 if p.returncode < 0
                                 else f"exit {p.returncode}")
    except subprocess.TimeoutExpired as e:
        res["status"] = "failed"
        res["reason"] = f"timeout {VIGIL_TIMEOUT} s"
        err = e.stderr
        if isinstance(err, bytes):
            err = err.decode(errors="replace")
        res["stderr"] = (err or "").strip()[-2000:]
    res["secs"] = round(time.time() - t0, 3)
    q = subprocess.run([ctx.vigilctl, "--redis",
                        f"127.0.0.1:{ctx.redis.port}", "--prefix", prefix,
                        "flows", "--json", "--limit", "0"],
                       capture_output=True, text=True, errors="replace")
    for line in q.stdout.splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        r.pop("id", None)
        r.pop("sensor", None)
        res["records"].append(r)
    if q.returncode not in (0, 1):
        res["vigilctl_error"] = q.stderr.strip()[:200]
    if res["status"] == "ok" and res["published"] is not None and \
            res["published"] != len(res["records"]):
        res["record_count_mismatch"] = [res["published"],
                                        len(res["records"])]
    return res


def cached(ctx, kind, ident, make):
    """Result of make(), kept in the cache under a hash of ident."""
    h = hashlib.sha1(ident.encode()).hexdigest()
    cf = Path(ctx.cache) / f"{h}.{kind}.json"
    if cf.exists():
        try:
            return json.loads(cf.read_text())
        except ValueError:
            pass
    res = make()
    tmp = cf.with_suffix(".tmp")
    tmp.write_text(json.dumps(res))
    tmp.replace(cf)
    return res


def process(entry, slot, ctx):
    """capinfos + tshark (cached per script version) and vigil (cached per
    vigil binary) for one capture."""
    path = entry["path"]
    st = path.stat()
    capid = f"{path.resolve()}|{st.st_size}|{st.st_mtime}"
    res = {"name": entry["name"], "size": st.st_size}
    if st.st_size > MAX_SIZE:
        res["skipped"] = f"larger than 50 MB ({st.st_size >> 20} MB)"
        return res
    peer = cached(ctx, "tshark", f"{CACHE_VERSION}|{capid}",
                  lambda: {"capinfos": run_capinfos(str(path)),
                           "tshark": tshark_frames(str(path))})
    res.update(peer)
    res["vigil"] = cached(ctx, "vigil", f"{ctx.vigil_sha}|{capid}",
                          lambda: run_vigil(path, slot, ctx))
    return res


# --------------------------------------------------------------------------
# flows per side


def new_agg():
    return {"pk": Counter(), "by": Counter(), "pay": Counter(), "recs": 0,
            "vlans": set(), "idle": 0, "cids": set(), "info": [],
            "reasons": Counter(), "recs_raw": []}


def vigil_flows(recs, ported, bytes_field="l2"):
    flows = {}
    for r in recs:
        proto = str(r.get("proto"))
        try:
            o, p = norm(r["orig_h"]), norm(r["resp_h"])
            op, rp = int(r.get("orig_p", 0)), int(r.get("resp_p", 0))
        except (KeyError, TypeError, ValueError):
            continue
        k = make_key(proto, o, op, p, rp, ported)
        oe = (o, op if proto in ported else None)
        re_ = (p, rp if proto in ported else None)
        fl = flows.setdefault(k, new_agg())
        fl["recs"] += 1
        fl["vlans"].add(int(r.get("vlan") or 0))
        if r.get("end_reason") == "idle":
            fl["idle"] += 1
        fl["reasons"][r.get("end_reason") or "?"] += 1
        fl["recs_raw"].append(r)
        if r.get("community_id"):
            fl["cids"].add(r["community_id"])
        for e, side in ((oe, "orig"), (re_, "resp")):
            fl["pk"][e] += int(r.get(f"{side}_pkts") or 0)
            fl["by"][e] += int(r.get(f"{side}_{bytes_field}_bytes") or 0)
            fl["pay"][e] += int(r.get(f"{side}_bytes") or 0)
        fl["info"].append(f"{r.get('orig_h')}:{r.get('orig_p')}>"
                          f"{r.get('resp_h')}:{r.get('resp_p')} "
                          f"vlan={r.get('vlan', 0)} "
                          f"{r.get('orig_pkts')}/{r.get('orig_l2_bytes')} "
                          f"{r.get('resp_pkts')}/{r.get('resp_l2_bytes')} "
                          f"{r.get('end_reason')}")
    return flows


NDPI_LINE = re.compile(r"^\t\d+\t(\S+) (\S+) (<->|->) (\S+) \[(.*)$")
NDPI_PK = re.compile(r"\[(\d+) pkts/(\d+) bytes (?:<->|->) (\d+) pkts/(\d+) "
                     r"bytes\]")
NDPI_VLAN = re.compile(r"\[VLAN: (\d+)\]")
NDPI_PROTO = {"TCP": "tcp", "UDP": "udp", "ICMP": "icmp", "ICMPV6": "icmp",
              "IGMP": "2", "VRRP": "112"}
NDPI_PORTED = ("tcp", "udp")


def ndpi_ep(s):
    m = re.match(r"^\[(.*)\]:(\d+)$", s) or re.match(r"^(.*):(\d+)$", s)
    if not m:
        return None
    return norm(m.group(1)), int(m.group(2))


def ndpi_flows(outfile):
    flows = {}
    text = Path(outfile).read_bytes().decode("utf-8", errors="replace")
    for line in text.splitlines():
        m = NDPI_LINE.match(line)
        if not m:
            continue
        pk = NDPI_PK.search(m.group(5))
        a, b = ndpi_ep(m.group(2)), ndpi_ep(m.group(4))
        if not pk or not a or not b:
            continue
        proto = NDPI_PROTO.get(m.group(1), m.group(1))
        k = make_key(proto, a[0], a[1], b[0], b[1], NDPI_PORTED)
        ea = (a[0], a[1] if proto in NDPI_PORTED else None)
        eb = (b[0], b[1] if proto in NDPI_PORTED else None)
        fl = flows.setdefault(k, new_agg())
        fl["recs"] += 1
        vl = NDPI_VLAN.search(m.group(5))
        fl["vlans"].add(int(vl.group(1)) if vl else 0)
        fl["pk"][ea] += int(pk.group(1))
        fl["by"][ea] += int(pk.group(2))
        fl["pk"][eb] += int(pk.group(3))
        fl["by"][eb] += int(pk.group(4))
        fl["info"].append(line.strip()[:160])
    return flows


ARKIME_PORTED = ("tcp", "udp", "132")


def arkime_flows(testfile):
    flows = {}
    try:
        d = json.loads(Path(testfile).read_text(errors="replace"))
    except ValueError:
        return None
    for s in d.get("sessions3", []):
        b = s.get("body", {})
        src, dst = b.get("source", {}), b.get("destination", {})
        if "ip" not in src or "ip" not in dst:
            continue  # not IP (ARP, ...)
        proto = proto_from_num(b.get("ipProtocol"))
        a, pa = norm(src["ip"]), int(src.get("port") or 0)
        c, pc = norm(dst["ip"]), int(dst.get("port") or 0)
        k = make_key(proto, a, pa, c, pc, ARKIME_PORTED)
        ea = (a, pa if proto in ARKIME_PORTED else None)
        ec = (c, pc if proto in ARKIME_PORTED else None)
        fl = flows.setdefault(k, new_agg())
        fl["recs"] += 1
        net = b.get("network", {})
        for vid in (net.get("vlan", {}) or {}).get("id", []) or [0]:
            fl["vlans"].add(vid)
        if net.get("community_id"):
            fl["cids"].add(net["community_id"])
        fl["pk"][ea] += int(src.get("packets") or 0)
        fl["by"][ea] += int(src.get("bytes") or 0)
        fl["pk"][ec] += int(dst.get("packets") or 0)
        fl["by"][ec] += int(dst.get("bytes") or 0)
        fl["pay"][ea] += int((b.get("client") or {}).get("bytes") or 0)
        fl["pay"][ec] += int((b.get("server") or {}).get("bytes") or 0)
        fl["info"].append(f"{src['ip']}:{src.get('port')}>{dst['ip']}:"
                          f"{dst.get('port')} {src.get('packets')}/"
                          f"{src.get('bytes')} {dst.get('packets')}/"
                          f"{dst.get('bytes')}")
    return flows


def tshark_peer_flows(ts):
    flows = {}
    for ks, f in ts["flows"].items():
        proto, ends = json.loads(ks)
        k = (proto, tuple(tuple(e) for e in ends))
        fl = new_agg()
        for e, n in f["pk"].items():
            fl["pk"][tuple(json.loads(e))] += n
        for e, n in f["by"].items():
            fl["by"][tuple(json.loads(e))] += n
        fl["recs"] = max(1, len(f["streams"]))
        fl["vlans"] = set(f["vlans"])
        fl["gap"] = f["gap"]
        fl["info"].append(" ".join(f"{json.loads(e)}:{n}/{f['by'][e]}"
                                   for e, n in f["pk"].items()))
        flows[k] = fl
    return flows


# --------------------------------------------------------------------------
# comparison and classes


def flow_agrees(k, peer, vig, what="by"):
    ends = list(dict.fromkeys(k[1]))
    for e in ends:
        if peer["pk"][e] != vig["pk"][e] or peer[what][e] != vig[what][e]:
            return False
    if k[0] != "icmp" and peer["recs"] != vig["recs"]:
        return False
    return True


def ts_flow(cap, k):
    return cap.get("tshark", {}).get("flows", {}).get(
        json.dumps([k[0], [list(e) for e in k[1]]]))


def idle_of(proto, tmo):
    return tmo.get({"tcp": "tcp_idle", "udp": "udp_idle",
                    "icmp": "icmp_idle"}.get(proto, "other_idle"), 60)


def split_class(k, peer, vig, cap, src, tmo):
    """Both report the flow but cut it into a different number of
    records: why (or None)."""
    if not (vig and peer) or k[0] == "icmp":
        return None
    if len(vig["vlans"]) > 1:
        return "VLAN in key"
    if vig["recs"] > peer["recs"]:
        tsf = ts_flow(cap, k)
        if tsf and "backwards" in tsf["flags"]:
            return ("vigil split: the capture repeats itself (time goes "
                    "back); vigil opens a new record when a closed "
                    "connection starts again (Zeek's rule)")
        if vig["reasons"].get("reused"):
            return "vigil split: new connection on a reused 5-tuple"
        other = [r for r in vig["reasons"] if r not in ("idle", "shutdown")]
        if other:
            return f"vigil split: end_reason {other[0]}"
        tsf = ts_flow(cap, k)
        gap = tsf["gap"] if tsf else None
        if k[0] == "tcp" and (gap is None or gap <= idle_of("tcp", tmo)):
            return (f"vigil split: TCP attempt/closed expiry "
                    f"({tmo.get('tcp_attempt', '?')}/"
                    f"{tmo.get('tcp_closed', '?')} s)")
        return "vigil split: idle timeout"
    if peer["recs"] > vig["recs"]:
        if src == "tshark" and k[0] == "tcp":
            return "tshark split the flow (new tcp.stream)"
        return f"{src} split the flow"
    if k[0] == "tcp" and vig["recs"] > 1:
        return "port reuse"
    return None


def classify(kind, k, peer, vig, cap, src, tmo):
    """The first class that explains a disagreement (see the top)."""
    vg = cap.get("vigil", {})
    ci = cap.get("capinfos", {})
    if vg.get("status") == "failed":
        return "vigil failed"
    if vg.get("status") == "refused":
        if "link type" in vg.get("reason", ""):
            return "non-Ethernet link type (vigil refused)"
        return "vigil refused"
    # Same packets and bytes, only cut into records differently.
    if kind == "differs" and sums_agree(k, peer, vig):
        return split_class(k, peer, vig, cap, src, tmo) or \
            "record count differs"
    ts = cap.get("tshark", {})
    pf = set(ts.get("pairflags", {}).get(json.dumps(list(pair_of(k))), []))
    if ci.get("cut_short") or pf & {"trunc", "short"}:
        return "truncated packets"
    if "vlan3" in pf:
        return "3+ VLAN tags"
    if "frag" in pf:
        return "fragments"
    ports = {e[1] for e in k[1]}
    if kind == "only-peer" and "tunnel_nonip" in pf:
        return "tunnel carrying non-IP (peer keeps the outer flow)"
    if "tunnel" in pf or k[0] in TUNNEL_PROTOS or \
            (k[0] == "udp" and ports & TUNNEL_UDP_PORTS):
        return "tunnel/encapsulation"
    sc = split_class(k, peer, vig, cap, src, tmo)
    if sc:
        return sc
    if kind == "differs" and peer and vig:
        e0, e1 = k[1]
        if e0 != e1 and peer["pk"][e0] == vig["pk"][e1] and \
                peer["pk"][e1] == vig["pk"][e0] and \
                peer["by"][e0] == vig["by"][e1] and \
                peer["by"][e1] == vig["by"][e0]:
            return "direction: counts on the other endpoint"
    if src == "arkime" and (k[0] in ("2", "89", "103") or
                            (k[0] == "udp" and ports & {67, 68, 546, 547})):
        return "Arkime keys DHCP/IGMP/OSPF/PIM differently"
    if "jumbo" in pf:
        return "frames over 1518 bytes (TSO)"
    if ci.get("encap") and ci["encap"] != "Ethernet":
        return f"non-Ethernet link type ({ci['encap']}, decoded)"
    if k[0] == "icmp":
        return "ICMP"
    return "other"


ICMP4_EQ = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10,
            17: 18, 18: 17}
ICMP6_EQ = {128: 129, 129: 128, 130: 131, 131: 130, 133: 134, 134: 133,
            135: 136, 136: 135, 139: 140, 140: 139, 144: 145, 145: 144}


def ref_community_id(r):
    """Community ID v1 of a vigil record computed here, the way the
    reference implementation (pycommunityid) does: ports only for
    TCP/UDP/SCTP/ICMP, ICMP type/code mapped to port equivalents, one-way
    ICMP not reordered."""
    try:
        sa = ipaddress.ip_address(r["orig_h"])
        da = ipaddress.ip_address(r["resp_h"])
        sp, dp = int(r.get("orig_p", 0)), int(r.get("resp_p", 0))
    except (KeyError, ValueError, TypeError):
        return None
    proto = str(r.get("proto"))
    pnum = {"tcp": 6, "udp": 17}.get(proto)
    one_way = False
    if proto == "icmp":
        pnum = 1 if sa.version == 4 else 58
        eq = ICMP4_EQ if pnum == 1 else ICMP6_EQ
        if sp in eq:
            dp = eq[sp]
        else:
            one_way = True
    elif pnum is None:
        try:
            pnum = int(proto)
        except ValueError:
            return None
    ported = pnum in (1, 6, 17, 58, 132)
    s, d = sa.packed, da.packed
    if not (one_way or s < d or (s == d and ported and sp < dp)):
        s, d, sp, dp = d, s, dp, sp
    data = struct.pack("!H", 0) + s + d + struct.pack("!BB", pnum, 0)
    if ported:
        data += struct.pack("!HH", sp, dp)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def classify_cid(k, peer, vig):
    refs = {ref_community_id(r) for r in vig["recs_raw"]}
    if not vig["cids"] <= refs:
        return "vigil differs from the reference computation (bug)"
    if k[0] in ("50", "51"):
        return f"Arkime hashes ports 0/0 for IP proto {k[0]} (reference: no ports)"
    if k[0] == "icmp":
        return "Arkime reorders one-way ICMP (reference keeps the order)"
    return "Arkime differs from the reference computation"


class Stats:
    def __init__(self, name):
        self.name = name
        self.captures = 0
        self.refused = Counter()
        self.refused_caps = defaultdict(list)
        self.failed = []
        self.skipped = []
        self.nopeer = []
        self.peer = self.vigil = self.both = self.agree = 0
        self.only_peer = self.only_vigil = 0
        self.cid_n = self.cid_ok = 0
        self.pay_n = self.pay_ok = 0
        self.pay_ex = []
        self.pay_proto = defaultdict(Counter)
        self.sum_ok = 0
        self.rule_sum = self.rule_agree = 0   # agree under a peer rule
        self.aside = 0                        # set aside by a peer rule
        self.cid_classes = defaultdict(list)
        self.classes = defaultdict(Counter)   # class -> kind -> n
        self.examples = defaultdict(list)
        self.ex_caps = defaultdict(set)


def sums_agree(k, peer, vig):
    return all(peer["pk"][e] == vig["pk"][e] and peer["by"][e] == vig["by"][e]
               for e in set(k[1]))


# Peer rules: a peer that counts by a definition of its own, or is
# demonstrably wrong, in a way the script can name (and, where it can,
# replay exactly). "adjusted": vigil's counts, with the peer's rule applied
# to tshark's view of the same frames, equal the peer's exactly: the flow
# agrees under the peer's rule. "set aside": the peer keys or counts the
# flow by its own rule, not replayable here: the flow leaves the
# denominators of agree% and sum% (the raw rates keep it).
RULE_NDPI_FRAG = ("peer rule (nDPI): fragments with an offset are not "
                  "counted (ndpiReader skips them before the flow lookup)")
RULE_ARKIME_FRAG = ("peer rule (Arkime): IP fragments reassembled, a "
                    "datagram counts as one packet")
RULE_ARKIME_KEYS = ("peer rule (Arkime): DHCP/DHCPv6/IGMP/OSPF/PIM sessions "
                    "keyed by its own rules")
RULE_ARKIME_DIR = ("peer rule (Arkime): a session first seen mid-stream is "
                   "turned around by its port heuristic, counts included")


def _ts_count(tsf, what, e):
    return (tsf or {}).get(what, {}).get(json.dumps(list(e)), 0)


def peer_rule(src, k, peer, vig, cap):
    """(class, "adjusted" | "set aside", strict) for a flow both report
    whose sums differ, when a peer rule explains the whole difference;
    strict: the record counts agree too. None otherwise."""
    ends = list(dict.fromkeys(k[1]))
    tsf = ts_flow(cap, k)
    same_recs = k[0] == "icmp" or peer["recs"] == vig["recs"]
    if src == "ndpi" and tsf and any(tsf.get("fpk", {}).values()):
        if all(vig["pk"][e] - _ts_count(tsf, "fpk", e) == peer["pk"][e] and
               vig["by"][e] - _ts_count(tsf, "fby", e) == peer["by"][e]
               for e in ends):
            return RULE_NDPI_FRAG, "adjusted", same_recs
    if src != "arkime":
        return None
    if tsf and any(tsf.get("frg", {}).values()) and all(
            vig["pk"][e] - _ts_count(tsf, "frg", e) +
            _ts_count(tsf, "dgr", e) == peer["pk"][e] for e in ends):
        return RULE_ARKIME_FRAG, "set aside", False
    ports = {e[1] for e in k[1]}
    if k[0] in ("2", "89", "103") or \
            (k[0] == "udp" and ports & {67, 68, 546, 547}):
        return RULE_ARKIME_KEYS, "set aside", False
    e0, e1 = k[1]
    if e0 != e1 and peer["recs"] == vig["recs"] == 1 and \
            peer["pk"][e0] == vig["pk"][e1] and \
            peer["pk"][e1] == vig["pk"][e0] and \
            peer["by"][e0] == vig["by"][e1] and \
            peer["by"][e1] == vig["by"][e0] and \
            not (vig["recs_raw"] and
                 "^" in str(vig["recs_raw"][0].get("history", ""))):
        return RULE_ARKIME_DIR, "set aside", False
    return None


def compare_capture(st, src, cap, peer, ported, details, nex, tmo):
    vg = cap.get("vigil", {})
    recs = vg.get("records", []) if vg.get("status") == "ok" else []
    vig = vigil_flows(recs, ported)
    st.peer += len(peer)
    st.vigil += len(vig)
    for k in sorted(set(peer) | set(vig), key=str):
        p, v = peer.get(k), vig.get(k)
        rule = None
        if p and v:
            st.both += 1
            ok = flow_agrees(k, p, v)
            sok = sums_agree(k, p, v)
            st.sum_ok += sok
            if not sok:
                rule = peer_rule(src, k, p, v, cap)
            if rule and rule[1] == "adjusted":
                st.rule_sum += 1
                st.rule_agree += rule[2]
            elif rule:
                st.aside += 1
            if src == "arkime":
                if p["cids"]:
                    st.cid_n += 1
                    cok = p["cids"] <= v["cids"]
                    st.cid_ok += cok
                    if not cok:
                        cc = classify_cid(k, p, v)
                        st.cid_classes[cc].append(
                            f"{cap['name']}: {key_str(k)}: Arkime "
                            f"{sorted(p['cids'])} vigil {sorted(v['cids'])}")
                        if details:
                            details.write(json.dumps({
                                "source": src, "capture": cap["name"],
                                "kind": "community_id", "class": cc,
                                "flow": key_str(k),
                                "peer": sorted(p["cids"]),
                                "vigil": sorted(v["cids"])}) + "\n")
                st.pay_n += 1
                pok = flow_agrees(k, p, v, "pay")
                st.pay_ok += pok
                grp = k[0] if k[0] in ("tcp", "udp", "icmp") else "other"
                st.pay_proto[grp]["n"] += 1
                st.pay_proto[grp]["ok"] += pok
                if not pok and ok and len(st.pay_ex) < 3:
                    st.pay_ex.append(
                        f"{cap['name']}: {key_str(k)}: Arkime " +
                        ", ".join(f"{e[0]}:{e[1]} {p['pay'][e]}"
                                  for e in k[1]) + "; vigil " +
                        ", ".join(f"{v['pay'][e]}" for e in k[1]))
            if ok:
                st.agree += 1
                continue
            kind = "differs"
        elif p:
            st.only_peer += 1
            kind = "only-peer"
        else:
            st.only_vigil += 1
            kind = "only-vigil"
        cls = rule[0] if rule else classify(kind, k, p, v, cap, src, tmo)
        st.classes[cls][kind] += 1
        d = {"source": src, "capture": cap["name"], "kind": kind,
             "class": cls, "flow": key_str(k)}
        if p:
            d["peer"] = {"recs": p["recs"],
                         "counts": {str(e): [p["pk"][e], p["by"][e]]
                                    for e in k[1]},
                         "lines": p["info"][:4]}
        if v:
            d["vigil"] = {"recs": v["recs"],
                          "counts": {str(e): [v["pk"][e], v["by"][e]]
                                     for e in k[1]},
                          "records": v["info"][:4]}
        if details:
            details.write(json.dumps(d) + "\n")
        ex = st.examples[cls]
        if len(ex) < nex and cap["name"] not in st.ex_caps[cls]:
            st.ex_caps[cls].add(cap["name"])
            ex.append(d)


# --------------------------------------------------------------------------
# suricata-verify

ENCAP_TEST = re.compile(r"vxlan|geneve|gre|erspan|teredo|pppoe|mpls|vlan|"
                        r"vntag|nsh|ipip|sll|decode|tunnel|etag|gtp|chdlc",
                        re.I)
SURI_PROTO = {"TCP": "tcp", "UDP": "udp", "ICMP": "icmp", "IPV6-ICMP": "icmp",
              "ICMPV6": "icmp", "SCTP": "132", "IPV6": "41", "IP-IN-IP": "4",
              "IPIP": "4", "IPV4": "4", "GRE": "47", "ESP": "50", "AH": "51",
              "IGMP": "2", "PIM": "103", "OSPF": "89", "OSPFIGP": "89",
              "VRRP": "112"}
SURI_EP = ("src_ip", "dest_ip", "src_port", "dest_port")


SURI_TUNNEL = {"4", "41", "47"}


def suri_names_tunnel(m):
    """EVE match m is about a tunnel itself (IP-in-IP, IPv6-in-IP, GRE,
    or a VXLAN/Geneve/... UDP port)."""
    proto = SURI_PROTO.get(str(m.get("proto", "")).upper(),
                           str(m.get("proto", "")))
    return proto in SURI_TUNNEL or bool(
        proto in ("udp", "") and ({m.get("src_port"), m.get("dest_port")} &
                                  TUNNEL_UDP_PORTS))


def suri_outer_match(r, m):
    """EVE match m names a tunnel (IP-in-IP, IPv6-in-IP, GRE, VXLAN or
    Geneve UDP port) whose outer addresses vigil keeps in record r."""
    if "outer_orig_h" not in r:
        return False
    proto = SURI_PROTO.get(str(m.get("proto", "")).upper(),
                           str(m.get("proto", "")))
    tun = proto in SURI_TUNNEL or (
        proto in ("udp", "") and ({m.get("src_port"), m.get("dest_port")} &
                                  TUNNEL_UDP_PORTS))
    if not tun:
        return False
    ends = {norm(str(r["outer_orig_h"])), norm(str(r["outer_resp_h"]))}
    return all(norm(str(m[f])) in ends for f in ("src_ip", "dest_ip")
               if f in m)


def suri_match(r, m):
    """Orientation in which vigil record r matches EVE match m: 'o' (src is
    the originator), 'r' (src is the responder) or None."""
    proto = m.get("proto")
    if proto is not None:
        pp = SURI_PROTO.get(str(proto).upper(), str(proto))
        if pp != str(r.get("proto")):
            return None
    rproto = str(r.get("proto"))
    for orient in ("o", "r"):
        s, d = ("orig", "resp") if orient == "o" else ("resp", "orig")
        ok = True
        for f, side in (("src_ip", s), ("dest_ip", d)):
            if f in m and norm(str(m[f])) != norm(str(r.get(side + "_h"))):
                ok = False
        if rproto in ("tcp", "udp", "132"):
            for f, side in (("src_port", s), ("dest_port", d)):
                if f in m and str(m[f]) != str(r.get(side + "_p")):
                    ok = False
        if ok:
            return orient
    return None


def suricata_report(entries, caps, out, details_path=None):
    from_yaml = load_yaml
    flow_checks = flow_ok = 0
    count_checks = count_ok = 0
    pk_checks = pk_ok = by_checks = by_ok = 0
    skipped = Counter()
    encap = []
    bad = []
    bad_why = Counter()
    cnt_why = Counter()
    for entry in entries:
        cap = caps.get(entry["name"])
        if not cap or "vigil" not in cap:
            continue
        vg = cap["vigil"]
        recs = vg.get("records", []) if vg.get("status") == "ok" else []
        for tdir in entry["tests"]:
            tf = entry["root"] / tdir / "test.yaml"
            try:
                y = from_yaml(tf.read_text(errors="replace")) or {}
            except (OSError, RecursionError):
                skipped["unreadable test.yaml"] += 1
                continue
            req = y.get("requires") or {}
            if isinstance(req, dict) and "lt-version" in req:
                skipped["test for an older Suricata (lt-version)"] += 1
                continue
            is_encap = bool(ENCAP_TEST.search(tdir))
            pairs = {}
            for ch in y.get("checks") or []:
                fl = ch.get("filter") if isinstance(ch, dict) else None
                if not isinstance(fl, dict):
                    continue
                m = fl.get("match") or {}
                freq = fl.get("requires") or {}
                if isinstance(freq, dict) and "lt-version" in freq:
                    continue
                cnt = fl.get("count")
                if not isinstance(cnt, int) or not isinstance(m, dict):
                    continue
                if is_encap and cnt > 0 and set(SURI_EP) & set(m):
                    pk = (str(m.get("proto", "")), m.get("src_ip"),
                          m.get("src_port"), m.get("dest_ip"),
                          m.get("dest_port"))
                    hit = any(suri_match(r, m) or suri_outer_match(r, m)
                              for r in recs)
                    pairs[pk] = pairs.get(pk, False) or hit
                if m.get("event_type") != "flow" or cnt <= 0:
                    continue
                keys = set(SURI_EP) & set(m)
                if not keys:
                    count_checks += 1
                    ok = cnt == len(recs)
                    count_ok += ok
                    if not ok:
                        why = ("vigil " + vg.get("status", "?")
                               if vg.get("status") != "ok" else
                               "vigil has more records" if len(recs) > cnt
                               else "vigil has fewer records")
                        cnt_why[why] += 1
                        bad.append((tdir, "flow count", cnt, len(recs), why))
                    continue
                flow_checks += 1
                hits = [(r, suri_match(r, m)) for r in recs]
                hits = [(r, o) for r, o in hits if o]
                ok = len(hits) == cnt
                detail = ""
                if ok and cnt == 1:
                    r, o = hits[0]
                    ts_, tc = ("orig", "resp") if o == "o" else \
                        ("resp", "orig")
                    for f, side, what, ctr in (
                            ("flow.pkts_toserver", ts_, "pkts", "pk"),
                            ("flow.pkts_toclient", tc, "pkts", "pk"),
                            ("flow.bytes_toserver", ts_, "l2_bytes", "by"),
                            ("flow.bytes_toclient", tc, "l2_bytes", "by")):
                        if f not in m:
                            continue
                        got = int(r.get(f"{side}_{what}") or 0)
                        good = got == m[f]
                        if ctr == "pk":
                            pk_checks += 1
                            pk_ok += good
                        else:
                            by_checks += 1
                            by_ok += good
                        if not good:
                            ok = False
                            detail += f" {f}={m[f]} vigil {got};"
                flow_ok += ok
                if not ok:
                    desc = " ".join(f"{f}={m[f]}" for f in
                                    ("proto", "src_ip", "src_port", "dest_ip",
                                     "dest_port") if f in m)
                    if vg.get("status") != "ok":
                        why = f"vigil {vg.get('status')}: {vg.get('reason')}"
                    elif suri_names_tunnel(m):
                        why = ("Suricata logs the tunnel itself as a flow; "
                               "vigil keys the inner flow (outer addresses "
                               "in the record)")
                    elif not hits:
                        why = "no vigil record for this flow"
                    elif len(hits) > cnt:
                        rs = Counter(r.get("end_reason") for r, _ in hits)
                        vl = {r.get("vlan", 0) for r, _ in hits}
                        why = ("vigil cut it into more records (" +
                               ("VLANs " + str(sorted(vl)) if len(vl) > 1
                                else ", ".join(f"{k} {n}" for k, n in
                                               rs.items())) + ")")
                    elif detail:
                        pfl = set()
                        if "src_ip" in m and "dest_ip" in m:
                            pk_ = json.dumps(sorted((norm(str(m["src_ip"])),
                                                     norm(str(m["dest_ip"])))))
                            pfl = set(cap.get("tshark", {}).get(
                                "pairflags", {}).get(pk_, []))
                        if any(str(r.get("proto")) == "50" for r, _ in hits):
                            why = ("packets/bytes differ: Suricata keys ESP "
                                   "flows by SPI, vigil by addresses")
                        elif "icmp_err" in pfl and "pkts" in detail:
                            why = ("packets/bytes differ: Suricata counts the "
                                   "ICMP errors quoting the flow in it")
                        elif "tunnel" in pfl and "pkts" not in detail:
                            why = ("bytes differ: Suricata counts the inner "
                                   "packet in tunnels, vigil the frame")
                        else:
                            why = "packets/bytes differ"
                    else:
                        why = "other"
                    bad_why[why.split(";")[0].split(" (")[0]] += 1
                    bad.append((tdir, desc, cnt, len(hits),
                                (detail.strip() + " " + why).strip()))
            if is_encap:
                encap.append((tdir, cap["name"], vg.get("status"),
                              vg.get("reason", ""), pairs))
    if details_path:
        with open(details_path, "a") as df:
            for b in bad:
                df.write(json.dumps({"source": "suricata", "test": b[0],
                                     "flow": b[1], "count": b[2],
                                     "vigil_count": b[3],
                                     "detail": b[4]}) + "\n")
    p = out
    p("")
    p("suricata-verify (EVE checks that map to flows; checks for older "
      "Suricata versions and count: 0 skipped)")
    p(f"  flow checks with endpoints: {flow_checks}, vigil agrees "
      f"{flow_ok} ({pct(flow_ok, flow_checks)}): the number of vigil "
      "records matching the given proto/ip/port equals `count`, and the "
      "given packets/bytes match")
    p(f"    of which packets each way: {pk_ok}/{pk_checks} "
      f"({pct(pk_ok, pk_checks)}), bytes each way: {by_ok}/{by_checks} "
      f"({pct(by_ok, by_checks)}) (Suricata bytes: the decoded packet, "
      "which is the inner packet in tunnels)")
    if bad_why:
        p("    disagreeing flow checks by cause: " + ", ".join(
            f"{k} {n}" for k, n in bad_why.most_common()))
    p(f"  flow-count checks (event_type flow, no endpoints): {count_checks}, "
      f"equal to vigil's record count: {count_ok} "
      f"({pct(count_ok, count_checks)})" + (": " + ", ".join(
          f"{k} {n}" for k, n in cnt_why.most_common()) if cnt_why else ""))
    for r, n in skipped.most_common():
        p(f"  skipped: {n} tests: {r}")
    if bad:
        p("  disagreeing checks with endpoints (test: flow: expected count, "
          "vigil's; detail), first 20 (all in --details):")
        for b in [b for b in bad if b[1] != "flow count"][:20]:
            p(f"    {b[0]}: {b[1]}: count {b[2]}, vigil {b[3]}; {b[4]}")
    tot = sum(len(e[4]) for e in encap)
    okn = sum(sum(e[4].values()) for e in encap)
    p(f"  encapsulation tests: {len(encap)}, endpoint pairs named by their "
      f"checks: {tot}, reported by vigil: {okn} ({pct(okn, tot)})")
    quiet = [e for e in encap if not e[4]]
    if quiet:
        p(f"    {len(quiet)} of these tests name no endpoints in their "
          "checks (alerts by signature, stats, ARP...): not listed")
    for tdir, name, status, reason, pairs in encap:
        if not pairs:
            continue
        miss = [k for k, v in pairs.items() if not v]
        st = status if status == "ok" else f"{status}: {reason}"
        p(f"    {tdir:40s} {sum(pairs.values())}/{len(pairs)} pairs  "
          f"[vigil {st}]" + (f"  missing e.g. {fmt_pair(miss[0])}"
                             if miss else ""))
    return {"flow_checks": flow_checks, "flow_ok": flow_ok,
            "encap_pairs": tot, "encap_ok": okn}


def fmt_pair(k):
    proto, a, pa, b, pb = k
    return (f"{proto or '*'} {a or '*'}" + (f":{pa}" if pa is not None else "")
            + f" -> {b or '*'}" + (f":{pb}" if pb is not None else ""))


def pct(a, b):
    return f"{100.0 * a / b:.1f}%" if b else "-"


# --------------------------------------------------------------------------
# YAML (the subset suricata-verify's test.yaml uses; stdlib only)


def _strip_comment(s):
    out, q = [], None
    for i, c in enumerate(s):
        if q:
            if c == q:
                q = None
        elif c in "'\"" and (i == 0 or s[i - 1] in " :[{,-"):
            q = c
        elif c == "#" and (i == 0 or s[i - 1] in " \t"):
            break
        out.append(c)
    return "".join(out).rstrip()


def _split_key(t):
    if t[:1] in "'\"":
        q = t[0]
        j = t.find(q, 1)
        if j > 0 and t[j + 1:j + 2] == ":" and \
                (len(t) == j + 2 or t[j + 2] == " "):
            return t[1:j], t[j + 2:].strip()
        return None
    m = re.match(r"^([^\s:'\"\[\]{},][^:]*?|[^\s'\"]*?):(?:\s+(.*))?$", t)
    if not m or t.startswith("- ") or t == "-":
        return None
    return m.group(1).strip(), (m.group(2) or "").strip()


def _flow_coll(s):
    inner = s[1:-1].strip()
    if not inner:
        return [] if s[0] == "[" else {}
    parts, depth, cur, q = [], 0, "", None
    for c in inner:
        if q:
            cur += c
            if c == q:
                q = None
            continue
        if c in "'\"":
            q = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    parts.append(cur)
    if s[0] == "[":
        return [_scalar(x) for x in parts if x.strip()]
    d = {}
    for x in parts:
        kv = _split_key(x.strip())
        if kv:
            d[kv[0]] = _scalar(kv[1])
    return d


def _scalar(s):
    s = s.strip()
    if s in ("", "~", "null", "Null", "NULL"):
        return None
    if s[0] == '"':
        try:
            return json.loads(s)
        except ValueError:
            return s[1:-1]
    if s[0] == "'":
        return s[1:-1].replace("''", "'")
    if s[0] in "[{" and s[-1] in "]}":
        return _flow_coll(s)
    low = s.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if re.fullmatch(r"[-+]?(0|[1-9][0-9]*)", s):
        return int(s)
    if re.fullmatch(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?", s):
        return float(s)
    return s


def load_yaml(text):
    lines = []
    for r in text.splitlines():
        if not r.strip() or r.lstrip().startswith("#") or \
                r.strip() in ("---", "..."):
            continue
        t = _strip_comment(r)
        if t.strip():
            lines.append([len(t) - len(t.lstrip(" ")), t.strip()])
    pos = [0]

    def block(ind, style):
        buf = []
        while pos[0] < len(lines) and lines[pos[0]][0] > ind:
            buf.append(lines[pos[0]][1])
            pos[0] += 1
        return ("\n" if style.startswith("|") else " ").join(buf)

    def plain(first, ind):
        buf = [first]
        while pos[0] < len(lines) and lines[pos[0]][0] > ind:
            buf.append(lines[pos[0]][1])
            pos[0] += 1
        return _scalar(" ".join(buf))

    def value(rest, ind):
        if rest in ("|", ">", "|-", ">-", "|+", ">+"):
            return block(ind, rest)
        if rest == "":
            if pos[0] < len(lines):
                ni, nt = lines[pos[0]]
                if ni > ind or (ni == ind and (nt.startswith("- ") or
                                               nt == "-")):
                    return node(ni)
            return None
        return plain(rest, ind)

    def node(ind):
        t = lines[pos[0]][1]
        if t.startswith("- ") or t == "-":
            return seq(ind)
        if _split_key(t):
            return mapping(ind)
        pos[0] += 1
        return plain(t, ind)

    def seq(ind):
        out = []
        while pos[0] < len(lines):
            i, t = lines[pos[0]]
            if i != ind or not (t.startswith("- ") or t == "-"):
                break
            rest = t[1:].lstrip()
            if rest == "":
                pos[0] += 1
                out.append(value("", ind))
                continue
            if _split_key(rest) and rest[0] not in "[{":
                lines[pos[0]] = [ind + len(t) - len(rest), rest]
                out.append(mapping(ind + len(t) - len(rest)))
            else:
                pos[0] += 1
                out.append(block(ind, rest) if rest[0] in "|>"
                           else plain(rest, ind))
        return out

    def mapping(ind):
        d = {}
        while pos[0] < len(lines):
            i, t = lines[pos[0]]
            if i != ind:
                break
            kv = _split_key(t)
            if not kv:
                break
            pos[0] += 1
            d[kv[0]] = value(kv[1], ind)
        return d

    return node(lines[0][0]) if lines else None


# --------------------------------------------------------------------------


class Ctx:
    pass


def add_common_args(ap):
    """The options every agreement script takes."""
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--vigil", default=str(REPO / "build/app/vigil/vigil"))
    ap.add_argument("--vigilctl",
                    default=str(REPO / "build/app/vigilctl/vigilctl"))
    ap.add_argument("--source", action="append", choices=SOURCES)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--details")
    ap.add_argument("--cache")
    ap.add_argument("--examples", type=int, default=2)


def prepare(a, prog):
    """Check the tools and binaries, copy the binaries (a rebuild during
    the run does not mix versions) and write one configuration a replay
    slot. Returns (data, sources, work, ctx), or an exit status."""
    data = Path(a.data)
    if not data.is_dir():
        print(f"{prog}: no shared data at {data}: nothing to compare")
        return 0
    for tool in ("tshark", "capinfos", "redis-server"):
        if not shutil.which(tool):
            print(f"{prog}: {tool} is not installed")
            return 2
    for b in (a.vigil, a.vigilctl):
        if not os.access(b, os.X_OK):
            print(f"{prog}: {b} is not built (meson compile -C build)")
            return 2
    sources = a.source or list(SOURCES)
    work = tempfile.mkdtemp(prefix=f"vigil-{prog}.")
    ctx = Ctx()
    ctx.cache = a.cache or os.path.join(work, "cache")
    os.makedirs(ctx.cache, exist_ok=True)
    ctx.vigil = os.path.join(work, "vigil")
    ctx.vigilctl = os.path.join(work, "vigilctl")
    shutil.copy2(a.vigil, ctx.vigil)
    shutil.copy2(a.vigilctl, ctx.vigilctl)
    ctx.vigil_sha = hashlib.sha1(Path(ctx.vigil).read_bytes()).hexdigest()
    ncpu = os.cpu_count() or 1
    ctx.confs = {}
    for slot in range(a.jobs):
        c = os.path.join(work, f"slot{slot}.conf")
        lc = slot % ncpu
        Path(c).write_text(f'redis = {{ prefix = "peers{slot}"; }};\n'
                           f"lcores = {{ rx = [ {lc} ]; workers = [ {lc} ]; "
                           "};\n")
        ctx.confs[slot] = c
    return data, sources, work, ctx


def main():
    ap = argparse.ArgumentParser(
        description="Agreement of vigil's flows with nDPI, tshark, Arkime "
        "and suricata-verify on ../shared/data (see the top of this file)")
    add_common_args(ap)
    a = ap.parse_args()
    t_start = time.time()
    ready = prepare(a, "agreement")
    if isinstance(ready, int):
        return ready
    data, sources, work, ctx = ready
    redis = None
    try:
        redis = ctx.redis = Redis(work)
        found = discover(data, sources, a.limit)
        want = []
        if "ndpi" in sources or "tshark" in sources:
            want += found["ndpi"]
        if "arkime" in sources or "tshark" in sources:
            want += found["arkime"]
        if "suricata" in sources or "tshark" in sources:
            want += found["suricata"]
        if "tshark" in sources:
            want += found["other"]
        uniq = {}
        for e in want:
            uniq.setdefault(e["name"], e)
        print(f"agreement: {len(uniq)} captures under {data}, "
              f"{a.jobs} replays side by side, vigil "
              f"{a.vigil} (sha1 {ctx.vigil_sha[:12]})", flush=True)
        caps = {}
        slots = list(range(a.jobs))
        lock = threading.Lock()
        done = [0]

        def job(e):
            with lock:
                slot = slots.pop()
            try:
                r = process(e, slot, ctx)
            finally:
                with lock:
                    slots.append(slot)
                    done[0] += 1
                    if done[0] % 100 == 0:
                        print(f"  {done[0]}/{len(uniq)} captures "
                              f"({time.time() - t_start:.0f} s)",
                              file=sys.stderr, flush=True)
            return e["name"], r
        with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
            for name, r in ex.map(job, uniq.values()):
                caps[name] = r
        t_run = time.time() - t_start
        report(a, sources, found, caps, t_run, t_start, vigil_settings(ctx))
    finally:
        if redis:
            redis.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def vigil_settings(ctx):
    """flow.*_s timeouts of the replays (vigil --print-config)."""
    p = subprocess.run([ctx.vigil, "-c", ctx.confs[0], "--print-config"],
                       capture_output=True, text=True, errors="replace")
    tmo = {}
    for m in re.finditer(r"^flow\.(\w+)_s\s+(\d+)", p.stdout, re.M):
        tmo[m.group(1)] = int(m.group(2))
    return tmo


def report(a, sources, found, caps, t_run, t_start, tmo):
    out = print
    details = open(a.details, "w") if a.details else None
    stats = {}
    plan = []
    if "ndpi" in sources:
        plan.append(("ndpi", found["ndpi"]))
    if "tshark" in sources:
        plan.append(("tshark", found["ndpi"] + found["arkime"] +
                     found["suricata"] + found["other"]))
    if "arkime" in sources:
        plan.append(("arkime", found["arkime"]))
    for src, entries in plan:
        st = stats[src] = Stats(src)
        seen = set()
        for e in entries:
            if e["name"] in seen:
                continue
            seen.add(e["name"])
            cap = caps.get(e["name"])
            if cap is None:
                continue
            if "skipped" in cap:
                st.skipped.append((e["name"], cap["skipped"]))
                continue
            if src == "ndpi":
                if not e.get("out"):
                    st.nopeer.append(e["name"])
                    continue
                peer = ndpi_flows(e["out"])
                ported = NDPI_PORTED
            elif src == "arkime":
                peer = arkime_flows(e["test"]) if e.get("test") else None
                if peer is None:
                    st.nopeer.append(e["name"])
                    continue
                ported = ARKIME_PORTED
            else:
                peer = tshark_peer_flows(cap["tshark"])
                ported = ("tcp", "udp", "132")
            st.captures += 1
            vg = cap["vigil"]
            if vg["status"] == "refused":
                st.refused[vg.get("reason", "?")] += 1
                st.refused_caps[vg.get("reason", "?")].append(e["name"])
            elif vg["status"] == "failed":
                st.failed.append(e["name"])
            compare_capture(st, src, cap, peer, ported, details, a.examples,
                            tmo)
    if details:
        details.close()

    out("")
    out("vigil timeouts (s): " + ", ".join(f"{k} {v}" for k, v in
                                           sorted(tmo.items())))
    out("")
    out("Agreement per source (flow = protocol + unordered endpoints; "
        "agree = same packets and frame bytes each way, same record count)")
    hdr = (f"{'source':8s} {'captures':>8s} {'refused':>7s} {'failed':>6s} "
           f"{'peer':>6s} {'vigil':>6s} {'both':>6s} {'aside':>5s} "
           f"{'agree':>6s} {'agree%':>7s} {'sum%':>6s} {'raw-agree%':>10s} "
           f"{'raw-sum%':>8s} {'cid%':>6s} {'only-peer':>9s} "
           f"{'only-vigil':>10s} {'agree/peer%':>11s}")
    out(hdr)
    out("-" * len(hdr))
    for src, st in stats.items():
        agree, sumok, den = rates(st)
        out(f"{src:8s} {st.captures:8d} {sum(st.refused.values()):7d} "
            f"{len(st.failed):6d} {st.peer:6d} {st.vigil:6d} {st.both:6d} "
            f"{st.aside:5d} {agree:6d} {pct(agree, den):>7s} "
            f"{pct(sumok, den):>6s} {pct(st.agree, st.both):>10s} "
            f"{pct(st.sum_ok, st.both):>8s} "
            f"{(pct(st.cid_ok, st.cid_n) if src == 'arkime' else '-'):>6s} "
            f"{st.only_peer:9d} {st.only_vigil:10d} "
            f"{pct(st.agree, st.peer):>11s}")
    out("(agree% and sum% over `both` less `aside`, the flows a peer keys "
        "or counts by a rule of its own; a flow whose counts equal the "
        "peer's once the peer's rule is replayed on tshark's view of the "
        "frames counts as agreeing. raw-agree% and raw-sum% over all of "
        "`both`, no rule applied. sum%: same packets and bytes each way "
        "once all the records of the flow on each side are added up)")
    for src, st in stats.items():
        if st.refused:
            out(f"{src}: vigil refused " + ", ".join(
                f"{n} ({r})" for r, n in st.refused.most_common()))
        if st.skipped:
            out(f"{src}: skipped {len(st.skipped)}: " + ", ".join(
                f"{n} ({r})" for n, r in st.skipped))
        if st.nopeer:
            out(f"{src}: no peer output for " + ", ".join(st.nopeer))
    st = stats.get("arkime")
    if st:
        out("")
        out(f"Arkime community_id: {st.cid_ok}/{st.cid_n} sessions "
            f"({pct(st.cid_ok, st.cid_n)}); the others, by class "
            "(checked against a reference computation here):")
        for cc, exs in sorted(st.cid_classes.items(),
                              key=lambda x: -len(x[1])):
            out(f"  {cc}: {len(exs)}")
            for x in exs[:a.examples]:
                out(f"      e.g. {x}")
        out(f"Arkime payload (client/server.bytes vs orig_bytes/resp_bytes, "
            f"flows whose packets and frame bytes agree): {st.pay_ok}/"
            f"{st.pay_n} ({pct(st.pay_ok, st.pay_n)}); by protocol: " +
            ", ".join(f"{g} {c['ok']}/{c['n']}"
                      for g, c in sorted(st.pay_proto.items())))
        for x in st.pay_ex:
            out(f"  payload differs, e.g. {x}")

    out("")
    out("Mismatch classes (each disagreeing flow in the first class that "
        "applies)")
    for src, st in stats.items():
        tot = sum(sum(c.values()) for c in st.classes.values())
        out(f"\n[{src}] {tot} disagreeing flows")
        for cls, c in sorted(st.classes.items(),
                             key=lambda x: -sum(x[1].values())):
            out(f"  {cls:45s} {sum(c.values()):5d}  "
                f"({c['differs']} differ, {c['only-peer']} only in peer, "
                f"{c['only-vigil']} only in vigil)")
            for ex in st.examples[cls]:
                out(f"      e.g. {ex['capture']}: {ex['kind']}: {ex['flow']}")
                pc = ex.get("peer", {}).get("counts")
                vc = ex.get("vigil", {}).get("counts")
                if pc or vc:
                    out(f"           peer {fmt_counts(pc)} "
                        f"[{ex.get('peer', {}).get('recs', 0)} rec]; vigil "
                        f"{fmt_counts(vc)} "
                        f"[{ex.get('vigil', {}).get('recs', 0)} rec]")

    if "suricata" in sources:
        suricata_report(found["suricata"], caps, out, a.details)

    out("")
    out("Summary (for the closing note): per source, the captures "
        "compared, the flows both report, the rates, and the disagreeing "
        "flows by class")
    for src, st in stats.items():
        agree, sumok, den = rates(st)
        out(f"  {src}: {st.captures} captures, {st.both} flows both "
            f"report ({st.aside} set aside by a peer rule); strict agree "
            f"{pct(agree, den)}, sum {pct(sumok, den)} (raw: "
            f"{pct(st.agree, st.both)} / {pct(st.sum_ok, st.both)})" +
            (f", community_id {pct(st.cid_ok, st.cid_n)}"
             if src == "arkime" else ""))
        for cls, c in sorted(st.classes.items(),
                             key=lambda x: (-sum(x[1].values()), x[0])):
            out(f"      {sum(c.values()):5d}  {cls}")

    fails = [(n, c["vigil"]) for n, c in sorted(caps.items())
             if c.get("vigil", {}).get("status") == "failed"]
    out("")
    if fails:
        out(f"vigil failed on {len(fails)} captures (bugs):")
        for n, v in fails:
            out(f"  {n}: {v.get('reason')}: "
                + " | ".join(v.get("stderr", "").splitlines()[-3:]))
    else:
        out("vigil failed on no capture (no crash, no timeout)")
    mism = [(n, c["vigil"]["record_count_mismatch"]) for n, c in caps.items()
            if c.get("vigil", {}).get("record_count_mismatch")]
    for n, m in mism:
        out(f"  {n}: vigil published {m[0]} records, vigilctl read {m[1]}")
    refused = Counter(c["vigil"].get("reason") for c in caps.values()
                      if c.get("vigil", {}).get("status") == "refused")
    if refused:
        out(f"vigil refused {sum(refused.values())} captures: " + ", ".join(
            f"{r} {n}" for r, n in refused.most_common()))
    skipped = [n for n, c in caps.items() if "skipped" in c]
    if skipped:
        out(f"skipped (over 50 MB): {', '.join(skipped)}")
    vt = sum(c.get("vigil", {}).get("secs", 0) for c in caps.values())
    out(f"wall time: {time.time() - t_start:.0f} s (replays, tshark and "
        f"capinfos {t_run:.0f} s; vigil itself {vt:.0f} s summed over "
        f"{len(caps)} captures, {a.jobs} side by side)")


def rates(st):
    """(flows agreeing strictly, flows whose sums agree, denominator):
    peer rules applied (see peer_rule)."""
    return (st.agree + st.rule_agree, st.sum_ok + st.rule_sum,
            st.both - st.aside)


def fmt_counts(c):
    """{"('a', p)": [pk, by]} -> 'a:p 3/180, b:q 2/120' (packets/bytes)"""
    if not c:
        return "-"
    parts = []
    for e, (pk, by) in c.items():
        m = re.match(r"\('(.*)', (\w+)\)", e)
        ep = (m.group(1) + ("" if m.group(2) == "None" else ":" + m.group(2))
              if m else e)
        parts.append(f"{ep} {pk}/{by}")
    return ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
