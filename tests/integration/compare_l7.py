#!/usr/bin/env python3
"""Compare the application metadata of vigil's flow records with tshark's
dissection of the same capture.

For each TCP or UDP flow, tshark's first DNS message, first HTTP request
and response, first TLS ClientHello and ServerHello give the values vigil
should have published (Zeek's field names):

  query        dns.qry.name           qtype_name   dns.qry.type (A, AAAA...)
  rcode_name   dns.flags.rcode        (first response)
  method       http.request.method    host         http.host
  uri          http.request.uri       status_code  http.response.code
  server_name  tls.handshake.extensions_server_name
  ja3          tls.handshake.ja3      ja3s         tls.handshake.ja3s
  ssh_client / ssh_server             ssh.protocol (each side's banner)

Flows are matched by protocol, the two endpoints and the outer VLAN id.
A flow where tshark has a value and vigil has none counts as a
disagreement ("missing"), as does a different value. Only flows of which
tshark dissected the protocol are compared (tshark chooses HTTP by port).
A vigil value that is a long prefix of tshark's (at least CUT_MIN
characters) was cut at the parser's bound: reported, not a disagreement.
Strings are compared after rendering tshark's text the way vigil escapes
wire bytes (printable ASCII but '\\' kept, everything else \\xNN) when it is
plain ASCII; others are reported, not compared.

usage: compare_l7.py CAPTURE RECORDS.jsonl [--min FIELD=N]...
  --min FIELD=N: fail unless at least N flows were compared for FIELD.
Prints one line per field: "FIELD: N compared, N agree", then the
disagreements (at most 10 a field). Exit 0 when everything agrees.
"""
import ipaddress
import json
import subprocess
import sys
from collections import defaultdict

QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX",
          16: "TXT", 28: "AAAA", 33: "SRV", 65: "HTTPS", 255: "*"}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN",
          4: "NOTIMP", 5: "REFUSED"}

# A value vigil cut at its parser's bound (URI 512 bytes, names 256) is a
# prefix of tshark's at least this long.
CUT_MIN = 200

BASE = ["ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport",
        "tcp.dstport", "udp.srcport", "udp.dstport", "vlan.id"]


def norm(addr):
    return str(ipaddress.ip_address(addr))


def first(v):
    return v.split(",")[0] if v else ""


def tshark(cap, display, fields):
    cmd = ["tshark", "-n", "-r", cap, "-Y", display, "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=f"]
    for f in BASE + fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True,
                         text=True, errors="replace").stdout
    for line in out.splitlines():
        v = line.split("\t")
        v += [""] * (len(BASE) + len(fields) - len(v))
        src = v[0] or v[2]
        dst = v[1] or v[3]
        if not src or not dst:
            continue
        if v[4]:
            proto, sp, dp = "tcp", v[4], v[5]
        elif v[6]:
            proto, sp, dp = "udp", v[6], v[7]
        else:
            continue
        vlan = first(v[8]) or "0"
        a, b = (norm(src), int(sp)), (norm(dst), int(dp))
        key = (proto, frozenset((a, b)), int(vlan))
        yield key, a, dict(zip(fields, v[len(BASE):]))


def vigil_key(r):
    a = (norm(r["orig_h"]), int(r["orig_p"]))
    b = (norm(r["resp_h"]), int(r["resp_p"]))
    return (r["proto"], frozenset((a, b)), int(r.get("vlan", 0)))


def dns_name(s):
    """tshark writes a DNS label's non-printable bytes as \\ooo (octal)
    and a backslash as \\\\: back to the bytes."""
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and s[i + 1:i + 4].isdigit() and len(s[i + 1:i + 4]) == 3:
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        elif s[i] == "\\" and s[i + 1:i + 2] == "\\":
            out.append("\\")
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def escape(s):
    """tshark shows ASCII as is; vigil_l7_escape keeps 0x20..0x7e but the
    backslash. Non-ASCII text cannot be mapped back to bytes reliably."""
    if any(ord(c) > 0x7e for c in s):
        return None
    return "".join(c if 0x20 <= ord(c) <= 0x7e and c != "\\"
                   else "\\x%02x" % ord(c) for c in s)


def main():
    args = sys.argv[1:]
    mins = {}
    while "--min" in args:
        i = args.index("--min")
        f, n = args[i + 1].split("=")
        mins[f] = int(n)
        del args[i:i + 2]
    cap, recs = args
    vigil = {}
    for line in open(recs):
        r = json.loads(line)
        if r.get("proto") in ("tcp", "udp"):
            # A flow split in two records (an idle timeout inside the
            # capture) has its L7 fields in the record that was inspected.
            k = vigil_key(r)
            if k not in vigil or ("service" in r and
                                  "service" not in vigil[k]):
                vigil[k] = r

    want = defaultdict(dict)   # field -> key -> value
    orig = {}                  # key -> originator endpoint (from vigil)
    for k, r in vigil.items():
        orig[k] = (norm(r["orig_h"]), int(r["orig_p"]))

    def keep(field, key, value):
        if value != "" and key not in want[field]:
            want[field][key] = value

    # DNS: like vigil (and Zeek), the question of the first response when
    # there is one (it repeats the query), else of the first query.
    dns_q, dns_r = {}, {}
    for key, src, f in tshark(cap, "dns", ["dns.flags.response",
                                            "dns.qry.name", "dns.qry.type",
                                            "dns.flags.rcode", "dns.count.queries"]):
        if f["dns.count.queries"] in ("", "0"):
            continue
        resp = f["dns.flags.response"] in ("1", "True")
        (dns_r if resp else dns_q).setdefault(key, f)
    for key in set(dns_q) | set(dns_r):
        f = dns_r.get(key) or dns_q[key]
        keep("query", key, escape(dns_name(f["dns.qry.name"])))
        if f["dns.qry.type"]:
            t = int(f["dns.qry.type"])
            keep("qtype_name", key, QTYPES.get(t, "query-%d" % t))
        if key in dns_r:
            rc = int(f["dns.flags.rcode"] or 0)
            keep("rcode_name", key, RCODES.get(rc, "rcode-%d" % rc))
    for key, src, f in tshark(cap, "http.request", ["http.request.method",
                                                     "http.host",
                                                     "http.request.uri"]):
        if key in want["method"]:
            continue  # the first request of the flow only
        keep("method", key, escape(f["http.request.method"]))
        want["host"].setdefault(key, escape(f["http.host"]) or None)
        keep("uri", key, escape(f["http.request.uri"]))
    for key, src, f in tshark(cap, "http.response", ["http.response.code"]):
        keep("status_code", key, f["http.response.code"])
    for key, src, f in tshark(cap, "tls.handshake.type == 1",
                              ["tls.handshake.extensions_server_name",
                               "tls.handshake.ja3"]):
        if key in want["server_name"]:
            continue
        want["server_name"].setdefault(
            key, escape(f["tls.handshake.extensions_server_name"]) or None)
        # QUIC (udp) records have no ja3 or ja3s: Zeek's quic.log neither.
        if key[0] == "tcp":
            keep("ja3", key, f["tls.handshake.ja3"])
    for key, src, f in tshark(cap, "tls.handshake.type == 2",
                              ["tls.handshake.ja3s"]):
        if key[0] == "tcp":
            keep("ja3s", key, f["tls.handshake.ja3s"])
    for key, src, f in tshark(cap, "ssh.protocol", ["ssh.protocol"]):
        side = "ssh_client" if orig.get(key) == src else "ssh_server"
        keep(side, key, escape(f["ssh.protocol"]))

    ok = True
    order = ["query", "qtype_name", "rcode_name", "method", "host", "uri",
             "status_code", "server_name", "ja3", "ja3s", "ssh_client",
             "ssh_server"]
    for field in order:
        compared = agree = skipped = cut = 0
        bad = []
        for key, value in want[field].items():
            if key not in vigil:
                skipped += 1
                continue
            compared += 1
            # None: tshark saw the message without such a value (a
            # ClientHello without SNI, a request without Host): vigil
            # must have none either.
            got = vigil[key].get(field)
            got = None if got is None else str(got)
            if got == value:
                agree += 1
            elif got and value and len(got) >= CUT_MIN and \
                    value.startswith(got):
                cut += 1  # the parser's bound (a 512-byte URI)
            else:
                bad.append((key, value, got))
        line = "%s: %d compared, %d agree" % (field, compared, agree)
        if cut:
            line += ", %d cut short by vigil's bound" % cut
        if skipped:
            line += ", %d flows not in vigil's records" % skipped
        print(line)
        for key, exp, got in bad[:10]:
            ends = sorted(key[1])
            print("  %s %s:%d <-> %s:%d vlan %d: tshark %r, vigil %r" %
                  (key[0], ends[0][0], ends[0][1], ends[-1][0], ends[-1][1],
                   key[2], exp, got))
        if bad or skipped:
            ok = False
        if compared < mins.get(field, 0):
            print("  expected at least %d flows compared" % mins[field])
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
